"""One frame through OpenImageIO: pixel types, channel layouts, layers, data windows, formats, damage."""

from __future__ import annotations

import numpy as np
import OpenImageIO as oiio
import pytest
from plate_factory import texture, truncate, write_image

from omnimotion_vfx.errors import InputError
from omnimotion_vfx.io.image_reader import STRIP_ROWS, read_image, read_info


def _rgb(height: int, width: int, seed: int = 1) -> np.ndarray:
    base = texture(height, width, seed)
    return np.stack([base, 0.5 * base, 1.0 - base], axis=-1).astype(np.float32)


@pytest.mark.parametrize("pixel_type,tolerance", [("half", 1e-3), ("float", 0.0)])
def test_half_and_float_exr_read_back_exactly(tmp_path, pixel_type, tolerance):
    pixels = _rgb(STRIP_ROWS * 2 + 5, 40) * 4.0  # values above 1 are kept (scene-linear)
    path = write_image(tmp_path / "a.exr", pixels, pixel_type)
    frame = read_image(str(path))
    assert frame.pixels.dtype == np.float32 and frame.pixels.shape == pixels.shape
    np.testing.assert_allclose(frame.pixels, pixels, rtol=tolerance, atol=tolerance)
    assert frame.scene_linear and not frame.had_nonfinite


def test_rgb_is_picked_among_many_channels_and_layers_by_name(tmp_path):
    h, w = 20, 30
    beauty, plain = _rgb(h, w, 2), _rgb(h, w, 3)
    depth = np.full((h, w, 1), 7.0, np.float32)
    alpha = np.ones((h, w, 1), np.float32)
    stacked = np.concatenate([plain, alpha, beauty, depth], axis=-1)
    names = ["R", "G", "B", "A", "beauty.R", "beauty.G", "beauty.B", "depth.Z"]
    path = str(write_image(tmp_path / "aov.exr", stacked, "half", names))
    np.testing.assert_allclose(read_image(path).pixels, plain, atol=1e-3)
    np.testing.assert_allclose(read_image(path, "beauty").pixels, beauty, atol=1e-3)
    assert read_info(path).layers == ["beauty", "depth"]
    with pytest.raises(InputError, match=r"no layer 'diffuse'; layers there: beauty, depth"):
        read_image(path, "diffuse")


def test_layer_channels_stored_out_of_order_come_back_as_rgb(tmp_path):
    rgb = _rgb(12, 16, 4)
    path = str(write_image(tmp_path / "bgr.exr", rgb[..., ::-1], "float", ["diffuse.B", "diffuse.G", "diffuse.R"]))
    np.testing.assert_allclose(read_image(path, "diffuse").pixels, rgb)


def test_a_single_channel_image_becomes_grey_rgb(tmp_path):
    grey = texture(10, 14, 5)
    path = str(write_image(tmp_path / "y.exr", grey[..., None], "float", ["Y"]))
    pixels = read_image(path).pixels
    for c in range(3):
        np.testing.assert_allclose(pixels[..., c], grey)


def test_only_layered_channels_ask_for_a_layer(tmp_path):
    path = str(write_image(tmp_path / "l.exr", _rgb(8, 8), "half", ["fg.R", "fg.G", "fg.B"]))
    with pytest.raises(InputError, match=r"no plain RGB channels; pick one with --layer \(fg\)"):
        read_image(path)


@pytest.mark.parametrize("tiled", [False, True])
def test_data_window_smaller_than_display_is_placed_and_padded_with_zero(tmp_path, tiled):
    data = _rgb(STRIP_ROWS + 30, 20) + 0.1
    window = dict(x=8, y=5, full_x=0, full_y=0, full_width=40, full_height=STRIP_ROWS + 50)
    path = tmp_path / "small.exr"
    if tiled:
        _write_tiled(path, data, window)
    else:
        write_image(path, data, "float", **window)
    pixels = read_image(str(path)).pixels
    assert pixels.shape == (STRIP_ROWS + 50, 40, 3)
    np.testing.assert_allclose(pixels[5 : 5 + data.shape[0], 8:28], data)
    assert not pixels[:5].any() and not pixels[:, :8].any() and not pixels[:, 28:].any()
    assert not pixels[5 + data.shape[0] :].any()


