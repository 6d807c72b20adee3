"""`validate` remembers each id's targets for the process while its image and mask are unchanged (a curate loop
validates every id each round): a changed file is read again, a failure is never remembered, what is kept cannot
be changed by a caller, and the non-binary mask note is said by every command all the same."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from langir.curate.validate import load_targets, validate_dataset
from langir.data.atomic import write_bytes_atomic
from langir.data.dataset import LangIRDataset
from langir.errors import DataError
from tests.describe.describe_helpers import make_dataset


def _set(tmp_path):
    root = make_dataset(tmp_path / "ds", 4, size=(40, 48))
    return root, LangIRDataset.open(root)


def test_a_mask_changed_between_rounds_is_read_again(tmp_path, cli):
    root, ds = _set(tmp_path)
    assert cli("describe", root, "--provider", "template").code == 0
    first = validate_dataset(ds, ds.all_ids(), 50, 0.05).summary()
    assert first["agreement"] == 1.0
    sample = ds.all_ids()[0]
    before = load_targets(ds, sample).centroids.copy()
    moved = np.zeros((40, 48), np.uint8)
    moved[30:32, 40:42] = 255  # the target moves to the lower right: the text (written before) is now wrong
    mask = root / "masks" / f"{sample}.png"
    Image.fromarray(moved).save(mask)
    after = load_targets(ds, sample).centroids
    assert not np.allclose(before, after)
    second = validate_dataset(ds, ds.all_ids(), 50, 0.05).summary()
    assert second["agreeing"] == first["agreeing"] - 1


def test_a_file_replaced_atomically_is_read_again(tmp_path):
    root, ds = _set(tmp_path)
    sample = ds.all_ids()[1]
    first = load_targets(ds, sample)
    assert load_targets(ds, sample) is first  # unchanged: remembered
    empty = np.zeros((40, 48), np.uint8)
    png = root / "masks" / f"{sample}.png"
    stamp = png.stat().st_mtime_ns
    buf = io.BytesIO()
    Image.fromarray(empty).save(buf, "PNG")
    write_bytes_atomic(png, buf.getvalue())
    os.utime(png, ns=(stamp, stamp))  # the old time stamp: the new inode and size still tell
    assert len(load_targets(ds, sample).centroids) == 0


def test_a_failure_is_never_remembered(tmp_path):
    root, ds = _set(tmp_path)
    sample = ds.all_ids()[2]
    mask = root / "masks" / f"{sample}.png"
    good = mask.read_bytes()
    mask.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError):
        load_targets(ds, sample)
    mask.write_bytes(good)
    assert len(load_targets(ds, sample).centroids) == 1


def test_what_is_kept_cannot_be_changed_by_a_caller(tmp_path):
    _, ds = _set(tmp_path)
    found = load_targets(ds, ds.all_ids()[0])
    with pytest.raises(ValueError):
        found.centroids[0, 0] = 0.5
    assert load_targets(ds, ds.all_ids()[0]) is found


def test_every_command_says_the_non_binary_note(tmp_path, cli):
    root, ds = _set(tmp_path)
    sample = ds.all_ids()[3]
    soft = np.zeros((40, 48), np.uint8)
    soft[10:13, 10:13] = 128
    soft[11, 11] = 255
    Image.fromarray(soft).save(root / "masks" / f"{sample}.png")
    assert cli("describe", root, "--provider", "template").code == 0
    for _ in range(2):  # the second validate takes the mask's targets from memory
        result = cli("validate", root)
        assert "1 mask(s) not binary" in result.stderr and sample in result.stderr
