"""Image → 8-bit PNG bytes for a VLM request, downscaled within the provider's limits.

The limits (longest side, bytes per image) are attributes of the provider classes in the
registry (`langir.describe.providers`); this module only applies them.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from langir.data.imageio import Grey8, read_frame, to_uint8

DEFAULT_MAX_SIDE = 1024  # small IR images (≤ 1024) stay as they are; 1920×1080 comes down
# zlib level of each request's PNG: 1 encodes a SIRST frame (320×240) in 1.2 ms instead of 5.2 ms at Pillow's
# default 6, for 20 % more bytes (tokens count pixels, not bytes). These bytes are in no ledger key (the key
# hashes the image file); few-shot PNGs are (the prompt digest), so they keep the default level.
REQUEST_COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class EncodedImage:
    png: bytes
    width: int
    height: int

    @property
    def b64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")

    @property
    def data_url(self) -> str:
        return "data:image/png;base64," + self.b64

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.png).hexdigest()[:24]


def image_limits(provider: Any) -> tuple[int | None, int | None]:
    """(max side px, max base64 bytes) of a provider class or instance (None: no limits).

    Takes the class, not its name, so this module never imports the provider registry (which imports it).
    """
    return getattr(provider, "max_side", None), getattr(provider, "max_image_bytes", None)


def fitted_size(width: int, height: int, max_side: int | None = DEFAULT_MAX_SIDE, provider: Any = None) -> tuple[int, int]:
    """(W, H) of a width×height image brought within min(max_side, the provider's side limit), aspect kept:
    the size a request carries (unless a byte limit shrinks it further)."""
    limits = [x for x in (image_limits(provider)[0], max_side) if x]
    if not limits or max(width, height) <= min(limits):
        return width, height
    scale = min(limits) / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _b64_len(n: int) -> int:
    return 4 * ((n + 2) // 3)


def encode_array(image: np.ndarray, max_side: int | None = DEFAULT_MAX_SIDE, provider: Any = None,
                 compress_level: int = 6) -> EncodedImage:
    """Float image in [0, 1] or uint8 image (H×W or H×W×C) → 8-bit PNG, longest side ≤ min(max_side, provider limit),
    shrunk further (by 3/4 steps) until its base64 fits the provider's bytes-per-image limit.

    ``compress_level``: zlib's (PNG is lossless at every level; 6 is Pillow's default). A PNG over the byte
    limit is tried at level 9 before any shrinking, so a faster level never costs pixels."""
    _, byte_limit = image_limits(provider)
    img = Image.fromarray(image if image.dtype == np.uint8 else to_uint8(image))  # uint8: already as sent
    size = fitted_size(img.width, img.height, max_side, provider)
    if size != img.size:
        img = img.resize(size, Image.Resampling.LANCZOS)
    while True:
        for level in dict.fromkeys((compress_level, 9)):
            buf = io.BytesIO()
            img.save(buf, format="PNG", optimize=False, compress_level=level)
            png = buf.getvalue()
            if not byte_limit or _b64_len(len(png)) <= byte_limit or max(img.size) <= 1:
                return EncodedImage(png, img.width, img.height)
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)), Image.Resampling.LANCZOS)


def request_image(image: np.ndarray | Grey8, max_side: int | None = DEFAULT_MAX_SIDE,
                  provider: Any = None) -> EncodedImage:
    """The PNG one describe request carries for `image` (pixels, or a frame as `imageio.read_frame` reads it).

    A frame whose file is a plain 8-bit grey PNG (`Grey8.png`) is sent as those bytes when it needs no
    shrinking (its pixels are then never decoded): encoding again would only spend CPU (≈ 0.13 ms for a
    64×64 frame, more than a millisecond for a 320×240 one) on the same pixels. Anything else is encoded
    from its pixels (`encode_array` at `REQUEST_COMPRESS_LEVEL`)."""
    if isinstance(image, Grey8):
        if image.png is not None:
            height, width = image.shape
            byte_limit = image_limits(provider)[1]
            if fitted_size(width, height, max_side, provider) == (width, height) and (
                    not byte_limit or _b64_len(len(image.png)) <= byte_limit):
                return EncodedImage(image.png, width, height)
        image = image.pixels
    return encode_array(image, max_side, provider, compress_level=REQUEST_COMPRESS_LEVEL)


def encode_file(path: str | Path, max_side: int | None = DEFAULT_MAX_SIDE, provider: Any = None) -> EncodedImage:
    """Read any image file (any mode, 8/16-bit) and encode it as a request carries it (`request_image`)."""
    return request_image(read_frame(path), max_side=max_side, provider=provider)
