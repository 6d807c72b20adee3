"""`langir export` prints its result, not the tracer's TracerWarnings (issue 22, "Smaller")."""

from __future__ import annotations

import pytest

from tests.conftest import run_langir


def test_export_prints_no_tracer_warnings(tmp_path):
    pytest.importorskip("onnxruntime")
    from langir.models import create_model
    from langir.models.checkpoint import save_checkpoint

    kwargs = {"widths": [8, 8, 8, 8, 8]}  # LGNet: its shape checks are what the tracer warned about
    ckpt = save_checkpoint(tmp_path / "best.pt", create_model("lgnet", **kwargs), {"model": "lgnet", "model_kwargs": kwargs})
    # a subprocess: pytest's own warning capture would hide what a user's terminal shows
    res = run_langir("export", "--checkpoint", ckpt, "--onnx", tmp_path / "u.onnx", "--size", "64", env={"PYTHONWARNINGS": ""})
    assert res.code == 0, res.stderr
    assert "Warning" not in res.stderr, res.stderr
    assert f"wrote {tmp_path / 'u.onnx'}" in res.stdout and (tmp_path / "u.onnx").stat().st_size > 0
