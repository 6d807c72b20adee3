"""`langir train --model dgspnet --phase both` through the engine: phase 1, then phase 2 with the inversion net frozen."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch


def test_both_phases_through_the_engine(demo_copy: Path, tmp_path: Path, cli) -> None:
    run = tmp_path / "run"
    result = cli("train", demo_copy, "--model", "dgspnet", "--phase", "both", "--epochs", 1, "--size", 64,
                 "--batch-size", 4, "--device", "cpu", "--clip-model", "langir-tiny", "--clip-pretrained", "none", "--out", run)
    assert result.code == 0, result.stderr
    pretrained = torch.load(run / "pretrain.pt", weights_only=False)
    final = torch.load(run / "last.pt", weights_only=False)["model_state"]
    inversion = [k for k in pretrained if k.startswith("inversion.")]
    others = [k for k in pretrained if k.startswith("encoders.") and pretrained[k].is_floating_point() and "running" not in k]
    assert inversion and others
    for key in inversion:  # frozen in phase 2: weights and norm statistics unchanged
        assert torch.equal(pretrained[key], final[key]), key
    assert any(not torch.equal(pretrained[k], final[k]) for k in others)  # the rest learned


def test_resume_after_ctrl_c_between_the_phases_keeps_phase_1(demo_copy: Path, tmp_path: Path, monkeypatch, cli) -> None:
    """Ctrl-C in phase 2's first epoch (pretrain.pt written, no last.pt): --resume keeps phase 1 and runs phase 2."""
    from langir.train import engine

    run = tmp_path / "run"
    args = ("train", demo_copy, "--model", "dgspnet", "--epochs", 1, "--size", 64, "--batch-size", 4, "--device", "cpu",
            "--clip-model", "langir-tiny", "--clip-pretrained", "none", "--out", run, "--no-tensorboard")
    real = engine.train_one_epoch

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "train_one_epoch", interrupted)
    with contextlib.suppress(KeyboardInterrupt):  # whether the CLI turns it into an exit code or not
        cli(*args)
    assert (run / "pretrain.pt").is_file() and not (run / "last.pt").exists()
    phase1 = (run / "pretrain.pt").read_bytes()
    monkeypatch.setattr(engine, "train_one_epoch", real)
    result = cli(*args, "--resume")
    assert result.code == 0, result.stderr
    assert sum("nothing to resume" in line for line in result.stderr.splitlines()) == 1
    assert "keeping its finished phase 1" in result.stderr
    assert (run / "pretrain.pt").read_bytes() == phase1  # phase 1 was not run again
    pretrained = torch.load(run / "pretrain.pt", weights_only=True)
    final = torch.load(run / "last.pt", weights_only=True)["model_state"]
    assert all(torch.equal(pretrained[k], final[k]) for k in pretrained if k.startswith("inversion."))
