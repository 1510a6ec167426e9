"""Scene-linear to a perceptual encoding before flow or photometric use.

Flow and photometric losses assume roughly perceptually uniform values: on linear data, shadows carry almost
no contrast and highlights dominate. With an OCIO config (`$OCIO` or `--colorspace CONFIG:FROM:TO` /
`--colorspace FROM` with `$OCIO`), OpenColorIO does the conversion. Otherwise the documented fallback
(docs/colour.md) is the sRGB transfer function after a highlight roll-off: exact sRGB up to the knee
(linear 0.6), then k + (1 - k) * t / (1 + t) with t = (x - k) / (1 - k), which joins with slope 1, rises
monotonically and approaches 1 without reaching it, so highlights above 1 keep their texture instead of
clipping flat.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB transfer function, input clamped at 0 (returns a new float32 array)."""
    return _srgb_in_place(_non_negative_copy(linear))


def _srgb_in_place(x: np.ndarray) -> np.ndarray:
    """sRGB of non-negative, C-contiguous float32 `x`, in place (OpenCV's pow is ~4x numpy's on 2 cores)."""
    toe = x <= 0.0031308
    low = x * 12.92
    flat = x.reshape(-1, 1)
    cv2.pow(flat, 1.0 / 2.4, dst=flat)
    x *= 1.055
    x -= 0.055
    np.copyto(x, low, where=toe)
    return x


def _non_negative_copy(values: np.ndarray) -> np.ndarray:
    """A C-contiguous float32 copy clamped at 0 (strips picked by channel index may be strided)."""
    out = np.array(values, dtype=np.float32, order="C", copy=True)
    np.maximum(out, 0.0, out=out)
    return out


ROLL_OFF_KNEE = 0.6


def highlight_roll_off(linear: np.ndarray, knee: float = ROLL_OFF_KNEE) -> np.ndarray:
    """Identity below `knee`, then a rational shoulder towards 1 (C1 at the knee, never reaches 1); new array."""
    x = _non_negative_copy(linear)
    t = x - knee  # mask-free: t = 0 below the knee, so the shoulder term vanishes there
    np.maximum(t, 0.0, out=t)
    t *= 1.0 / (1.0 - knee)
    shoulder = t + 1.0
    np.divide(t, shoulder, out=shoulder)
    shoulder *= 1.0 - knee
    np.minimum(x, knee, out=x)
    x += shoulder
    return x


def fallback_linear_to_display(linear: np.ndarray) -> np.ndarray:
    """Highlight roll-off then sRGB: values in [0, 1), distinct for distinct linear values."""
    return _srgb_in_place(highlight_roll_off(linear))


@dataclass
class ColourConverter:
    """Converts scene-linear pixels to the working (display-like) encoding; display-referred data passes through."""

    processor: object | None = None
    description: str = "fallback: highlight roll-off + sRGB"

    def __call__(self, pixels: np.ndarray, scene_linear: bool) -> np.ndarray:
        if not scene_linear:
            return np.clip(pixels, 0.0, 1.0)
        if self.processor is None:
            return fallback_linear_to_display(pixels)
        out = np.array(pixels, dtype=np.float32, order="C")  # OCIO converts in place; the caller's data stays
        self.processor.applyRGB(out)
        return np.clip(out, 0.0, 1.0, out=out)


def make_converter(colorspace: str | None = None) -> ColourConverter:
    """`colorspace`: None (use $OCIO's scene_linear -> its default display view if $OCIO is set),
    'FROM' (a colour space of $OCIO's config to its default view), or 'CONFIG', 'CONFIG:FROM', 'CONFIG:FROM:TO'
    where CONFIG is a .ocio file or a built-in config URI such as ocio://default (FROM defaults to its
    scene_linear role)."""
    config_path, src, dst = _parse_colorspace(colorspace)
    config_path = config_path or os.environ.get("OCIO")
    if not config_path:
        if colorspace:
            raise InputError(f"--colorspace {colorspace!r} needs an OCIO config: set $OCIO or write CONFIG.ocio:{colorspace}")
        return ColourConverter()
    import PyOpenColorIO as ocio

    try:
        config = ocio.Config.CreateFromFile(config_path)
    except Exception as exc:
        raise InputError(f"cannot load OCIO config {config_path}: {_first_line(exc)}; check $OCIO or --colorspace") from None
    src = src or _role(config, ocio.ROLE_SCENE_LINEAR) or "scene_linear"
    try:
        if dst:
            processor = config.getProcessor(src, dst)
        else:
            display = config.getDefaultDisplay()
            view = config.getDefaultView(display)
            processor = config.getProcessor(ocio.DisplayViewTransform(src=src, display=display, view=view))
            dst = f"{display}/{view}"
    except Exception as exc:
        names = ", ".join(list(config.getColorSpaceNames())[:12])
        raise InputError(f"OCIO cannot convert {src!r} to {dst or 'the default view'}: {_first_line(exc)}; colour spaces: {names}") from None
    return ColourConverter(processor.getDefaultCPUProcessor(), f"OCIO {config_path}: {src} -> {dst}")


def _parse_colorspace(colorspace: str | None) -> tuple[str | None, str | None, str | None]:
    """'SPACE' | 'CONFIG:SPACE[:TO]' -> (config or None, source space, destination space or None)."""
    if not colorspace:
        return None, None, None
    config = None
    rest = colorspace
    if colorspace.startswith("ocio://"):
        name, _, rest = colorspace[len("ocio://"):].partition(":")
        config = "ocio://" + name
    else:
        head, sep, tail = colorspace.partition(":")
        if sep and (head.endswith(".ocio") or os.path.isfile(head)):
            config, rest = head, tail
    src, _, dst = rest.partition(":")
    return config, src or None, dst or None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _role(config, role: str) -> str | None:
    try:
        space = config.getColorSpace(role)
        return space.getName() if space is not None else None
    except Exception:
        return None
