"""Every PNG langir reads must have all its rows: Pillow's decoder fills the rows of a pixel stream that ends
early with zeros and says nothing. Plain grey files are checked before decoding (test_plain_decode.py);
these are the others (colour, palette, 16-bit, 1-bit, alpha, metadata, interlaced, over 1 MiB), whose
stream is checked after Pillow decoded them."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from langir.data.imageio import (
    image_info,
    is_plain_grey_png,
    png_raw_size,
    read_frame,
    read_image,
    read_image_u8,
    read_mask,
)
from langir.errors import DataError
from tests.data.helpers import make_tree

RNG = np.random.default_rng(5)
# Pillow finds some early ends itself ("image file is truncated"), depending on where the stream stops
# against its read blocks; the others it fills with zeros, and the row check finds them.
CUT = "ends before its last row|image file is truncated"
SIG = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    at, out = len(SIG), []
    while at < len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        out.append((kind, data[at + 8:at + 8 + length]))
        at += 12 + length
    return out


def _rebuild(data: bytes, raw: bytes, idat_sizes: tuple[int, ...] = ()) -> bytes:
    """`data` with its pixel stream replaced by `raw` (compressed, properly ended), every other chunk kept;
    the new stream split into IDAT chunks of `idat_sizes` bytes (cycled), else one."""
    stream = zlib.compress(raw, 6)
    pieces, at, i = [], 0, 0
    while at < len(stream):
        size = idat_sizes[i % len(idat_sizes)] if idat_sizes else len(stream)
        pieces.append(stream[at:at + size])
        at, i = at + size, i + 1
    out, placed = [SIG], False
    for kind, body in _chunks(data):
        if kind == b"IDAT":
            if not placed:
                out += [_chunk(b"IDAT", piece) for piece in pieces]
                placed = True
        else:
            out.append(_chunk(kind, body))
    return b"".join(out)


def _raw(data: bytes) -> bytes:
    return zlib.decompress(b"".join(body for kind, body in _chunks(data) if kind == b"IDAT"))


def _with_text() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "a camera")
    return info


def _png(img: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **save)
    return buf.getvalue()


def _noise(h: int, w: int, *channels: int, dtype=np.uint8, high: int = 256) -> np.ndarray:
    return RNG.integers(0, high, (h, w, *channels)).astype(dtype)


# Not plain (so Pillow's own PNG path decodes them): metadata, colour, alpha, palette, 16 and 1 bits.
KINDS = {
    "grey with text": lambda: _png(Image.fromarray(_noise(23, 31)), pnginfo=_with_text()),
    "RGB": lambda: _png(Image.fromarray(_noise(23, 31, 3))),
    "RGBA": lambda: _png(Image.fromarray(_noise(19, 17, 4))),
    "grey+alpha": lambda: _png(Image.merge("LA", [Image.fromarray(_noise(19, 17)), Image.fromarray(_noise(19, 17))])),
    "palette": lambda: _png(Image.fromarray(_noise(21, 13, high=16)).convert("P")),
    "16-bit grey": lambda: _png(Image.fromarray(_noise(13, 29, dtype=np.uint16, high=65536))),
    "1-bit": lambda: _png(Image.fromarray(_noise(27, 11, high=2).astype(bool))),
    "over 1 MiB, with text": lambda: _png(Image.fromarray(_noise(1100, 1000)), pnginfo=_with_text(), compress_level=1),
}


def _interlaced(width: int, height: int, colour: int = 0, depth: int = 8, black: bool = False) -> tuple[bytes, bytes]:
    """An Adam7-interlaced PNG (Pillow writes none) of noise (or black) rows, each filter type None; and its
    raw stream."""
    data, raw, _ = _interlaced_rows(width, height, colour, depth, black)
    return data, raw


def _interlaced_rows(width: int, height: int, colour: int = 0, depth: int = 8,
                     black: bool = False) -> tuple[bytes, bytes, list[int]]:
    """`_interlaced`, and where each row of the raw stream starts."""
    size = png_raw_size(width, height, depth, colour, 1)
    raw = bytearray(size if black else RNG.integers(0, 256, size, dtype=np.uint8).tobytes())
    # The filter byte of every row of every pass must be a known type: walk the passes to set them to 0.
    bits = {0: 1, 2: 3, 4: 2, 6: 4}[colour] * depth
    at, starts = 0, []
    for x, y, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
        w, h = (width - x + dx - 1) // dx, (height - y + dy - 1) // dy
        if w and h:
            for _ in range(h):
                starts.append(at)
                raw[at] = 0
                at += (w * bits + 7) // 8 + 1
    assert at == len(raw)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 1)
    data = SIG + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(bytes(raw))) + _chunk(b"IEND", b"")
    return data, bytes(raw), starts


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_raw_size_is_what_the_stream_holds(kind):
    data = KINDS[kind]()
    ihdr = _chunks(data)[0][1]
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    assert png_raw_size(width, height, depth, colour, interlace) == len(_raw(data))


@pytest.mark.parametrize("black", [False, True])  # black: no pixel tells that the last row was reached
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5, 5), (9, 8), (8, 9), (33, 17)])
@pytest.mark.parametrize("colour, depth", [(0, 8), (0, 16), (2, 8), (6, 8), (0, 1)])
def test_interlaced_files_read_whole_and_refused_cut(tmp_path, size, colour, depth, black):
    width, height = size
    data, raw = _interlaced(width, height, colour, depth, black)
    whole = tmp_path / "whole.png"
    whole.write_bytes(data)
    assert read_image(whole).shape == (height, width)
    cut = tmp_path / "cut.png"
    cut.write_bytes(_rebuild(data, raw[:-1]))
    with pytest.raises(DataError, match=CUT) as err:
        read_image(cut)
    assert str(cut) in str(err.value)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_whole_file_reads_as_pillow_reads_it(tmp_path, kind):
    data = KINDS[kind]()
    assert not is_plain_grey_png(data)
    path = tmp_path / "frame.png"
    path.write_bytes(data)
    with Image.open(io.BytesIO(data)) as img:
        expected = np.asarray(img)
    got = read_frame(path).pixels
    assert got.shape == expected.shape[:2]
    if kind in ("grey with text", "over 1 MiB, with text"):
        assert np.array_equal(got, expected)
    # Split into IDAT chunks of 1 to 7 bytes: the same pixels, no false alarm at any chunk boundary.
    if len(data) < 1 << 16:
        path.write_bytes(_rebuild(data, _raw(data), idat_sizes=(1, 7, 3, 2, 5)))
        assert np.array_equal(read_frame(path).pixels, got)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_whole_file_with_a_black_last_row_reads(tmp_path, kind):
    """A last row of zeros cannot tell a whole stream from a cut one: the stream is counted, and whole is whole."""
    data = KINDS[kind]()
    with Image.open(io.BytesIO(data)) as img:
        pixels = np.array(img)
    pixels[-1] = 0
    black = _png(Image.fromarray(pixels), pnginfo=_with_text(), compress_level=1)
    path = tmp_path / "frame.png"
    path.write_bytes(black)
    assert read_frame(path).shape == pixels.shape[:2]
    path.write_bytes(_rebuild(black, _raw(black)[:-1]))
    with pytest.raises(DataError, match=CUT):
        read_frame(path)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("keep", [0.5, -1])  # half the rows; all but the last byte
def test_a_stream_that_ends_early_is_one_error_naming_the_file(tmp_path, kind, keep):
    data = KINDS[kind]()
    raw = _raw(data)
    cut = raw[:int(len(raw) * keep)] if keep > 0 else raw[:keep]
    path = tmp_path / "cut.png"
    path.write_bytes(_rebuild(data, cut))
    for read in (read_image, read_image_u8, read_mask, read_frame):
        with pytest.raises(DataError, match=CUT) as err:
            read(path)
        assert str(path) in str(err.value)


def _pillow_takes(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except OSError:
        return False
    return True


def test_the_early_ends_pillow_fills_with_zeros_are_refused(tmp_path):
    """The cuts Pillow's own PNG path takes silently (rows of zeros) are each one DataError naming the file."""
    silent = 0
    for h, w in [(10, 16), (64, 64), (100, 100), (37, 251)]:
        for pixels in (_noise(h, w), _noise(h, w, 3), _noise(h, w, dtype=np.uint16, high=65536)):
            data = _png(Image.fromarray(pixels), pnginfo=_with_text())
            raw = _raw(data)
            for keep in (0.3, 0.5, 0.7):
                cut = _rebuild(data, raw[:int(len(raw) * keep)])
                path = tmp_path / f"cut{silent}.png"
                path.write_bytes(cut)
                if _pillow_takes(cut):
                    silent += 1
                    with pytest.raises(DataError, match="ends before its last row") as err:
                        read_image(path)
                    assert str(path) in str(err.value)
    assert silent >= 10  # the hole is really exercised


