"""SGEM-UNet: a U-Net whose skip E3 → D2 is replaced by the Semantic Gap Elimination Module (SGEM).

Readings of the paper (Eq. 1–3, Fig. 1; it gives no widths and no tensor shapes):

* **Layers.** Encoder layers E1…E5 (E1 at full resolution, 4 down-samplings); decoder layers are counted
  from the bottom: D1 works at E4's resolution, D2 at E3's. The plain U-Net skip E3 → D2 is replaced by
  SGEM(E3, D1), whose output goes to D2 in place of E3.
* **Linearisation.** Q = Linear(tokens(Conv1×1(E3))), K = Linear(tokens(Conv1×1(up(D1)))): the maps are
  flattened to (B, H·W, C) token sequences and passed through a per-token linear layer (the "initial
  convolutional and linear layers"); D1 is first up-sampled to E3's size so both sequences align. A linear
  layer over the spatial axis would fix the input size, so the linear layer acts on channels.
* **Q ⊗ K** is the element-wise product of aligned tokens (linear in H·W, as in linear cross-attention),
  reshaped back to C×H×W; then a 1×1 conv and a softmax over channels give the "semantic probability
  distribution matrix" (values in 0…1 per pixel). The text says "matrix multiplication", but a token ×
  token product Q·Kᵀ is quadratic in H·W (not "linear" and not "reducing complexity") and a channel ×
  channel product Qᵀ·K alone cannot "restore the original three-dimensional features"; the aligned
  element-wise product is the reading that fits Eq. 3 and both claims.
* **Residual.** Output = Matrix ⊙ E3 + Conv1×1(up(D1)): the deep features pass on through the residual.
* **Widths.** Base 32 (widths 32…512; the paper "expands the initial number of channels"): 8.0 M params and
  14.4 GMACs at 256×256 against the paper's 8.69 M / 15.92 G (exact widths unknown). Trained with SoftIoU loss as in the paper.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from langir.models.heads import init_head
from langir.models.padding import crop, pad_to_multiple
from langir.models.registry import register_model
from langir.models.unet import DoubleConv


class SGEM(nn.Module):
    """Semantic Gap Elimination Module on (E3, D1) → a map shaped like E3 (see module docs)."""

    def __init__(self, enc_channels: int, dec_channels: int):
        super().__init__()
        c = enc_channels
        self.q_conv = nn.Conv2d(enc_channels, c, 1)
        self.k_conv = nn.Conv2d(dec_channels, c, 1)
        self.q_lin = nn.Linear(c, c)
        self.k_lin = nn.Linear(c, c)
        self.mix = nn.Conv2d(c, c, 1)
        self.res = nn.Conv2d(dec_channels, c, 1)

    def forward(self, e3: torch.Tensor, d1: torch.Tensor) -> torch.Tensor:
        b, c, h, w = e3.shape
        d1 = F.interpolate(d1, size=(h, w), mode="bilinear", align_corners=False)
        q = self.q_lin(self.q_conv(e3).flatten(2).transpose(1, 2))  # (B, HW, C)
        k = self.k_lin(self.k_conv(d1).flatten(2).transpose(1, 2))
        qk = (q * k).transpose(1, 2).reshape(b, c, h, w)
        matrix = torch.softmax(self.mix(qk), dim=1)
        return matrix * e3 + self.res(d1)


class SGEMUNet(nn.Module):
    """U-Net (depth 4) with SGEM in place of the E3 → D2 skip; any input size (padded to a multiple of 16)."""

    uses_language = False
    td_dim = 0
    pad_multiple = 16  # four 2× poolings

    def __init__(self, in_channels: int = 1, base: int = 32):
        super().__init__()
        widths = [base * 2**i for i in range(5)]
        self.inc = DoubleConv(in_channels, widths[0])
        self.downs = nn.ModuleList(DoubleConv(widths[i], widths[i + 1]) for i in range(4))
        # ups[0] = D1 (E4 resolution), ups[1] = D2 (E3 resolution), …
        self.ups = nn.ModuleList(DoubleConv(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(4)))
        self.sgem = SGEM(widths[2], widths[3])
        self.head = nn.Conv2d(widths[0], 1, 1)

    def init_output_bias(self, bias: float) -> None:
        init_head(self.head, bias)

    def forward(self, image: torch.Tensor, td: torch.Tensor | None = None, return_aux: bool = False):
        x, size = pad_to_multiple(image, self.pad_multiple)
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()  # E5
        d1 = None
        for i, up in enumerate(self.ups):
            skip = skips.pop()
            if i == 1:  # D2: SGEM(E3, D1) replaces the E3 skip
                skip = self.sgem(skip, d1)
            y = up(torch.cat([F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1))
            if i == 0:
                d1 = y
        logits = crop(self.head(y), size)
        return (logits, []) if return_aux else logits


@register_model("sgem_unet", default_loss="softiou", pad_multiple=16)
def sgem_unet(**kwargs) -> SGEMUNet:
    """SGEM-UNet: U-Net with the semantic gap elimination module on the E3→D2 skip (SoftIoU)."""
    return SGEMUNet(**kwargs)
