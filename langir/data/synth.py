"""Synthetic infrared scenes with small targets, written in LangIR layout (`generic` preset).

A scene is a sky/ground split at a random horizon; the sky is a smooth 1/f field with soft
clouds, the ground (or sea) a rougher 1/f texture; a few bright blurred structures (buildings,
roads, sun glints) add clutter; then vignetting and sensor noise (white + column fixed pattern).
Targets are Gaussian-like blobs of 2–9 px with a chosen SNR over the local noise; the mask covers
the blob where it exceeds half its peak, and each target stays under 0.15 % of the image (the
IRSTD definition of "small"). Every image is seeded from (seed, index), so the same seed writes
the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from langir.data.atomic import save_image_atomic, write_text_atomic
from langir.errors import ConfigError, OutputError

MAX_TARGET_FRACTION = 0.0015  # 0.15 % of the image per target


@dataclass
class SynthReport:
    out: str
    count: int
    size: tuple[int, int]  # (height, width)
    seed: int
    splits: dict[str, int]
    targets: int
    empty_images: int
    target_area_px: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("target_area_px")
        return data


def parse_size(text: str) -> tuple[int, int]:
    """'256' → (256, 256); '320x256' (W×H) → (256, 320)."""
    try:
        if "x" in text.lower():
            w, h = (int(v) for v in text.lower().split("x"))
        else:
            w = h = int(text)
    except ValueError:
        raise ConfigError(f"--size expects N or WxH, got {text!r}") from None
    if not (32 <= w <= 4096 and 32 <= h <= 4096):
        raise ConfigError(f"--size {text!r}: each side must be between 32 and 4096")
    return h, w


def _one_over_f(rng: np.random.Generator, shape: tuple[int, int], beta: float) -> np.ndarray:
    """Zero-mean, unit-std noise with a 1/f^beta power spectrum (FFT-shaped white noise)."""
    h, w = shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    spectrum = np.fft.rfft2(rng.standard_normal(shape)) / radius ** (beta / 2)
    spectrum[0, 0] = 0.0
    field_ = np.fft.irfft2(spectrum, s=shape)
    return field_ / (field_.std() + 1e-12)


def make_background(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, float]:
    """A cluttered IR background in [0, 1] and its sensor-noise std."""
    h, w = shape
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]
    horizon = rng.uniform(0.45, 1.15) * h  # > h: sky only
    tilt = rng.uniform(-0.08, 0.08) * (cols - w / 2)
    ground = rows > horizon + tilt
    sky = 0.25 + 0.2 * (1 - rows / h) + 0.04 * _one_over_f(rng, shape, 3.0)
    clouds = ndimage.gaussian_filter(_one_over_f(rng, shape, 2.2), sigma=2.0)
    cover = rng.uniform(0.0, 1.2)
    sky = sky + 0.18 * np.clip(clouds - (1.0 - cover), 0, None)
    land = rng.uniform(0.3, 0.55) + 0.08 * _one_over_f(rng, shape, rng.uniform(1.6, 2.4))
    image = np.where(ground, land, sky)
    for _ in range(rng.integers(0, 4)):  # bright structures: buildings, roads, glints
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        hh, ww = rng.integers(3, max(4, h // 6)), rng.integers(3, max(4, w // 5))
        block = np.zeros(shape)
        block[y0 : y0 + hh, x0 : x0 + ww] = rng.uniform(0.1, 0.3)
        image += ndimage.gaussian_filter(block, rng.uniform(1.0, 3.0))
    yy, xx = (rows - h / 2) / h, (cols - w / 2) / w
    image *= 1.0 - rng.uniform(0.1, 0.35) * (xx**2 + yy**2) * 2  # vignetting
    noise_std = rng.uniform(0.006, 0.02)
    image += noise_std * rng.standard_normal(shape) + 0.3 * noise_std * rng.standard_normal((1, w))
    return np.clip(image, 0.0, 1.0), noise_std


def add_targets(
    rng: np.random.Generator, image: np.ndarray, noise_std: float, count: int, snr: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Add `count` Gaussian blobs; returns the image and a mask of pixels above half their peak."""
    h, w = image.shape
    mask = np.zeros((h, w), bool)
    max_area = MAX_TARGET_FRACTION * h * w
    image = image.copy()
    centres: list[tuple[float, float]] = []
    for _ in range(count):
        size = rng.uniform(2.0, 9.0)
        while size > 2.0 and np.pi * (1.25 * size / 2) ** 2 > max_area:  # 1.25: largest sigma jitter
            size *= 0.8
        sigma_y = size / 2.355 * rng.uniform(0.8, 1.25)  # FWHM ≈ size
        sigma_x = size / 2.355 * rng.uniform(0.8, 1.25)
        margin = int(3 * size) + 2
        for _attempt in range(50):  # keep targets apart so that no two merge into one component
            cy, cx = rng.uniform(margin, h - margin), rng.uniform(margin, w - margin)
            if all(np.hypot(cy - y, cx - x) > 4 * 9.0 for y, x in centres):
                break
        else:
            continue
        centres.append((cy, cx))
        r = int(np.ceil(3 * max(sigma_y, sigma_x))) + 1
        y0, y1, x0, x1 = max(int(cy) - r, 0), min(int(cy) + r + 1, h), max(int(cx) - r, 0), min(int(cx) + r + 1, w)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        blob = np.exp(-0.5 * (((yy - cy) / sigma_y) ** 2 + ((xx - cx) / sigma_x) ** 2))
        amplitude = rng.uniform(*snr) * noise_std * 4
        image[y0:y1, x0:x1] += amplitude * blob
        mask[y0:y1, x0:x1] |= blob >= 0.5
    return np.clip(image, 0.0, 1.0), mask


