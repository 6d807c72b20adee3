from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langir.data.imageio import read_image, read_mask, to_uint8

GREY = np.array([[0, 128], [255, 64]], np.uint8)


def _save(path: Path, img: Image.Image) -> Path:
    img.save(path)
    return path


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif"])
def test_grey_formats_read_exactly(tmp_path: Path, suffix: str) -> None:
    arr = read_image(_save(tmp_path / f"g{suffix}", Image.fromarray(GREY)))
    assert arr.dtype == np.float32 and arr.shape == (2, 2)
    np.testing.assert_allclose(arr, GREY / 255.0, atol=1e-6)


def test_jpeg_is_close(tmp_path: Path) -> None:
    big = np.kron(GREY, np.ones((8, 8), np.uint8))
    arr = read_image(_save(tmp_path / "g.jpg", Image.fromarray(big)))
    assert np.abs(arr - big / 255.0).mean() < 0.03


def test_sixteen_bit_png_scaled_to_unit_range(tmp_path: Path) -> None:
    raw = np.array([[0, 1000], [40000, 65535]], np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(raw).save(path)
    np.testing.assert_allclose(read_image(path), raw / 65535.0, atol=1e-6)


def test_rgb_rgba_palette_to_luma(tmp_path: Path) -> None:
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[1, 1] = (255, 255, 255)
    expected = np.array([[0.299, 0.0], [0.0, 1.0]], np.float32)
    np.testing.assert_allclose(read_image(_save(tmp_path / "c.png", Image.fromarray(rgb))), expected, atol=2e-3)
    rgba = np.dstack([rgb, np.full((2, 2), 7, np.uint8)])
    np.testing.assert_allclose(read_image(_save(tmp_path / "a.png", Image.fromarray(rgba))), expected, atol=2e-3)
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    np.testing.assert_allclose(read_image(_save(tmp_path / "p.png", pal)), expected, atol=2e-2)


def test_masks_binarised_above_zero_any_mode(tmp_path: Path) -> None:
    m = np.array([[0, 1], [255, 0]], np.uint8)
    expected = m > 0
    assert (read_mask(_save(tmp_path / "m.png", Image.fromarray(m))) == expected).all()
    rgb = np.dstack([m, m, m])
    assert (read_mask(_save(tmp_path / "m3.png", Image.fromarray(rgb))) == expected).all()
    assert (read_mask(_save(tmp_path / "m1.png", Image.fromarray(m > 0))) == expected).all()


def test_to_uint8_round_trip() -> None:
    x = np.linspace(0, 1, 256, dtype=np.float32)
    assert (to_uint8(x) == np.arange(256)).all()