def test_interlaced_early_ends_pillow_fills_with_zeros_are_refused(tmp_path):
    """Adam7 with an odd height: the last row is even, filled by pass 6 before pass 7 fills the odd rows. A
    stream cut inside pass 7 leaves that row whole, so only the last odd row can tell; each cut Pillow
    takes silently (a cut at a row's end, found by Pillow only mid-row) is one DataError."""
    silent = 0
    for width, height in [(101, 99), (64, 63), (40, 41), (100, 100)]:
        data, raw, starts = _interlaced_rows(width, height)
        pass7 = height // 2  # its rows are the stream's last
        for end in starts[-pass7 + 1::max(1, pass7 // 4)]:
            cut = _rebuild(data, raw[:end])
            path = tmp_path / f"cut{silent}.png"
            path.write_bytes(cut)
            if _pillow_takes(cut):
                silent += 1
                with pytest.raises(DataError, match="ends before its last row"):
                    read_image(path)
    assert silent >= 5


def test_a_flat_frame_far_larger_inflated_than_stored_is_read_whole_and_refused_cut(tmp_path):
    """3000×3000 black RGB: 27 MB of rows from a few kB, inflated a step at a time (a step's output stops
    inside long matches); no false alarm, and the cut file is still found out."""
    data = _png(Image.new("RGB", (3000, 3000)), pnginfo=_with_text())
    path = tmp_path / "flat.png"
    path.write_bytes(data)
    assert read_image_u8(path).shape == (3000, 3000)
    path.write_bytes(_rebuild(data, _raw(data)[:-3000]))
    with pytest.raises(DataError, match=CUT):
        read_image_u8(path)


def test_a_broken_stream_pillow_refuses_stays_pillows_error(tmp_path):
    """A stream Pillow cannot decode keeps Pillow's own refusal (one DataError), not the row check's."""
    data = KINDS["RGB"]()
    chunks = _chunks(data)
    idat = next(body for kind, body in chunks if kind == b"IDAT")
    broken = data.replace(_chunk(b"IDAT", idat), _chunk(b"IDAT", idat[:2] + b"\xff" * (len(idat) - 2)))
    path = Path(tmp_path / "broken.png")
    path.write_bytes(broken)
    with pytest.raises(DataError, match="corrupt image") as err:
        read_image(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("step", [1, 7, 64])
def test_step_and_chunk_boundaries_inside_long_matches_count_right(tmp_path, monkeypatch, step):
    """With an inflate step of 1–64 bytes and IDAT chunks of 1–7 bytes, step and chunk boundaries fall inside
    a flat frame's long matches (zlib holds output back between calls): a whole file still counts whole, and
    one a byte short is still found out."""
    import langir.data.imageio as imageio

    monkeypatch.setattr(imageio, "_INFLATE_STEP", step)
    data = _png(Image.new("RGB", (300, 40)), pnginfo=_with_text())  # black: the stream is counted
    path = tmp_path / "flat.png"
    path.write_bytes(_rebuild(data, _raw(data), idat_sizes=(1, 7, 3, 2, 5)))
    assert read_image_u8(path).shape == (40, 300)
    path.write_bytes(_rebuild(data, _raw(data)[:-1], idat_sizes=(1, 7, 3, 2, 5)))
    with pytest.raises(DataError, match=CUT):
        read_image_u8(path)


def test_image_info_verify_finds_a_cut_stream_that_pillows_verify_passes(tmp_path):
    data = KINDS["RGB"]()
    raw = _raw(data)
    path = tmp_path / "cut.png"
    for keep in range(1, 23):  # each row boundary of the 23-row frame: Pillow's verify passes every one
        path.write_bytes(_rebuild(data, raw[:keep * (31 * 3 + 1)]))
        with Image.open(path) as img:
            img.verify()
        with pytest.raises(DataError, match="ends before its last row") as err:
            image_info(path)
        assert str(path) in str(err.value)
        assert image_info(path, verify=False) == (31, 23, "RGB")  # the header alone
    path.write_bytes(data)
    assert image_info(path) == (31, 23, "RGB")


def test_langir_info_lists_a_frame_whose_stream_ends_early(tmp_path, cli):
    tree = make_tree(tmp_path, ["a", "b"], "images/{id}.png", "masks/{id}.png", splits={"test.txt": ["a", "b"]})
    frame = tree / "images" / "b.png"
    with Image.open(frame) as img:
        data = _png(img.convert("RGB"), pnginfo=_with_text())
    raw = _raw(data)
    frame.write_bytes(_rebuild(data, raw[:len(raw) // 2]))
    result = cli("info", tree, "--json", "--strict")
    assert result.code == 1, result.stderr
    problems = {p["id"]: p["error"] for p in json.loads(result.stdout)["problems"]}
    assert set(problems) == {"b"} and "images/b.png: corrupt image" in problems["b"]
    assert "Traceback" not in result.stderr
