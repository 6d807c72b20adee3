"""`bench/reproduce.py --smoke` on a few real SIRST images: four trainings, a table beside the paper's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_reproduce_smoke_writes_the_table(sirst_root, tmp_path):
    out = tmp_path / "repro"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "reproduce.py"), "--smoke", "--budget-min", "1",
                           "--dataset", str(sirst_root), "--out", str(out), "--limit", "8", "4", "--epochs", "1",
                           "--device", "cpu"], capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-2000:]
    table = (out / "reproduce.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "variant" not in line]
    assert [r.split("|")[1].strip() for r in rows[:4]] == ["never (baseline)", "train-only", "train+test", "no fusion block (train-only)"]
    assert "82.81" in table and "Table 5, SIRST" in table and "trainval (8) → test (4)" in table
    data = json.loads((out / "reproduce.json").read_text())
    for result in data["results"]:
        assert result["epochs_run"] == 1 and 0.0 <= result["last"]["iou"] <= 1.0
    # descriptions were written into the working copy, never into the (shared, read-only) dataset
    assert (out / "data" / "descriptions").is_dir() and not (sirst_root / "descriptions").exists()


def test_misc_111_mask_is_listed_and_skipped(sirst_root, tmp_path):
    import pytest

    from langir.errors import DataError
    from langir.train.config import TrainConfig
    from langir.train.engine import train

    few = tmp_path / "few.txt"
    few.write_text("Misc_1\nMisc_111\nMisc_2\n")
    config = TrainConfig(dataset=str(sirst_root), out=str(tmp_path / "run"), model="unet", model_kwargs={"base": 4}, epochs=1,
                         batch_size=2, size=64, warmup_epochs=0, device="cpu", tensorboard=False,
                         split_files={"few": str(few)}, train_split="few", val_split="few")
    with pytest.raises(DataError, match="Misc_111"):
        train(config, quiet=True)
    config.skip_bad = True
    summary = train(config, quiet=True)
    assert summary["skipped"] == ["Misc_111"] and summary["train_images"] == 2
