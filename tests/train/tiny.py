"""A tiny language-aware segmentation net and a stand-in model registry for fast engine tests."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn


class TinyNet(nn.Module):
    """conv → (×(1+MLP(TD)) per channel) → conv; one side output for deep supervision."""

    uses_language = True

    def __init__(self, td_dim: int = 64, use_language: bool = True, width: int = 8):
        super().__init__()
        self.td_dim, self.use_language = td_dim, use_language
        self.uses_language = use_language
        self.enc = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU())
        self.film = nn.Linear(td_dim, width)
        self.side = nn.Conv2d(width, 1, 1)
        self.head = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, image, td=None, return_aux=False):
        f = self.enc(image)
        if self.use_language and td is not None:
            f = f * (1 + torch.tanh(self.film(td.to(f.dtype))))[:, :, None, None]
        fused = self.head(f)
        return (fused, [self.side(f)]) if return_aux else fused


class PlainNet(TinyNet):
    uses_language = False

    def __init__(self, **kw):
        super().__init__(use_language=False)


@dataclass
class Info:
    name: str
    default_loss: str
    uses_language: bool


REGISTRY = {"tiny": (TinyNet, Info("tiny", "bce_deep", True)), "tinyplain": (PlainNet, Info("tinyplain", "softiou", False))}


def install(monkeypatch) -> None:
    """Point `langir.models` at the tiny registry (works whether or not the real package exists)."""
    module = types.ModuleType("langir.models")

    def create_model(name, **kw):
        if name not in REGISTRY:
            raise KeyError(name)
        return REGISTRY[name][0](**kw)

    def model_info(name):
        if name not in REGISTRY:
            raise KeyError(f"unknown model {name}")
        return REGISTRY[name][1]

    module.create_model, module.model_info = create_model, model_info
    monkeypatch.setitem(sys.modules, "langir.models", module)


def make_dataset(root: Path, n: int = 6, size: int = 48, descriptions: bool = True) -> Path:
    """irstd1k-style set: bright 3×3 target left or right, a matching description, trainval/test splits."""
    rng = np.random.default_rng(0)
    ids = [f"XDU{i}" for i in range(n)]
    for k, sample_id in enumerate(ids):
        img = (rng.random((size, size)) * 60).astype(np.uint8)
        mask = np.zeros((size, size), np.uint8)
        y, x = 10 + 3 * k, (8 if k % 2 == 0 else size - 12)
        img[y:y + 3, x:x + 3] = 255
        mask[y:y + 3, x:x + 3] = 255
        for folder, arr in (("images", img), ("masks", mask)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(root / folder / f"{sample_id}.png")
        if descriptions:
            (root / "descriptions").mkdir(exist_ok=True)
            side = "left" if k % 2 == 0 else "right"
            (root / "descriptions" / f"{sample_id}.description.txt").write_text(f"The small target is in the upper {side} region.")
    (root / "trainval.txt").write_text("\n".join(ids[: n - 2]) + "\n")
    (root / "test.txt").write_text("\n".join(ids[n - 2:]) + "\n")
    return root
