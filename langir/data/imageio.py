"""Safe image and mask reading: any common mode to one float32 channel, masks to bool.

Every read goes through the guarded reader's `open_regular` (langir/data/guarded.py), which refuses
folders, FIFOs, devices and symlink loops before reading a byte (a FIFO would block forever). Pillow's decompression-bomb guard stays on,
and a pixel budget (`max_pixels`, default 2^26 ≈ 67 Mpx, env `LANGIR_MAX_PIXELS`) is checked from
the header before decoding, so one huge frame is a clear per-file error, never an out-of-memory kill.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from langir.data import guarded
from langir.data.guarded import as_path, open_regular
from langir.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "Grey8", "image_info", "image_to_array", "max_pixels", "open_regular", "read_file_bytes",
           "is_plain_grey_png", "non_binary_levels", "non_binary_masks", "note_non_binary", "read_frame", "read_grey8", "read_image", "read_image_u8", "read_mask",
           "to_uint8"]

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 2**26
MAX_PIXELS_ENV = "LANGIR_MAX_PIXELS"

# ITU-R 601-2 luma, the weights Pillow's own "L" conversion uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# What Pillow raises on broken files besides OSError: truncated headers, bad tables, odd sizes.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError,
                  ZeroDivisionError, KeyError, MemoryError)


def max_pixels() -> int:
    """The pixel budget for decoding one image: `LANGIR_MAX_PIXELS` or 2^26."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(raw))
    except ValueError:
        value = 0
    if value < 1:
        from langir.errors import ConfigError

        raise ConfigError(f"{MAX_PIXELS_ENV} must be a positive number of pixels, got {raw!r}")
    return value


def read_file_bytes(path: str | Path, what: str = "file", max_bytes: int = 2**30) -> bytes:
    """The bytes of a regular file (for hashing, uploads); a folder, FIFO or loop is one DataError."""
    return guarded.read_bytes(path, what, max_bytes)


_READ_WHOLE_BYTES = 1 << 20  # files up to this size are read at once, then decoded from memory


def _corrupt(err: BaseException) -> str:
    """One line for a decoder's failure; Pillow's bare codes ("decoder error -2") said in words."""
    text = str(err) or type(err).__name__
    if re.fullmatch(r"decoder error -?\d+", text):
        return f"corrupt image: its pixel data is broken or cut short ({text})"
    return f"corrupt image: {text}"


@contextlib.contextmanager
def _pillow_warnings() -> Iterator[None]:
    """Pillow's bomb warning raised (the guard), its other warnings about a file ("Corrupt EXIF data", odd
    palettes) kept off the terminal: the file then reads, or fails with one DataError that says why."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _read_or_open(path: Path, what: str) -> tuple[BinaryIO, bytes | None]:
    """(a file object, the bytes): a small file read at once (`_read_small`) and closed, the object then
    holding its bytes in memory; a larger one left open for Pillow to read as it goes (bytes None)."""
    fh: BinaryIO = open_regular(path, what)
    try:
        data = _read_small(fh, path, what)
    except BaseException:
        fh.close()
        raise
    if data is None:
        return fh, None
    fh.close()
    return io.BytesIO(data), data


def _read_small(fh: BinaryIO, path: Path, what: str) -> bytes | None:
    """The whole file when it is at most `_READ_WHOLE_BYTES`, to decode from memory (Pillow's seeks and reads
    on a file are a syscall each); None: larger, read by Pillow as it goes. Empty or oversized: DataError."""
    size = os.fstat(fh.fileno()).st_size
    if size == 0:
        raise DataError(path, "file is empty (0 bytes)")
    if size > guarded.MAX_IMAGE_BYTES:
        raise DataError(path, f"{what} file is {size / 2**20:.0f} MiB, over the {guarded.MAX_IMAGE_BYTES // 2**20} MiB "
                              f"limit for one {what}; is it the right file?")
    if size > _READ_WHOLE_BYTES:
        return None
    return fh.read(size)  # the file as fstat saw it (a read of 1 MiB would allocate 1 MiB first)


def _open_header(fh: BinaryIO, path: Path, budget: int | None) -> Image.Image:
    """Pillow's open of `fh` (header only) under the bomb guard and the pixel budget; `fh` closed on error."""
    try:
        with _pillow_warnings():
            img = Image.open(fh)
        _check_budget(path, img.width, img.height, budget)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        fh.close()
        raise DataError(path, f"image too large (decompression-bomb guard): {err}") from None
    except UnidentifiedImageError:
        fh.close()
        raise DataError(path, "not a readable image (corrupt or unknown format)") from None
    except DataError:
        fh.close()
        raise
    except _DECODE_ERRORS as err:
        fh.close()
        raise DataError(path, _corrupt(err)) from None
    return img