def test_data_window_larger_than_display_is_cropped(tmp_path):
    data = _rgb(STRIP_ROWS + 40, 60)
    path = write_image(tmp_path / "big.exr", data, "float", x=-8, y=-6, full_x=0, full_y=0, full_width=40, full_height=STRIP_ROWS)
    info = read_info(str(path))
    assert (info.width, info.height) == (40, STRIP_ROWS)
    assert info.data_window == (-8, -6, 60, STRIP_ROWS + 40) and info.display_window == (0, 0, 40, STRIP_ROWS)
    np.testing.assert_allclose(read_image(str(path)).pixels, data[6 : 6 + STRIP_ROWS, 8:48])


def test_display_window_with_an_origin_keeps_its_own_frame(tmp_path):
    data = _rgb(20, 20)
    path = write_image(tmp_path / "origin.exr", data, "float", x=110, y=52, full_x=100, full_y=50, full_width=30, full_height=24)
    pixels = read_image(str(path)).pixels
    assert pixels.shape == (24, 30, 3)
    np.testing.assert_allclose(pixels[2:22, 10:30], data)


@pytest.mark.parametrize(
    "name,pixel_type,tolerance",
    [("f.png", "uint8", 1 / 255), ("f.tif", "uint16", 1e-4), ("f.dpx", "uint16", 2e-3), ("f.jpg", "uint8", 0.06)],
)
def test_display_referred_formats_read_through_oiio(tmp_path, name, pixel_type, tolerance):
    pixels = _rgb(24, 32)
    path = str(write_image(tmp_path / name, pixels, pixel_type))
    frame = read_image(path)
    assert frame.pixels.shape == (24, 32, 3)
    assert not frame.scene_linear
    assert np.abs(frame.pixels - pixels).mean() < tolerance


def test_nan_and_inf_are_replaced_and_reported(tmp_path):
    pixels = _rgb(STRIP_ROWS + 10, 12)
    pixels[3, 4] = np.nan
    pixels[STRIP_ROWS + 2, 1, 2] = np.inf
    frame = read_image(str(write_image(tmp_path / "nan.exr", pixels, "float")))
    assert frame.had_nonfinite and np.isfinite(frame.pixels).all()
    assert (frame.pixels[3, 4] == 0).all() and frame.pixels[STRIP_ROWS + 2, 1, 2] == 0


@pytest.mark.parametrize("name", ["cut.exr", "cut.png", "cut.jpg", "cut.tif", "cut.dpx"])
def test_a_truncated_file_is_named(tmp_path, name):
    path = write_image(tmp_path / name, _rgb(120, 160), "half" if name.endswith("exr") else "uint8")
    truncate(path, 0.4)
    with pytest.raises(InputError, match=rf"{name}.*(truncated|complete|damaged)"):
        read_image(str(path))


def test_the_converter_sees_strips_and_its_output_is_the_frame(tmp_path):
    path = str(write_image(tmp_path / "c.exr", _rgb(STRIP_ROWS * 2 + 1, 10), "float"))
    heights = []

    def halve(strip: np.ndarray, scene_linear: bool) -> np.ndarray:
        heights.append(strip.shape[0])
        assert scene_linear
        return strip * 0.5

    frame = read_image(path, convert=halve)
    assert heights == [STRIP_ROWS, STRIP_ROWS, 1]
    np.testing.assert_allclose(frame.pixels, read_image(path).pixels * 0.5)


def _write_tiled(path, data: np.ndarray, window: dict) -> None:
    spec = oiio.ImageSpec(data.shape[1], data.shape[0], 3, "float")
    for key, value in window.items():
        setattr(spec, key, value)
    spec.tile_width = spec.tile_height = 16
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec)
    assert out.write_image(np.ascontiguousarray(data))
    out.close()
