"""Card thumbnails: the IR frame, contrast-stretched, with the mask outline drawn as a solid cyan ring.

Dark IR frames are stretched between their 0.5th and 99.95th percentile so a faint target is visible;
the mask's outline is a solid ring 3 pixels outside each target (so the target itself stays
visible), cyan with a dark edge so it reads on bright and dark backgrounds. What the *text* claims
is drawn by the page on top (dashed amber), so a changed text needs no new thumbnail.

Thumbnails are PNGs under the user cache dir, named by the image and mask file's path and stat:
never written into the dataset folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from langir.data.atomic import write_bytes_atomic
from langir.data.dataset import LangIRDataset
from langir.errors import DataError

SIDE = 384  # longest side in pixels: sharp at 200 % zoom for a ~190 px wide card image
VERSION = 2
MASK_RGB = (0, 229, 255)  # cyan: the mask
EDGE_RGB = (0, 0, 0)


def _stat(path: Path) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}"


def thumb_path(ds: LangIRDataset, sample_id: str, cache_dir: Path) -> Path:
    image, mask = ds.image_path(sample_id), ds.mask_path(sample_id)
    key = f"{VERSION}|{SIDE}|{image.resolve()}|{_stat(image)}|{mask.resolve()}|{_stat(mask)}"
    return cache_dir / "thumbs" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.png"


def stretch(image: np.ndarray) -> np.ndarray:
    """uint8 of a [0, 1] float frame stretched between its 0.5th and 99.95th percentile."""
    lo, hi = np.percentile(image, [0.5, 99.95]) if image.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1e-6
    return (np.clip((image - lo) / (hi - lo), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def outline(mask: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(ring, edge) bool arrays at thumbnail `size` (W, H): a 2-px ring 3 px outside each target, and its dark edge."""
    small = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX)) > 0
    if not small.any():
        return small, small
    inner = ndimage.binary_dilation(small, iterations=3)
    outer = ndimage.binary_dilation(inner, iterations=2)
    ring = outer & ~inner
    edge = ndimage.binary_dilation(ring, iterations=1) & ~ring & ~small
    return ring, edge


def render(ds: LangIRDataset, sample_id: str) -> bytes:
    """PNG bytes of one card image; raises DataError naming an unreadable image."""
    frame = ds.read_image(sample_id)
    height, width = frame.shape[:2]
    scale = SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    grey = Image.fromarray(stretch(frame)).resize(size, resample)
    rgb = np.stack([np.asarray(grey)] * 3, axis=-1)
    mask = None
    if ds.has_mask(sample_id):
        try:
            mask = ds.read_mask(sample_id, (height, width))
        except DataError:
            mask = None  # the card says why (validate's reason); the frame is still worth seeing
    if mask is not None:
        ring, edge = outline(mask, size)
        rgb[edge] = EDGE_RGB
        rgb[ring] = MASK_RGB
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def thumbnail(ds: LangIRDataset, sample_id: str, cache_dir: Path) -> bytes:
    """The cached thumbnail of `sample_id`, rendered on first use."""
    path = thumb_path(ds, sample_id, cache_dir)
    with contextlib.suppress(OSError):
        return path.read_bytes()
    data = render(ds, sample_id)
    with contextlib.suppress(Exception):  # a cache that cannot be written only costs time
        write_bytes_atomic(path, data)
    return data
