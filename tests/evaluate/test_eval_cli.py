"""`langir eval --preds` end to end: real SIRST masks as predictions, sweeps, saved predictions, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _masks_as_preds(root: Path, dst: Path, split: str) -> list[str]:
    ids = (root / "idx_427" / f"{split}.txt").read_text().split()
    dst.mkdir()
    for i in ids:
        shutil.copy(root / "masks" / f"{i}_pixels0.png", dst / f"{i}.png")
    return ids


def test_masks_as_predictions_score_perfectly(cli, sirst_root, tmp_path):
    ids = _masks_as_preds(sirst_root, tmp_path / "preds", "test")
    r = cli("eval", "--preds", tmp_path / "preds", "--dataset", sirst_root, "--split", "test", "--skip-bad", "--json")
    assert r.code == 1, r.stderr  # finished, with a skipped sample listed
    res = json.loads(r.stdout)
    assert res["iou"] == 1.0 and res["niou"] == 1.0 and res["pd"] == 1.0 and res["fa"] == 0.0 and res["f1"] == 1.0
    assert res["images"] + len(res["skipped"]) == len(ids)
    # Real SIRST: Misc_111's mask and image sizes differ, so --skip-bad leaves it out and says so.
    assert [s["id"] for s in res["skipped"]] == ["Misc_111"]
    strict = cli("eval", "--preds", tmp_path / "preds", "--dataset", sirst_root, "--split", "test", "--json")
    assert strict.code == 2 and "Misc_111" in strict.stderr


def test_sweep_saved_preds_and_errors(cli, sirst_root, tmp_path):
    _masks_as_preds(sirst_root, tmp_path / "preds", "test")
    # one blank prediction: Pd drops, IoU drops; a wrong size is a clean error naming the file
    first = sorted((tmp_path / "preds").iterdir())[0]
    size = Image.open(first).size
    Image.fromarray(np.zeros(size[::-1], np.uint8)).save(first)
    out = tmp_path / "out"
    r = cli("eval", "--preds", tmp_path / "preds", "--dataset", sirst_root, "--split", "test", "--skip-bad",
            "--thresholds", "0.2:0.8:0.3", "--save-preds", out, "--json")
    assert r.code == 1, r.stderr
    res = json.loads(r.stdout)
    assert res["pd"] < 1.0 and res["iou"] < 1.0 and res["fa"] == 0.0
    assert [round(s["threshold"], 2) for s in res["sweep"]] == [0.2, 0.5, 0.8]
    assert (out / "curves.png").stat().st_size > 0
    assert [p.name for p in out.glob("*.png")] == ["curves.png"]
    for sub in ("mask", "prob", "overlay"):
        assert len(list((out / sub).glob("*.png"))) == res["images"]
    table = cli("eval", "--preds", tmp_path / "preds", "--dataset", sirst_root, "--split", "test", "--skip-bad")
    assert table.code == 1 and "Fa (×1e-6)" in table.stdout and "Misc_111" in table.stdout
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(first)
    bad = cli("eval", "--preds", tmp_path / "preds", "--dataset", sirst_root, "--split", "test", "--skip-bad")
    assert bad.code == 1 and first.name in bad.stderr  # skipped with a warning
    bad = cli("eval", "--preds", tmp_path / "preds", "--dataset", sirst_root, "--split", "test")
    assert bad.code == 2 and "error" in bad.stderr and "Traceback" not in bad.stderr
    assert cli("eval", "--dataset", sirst_root).code == 2


def test_eval_checkpoint(cli, demo_root, tmp_path):
    models = pytest.importorskip("langir.models")
    if not hasattr(models, "create_model"):
        pytest.skip("model registry not there yet")
    from langir.models.checkpoint import save_checkpoint

    ckpt = save_checkpoint(tmp_path / "best.pt", models.create_model("unet"), {"model": "unet", "model_kwargs": {}})
    r = cli("eval", "--checkpoint", ckpt, "--dataset", demo_root, "--split", "test", "--json", "--device", "cpu")
    assert r.code == 0, r.stderr
    res = json.loads(r.stdout)
    assert set(res) >= {"iou", "niou", "pd", "fa", "f1"} and 0.0 <= res["iou"] <= 1.0 and res["images"] > 0