def make_sample(
    rng: np.random.Generator,
    shape: tuple[int, int],
    max_targets: int = 3,
    empty_fraction: float = 0.15,
    snr: tuple[float, float] = (3.0, 8.0),
) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic (image float32 [0,1], mask bool) pair."""
    background, noise_std = make_background(rng, shape)
    empty = rng.random() < empty_fraction  # drawn even when max_targets is 0, so streams stay aligned
    count = 0 if empty or max_targets < 1 else int(rng.integers(1, max_targets + 1))
    image, mask = add_targets(rng, background, noise_std, count, snr)
    return image.astype(np.float32), mask


def _save_png(path: Path, array: np.ndarray) -> None:
    save_image_atomic(path, array, format="PNG", optimize=False)


def synthesize(
    out: str | Path,
    count: int = 40,
    size: tuple[int, int] = (256, 256),
    seed: int = 0,
    test_fraction: float = 0.2,
    max_targets: int = 3,
    empty_fraction: float = 0.15,
    snr: tuple[float, float] = (3.0, 8.0),
    bit_depth: int = 8,
    overwrite: bool = False,
    on_image: Callable[[int], None] | None = None,
) -> SynthReport:
    """Write `count` synthetic samples and trainval/test split files into `out`."""
    out = Path(out)
    if count < 1:
        raise ConfigError("--count must be at least 1")
    if bit_depth not in (8, 16):
        raise ConfigError("--bit-depth must be 8 or 16")
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError("--test-fraction must be in [0, 1)")
    if max_targets < 0:
        raise ConfigError("--max-targets must be 0 or more")
    if not 0.0 <= empty_fraction <= 1.0:
        raise ConfigError("--empty-fraction must be in [0, 1]")
    if not 0.0 < snr[0] <= snr[1]:
        raise ConfigError(f"--snr needs 0 < LOW <= HIGH, got {snr[0]:g}:{snr[1]:g}")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder")
    try:
        not_empty = out.exists() and any(out.iterdir())
    except OSError as error:
        raise OutputError(out, error.strerror or str(error)) from None
    if not_empty and not overwrite:
        raise ConfigError(f"{out} is not empty; pass --overwrite to write into it")
    ids = [f"ir_{i:05d}" for i in range(count)]
    areas: list[int] = []
    empty = 0
    for index, sample_id in enumerate(ids):
        rng = np.random.default_rng([seed, index])
        image, mask = make_sample(rng, size, max_targets, empty_fraction, snr)
        labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
        areas.extend(np.bincount(labels.ravel())[1:].tolist())
        empty += n == 0
        pixels = (image * 65535 + 0.5).astype(np.uint16) if bit_depth == 16 else (image * 255 + 0.5).astype(np.uint8)
        _save_png(out / "images" / f"{sample_id}.png", pixels)
        _save_png(out / "masks" / f"{sample_id}.png", mask.astype(np.uint8) * 255)
        if on_image:
            on_image(index)
    order = np.random.default_rng([seed, 2**31]).permutation(count)
    n_test = int(round(count * test_fraction))
    test = sorted(ids[i] for i in order[:n_test])
    trainval = sorted(ids[i] for i in order[n_test:])
    write_text_atomic(out / "trainval.txt", "".join(f"{i}\n" for i in trainval))
    write_text_atomic(out / "test.txt", "".join(f"{i}\n" for i in test))
    return SynthReport(str(out), count, size, seed, {"trainval": len(trainval), "test": len(test)}, len(areas), int(empty), areas)
