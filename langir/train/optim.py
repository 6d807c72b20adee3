"""Optimiser, learning-rate schedule and RNG state of a run (what resume restores besides the weights)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from langir.train.config import TrainConfig


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str, min_ratio: float = 0.0) -> float:
    """Linear warm-up to 1, then cosine or poly(0.9) decay to ``min_ratio``."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    t = min(1.0, (step - warmup_steps) / span)
    decay = 0.5 * (1 + math.cos(math.pi * t)) if schedule == "cosine" else (1 - t) ** 0.9
    return min_ratio + (1 - min_ratio) * decay


@dataclass
class Optimisation:
    optimizer: Any
    scheduler: Any
    scaler: Any

    def state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict()}

    def load(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])


def build_optimisation(model: Any, config: TrainConfig, steps_per_epoch: int, tower: Any = None) -> Optimisation:
    """Adan (paper §5.2) on the trainable parameters, warm-up + cosine/poly schedule per step; a fine-tuned
    text ``tower`` is a second parameter group at lr × text_lr_scale, on the same schedule."""
    from langir.extras import import_open_clip

    import_open_clip()  # timm imports torchvision too: a mismatched pair fails here with one clear line
    from timm.optim import Adan

    params: list[Any] = [{"params": [p for p in model.parameters() if p.requires_grad]}]  # a frozen part (DGSPNet's inversion net) is left out
    if tower is not None:
        params.append({"params": [p for p in tower.parameters() if p.requires_grad], "lr": config.lr * config.text_lr_scale})
    optimizer = Adan(params, lr=config.lr, weight_decay=config.weight_decay)
    total, warm = steps_per_epoch * config.epochs, steps_per_epoch * config.warmup_epochs
    # The paper warms up 10 of 600 epochs; a short run (say 12 epochs) would otherwise spend nearly all
    # of itself below the peak rate. Warm-up is capped at a fifth of the run's steps.
    warm = min(warm, total // 5)
    min_ratio = config.min_lr / config.lr
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warm, config.schedule, min_ratio))
    # bf16 needs no loss scaling; the scaler exists (disabled) so fp16 setups and resume stay uniform.
    return Optimisation(optimizer, scheduler, torch.amp.GradScaler("cuda", enabled=False))


def rng_state() -> dict[str, Any]:
    """RNG states as tensors and Python scalars only (checkpoints load with weights_only=True)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {"torch": torch.get_rng_state(),
                             "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                                       "has_gauss": int(has_gauss), "cached": float(cached)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "numpy" in state:
        n = state["numpy"]
        np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
