"""A `TargetsMemory` keeps each id's targets across validations while its image and mask are unchanged (the curate
loop validates every id each round): a changed file is read again, a failure is never kept, what is kept cannot be
changed by a caller, and the non-binary mask note is made again on every hit."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from langir.curate.validate import TargetsMemory, load_targets, validate_dataset
from langir.data.atomic import write_bytes_atomic
from langir.data.dataset import LangIRDataset
from langir.data.imageio import non_binary_masks
from langir.errors import DataError
from tests.describe.describe_helpers import make_dataset


def _set(tmp_path):
    root = make_dataset(tmp_path / "ds", 4, size=(40, 48))
    return root, LangIRDataset.open(root)


def test_a_mask_changed_between_rounds_is_read_again(tmp_path, cli):
    root, ds = _set(tmp_path)
    assert cli("describe", root, "--provider", "template").code == 0
    kept = TargetsMemory()
    first = validate_dataset(ds, ds.all_ids(), 50, 0.05, kept=kept).summary()
    assert first["agreement"] == 1.0
    sample = ds.all_ids()[0]
    before = load_targets(ds, sample, kept).centroids.copy()
    assert load_targets(ds, sample, kept) is load_targets(ds, sample, kept)  # unchanged: kept
    moved = np.zeros((40, 48), np.uint8)
    moved[30:32, 40:42] = 255  # the target moves to the lower right: the text (written before) is now wrong
    mask = root / "masks" / f"{sample}.png"
    Image.fromarray(moved).save(mask)
    after = load_targets(ds, sample, kept).centroids
    assert not np.allclose(before, after)
    second = validate_dataset(ds, ds.all_ids(), 50, 0.05, kept=kept).summary()
    assert second["agreeing"] == first["agreeing"] - 1


def test_a_file_replaced_atomically_is_read_again(tmp_path):
    root, ds = _set(tmp_path)
    sample = ds.all_ids()[1]
    kept = TargetsMemory()
    first = load_targets(ds, sample, kept)
    assert load_targets(ds, sample, kept) is first  # unchanged: kept
    empty = np.zeros((40, 48), np.uint8)
    png = root / "masks" / f"{sample}.png"
    stamp = png.stat().st_mtime_ns
    buf = io.BytesIO()
    Image.fromarray(empty).save(buf, "PNG")
    write_bytes_atomic(png, buf.getvalue())
    os.utime(png, ns=(stamp, stamp))  # the old time stamp: the new inode and size still tell
    assert len(load_targets(ds, sample, kept).centroids) == 0


def test_a_failure_is_never_remembered(tmp_path):
    root, ds = _set(tmp_path)
    sample = ds.all_ids()[2]
    mask = root / "masks" / f"{sample}.png"
    good = mask.read_bytes()
    kept = TargetsMemory()
    mask.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError):
        load_targets(ds, sample, kept)
    mask.write_bytes(good)
    assert len(load_targets(ds, sample, kept).centroids) == 1


def test_what_is_kept_cannot_be_changed_by_a_caller(tmp_path):
    _, ds = _set(tmp_path)
    kept = TargetsMemory()
    found = load_targets(ds, ds.all_ids()[0], kept)
    with pytest.raises(ValueError):
        found.centroids[0, 0] = 0.5
    assert load_targets(ds, ds.all_ids()[0], kept) is found
    assert load_targets(ds, ds.all_ids()[0]) is not found  # without a memory: read every time


def test_the_non_binary_note_is_made_again_on_every_hit(tmp_path):
    root, ds = _set(tmp_path)
    sample = ds.all_ids()[3]
    soft = np.zeros((40, 48), np.uint8)
    soft[10:13, 10:13] = 128
    soft[11, 11] = 255
    mask = root / "masks" / f"{sample}.png"
    Image.fromarray(soft).save(mask)
    kept = TargetsMemory()
    non_binary_masks(clear=True)
    for _ in range(2):  # the second takes the mask's targets from memory
        load_targets(ds, sample, kept)
        assert non_binary_masks(clear=True) == {str(mask): 2}
