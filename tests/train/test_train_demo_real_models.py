"""Real registry models on datasets/demo: a 2-epoch CPU run lowers the loss (skips until both exist)."""

from __future__ import annotations

import pytest

from langir.train.config import TrainConfig
from langir.train.engine import train


def _registry_has(name: str) -> bool:
    try:
        from langir.models import model_info

        model_info(name)
        return True
    except Exception:  # registry not there yet, or name unknown
        return False


@pytest.mark.parametrize("model", ["lgnet", "unet"])
def test_two_epoch_cpu_run_on_demo_lowers_loss(model, demo_copy, tmp_path):
    if not _registry_has(model):
        pytest.skip(f"model {model} not in the registry yet")
    from langir.data.dataset import LangIRDataset

    ds = LangIRDataset.open(demo_copy, "auto", None, None, None, None)
    ids = ds.all_ids()[:4]
    for sample_id in ids:
        if not ds.has_description(sample_id):
            ds.write_description(sample_id, "The small target is in the upper left region.")
    (tmp_path / "few.txt").write_text("\n".join(ids) + "\n")
    config = TrainConfig(dataset=str(demo_copy), out=str(tmp_path / "run"), model=model, epochs=2, batch_size=2, size=64,
                         warmup_epochs=0, lr=3e-3, clip_model="langir-tiny", clip_pretrained="", device="cpu",
                         split_files={"few": str(tmp_path / "few.txt")}, train_split="few", val_split="few",
                         tensorboard=False, hflip=False, vflip=False)
    summary = train(config, quiet=True)
    losses = [float(r["train_loss"]) for r in summary["rows"]]
    assert losses[-1] < losses[0]
    assert (tmp_path / "run" / "best.pt").is_file()
