"""A request carries an image file's own bytes only when they are a plain 8-bit grey PNG of its pixels.

Anything else (metadata chunks, colour, 16 bits, a bad CRC, trailing bytes, a frame that must shrink) is
encoded again from the decoded pixels, so what a person kept in a file's text chunks never reaches a
provider and every request decodes to the same pixels. Real openai SDK, fake server.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from langir.data.imageio import Grey8, is_plain_grey_png, read_frame, read_grey8, read_image_u8
from langir.describe.images import request_image
from tests.describe.describe_helpers import describe_at, set_provider_keys
from tests.describe.fake_server import FakeServer, _b64decode, _last_image_b64

RNG = np.random.default_rng(7)
GREY = RNG.integers(0, 256, (20, 28), dtype=np.uint8)


def _png(img: Image.Image, **save: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **save)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, at = [], 8
    while at < len(png):
        length, kind = struct.unpack_from(">I4s", png, at)
        out.append((kind, png[at + 8:at + 8 + length]))
        at += 12 + length
    return out


def _assemble(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(_chunk(k, d) for k, d in chunks)


PLAIN = _png(Image.fromarray(GREY))
CHUNKS = _chunks(PLAIN)
IHDR, IDATS, IEND = CHUNKS[0], [c for c in CHUNKS if c[0] == b"IDAT"], CHUNKS[-1]


def _split_idat() -> bytes:
    data = b"".join(d for _, d in IDATS)
    return _assemble([IHDR, (b"IDAT", data[:10]), (b"IDAT", data[10:]), IEND])


def _text_chunk(grey: np.ndarray = GREY) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "patient 0042, private")
    return _png(Image.fromarray(grey), pnginfo=info)


def _bad_idat_crc() -> bytes:
    at = PLAIN.index(b"IDAT") - 4
    length = struct.unpack_from(">I", PLAIN, at)[0]
    crc_at = at + 8 + length
    return PLAIN[:crc_at] + bytes([PLAIN[crc_at] ^ 0xFF]) + PLAIN[crc_at + 1:]


CASES = {
    "plain": (PLAIN, True),
    "idat split in two": (_split_idat(), True),
    "text chunk": (_text_chunk(), False),
    "dpi (pHYs)": (_png(Image.fromarray(GREY), dpi=(96, 96)), False),
    "gamma chunk": (_assemble([IHDR, (b"gAMA", struct.pack(">I", 45455)), *IDATS, IEND]), False),
    "private chunk": (_assemble([IHDR, (b"prVt", b"secret"), *IDATS, IEND]), False),
    "rgb": (_png(Image.fromarray(GREY).convert("RGB")), False),
    "palette": (_png(Image.fromarray(GREY).convert("P")), False),
    "grey + alpha": (_png(Image.fromarray(GREY).convert("LA")), False),
    "16-bit": (_png(Image.fromarray(GREY.astype(np.uint16) * 257)), False),
    "1-bit": (_png(Image.fromarray(GREY > 128)), False),
    "interlaced": (_assemble([(b"IHDR", IHDR[1][:12] + b"\x01"), *IDATS, IEND]), False),
    "bad IDAT crc": (_bad_idat_crc(), False),
    "trailing bytes": (PLAIN + b"\x00\x00", False),
    "truncated": (PLAIN[:-6], False),
    "no IDAT": (_assemble([IHDR, IEND]), False),
    "IDAT before IHDR": (_assemble([*IDATS, IHDR, IEND]), False),
    "two IHDR": (_assemble([IHDR, IHDR, *IDATS, IEND]), False),
    "IEND with data": (_assemble([IHDR, *IDATS, (b"IEND", b"x")]), False),
    "jpeg": (_png(Image.fromarray(GREY)).replace(b"PNG", b"JPG"), False),
    "empty": (b"", False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_only_pixels_only_png_is_plain(case):
    data, plain = CASES[case]
    assert is_plain_grey_png(data) is plain


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][1] or c in ("text chunk", "rgb", "16-bit", "bad IDAT crc",
                                                                          "trailing bytes", "dpi (pHYs)")])
def test_request_decodes_to_the_pixels_read_whichever_way_it_was_made(tmp_path, case):
    path = tmp_path / "x.png"
    path.write_bytes(CASES[case][0])
    pixels, plain = read_grey8(path)
    assert (plain is not None) is CASES[case][1]
    sent = request_image(read_frame(path))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(sent.png))), read_image_u8(path))
    assert (sent.png == CASES[case][0]) is CASES[case][1]
    assert is_plain_grey_png(sent.png)  # what is sent is always pixels only


def test_plain_png_that_must_shrink_or_is_over_the_byte_limit_is_encoded_again():
    wide = RNG.integers(0, 256, (30, 1500), dtype=np.uint8)
    plain = _png(Image.fromarray(wide))
    frame = Grey8(wide.shape, plain, lambda: wide)
    sent = request_image(frame, max_side=1024)
    assert (sent.width, sent.height) == (1024, 20) and sent.png != plain

    class Tight:  # a provider whose byte limit the file's bytes (noise, level 6) exceed
        max_side, max_image_bytes = None, len(base64.b64encode(plain)) - 4
    squeezed = request_image(frame, max_side=None, provider=Tight)
    assert squeezed.png != plain and len(base64.b64encode(squeezed.png)) <= Tight.max_image_bytes


def test_describe_sends_plain_files_as_they_are_and_never_a_files_metadata(tmp_path, monkeypatch):
    """Through the real openai SDK: the plain file's bytes are what the provider gets; the file with a
    private text chunk arrives without it, the same pixels; RGB and 16-bit arrive as 8-bit grey."""
    set_provider_keys(monkeypatch)
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    grey = [RNG.integers(0, 256, (20, 28), dtype=np.uint8) for _ in range(4)]  # four different frames
    files = {"a_plain": _png(Image.fromarray(grey[0])), "b_text": _text_chunk(grey[1]),
             "c_rgb": _png(Image.fromarray(grey[2]).convert("RGB")),
             "d_16bit": _png(Image.fromarray(grey[3].astype(np.uint16) * 257))}
    for name, data in files.items():
        (root / "images" / f"{name}.png").write_bytes(data)
    with FakeServer() as fake:
        fake.api.keep_bodies = True
        summary = describe_at(fake, root)
        sent = [_b64decode(_last_image_b64(body)) for _, body in fake.api.bodies]
    assert summary["answers"] == len(files) == len(sent)
    by_pixels = {np.asarray(Image.open(io.BytesIO(png))).tobytes(): png for png in sent}
    assert len(by_pixels) == len(files)
    for name, data in files.items():
        png = by_pixels[read_image_u8(root / "images" / f"{name}.png").tobytes()]
        assert (png == data) is (name == "a_plain"), name
        assert b"patient" not in png and is_plain_grey_png(png)