def _check_budget(path: Path, width: int, height: int, budget: int | None) -> None:
    budget = max_pixels() if budget is None else budget
    if width * height > budget:
        raise DataError(path, f"image is {width}×{height} = {width * height / 1e6:.1f} Mpx, "
                              f"over the pixel budget of {budget / 1e6:.1f} Mpx (raise it with {MAX_PIXELS_ENV})")


def _open(path: Path, budget: int | None = None, what: str = "image") -> Image.Image:
    img, _, plain = _decode(path, budget, what)
    return img if img is not None else _from_plain(path, plain)


def _decode(path: Path, budget: int | None = None,
            what: str = "image") -> tuple[Image.Image | None, bytes | None, tuple[int, int, bytes] | None]:
    """(the decoded image, the file's bytes when it is small enough to be read at once, None) — or, for a
    plain 8-bit grey PNG (`is_plain_grey_png`: most masks and grey frames that OpenCV or Pillow write),
    (None, its bytes, (width, height, IDAT stream)), the stream checked to decode (`_from_plain`)."""
    fh, data = _read_or_open(path, what)
    plain = _plain_in_budget(path, data, budget)
    if plain is not None:
        fh.close()
        _check_stream(path, *plain)
        return None, data, plain
    img = _open_header(fh, path, budget)
    try:
        with _pillow_warnings():
            _load(img.load, path, img.size)
        if img.format == "PNG" and not _last_row_decoded(img):
            _check_png_rows(fh, path)
    finally:
        fh.close()
    return img, data, None


def _plain_in_budget(path: Path, data: bytes | None, budget: int | None) -> tuple[int, int, bytes] | None:
    """`_plain_grey_png` of a file read at once, its size checked against the pixel budget; None for any other
    file, or one over Pillow's bomb limit (Pillow's path then refuses it in its own words)."""
    plain = _plain_grey_png(data) if data is not None else None
    if plain is None:
        return None
    bomb_limit = Image.MAX_IMAGE_PIXELS
    if bomb_limit and plain[0] * plain[1] > bomb_limit:
        return None
    _check_budget(path, plain[0], plain[1], budget)
    return plain


def _from_plain(path: Path, plain: tuple[int, int, bytes] | None) -> Image.Image:
    """A plain PNG's pixels, by Pillow's PNG decoder straight from its IDAT stream: the same pixels as
    Pillow's PNG path without its chunk parsing and loading in Python (≈ 20 µs a 64×64 file, not 35–45)."""
    assert plain is not None
    width, height, stream = plain
    return _load(Image.frombytes, path, (width, height), "L", (width, height), stream, "zip", "L")


def _check_stream(path: Path, width: int, height: int, stream: bytes) -> None:
    """A plain PNG's stream must decode: every row there, each with a known filter type (Pillow's decoder
    fills the rows of a stream that ends early with zeros and says nothing). Inflates at most the image."""
    size = png_raw_size(width, height, 8, 0, 0)  # each row: its filter type, then its pixels
    try:
        raw = zlib.decompressobj().decompress(stream, size)
    except zlib.error as err:
        raise DataError(path, _corrupt(err)) from None
    if len(raw) < size:
        raise DataError(path, "corrupt image: its pixel data ends before its last row")
    if max(raw[::width + 1]) > 4:
        raise DataError(path, "corrupt image: a row has an unknown PNG filter type")


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples a pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_INFLATE_STEP = 1 << 20  # bytes inflated at a time by the row check: memory stays bounded for any image


