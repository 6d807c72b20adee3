"""The prediction writer's threads: every file and row as one thread writes them; a failed write is raised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langir.errors import OutputError
from langir.evaluate.outputs import PredictionWriter


def _predictions(count: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = []
    for k in range(count):
        prob = rng.random((24 + k % 5, 31), dtype=np.float32) * 0.4
        prob[k % 20 : k % 20 + 3, 5:8] = 0.9  # one target each, at a different place
        out.append((f"img{k:02d}", rng.random(prob.shape, dtype=np.float32), prob))
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_threads_write_what_one_thread_writes(tmp_path: Path) -> None:
    preds = _predictions(25)
    for name, workers in (("one", 1), ("four", 4)):
        writer = PredictionWriter(tmp_path / name, workers=workers)
        for sample_id, image, prob in preds:
            writer.write(sample_id, image, prob)
        writer.finish(as_json=True)
        assert len(writer.rows) == 25
    assert _files(tmp_path / "one") == _files(tmp_path / "four")
    assert len(_files(tmp_path / "four")) == 3 * 25 + 2


def test_a_failed_write_is_raised_and_the_rest_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGIR_FAULT_INJECT", f"ENOSPC@{tmp_path / 'out' / 'mask' / 'img03.png'}")
    writer = PredictionWriter(tmp_path / "out", workers=2)
    with pytest.raises(OutputError, match="img03.png: no space left"), writer:
        for sample_id, image, prob in _predictions(40):
            writer.write(sample_id, image, prob)
        writer.finish()
    masks = sorted(p.name for p in (tmp_path / "out" / "mask").iterdir())
    assert "img03.png" not in masks and len(masks) < 40  # the queue stopped; nothing half-written
    assert not list((tmp_path / "out").rglob("*.tmp*")) and not (tmp_path / "out" / "targets.csv").exists()
