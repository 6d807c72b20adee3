"""`langir train --model dgspnet --phase both` through the engine: phase 1, then phase 2 with the inversion net frozen."""

from __future__ import annotations

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