def png_raw_size(width: int, height: int, depth: int, colour: int, interlace: int) -> int:
    """Bytes of a PNG's inflated pixel stream: each row's filter type, then its packed samples (every Adam7
    pass's rows when interlaced)."""
    bits = _PNG_CHANNELS[colour] * depth

    def rows(w: int, h: int) -> int:
        return h * ((w * bits + 7) // 8 + 1) if w and h else 0

    if not interlace:
        return rows(width, height)
    return sum(rows((width - x + dx - 1) // dx, (height - y + dy - 1) // dy) for x, y, dx, dy in _ADAM7)


def _last_row_decoded(img: Image.Image) -> bool:
    """Whether Pillow's PNG decoder surely reached the last row: a row it never reached stays all zeros, so a
    non-zero pixel in the last row it fills (the last odd row of an Adam7 file: only pass 7 fills odd rows)
    proves the stream whole, without inflating it again. False: not known (`_check_png_rows` tells)."""
    y = img.height - 1
    if img.info.get("interlace"):
        y -= 1 - y % 2
    if y < 0 or img.mode not in _ROW_MODES:
        return False
    return bool(np.asarray(img.crop((0, y, img.width, y + 1))).any())


_ROW_MODES = frozenset(("1", "L", "LA", "P", "PA", "RGB", "RGBA", "I", "I;16", "I;16B"))


def _check_png_rows(fh: BinaryIO, path: Path) -> None:
    """Any PNG Pillow decoded must have had every row: its decoder fills the rows of a pixel stream that ends
    early with zeros and says nothing (16-bit, colour, or with metadata: the files `_check_stream` never
    sees). Walks the chunks again and inflates the IDAT stream a step at a time, no further than the image."""
    fh.seek(len(_PNG_SIGNATURE))
    inflate, need, got = zlib.decompressobj(), -1, 0
    while need < 0 or got < need:
        head = fh.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head)
        if kind == b"IHDR" and length >= 13:
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", fh.read(13))
            if colour not in _PNG_CHANNELS:
                return  # Pillow read it; its rules, not ours
            need = png_raw_size(width, height, depth, colour, interlace)
            fh.seek(length - 13 + 4, os.SEEK_CUR)
        elif kind == b"IDAT" and need >= 0:
            left = length
            while left and got < need:
                piece = fh.read(min(left, _INFLATE_STEP))
                if not piece:
                    break
                left -= len(piece)
                got += _inflated_size(inflate, piece, need - got, path)
            fh.seek(left + 4, os.SEEK_CUR)
        elif kind == b"IEND":
            break
        else:
            fh.seek(length + 4, os.SEEK_CUR)
    if got < need:
        raise DataError(path, "corrupt image: its pixel data ends before its last row")


def _inflated_size(inflate: Any, data: bytes, limit: int, path: Path) -> int:
    """How many bytes `data` inflates to through `inflate`, counting no further than `limit`."""
    got = 0
    try:
        while got < limit:  # on past the input's end too: a step's output can stop inside a long match
            out = inflate.decompress(data, min(limit - got, _INFLATE_STEP))
            progress = len(out) or len(data) - len(inflate.unconsumed_tail)
            data = inflate.unconsumed_tail
            got += len(out)
            if not progress:
                break
    except zlib.error as err:
        raise DataError(path, _corrupt(err)) from None
    return got


def _load(decode: Callable[..., Any], path: Path, size: tuple[int, int], *args: Any) -> Any:
    """`decode(*args)` of a width×height image, a decoder's failures one DataError naming `path`."""
    try:
        return decode(*args)
    except MemoryError:
        raise DataError(path, f"image {size[0]}×{size[1]} does not fit in memory") from None
    except _DECODE_ERRORS as err:
        raise DataError(path, _corrupt(err)) from None


def image_to_array(img: Image.Image) -> np.ndarray:
    """Convert a Pillow image of any mode to a float32 H×W array in [0, 1]."""
    mode = img.mode
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("1", "L", "LA"):
        arr = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    elif mode in ("RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
        arr = rgb @ _LUMA
    elif mode.startswith("I;16") or mode == "I":
        raw = np.asarray(img).astype(np.float32)
        # 16-bit PNGs open as "I" (int32) in Pillow; anything above 255 means a 16-bit range.
        scale = 65535.0 if (mode.startswith("I;16") or raw.max(initial=0) > 255) else 255.0
        arr = np.clip(raw / scale, 0.0, 1.0)
    elif mode == "F":
        raw = np.asarray(img, dtype=np.float32)
        lo, hi = float(raw.min(initial=0)), float(raw.max(initial=0))
        arr = (raw - lo) / (hi - lo) if hi > lo else np.zeros_like(raw)
    else:
        arr = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    return np.ascontiguousarray(arr, dtype=np.float32)


def read_image(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file (8/16-bit grey, RGB, RGBA, palette; PNG/BMP/JPEG/TIFF) as float32 H×W in [0, 1].

    Raises DataError naming the file when it is missing, not a regular file, corrupt, or larger than
    `max_pixels` (default: the `LANGIR_MAX_PIXELS` budget).
    """
    path = as_path(path)
    return image_to_array(_open(path, max_pixels))


def read_image_u8(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """`to_uint8(read_image(path))`, without the float detour for 8-bit grey files (the common case:
    the pixels as stored). Same checks and errors as `read_image`."""
    return read_frame(path, max_pixels).pixels


def read_grey8(path: str | Path, max_pixels: int | None = None) -> tuple[np.ndarray, bytes | None]:
    """`read_image_u8`'s pixels, and the file's bytes when the file already is exactly those pixels as a plain
    PNG (`is_plain_grey_png`): a request can carry it as it is instead of encoding the pixels again."""
    frame = read_frame(path, max_pixels)
    return frame.pixels, frame.png


@dataclass(frozen=True, eq=False)
class Grey8:
    """An image file read as a request carries it, 8-bit grey: its (H, W), and its own bytes when they already
    are a plain grey PNG of its pixels. A plain file's pixels are decoded when first asked for (its stream
    was checked to decode): a frame sent as it is never needs them."""

    shape: tuple[int, int]
    png: bytes | None
    _pixels: Callable[[], np.ndarray]

    @property
    def pixels(self) -> np.ndarray:
        return self._pixels()


def read_frame(path: str | Path, max_pixels: int | None = None) -> Grey8:
    """The image at `path` as a `Grey8` (the checks and errors of `read_image`)."""
    path = as_path(path)
    img, data, plain = _decode(path, max_pixels)
    if plain is not None:
        return Grey8((plain[1], plain[0]), data, functools.cache(lambda: np.asarray(_from_plain(path, plain))))
    assert img is not None
    pixels = np.asarray(img) if img.mode == "L" else to_uint8(image_to_array(img))
    return Grey8((pixels.shape[0], pixels.shape[1]), None, lambda: pixels)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PIXEL_CHUNKS = (b"IHDR", b"IDAT", b"IEND")


def is_plain_grey_png(data: bytes) -> bool:
    """Whether `data` is an 8-bit grey, non-interlaced PNG of pixels only: IHDR, IDAT…, IEND, every CRC right,
    nothing after the end. Anything else (text, EXIF or colour chunks a person may not mean to send, a
    palette, 16 bits, a bad CRC that Pillow's decoder never checks, trailing bytes) is not plain."""
    return _plain_grey_png(data) is not None


def _plain_grey_png(data: bytes) -> tuple[int, int, bytes] | None:
    """(width, height, the IDAT zlib stream) of a plain grey PNG (`is_plain_grey_png`), else None.

    Parsed here, not by Pillow: its PNG plugin keeps no note of which chunks a file had and never checks
    the CRCs, and the pixels are then decoded from the stream by Pillow's own PNG decoder."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    at, order, idat = len(_PNG_SIGNATURE), [], []
    width = height = 0
    while at + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        end = at + 12 + length
        if kind not in _PIXEL_CHUNKS or end > len(data):
            return None
        if zlib.crc32(data[at + 4:end - 4]) != struct.unpack_from(">I", data, end - 4)[0]:
            return None
        order.append(kind)
        if kind == b"IHDR":
            if length != 13 or order != [b"IHDR"]:
                return None
            width, height = struct.unpack_from(">II", data, at + 8)
            if tuple(data[at + 16:at + 21]) != (8, 0, 0, 0, 0) or not width or not height:
                return None  # bit depth, colour type, compression, filter method, interlace
        elif kind == b"IDAT":
            idat.append(data[at + 8:end - 4])
        at = end
        if kind == b"IEND":
            plain = at == len(data) and length == 0 and order[0] == b"IHDR" and set(order[1:-1]) == {b"IDAT"}
            return (width, height, b"".join(idat)) if plain else None
    return None


# Masks holding more than one non-zero value (anti-aliased edges, JPEG noise, soft labels) seen by this
# process: still read as target where > 0, and the CLI says so once at the end (`non_binary_masks`).
_NON_BINARY: dict[str, int] = {}
MASK_THRESHOLD_WORDS = "target where the pixel value is > 0"


def _note_levels(path: Path, raw: np.ndarray, target: np.ndarray) -> None:
    positive = raw[target]
    if positive.size and positive.min() != positive.max():
        _NON_BINARY[str(path)] = int(len(np.unique(positive)))


def non_binary_levels(path: str | Path) -> int | None:
    """How many distinct non-zero values the mask at `path` had when last read, if more than one (else None)."""
    return _NON_BINARY.get(str(path))


def note_non_binary(path: str | Path, levels: int) -> None:
    """Remember a non-binary mask again (a caller that kept what it read from it, instead of reading it)."""
    _NON_BINARY[str(path)] = levels


def non_binary_masks(clear: bool = True) -> dict[str, int]:
    """Path → number of distinct non-zero values of every non-binary mask read so far (then forgotten)."""
    found = dict(_NON_BINARY)
    if clear:
        _NON_BINARY.clear()
    return found


def read_mask(path: str | Path, shape: tuple[int, int] | None = None, max_pixels: int | None = None) -> np.ndarray:
    """Read a mask as bool H×W (any pixel > 0 is target); check its size against `shape` (H, W).

    A mask with more than one non-zero value is read the same way and remembered (`non_binary_masks`).
    """
    path = as_path(path)
    img = _open(path, max_pixels, "mask")
    if img.mode == "LA":
        raw = np.asarray(img)[..., 0]
    elif img.mode in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr"):
        raw = np.asarray(img.convert("RGB")).max(axis=-1)
    else:
        raw = np.asarray(img)
    arr = raw > 0
    _note_levels(path, raw, arr)
    if shape is not None and arr.shape != tuple(shape):
        raise DataError(
            path,
            f"mask size {arr.shape[1]}×{arr.shape[0]} does not match image size {shape[1]}×{shape[0]}",
        )
    return arr


def image_info(path: str | Path, verify: bool = True, max_pixels: int | None = None) -> tuple[int, int, str]:
    """Width, height and Pillow mode of an image, without decoding its pixels.

    The pixel budget is checked. With `verify` (default), Pillow's integrity check also runs (for
    PNG: every chunk's CRC and the end of the file — truncation and corruption are found for the
    cost of reading the file once) and a PNG's pixel stream is inflated to check that it holds every
    row (a cut stream with right CRCs passes Pillow's check); any other format is decoded (Pillow
    verifies PNGs only). `verify=False` reads the header only.
    """
    path = as_path(path)
    fh, data = _read_or_open(path, "image")
    plain = _plain_in_budget(path, data, max_pixels)  # only a file read at once (fh then holds bytes) can be plain
    if plain is not None:
        # a plain grey PNG (most frames and masks): its chunks and CRCs were just read; what Pillow's verify adds
        # is its plugin in Python, so the row check is all that is left to do
        fh.close()
        if verify:
            _check_stream(path, *plain)
        return plain[0], plain[1], "L"
    img = _open_header(fh, path, max_pixels)
    try:
        size = (img.width, img.height, img.mode)
        if verify and img.format == "PNG":
            img.verify()
            _check_png_rows(fh, path)
        elif verify:  # Pillow verifies PNGs only: a cut BMP, JPEG or TIFF shows when decoded
            with _pillow_warnings():
                _load(img.load, path, img.size)
    except _DECODE_ERRORS as err:
        raise DataError(path, _corrupt(err)) from None
    finally:
        fh.close()
    return size


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] → uint8 (for previews, PNG export and VLM requests)."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
