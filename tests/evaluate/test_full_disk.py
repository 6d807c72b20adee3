"""`eval --save-preds`, `predict --out` and `eval --curves` onto a full disk (issue 13).

The disk is made full with the atomic writer's fault hook (`LANGIR_FAULT_INJECT=ENOSPC@part`), which
fails the write of matching targets after their temporary file was written: the command must stop
with one line naming the file, exit 2, and leave no temporary or half-written file behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langir.data.synth import synthesize
from langir.models import create_model
from langir.models.checkpoint import save_checkpoint
from tests.evaluate.helpers import ensure_predict_registered


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_checkpoint(tmp_path / "b.pt", create_model("test_bright"), {"model": "test_bright", "model_kwargs": {}})


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _litter(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.name.endswith(".tmp") or (p.is_file() and p.stat().st_size == 0)]


@pytest.mark.parametrize("part", ["prob", "overlay", "targets.csv"])
def test_eval_save_preds_on_a_full_disk(cli, ckpt, tmp_path, monkeypatch, part):
    synthesize(tmp_path / "set", count=3, size=(32, 40), seed=5)
    out = tmp_path / "preds"
    monkeypatch.setenv("LANGIR_FAULT_INJECT", f"ENOSPC@{out / part}")
    r = cli("eval", "--checkpoint", ckpt, "--dataset", tmp_path / "set", "--save-preds", out, "--device", "cpu")
    assert r.code == 2, r.stdout + r.stderr
    line = _one_error_line(r.stderr)
    assert line.startswith(f"error: cannot write {out / part}") and "disk full" in line, line
    assert r.stdout == ""  # no metrics table for a run whose outputs are incomplete
    assert not _litter(tmp_path), _litter(tmp_path)
    if part == "targets.csv":  # every image was written whole before the table failed
        assert sorted(p.name for p in (out / "prob").iterdir()) == [f"ir_{i:05d}.png" for i in range(3)]
        for png in (out / "prob").iterdir():
            assert np.asarray(Image.open(png)).shape == (32, 40)


def test_predict_out_on_a_full_disk(cli, ckpt, tmp_path, monkeypatch):
    ensure_predict_registered()
    frames = tmp_path / "frames"
    frames.mkdir()
    for name in ("a", "b"):
        image = np.full((24, 30), 50, np.uint8)
        image[5:7, 8:10] = 250
        Image.fromarray(image).save(frames / f"{name}.png")
    out = tmp_path / "out"
    monkeypatch.setenv("LANGIR_FAULT_INJECT", f"ENOSPC@{out / 'mask' / 'b.png'}")
    r = cli("predict", "--checkpoint", ckpt, frames, "--out", out, "--device", "cpu")
    assert r.code == 2, r.stdout + r.stderr
    line = _one_error_line(r.stderr)
    assert line == f"error: cannot write {out / 'mask' / 'b.png'}: no space left on device (disk full)", line
    assert not _litter(tmp_path), _litter(tmp_path)
    assert not (out / "mask" / "b.png").exists() and not (out / "targets.csv").exists()
    assert np.asarray(Image.open(out / "mask" / "a.png")).max() == 255  # a's files are whole


def test_curves_on_a_read_only_folder(cli, ckpt, tmp_path, monkeypatch):
    synthesize(tmp_path / "set", count=2, size=(32, 40), seed=5)
    curves = tmp_path / "plots" / "curves.png"
    monkeypatch.setenv("LANGIR_FAULT_INJECT", "EROFS@plots")
    r = cli("eval", "--checkpoint", ckpt, "--dataset", tmp_path / "set", "--thresholds", "0.3:0.7:0.2",
            "--curves", curves, "--device", "cpu")
    assert r.code == 2, r.stdout + r.stderr
    line = _one_error_line(r.stderr)
    assert line == f"error: cannot write {curves}: read-only file system; point the output somewhere writable", line
    assert not (tmp_path / "plots").exists() or not any((tmp_path / "plots").iterdir())
