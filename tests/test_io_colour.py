"""Scene-linear to perceptual: the documented fallback curve and OpenColorIO with built-in configs."""

from __future__ import annotations

import numpy as np
import PyOpenColorIO as ocio
import pytest

from omnimotion_vfx.errors import InputError
from omnimotion_vfx.io.colour import ROLL_OFF_KNEE, fallback_linear_to_display, make_converter, srgb_encode


def test_fallback_is_monotonic_and_keeps_highlights_apart():
    linear = np.linspace(0.0, 16.0, 2000, dtype=np.float32)
    encoded = fallback_linear_to_display(linear)
    assert encoded[0] == 0.0 and np.all(np.diff(encoded) > 0) and encoded[-1] < 1.0
    highlights = fallback_linear_to_display(np.float32([1.0, 2.0, 4.0, 16.0]))
    assert np.all(np.diff(highlights) > 0.005)  # still distinguishable texture above 1
    below_knee = linear[linear <= ROLL_OFF_KNEE]
    np.testing.assert_allclose(fallback_linear_to_display(below_knee), srgb_encode(below_knee), atol=1e-6)
    # shadows get the sRGB lift that flow needs: 18% grey lands near the middle of the range
    assert 0.4 < float(fallback_linear_to_display(np.float32([0.18]))[0]) < 0.55


def test_fallback_without_config_and_passthrough_for_display_referred(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)
    convert = make_converter(None)
    assert convert.processor is None and "fallback" in convert.description
    pixels = np.float32([[[0.25, 1.5, -0.1]]])
    np.testing.assert_allclose(convert(pixels, scene_linear=False), [[[0.25, 1.0, 0.0]]])
    np.testing.assert_allclose(convert(pixels, scene_linear=True), fallback_linear_to_display(pixels))
    np.testing.assert_allclose(srgb_encode(np.float32([0.0031308, 1.0])), [0.04045, 1.0], atol=1e-4)


def _reference(config_uri: str, src: str, pixels: np.ndarray) -> np.ndarray:
    config = ocio.Config.CreateFromFile(config_uri)
    display = config.getDefaultDisplay()
    transform = ocio.DisplayViewTransform(src=src, display=display, view=config.getDefaultView(display))
    out = pixels.copy()
    config.getProcessor(transform).getDefaultCPUProcessor().applyRGB(out)
    return np.clip(out, 0, 1)


def test_colorspace_with_a_builtin_config_uses_ocio(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)
    pixels = np.float32([[[0.18, 0.18, 0.18], [1.0, 0.5, 0.25], [0.0, 0.0, 0.0]]])
    convert = make_converter("ocio://default:ACEScg")
    assert convert.processor is not None and "ACEScg" in convert.description
    np.testing.assert_allclose(convert(pixels, True), _reference("ocio://default", "ACEScg", pixels), atol=1e-6)
    assert not np.allclose(convert(pixels, True), fallback_linear_to_display(pixels), atol=1e-3)


def test_ocio_env_names_the_config_and_colorspace_the_space(monkeypatch):
    monkeypatch.setenv("OCIO", "ocio://studio-config-latest")
    pixels = np.float32([[[0.05, 0.2, 0.8]]])
    convert = make_converter("ACES2065-1")
    np.testing.assert_allclose(convert(pixels, True), _reference("ocio://studio-config-latest", "ACES2065-1", pixels), atol=1e-6)
    # $OCIO alone: the config's scene_linear role to its default view
    assert "ACEScg" in make_converter(None).description


def test_explicit_destination_space(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)
    convert = make_converter("ocio://default:ACEScg:sRGB - Texture")
    assert convert.description.endswith("ACEScg -> sRGB - Texture")


@pytest.mark.parametrize(
    "colorspace,env,message",
    [
        ("ACEScg", None, r"needs an OCIO config: set \$OCIO"),
        ("ocio://default:NoSuchSpace", None, r"OCIO cannot convert 'NoSuchSpace'.*colour spaces: "),
        ("ACEScg", "/nonexistent/config.ocio", r"cannot load OCIO config /nonexistent/config.ocio"),
    ],
)
def test_colour_mistakes_are_input_errors(monkeypatch, colorspace, env, message):
    if env:
        monkeypatch.setenv("OCIO", env)
    else:
        monkeypatch.delenv("OCIO", raising=False)
    with pytest.raises(InputError, match=message):
        make_converter(colorspace)


def test_fallback_on_strided_input_matches_contiguous():
    """Strips picked by channel index (layer B,G,R order) can be strided views; the result must not depend on it."""
    pixels = np.random.default_rng(3).random((6, 7, 4), dtype=np.float32) * 3
    strided = pixels[..., [2, 1, 0]]
    view = pixels[:, ::2, :3]
    np.testing.assert_array_equal(fallback_linear_to_display(strided), fallback_linear_to_display(np.ascontiguousarray(strided)))
    np.testing.assert_array_equal(fallback_linear_to_display(view), fallback_linear_to_display(np.ascontiguousarray(view)))
