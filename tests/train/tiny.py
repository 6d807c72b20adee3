"""A tiny language-aware segmentation net registered in the real model registry, for fast engine tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from langir.models import model_info, register_model
from langir.models.heads import init_head


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

    def init_output_bias(self, bias: float) -> None:
        init_head(self.side, bias)
        init_head(self.head, bias)

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


def register() -> None:
    """Register `tiny` (language, bce_deep) and `tinyplain` (no language, softiou) once per process."""
    try:
        model_info("tiny")
    except Exception:
        register_model("tiny", default_loss="bce_deep", uses_language=True)(lambda **kw: TinyNet(**kw))
        register_model("tinyplain", default_loss="softiou")(lambda **kw: PlainNet(**kw))


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
