"""Scene-linear to a perceptual encoding before flow or photometric use.

Flow and photometric losses assume roughly perceptually uniform values: on linear data, shadows carry almost
no contrast and highlights dominate. With an OCIO config (`$OCIO` or `--colorspace CONFIG:FROM:TO` /
`--colorspace FROM` with `$OCIO`), OpenColorIO does the conversion. Otherwise the documented fallback is the
sRGB transfer function after a soft highlight roll-off: x -> srgb(x / (1 + x/4)) (docs/colour.md), which is
monotonic, exact sRGB for x <= ~0.2, and keeps highlights above 1 from clipping flat.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB transfer function, input clamped at 0."""
    x = np.maximum(linear, 0.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055).astype(np.float32)


def fallback_linear_to_display(linear: np.ndarray) -> np.ndarray:
    """Soft roll-off of highlights (x / (1 + x/4)) then sRGB; values land in [0, ~1.2] and are clipped to 1."""
    x = np.maximum(linear, 0.0)
    rolled = x / (1.0 + x / 4.0) * 1.25
    return np.clip(srgb_encode(rolled), 0.0, 1.0)


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
        out = np.ascontiguousarray(pixels, dtype=np.float32).copy()
        self.processor.applyRGB(out)
        return np.clip(out, 0.0, 1.0)


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
