"""Building blocks shared by the IRSTD models: U²-Net's residual U-blocks (RSU) and conv–BN–ReLU.

Hand-written because no maintained library ships U²-Net's RSU blocks as modules (the reference code is a
single script, Qin et al. 2020, "U²-Net: Going deeper with nested U-structure"); this follows its design.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNReLU(nn.Sequential):
    """3×3 conv (optionally dilated) → BN → ReLU, U²-Net's REBNCONV."""

    def __init__(self, cin: int, cout: int, dilation: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


def upsample_like(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of `x` to the spatial size of `ref` (sizes may be odd, so never a fixed ×2)."""
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


class RSU(nn.Module):
    """Residual U-block RSU-L (U²-Net): in-conv, an L-level inner U-Net at `mid` channels, residual sum.

    `height` is L (7, 6, 5, 4). With `dilated=True` it is RSU-4F: no pooling inside, dilations 1/2/4/8
    instead, used where the feature map is already small.
    """

    def __init__(self, cin: int, mid: int, cout: int, height: int = 4, dilated: bool = False):
        super().__init__()
        if height < 2:
            raise ValueError("RSU height must be at least 2")
        self.height = height
        self.dilated = dilated
        self.conv_in = ConvBNReLU(cin, cout)
        dil = [2 ** i for i in range(height)] if dilated else [1] * (height - 1) + [2]
        self.enc = nn.ModuleList(
            ConvBNReLU(cout if i == 0 else mid, mid, dilation=dil[i]) for i in range(height - 1)
        )
        self.bottom = ConvBNReLU(mid, mid, dilation=dil[-1])
        self.dec = nn.ModuleList(
            ConvBNReLU(2 * mid, cout if i == height - 2 else mid, dilation=dil[height - 2 - i])
            for i in range(height - 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xin = self.conv_in(x)
        skips = []
        y = xin
        for i, conv in enumerate(self.enc):
            if i > 0 and not self.dilated:
                # ceil_mode keeps odd sizes (U²-Net does the same)
                y = F.max_pool2d(y, 2, ceil_mode=True)
            y = conv(y)
            skips.append(y)
        y = self.bottom(y)
        for conv in self.dec:
            skip = skips.pop()
            y = conv(torch.cat([upsample_like(y, skip), skip], 1))
        return y + xin
