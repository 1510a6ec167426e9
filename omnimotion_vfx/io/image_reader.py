"""Read one frame through OpenImageIO (EXR, DPX, TIFF, PNG, JPEG) or OpenCV (video) as float32 RGB.

EXR details handled here: half or float, any channel names; `layer` picks `LAYER.R/G/B` (or `LAYER.r`...),
RGB otherwise; the data window is placed into the display window (pixels outside the data window are 0,
data outside the display window is cropped), so every frame comes back at the display resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class ImageInfo:
    """What an artist checks before tracking: size, channels, layers, pixel type."""

    width: int
    height: int
    channels: tuple[str, ...]
    pixel_type: str
    scene_linear: bool

    @property
    def layers(self) -> list[str]:
        found = sorted({c.rsplit(".", 1)[0] for c in self.channels if "." in c})
        return found


def read_info(path: str) -> ImageInfo:
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"cannot read {path}: {_oiio_error(oiio)}; check that the file is complete")
    try:
        spec = inp.spec()
        return ImageInfo(
            width=spec.full_width or spec.width,
            height=spec.full_height or spec.height,
            channels=tuple(spec.channelnames),
            pixel_type=str(spec.format),
            scene_linear=_is_scene_linear(path, spec),
        )
    finally:
        inp.close()


def read_image(path: str, layer: str | None = None) -> tuple[np.ndarray, bool]:
    """Return (pixels float32 [H, W, 3] over the display window, scene_linear flag)."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"cannot read {path}: {_oiio_error(oiio)}; check that the file is complete")
    try:
        spec = inp.spec()
        indices = _rgb_channel_indices(path, list(spec.channelnames), layer)
        lo, hi = min(indices), max(indices) + 1
        data = inp.read_image(0, 0, lo, hi, oiio.FLOAT)
        if data is None or not isinstance(data, np.ndarray):
            raise InputError(f"cannot read pixels of {path}: {_oiio_error(inp)}; the file may be truncated")
        data = np.asarray(data, dtype=np.float32).reshape(spec.height, spec.width, hi - lo)
        rgb = data[..., [i - lo for i in indices]]
        scene_linear = _is_scene_linear(path, spec)
        return _into_display_window(rgb, spec), scene_linear
    finally:
        inp.close()


def _rgb_channel_indices(path: str, names: list[str], layer: str | None) -> list[int]:
    """Indices of R, G, B (of `layer` when given); single-channel images are repeated to grey RGB."""
    if layer:
        prefix = layer + "."
        in_layer = {n[len(prefix):].lower(): i for i, n in enumerate(names) if n.startswith(prefix)}
        if not in_layer:
            layers = sorted({n.rsplit(".", 1)[0] for n in names if "." in n})
            listing = ", ".join(layers) if layers else "none (only " + ",".join(names) + ")"
            raise InputError(f"{path} has no layer {layer!r}; layers there: {listing}")
        return _pick_rgb(path, in_layer, f"layer {layer}")
    plain = {n.lower(): i for i, n in enumerate(names) if "." not in n}
    if not plain:
        layers = sorted({n.rsplit(".", 1)[0] for n in names if "." in n})
        raise InputError(f"{path} has no plain RGB channels; pick one with --layer ({', '.join(layers)})")
    return _pick_rgb(path, plain, "the image")


def _pick_rgb(path: str, channels: dict[str, int], what: str) -> list[int]:
    for triple in (("r", "g", "b"), ("red", "green", "blue")):
        if all(c in channels for c in triple):
            return [channels[c] for c in triple]
    for grey in ("y", "l", "luminance", "a", "r"):
        if grey in channels and len(channels) <= 2:
            return [channels[grey]] * 3
    if len(channels) in (1, 2):
        first = min(channels.values())
        return [first] * 3
    if len(channels) >= 3:
        ordered = sorted(channels.values())[:3]
        return ordered
    raise InputError(f"{path}: {what} has no RGB channels ({', '.join(channels)}); pick a layer with --layer")


def _into_display_window(pixels: np.ndarray, spec) -> np.ndarray:
    """Place the data window (x, y, width, height) inside the display window (full_*)."""
    full_w = spec.full_width or spec.width
    full_h = spec.full_height or spec.height
    full_x, full_y = spec.full_x, spec.full_y
    if (spec.x, spec.y, spec.width, spec.height) == (full_x, full_y, full_w, full_h):
        return pixels
    out = np.zeros((full_h, full_w, pixels.shape[2]), np.float32)
    x0, y0 = spec.x - full_x, spec.y - full_y
    dst_x0, dst_y0 = max(0, x0), max(0, y0)
    dst_x1, dst_y1 = min(full_w, x0 + spec.width), min(full_h, y0 + spec.height)
    if dst_x1 > dst_x0 and dst_y1 > dst_y0:
        out[dst_y0:dst_y1, dst_x0:dst_x1] = pixels[dst_y0 - y0 : dst_y1 - y0, dst_x0 - x0 : dst_x1 - x0]
    return out


def _is_scene_linear(path: str, spec) -> bool:
    """EXR and float/half data are scene-linear unless the file says otherwise; 8/10/16-bit files are display-referred."""
    colorspace = str(spec.getattribute("oiio:ColorSpace") or "").lower()
    if colorspace:
        if "linear" in colorspace or colorspace in ("lin_rec709", "scene_linear", "acescg", "aces2065-1"):
            return True
        if "srgb" in colorspace or "rec709" in colorspace or "log" in colorspace or "gamma" in colorspace:
            return False
    return path.lower().endswith(".exr") or str(spec.format) in ("half", "float")


def _oiio_error(obj) -> str:
    try:
        message = obj.geterror()
    except Exception:
        message = ""
    return (message or "unknown error").strip().splitlines()[0]
