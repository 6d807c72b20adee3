"""Safe image and mask reading: any common mode to one float32 channel, masks to bool.

Pillow's decompression-bomb guard stays on: an oversized image is an error, not a hang.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from langir.errors import DataError

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")

# ITU-R 601-2 luma, the weights Pillow's own "L" conversion uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _open(path: Path) -> Image.Image:
    if not path.exists():
        raise DataError(path, "file not found")
    if path.stat().st_size == 0:
        raise DataError(path, "file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DataError(path, f"image too large (decompression-bomb guard): {err}") from None
    except UnidentifiedImageError:
        raise DataError(path, "not a readable image (corrupt or unknown format)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(path, f"corrupt image: {err}") from None
    return img


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


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file (8/16-bit grey, RGB, RGBA, palette; PNG/BMP/JPEG/TIFF) as float32 H×W in [0, 1]."""
    path = Path(path)
    return image_to_array(_open(path))


def read_mask(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask as bool H×W (any pixel > 0 is target); check its size against `shape` (H, W)."""
    path = Path(path)
    img = _open(path)
    if img.mode == "LA":
        arr = np.asarray(img)[..., 0] > 0
    elif img.mode in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr"):
        arr = np.asarray(img.convert("RGB")).max(axis=-1) > 0
    else:
        arr = np.asarray(img) > 0
    if shape is not None and arr.shape != tuple(shape):
        raise DataError(
            path,
            f"mask size {arr.shape[1]}×{arr.shape[0]} does not match image size {shape[1]}×{shape[0]}",
        )
    return arr


def image_info(path: str | Path) -> tuple[int, int, str]:
    """Width, height and Pillow mode of an image, reading only its header."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    if path.stat().st_size == 0:
        raise DataError(path, "file is empty (0 bytes)")
    try:
        with Image.open(path) as img:
            return img.width, img.height, img.mode
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DataError(path, "not a readable image (corrupt or unknown format)") from None


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] → uint8 (for previews, PNG export and VLM requests)."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
