"""Phase-1 hooks are registered on the training side (models never name a train module, issue 19)."""

from __future__ import annotations

import io

import pytest
import torch

from langir.data.atomic import write_bytes_atomic
from langir.errors import ConfigError, DataError
from langir.models import model_info, register_model
from langir.train import engine
from langir.train.config import TrainConfig
from langir.train.dgspnet_pretrain import run_pretrain
from langir.train.pretraining import pretrain_hook, register_pretrain
from tests.train import tiny

CALLS: list[dict] = []


@pytest.fixture(autouse=True)
def registry():
    tiny.register()
    try:
        model_info("tinypre")
    except ConfigError:
        register_model("tinypre", default_loss="softiou", phases=("pretrain", "main"), default_phase="both")(
            lambda **kw: tiny.PlainNet(**kw))
        register_model("tinynohook", default_loss="softiou", phases=("pretrain", "main"), default_phase="both")(
            lambda **kw: tiny.PlainNet(**kw))

        @register_pretrain("tinypre")
        def pretrain(model, loader, config, run_dir, device):
            """A phase 1 that shifts every weight by 1 and saves the result, as a real hook saves its own."""
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(1.0)
            CALLS.append({"batches": len(loader), "run": run_dir})
            buf = io.BytesIO()
            torch.save(model.state_dict(), buf)
            write_bytes_atomic(run_dir / "pretrain.pt", buf.getvalue())
            return {"phase": "pretrain"}


def cfg(root, out, **kw) -> TrainConfig:
    return TrainConfig(dataset=str(root), out=str(out), epochs=1, batch_size=2, size=32, warmup_epochs=0, lr=1e-9,
                       device="cpu", tensorboard=False, language_prior="never", **kw)


def test_dgspnet_hook_is_found_on_the_train_side():
    assert pretrain_hook("dgspnet") is run_pretrain
    assert not hasattr(model_info("dgspnet"), "pretrain")  # the registry entry names no train module


def test_registered_hook_runs_phase_1_then_main_starts_from_it(tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    CALLS.clear()
    summary = engine.train(cfg(root, tmp_path / "run", model="tinypre", phase="pretrain"), quiet=True)
    assert summary["phase"] == "pretrain"
    assert CALLS[0] == {"batches": 1, "run": tmp_path / "run"} and len(CALLS) == 1
    phase1 = torch.load(tmp_path / "run" / "pretrain.pt", weights_only=True)
    engine.train(cfg(root, tmp_path / "run", model="tinypre", phase="main"), quiet=True)
    assert len(CALLS) == 1  # --phase main does not run phase 1 again: it loads pretrain.pt
    final = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["model_state"]
    assert all(torch.allclose(phase1[k].float(), final[k].float(), atol=1e-4) for k in phase1)  # lr ≈ 0


def test_model_with_a_pretrain_phase_but_no_hook_is_one_line(tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    with pytest.raises(ConfigError, match="no pretraining hook is registered"):
        engine.train(cfg(root, tmp_path / "run", model="tinynohook"), quiet=True)
    assert not (tmp_path / "run").exists()  # refused before the run folder was written


def test_corrupt_phase_1_weights_name_the_file(tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "pretrain.pt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="pretrain.pt: not a readable weights file"):
        engine.train(cfg(root, tmp_path / "run", model="tinypre", phase="main"), quiet=True)
