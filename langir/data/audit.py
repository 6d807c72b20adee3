"""What is in a dataset: counts, sizes, modes, targets per image and target sizes — and its problems.

Images are checked from their headers (size, mode, pixel budget) plus Pillow's integrity check
(for PNG every chunk's CRC: truncation and corruption are found without decoding pixels); masks
are decoded, since the target statistics need them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from langir.data.dataset import LangIRDataset
from langir.data.imageio import max_pixels
from langir.data.patterns import natural_sorted
from langir.data.positions import find_targets
from langir.errors import DataError


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    arr = np.asarray(values, dtype=np.float64)
    return {
        "min": float(arr.min()),
        "median": float(np.median(arr)),
        "mean": float(arr.mean()),
        "p95": float(np.percentile(arr, 95)),
        "max": float(arr.max()),
    }


def _problem(sample_id: str, error: DataError) -> dict[str, str]:
    """One problem: the id, the file, what is wrong with it ('problem') and the full one-line 'error'."""
    return {"id": sample_id, "file": str(error.path) if error.path else "", "problem": error.problem, "error": str(error)}


def inspect_dataset(
    ds: LangIRDataset,
    ids: list[str] | None = None,
    skip_bad: bool = False,
    wrap: Callable[[Iterable[str]], Iterable[str]] = lambda it: it,
) -> dict:
    """Summarise a dataset and list its problems.

    Problems: unreadable images or masks (missing, folder, FIFO, symlink loop, corrupt, too large,
    wrong size), split ids without an image, and images without a mask when the dataset has a mask
    folder. Unreadable samples raise DataError, or with `skip_bad` are listed under 'skipped' (and
    'problems', which also holds the missing files).
    """
    ids = ds.all_ids() if ids is None else ids
    splits = {name: len(ds.split_ids(name)) for name in ds.split_names}
    listed = {i for name in ds.split_names for i in ds.split_ids(name)}
    on_disk = set(ds.all_ids())
    missing_images = sorted(listed - on_disk)
    mask_folder = ds.root / Path(ds.layout.masks).parent
    masks_expected = mask_folder != ds.root and mask_folder.is_dir()
    sizes: Counter = Counter()
    modes: Counter = Counter()
    targets_per_image: Counter = Counter()
    target_px: list[float] = []
    target_pct: list[float] = []
    no_mask: list[str] = []
    no_description: list[str] = []
    no_target: list[str] = []
    skipped: list[dict[str, str]] = []
    problems: list[dict[str, str]] = []
    checked = set(ids)
    for sample_id in missing_images:
        if sample_id in checked:
            continue  # reading it below reports the missing file
        names = ", ".join(n for n in ds.split_names if sample_id in ds.split_ids(n))
        problems.append(_problem(sample_id, DataError(ds.image_path(sample_id), f"image not found (listed in split {names})")))
    for sample_id in wrap(ids):
        try:
            width, height, mode = ds.image_info(sample_id)
            mask = None
            if ds.has_mask(sample_id):
                mask = ds.read_mask(sample_id, (height, width))
        except DataError as error:
            error.sample_id = sample_id
            if not skip_bad:
                raise
            skipped.append({"id": sample_id, "error": str(error)})
            problems.append(_problem(sample_id, error))
            continue
        if not ds.has_description(sample_id):
            no_description.append(sample_id)
        sizes[f"{width}x{height}"] += 1
        modes[mode] += 1
        if mask is None:
            no_mask.append(sample_id)
            if masks_expected:
                problems.append(_problem(sample_id, DataError(ds.mask_path(sample_id), "mask not found")))
            continue
        targets = find_targets(mask)
        targets_per_image[len(targets)] += 1
        if not targets:
            no_target.append(sample_id)
        for target in targets:
            target_px.append(target.area)
            target_pct.append(100.0 * target.area / (width * height))
    order = {sample_id: n for n, sample_id in enumerate(natural_sorted({p["id"] for p in problems}))}
    problems.sort(key=lambda p: order[p["id"]])
    return {
        "root": str(ds.root),
        **ds.layout.describe(),
        "image_count": len(on_disk),
        "checked": len(ids) - len(skipped),
        "split_counts": splits,
        "split_ids_without_image": missing_images,
        "images_without_mask": no_mask,
        "images_without_description": no_description,
        "images_without_target": no_target,
        "image_sizes": dict(sizes.most_common()),
        "image_modes": dict(modes.most_common()),
        "targets_per_image": {str(k): v for k, v in sorted(targets_per_image.items())},
        "targets": len(target_px),
        "target_area_px": _summary(target_px),
        "target_area_percent": _summary(target_pct),
        "skipped": skipped,
        "problems": problems,
        "mask_folder_present": masks_expected,
        "pixel_budget": max_pixels(),
    }
