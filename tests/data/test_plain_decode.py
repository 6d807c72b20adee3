"""Plain 8-bit grey PNGs are decoded from their IDAT stream by Pillow's PNG decoder, skipping the plugin.

The pixels must be those Pillow's own PNG path gives for every filter type, size and content; a plain
file whose stream is broken is one DataError naming it; the pixel budget and Pillow's bomb guard hold
before a byte is decompressed.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from langir.data.imageio import (
    is_plain_grey_png,
    non_binary_masks,
    read_frame,
    read_grey8,
    read_image_u8,
    read_mask,
)
from langir.errors import DataError

RNG = np.random.default_rng(11)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _filtered(pixels: np.ndarray, filters: list[int]) -> bytes:
    """The PNG scanlines of `pixels` (8-bit grey), row r filtered with filters[r % len(filters)]."""
    h, w = pixels.shape
    out = bytearray()
    prev = np.zeros(w, dtype=np.int64)
    for r in range(h):
        row, kind = pixels[r].astype(np.int64), filters[r % len(filters)]
        left = np.concatenate([[0], row[:-1]])
        upleft = np.concatenate([[0], prev[:-1]])
        if kind == 0:
            line = row
        elif kind == 1:
            line = row - left
        elif kind == 2:
            line = row - prev
        elif kind == 3:
            line = row - (left + prev) // 2
        else:
            line = row - np.array([_paeth(int(a), int(b), int(c)) for a, b, c in zip(left, prev, upleft, strict=True)])
        out.append(kind)
        out += bytes((line % 256).astype(np.uint8))
        prev = row
    return bytes(out)


def _plain_png(width: int, height: int, stream: bytes, idat_parts: int = 1) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    size = max(1, -(-len(stream) // idat_parts))
    idats = b"".join(_chunk(b"IDAT", stream[i:i + size]) for i in range(0, len(stream), size)) or _chunk(b"IDAT", b"")
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + idats + _chunk(b"IEND", b"")


def _pillow_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


CONTENTS = {
    "noise": lambda h, w: RNG.integers(0, 256, (h, w), dtype=np.uint8),
    "zeros": lambda h, w: np.zeros((h, w), np.uint8),
    "gradient": lambda h, w: (np.add.outer(np.arange(h), np.arange(w)) % 256).astype(np.uint8),
    "sparse target": lambda h, w: np.pad(np.full((1, 1), 255, np.uint8), ((h // 2, h - h // 2 - 1), (w // 3, w - w // 3 - 1))),
}
SIZES = [(1, 1), (1, 17), (23, 1), (20, 28), (64, 64), (37, 251)]


@pytest.mark.parametrize("content", list(CONTENTS))
@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
def test_every_filter_type_decodes_to_pillows_pixels(tmp_path, content, size):
    pixels = CONTENTS[content](*size)
    path = tmp_path / "x.png"
    for filters in ([0], [1], [2], [3], [4], [4, 3, 2, 1, 0]):
        data = _plain_png(size[1], size[0], zlib.compress(_filtered(pixels, filters), 6), idat_parts=3)
        assert is_plain_grey_png(data)
        path.write_bytes(data)
        got, plain = read_grey8(path)
        assert plain == data
        assert np.array_equal(got, pixels) and np.array_equal(got, _pillow_pixels(data)), filters
        assert np.array_equal(read_mask(path), pixels > 0)


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_pillow_written_files_read_the_same_either_way(tmp_path, level):
    pixels = RNG.integers(0, 256, (48, 80), dtype=np.uint8)
    path = tmp_path / "p.png"
    Image.fromarray(pixels).save(path, compress_level=level)
    assert is_plain_grey_png(path.read_bytes())
    assert np.array_equal(read_image_u8(path), pixels)


def _broken(pixels: np.ndarray) -> dict[str, bytes]:
    h, w = pixels.shape
    raw = _filtered(pixels, [0])
    bad_filter = bytearray(raw)
    bad_filter[(w + 1) * (h // 2)] = 7  # no such filter type
    return {
        "garbage stream": _plain_png(w, h, b"this is not zlib data at all"),
        "stream cut short": _plain_png(w, h, zlib.compress(raw)[:-20]),
        "half the rows": _plain_png(w, h, zlib.compress(raw[: len(raw) // 2])),
        "unknown filter type": _plain_png(w, h, zlib.compress(bytes(bad_filter))),
        "empty IDAT": _plain_png(w, h, b""),
    }


@pytest.mark.parametrize("case", list(_broken(np.zeros((8, 8), np.uint8))))
def test_a_plain_file_with_a_broken_stream_is_one_error_naming_it(tmp_path, case):
    pixels = RNG.integers(0, 256, (30, 40), dtype=np.uint8)
    data = _broken(pixels)[case]
    assert is_plain_grey_png(data)  # every CRC is right: only decoding can tell
    path = tmp_path / "frame_007.png"
    path.write_bytes(data)
    for read in (read_grey8, read_mask):
        with pytest.raises(DataError) as err:
            read(path)
        assert "frame_007.png" in str(err.value) and "corrupt image" in str(err.value)
    if case == "half the rows":  # Pillow's own PNG path fills the missing rows with zeros, silently
        assert not np.asarray(Image.open(io.BytesIO(data)))[-1].any()
    else:  # the others Pillow refuses too
        with pytest.raises(Exception) as pillow:
            Image.open(io.BytesIO(data)).load()
        assert not isinstance(pillow.value, DataError)


def test_the_pixel_budget_holds_before_any_decompression(tmp_path, monkeypatch):
    # a 40-byte stream claiming 60,000 × 60,000 pixels: refused from the header, at once
    path = tmp_path / "bomb.png"
    path.write_bytes(_plain_png(60_000, 60_000, zlib.compress(b"\x00" * 1000)))
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="pixel budget|decompression-bomb"):
        read_grey8(path)
    assert time.perf_counter() - t0 < 0.5
    monkeypatch.setenv("LANGIR_MAX_PIXELS", "100")
    small = tmp_path / "small.png"
    small.write_bytes(_plain_png(20, 10, zlib.compress(_filtered(np.zeros((10, 20), np.uint8), [0]))))
    with pytest.raises(DataError, match="over the pixel budget of 0.0 Mpx"):
        read_mask(small)


def test_pillows_bomb_guard_still_speaks_for_plain_files(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    monkeypatch.setenv("LANGIR_MAX_PIXELS", str(10**9))
    path = tmp_path / "big.png"
    pixels = np.zeros((30, 40), np.uint8)
    path.write_bytes(_plain_png(40, 30, zlib.compress(_filtered(pixels, [0]))))
    with pytest.raises(DataError, match="decompression-bomb guard"):
        read_grey8(path)


def test_non_binary_plain_masks_are_still_noted(tmp_path):
    soft = np.zeros((16, 16), np.uint8)
    soft[4:7, 4:7] = 128
    soft[5, 5] = 255
    path = tmp_path / "soft.png"
    path.write_bytes(_plain_png(16, 16, zlib.compress(_filtered(soft, [1, 4]))))
    non_binary_masks()  # forget earlier reads
    assert read_mask(path, (16, 16)).sum() == 9
    assert non_binary_masks() == {str(path): 2}


def test_a_plain_frame_sent_as_it_is_is_never_decoded(tmp_path, monkeypatch):
    from langir.describe.images import request_image

    pixels = RNG.integers(0, 256, (24, 32), dtype=np.uint8)
    plain = tmp_path / "plain.png"
    Image.fromarray(pixels).save(plain)
    decodes = []
    frombytes = Image.frombytes
    monkeypatch.setattr(Image, "frombytes", lambda *a, **k: decodes.append(a[1]) or frombytes(*a, **k))
    frame = read_frame(plain)
    sent = request_image(frame)
    assert sent.png == plain.read_bytes() and (sent.width, sent.height) == (32, 24) and decodes == []
    assert np.array_equal(frame.pixels, pixels) and np.array_equal(frame.pixels, pixels)
    assert decodes == [(32, 24)]  # decoded once, when asked for
    shrunk = request_image(read_frame(plain), max_side=16)  # one that must shrink needs its pixels
    assert (shrunk.width, shrunk.height) == (16, 12) and len(decodes) == 2
