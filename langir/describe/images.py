"""Image → 8-bit PNG bytes for a VLM request, downscaled within the provider's limits."""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from langir.data.imageio import read_image, to_uint8

# Anthropic: ≤ 5 MB per image (base64), ≤ 8000 px a side; OpenAI: 2048 px box, detail tiles of 512.
PROVIDER_MAX_SIDE = {"anthropic": 8000, "openai": 2048}
ANTHROPIC_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_SIDE = 1024  # small IR images (≤ 1024) stay as they are; 1920×1080 comes down


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


def encode_array(image: np.ndarray, max_side: int | None = DEFAULT_MAX_SIDE, provider: str = "openai") -> EncodedImage:
    """Float/uint image (H×W or H×W×C) → 8-bit PNG, longest side ≤ min(max_side, provider limit)."""
    arr = to_uint8(image)
    img = Image.fromarray(arr)
    limit = PROVIDER_MAX_SIDE.get(provider, 8000)
    if max_side:
        limit = min(limit, max_side)
    if max(img.size) > limit:
        scale = limit / max(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.LANCZOS)
    while True:
        buf = io.BytesIO()
        img.save(buf, format="PNG", optimize=False)
        png = buf.getvalue()
        # base64 grows by 4/3; shrink until within Anthropic's 5 MB cap
        if provider != "anthropic" or len(png) * 4 // 3 <= ANTHROPIC_MAX_BYTES:
            return EncodedImage(png, img.width, img.height)
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)), Image.Resampling.LANCZOS)


def encode_file(path: str | Path, max_side: int | None = DEFAULT_MAX_SIDE, provider: str = "openai") -> EncodedImage:
    """Read any image file (any mode, 8/16-bit) and encode it (see `encode_array`)."""
    return encode_array(read_image(path), max_side, provider)
