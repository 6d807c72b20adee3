"""Plain U-Net baseline for single-channel IR images (conv–BN–ReLU ×2 per stage, 4 down-samplings)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from langir.models.heads import init_head
from langir.models.padding import crop, pad_to_multiple
from langir.models.registry import register_model


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """U-Net (Ronneberger et al., 2015) with bilinear up-sampling; any input size (padded to a multiple of 16)."""

    uses_language = False
    td_dim = 0

    def __init__(self, in_channels: int = 1, base: int = 16, depth: int = 4):
        super().__init__()
        widths = [base * 2**i for i in range(depth + 1)]
        self.depth = depth
        self.pad_multiple = 2**depth  # H, W padded to this (predict batches frames that pad alike)
        self.inc = DoubleConv(in_channels, widths[0])
        self.downs = nn.ModuleList(DoubleConv(widths[i], widths[i + 1]) for i in range(depth))
        self.ups = nn.ModuleList(DoubleConv(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def init_output_bias(self, bias: float) -> None:
        init_head(self.head, bias)

    def forward(self, image: torch.Tensor, td: torch.Tensor | None = None, return_aux: bool = False):
        x, size = pad_to_multiple(image, self.pad_multiple)
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()
        for up in self.ups:
            skip = skips.pop()
            y = up(torch.cat([F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1))
        logits = crop(self.head(y), size)
        return (logits, []) if return_aux else logits


@register_model("unet", default_loss="bce", pad_multiple=16)
def unet(**kwargs) -> UNet:
    """Plain U-Net baseline (BCE)."""
    return UNet(**kwargs)
