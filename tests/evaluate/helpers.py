"""A deterministic 'detector' registered through the real model registry, and a CLI runner with `predict`."""

from __future__ import annotations

import torch
from torch import nn

from langir.models import register_model


class BrightNet(nn.Module):
    """logit = gain·(image − level): pixels brighter than ``level`` are targets. Exact, so tests know the answer.

    With ``td_dim > 0`` it is a language-prior model: the TD's first entry shifts the level (so TD matters).
    """

    def __init__(self, level: float = 0.5, gain: float = 40.0, td_dim: int = 0) -> None:
        super().__init__()
        self.level = nn.Parameter(torch.tensor(float(level)))
        self.gain = gain
        self.td_dim = td_dim
        self.uses_language = td_dim > 0

    def forward(self, image: torch.Tensor, td: torch.Tensor | None = None, return_aux: bool = False) -> torch.Tensor:
        level = self.level
        if self.uses_language:
            if td is None:
                raise ValueError("td needed")
            level = level + 0.0 * td[:, :1, None, None]
        h, w = image.shape[-2:]
        return self.gain * (image - level)[..., :h, :w]


@register_model("test_bright", default_loss="bce")
def test_bright(level: float = 0.5, gain: float = 40.0, td_dim: int = 0) -> BrightNet:
    """A threshold 'detector' for tests."""
    return BrightNet(level, gain, td_dim)


def ensure_predict_registered() -> None:
    """Add `predict` to the CLI app when the app does not list it yet (the lead registers it at merge)."""
    import langir.cli as cli
    from langir.cli import predict

    names = {c.name for c in cli.app.registered_commands}
    if "predict" not in names:
        predict.register(cli.app)
