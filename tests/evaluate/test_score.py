"""`langir.evaluate.score` without the CLI: checked choices, a scored folder, the rows a table shows."""

from __future__ import annotations

import json
import shutil

import pytest

from langir.data.dataset import LangIRDataset
from langir.data.synth import synthesize
from langir.errors import ConfigError
from langir.evaluate.score import ScoreSettings, json_ready, prepare_scoring, score, table_rows


@pytest.fixture
def perfect(tmp_path):
    """A synthetic dataset and predictions equal to its masks (with one image left without a prediction)."""
    synthesize(tmp_path / "ds", count=6, size=(48, 48), seed=3, empty_fraction=0.0)
    preds = tmp_path / "preds"
    shutil.copytree(tmp_path / "ds" / "masks", preds)
    missing = sorted(preds.iterdir())[0]
    missing.unlink()
    return LangIRDataset.open(tmp_path / "ds"), preds, missing.stem


def test_choices_are_checked_before_anything_is_read(tmp_path):
    with pytest.raises(ConfigError, match="exactly one of --preds"):
        prepare_scoring(None, None, ScoreSettings())
    with pytest.raises(ConfigError, match="--pd-fa must be one of pooled, per-image"):
        prepare_scoring(tmp_path, None, ScoreSettings(pd_fa="mean"))
    with pytest.raises(ConfigError, match=r"--threshold must lie in \[0, 1\)"):
        prepare_scoring(tmp_path, None, ScoreSettings(threshold=1.0))


def test_perfect_predictions_score_full_marks_and_the_sweep_rows_include_the_threshold(perfect, tmp_path):
    ds, preds, missing = perfect
    job = prepare_scoring(preds, None, ScoreSettings(threshold=0.3, thresholds="0.5,0.7", pd_fa="per-image",
                                                     skip_bad=True, curves=tmp_path / "c.png"))
    skipped, ticks = [], []
    result = score(job, ds, ds.all_ids(), tmp_path / "ds", lambda i, e: skipped.append(i), lambda: ticks.append(1))
    assert skipped == [missing] and len(ticks) == 5 and result["images"] == 5
    assert result["iou"] == pytest.approx(1.0) and result["pd"] == result["pd_per_image"] == pytest.approx(1.0)
    assert (tmp_path / "c.png").stat().st_size > 0 and result["curves"] == str(tmp_path / "c.png")
    assert [r["threshold"] for r in table_rows(result)] == [0.3, 0.5, 0.7]
    json.dumps(json_ready(result), allow_nan=False)  # NaN-free JSON
