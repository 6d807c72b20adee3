from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from langir.data import LangIRDataset


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, cli) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        assert cli("synth", tmp_path / name, "--count", 6, "--size", "96x64", "--seed", seed).code == 0
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_target_statistics(tmp_path: Path, cli) -> None:
    result = cli("synth", tmp_path / "s", "--count", 60, "--size", "128", "--seed", 1, "--empty-fraction", 0.2, "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["count"] == 60 and report["splits"] == {"trainval": 48, "test": 12}
    ds = LangIRDataset.open(tmp_path / "s")
    assert ds.layout.name == "generic"
    per_image, empty = [], 0
    for sample in ds.iter_samples(ds.ids()):
        assert sample.image.shape == sample.mask.shape == (128, 128)
        labels, n = ndimage.label(sample.mask, structure=np.ones((3, 3)))
        per_image.append(n)
        empty += n == 0
        areas = np.bincount(labels.ravel())[1:]
        assert (areas < 0.0015 * 128 * 128).all()  # IRSTD: target < 0.15 % of the image
        assert (areas >= 2).all()
        if n:  # targets stand out from their surroundings
            assert sample.image[sample.mask].mean() > sample.image[~sample.mask].mean()
    assert max(per_image) <= 3 and 0 < empty < 30
    assert report["empty_images"] == empty and report["targets"] == sum(per_image)
    assert set(ds.ids("test")).isdisjoint(ds.ids("trainval"))


def test_sixteen_bit_output(tmp_path: Path, cli) -> None:
    assert cli("synth", tmp_path / "s", "--count", 2, "--size", 64, "--bit-depth", 16).code == 0
    assert Image.open(tmp_path / "s" / "images" / "ir_00000.png").mode.startswith("I")


def test_refuses_non_empty_folder_and_bad_options(tmp_path: Path, cli) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "keep.txt").write_text("mine")
    result = cli("synth", tmp_path / "s", "--count", 2)
    assert result.code == 2 and "not empty" in result.stderr and "--overwrite" in result.stderr
    assert cli("synth", tmp_path / "t", "--size", "12x") .code == 2
    assert cli("synth", tmp_path / "t", "--snr", "high").code == 2
    for bad in (("--max-targets", -1), ("--empty-fraction", 1.5), ("--snr", "-1:2"), ("--snr", "8:3"), ("--bit-depth", 12)):
        result = cli("synth", tmp_path / "t", *bad)
        assert result.code == 2 and bad[0] in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "t").exists()  # options are checked before anything is written
    assert (tmp_path / "s" / "keep.txt").read_text() == "mine"


def test_no_targets_when_max_targets_is_zero(tmp_path: Path, cli) -> None:
    result = cli("synth", tmp_path / "z", "--count", 3, "--size", 64, "--max-targets", 0, "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["targets"] == 0
    assert all(not np.asarray(Image.open(p)).any() for p in (tmp_path / "z" / "masks").iterdir())


def test_demo_set_is_valid(demo_root: Path, cli) -> None:
    result = cli("info", demo_root, "--json")
    assert result.code == 0
    report = json.loads(result.stdout)
    assert report["image_count"] == 32 and report["skipped"] == []
    assert report["images_without_target"] and report["targets"] > 32
    size = sum(p.stat().st_size for p in demo_root.rglob("*") if p.is_file())
    assert size < 2_000_000
