"""DDP through torchrun: 2 CPU processes with gloo give the same weights as one process on the global batch.

The one-process reference runs in the test's own process (the same `train` call the script makes): a
subprocess for it paid a second torch import per test for nothing the comparison needs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from langir.train.config import TrainConfig
from langir.train.engine import train
from tests.train import tiny

REPO = Path(__file__).resolve().parents[2]
SETTINGS = dict(model="tiny", epochs=2, batch_size=4, size=32, warmup_epochs=0, lr=1e-2, clip_model="langir-tiny",
                clip_pretrained="", device="cpu", tensorboard=False)
SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from tests.train import tiny
tiny.register()
from langir.train.config import TrainConfig
from langir.train.engine import train
train(TrainConfig(dataset={root!r}, out={out!r}, **{settings!r}), quiet=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_both(tmp_path: Path, root: Path, **settings: object) -> None:
    """run1: one process (this one); run2: torchrun with 2 CPU processes (gloo), the same settings."""
    settings = {**SETTINGS, **settings}
    tiny.register()
    train(TrainConfig(dataset=str(root), out=str(tmp_path / "run1"), **settings), quiet=True)
    script = tmp_path / "run2.py"
    script.write_text(SCRIPT.format(repo=str(REPO), root=str(root), out=str(tmp_path / "run2"), settings=settings))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "--master-addr=127.0.0.1",
           f"--master-port={_free_port()}", str(script)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]


def test_ddp_two_cpu_processes_match_single_process(tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=6)
    _run_both(tmp_path, root)
    one = torch.load(tmp_path / "run1" / "last.pt", weights_only=False)["model_state"]
    two = torch.load(tmp_path / "run2" / "last.pt", weights_only=False)["model_state"]
    for key, value in one.items():
        assert torch.allclose(value, two[key], atol=1e-4), key
    rows = (tmp_path / "run2" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3  # header + 2 epochs, written once (rank 0)


def test_ddp_fine_tuned_text_encoder_matches_single_process(tmp_path):
    """--finetune-text under DDP: the text tower's gradients are averaged like the detector's."""
    root = tiny.make_dataset(tmp_path / "ds", n=6)
    _run_both(tmp_path, root, finetune_text=True, text_lr_scale=1.0, language_prior="train+test", epochs=1)
    one = torch.load(tmp_path / "run1" / "last.pt", weights_only=True)
    two = torch.load(tmp_path / "run2" / "last.pt", weights_only=True)
    assert one["text_state"] and set(one["text_state"]) == set(two["text_state"])
    for part in ("model_state", "text_state"):
        for key, value in one[part].items():
            assert torch.allclose(value, two[part][key], atol=1e-4), (part, key)
