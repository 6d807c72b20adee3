"""Curation on the real SIRST: template descriptions ground at 100 %, flipped ones are caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from langir.curate.validate import validate_dataset
from langir.data.dataset import LangIRDataset
from langir.data.positions import find_targets, grid_cell, swap_left_right
from langir.describe.template import template_description


@pytest.fixture(scope="module")
def sirst_described(tmp_path_factory) -> Path:
    """A tmp COPY of SIRST (never writes into ../shared) with rich template descriptions."""
    sirst_root = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sirst"
    if not (sirst_root / "images").is_dir():
        pytest.skip(f"real SIRST dataset not found at {sirst_root}")
    dst = tmp_path_factory.mktemp("sirst") / "sirst"
    for name in ("images", "masks", "idx_427"):
        shutil.copytree(sirst_root / name, dst / name)
    ds = LangIRDataset.open(dst)
    for sample_id in ds.ids():
        try:
            mask = ds.read_mask(sample_id, ds.read_image(sample_id).shape)
        except Exception:  # Misc_111: mask/image sizes differ; left without description on purpose
            continue
        ds.write_description(sample_id, template_description(mask), overwrite=True)
    return dst


def test_template_descriptions_agree(sirst_described: Path) -> None:
    ds = LangIRDataset.open(sirst_described)
    result = validate_dataset(ds, ds.ids())
    summary = result.summary()
    assert summary["agreement"] == 1.0
    bad = result.failing
    # only the size-mismatched image fails, and it is reported per id, not raised
    assert "Misc_111" in set(bad["id"])
    assert all(kind in {"unreadable", "missing"} for f in bad["failures"] for kind in f.split(";"))


def test_left_right_flip_flagged_exactly(sirst_described: Path, tmp_path: Path) -> None:
    dst = tmp_path / "flip"
    shutil.copytree(sirst_described, dst)
    ds = LangIRDataset.open(dst)
    flipped = []
    for sample_id in ds.ids():
        if len(flipped) == 12 or sample_id == "Misc_111":
            continue
        image = ds.read_image(sample_id)
        targets = find_targets(ds.read_mask(sample_id, image.shape))
        cols = {grid_cell(*t.centroid, *image.shape)[1] for t in targets}
        # a flip of a target in the centre column (or of one target on each side) is no lie
        if len(targets) == 1 and cols != {1}:
            text = ds.description_path(sample_id).read_text(encoding="utf-8")
            ds.write_description(sample_id, swap_left_right(text), overwrite=True)
            flipped.append(sample_id)
    assert len(flipped) == 12
    result = validate_dataset(ds, ds.ids())
    table = result.table
    contradicting = set(table["id"][table["verdict"] == "contradicts"])
    assert contradicting == set(flipped)


def test_cli_validate_json_write_ids_exit(sirst_described: Path, tmp_path: Path, cli) -> None:
    ids_file = tmp_path / "redo.txt"
    res = cli("validate", str(sirst_described), "--json", "--write-ids", str(ids_file), "--max-errors", "0")
    assert res.code == 1  # Misc_111 fails
    summary = json.loads(res.stdout)
    assert summary["agreement"] == 1.0
    assert "Misc_111" in summary["failing_ids"]
    # the fixture left Misc_111 without a description: missing is redo-able, so it is listed
    assert ids_file.read_text().split() == ["Misc_111"]
    res = cli("validate", str(sirst_described), "--json", "--max-errors", "1")
    assert res.code == 0
