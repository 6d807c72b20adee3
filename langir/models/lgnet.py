"""LGNet (Chib & Singh, "LangIR", §3.3): an RSU encoder–decoder with fusion blocks and a language fusion block.

Readings of the paper where it is vague (Fig. 3–5 and §3.3 give no widths or kernel sizes):

* **Stages.** Five encoders E1–E5, each an RSU block followed by 2× max-pooling, and six decoders: D6 is
  the bottom block (the paper itself calls D6 "encoder D6"), D5…D1 climb back up; D_k works at E_k's
  resolution. RSU heights mirror U²-Net: E1/D1 RSU-7, E2/D2 RSU-6, E3/D3 RSU-5, E4/D4 RSU-4,
  E5/D5/D6 RSU-4F (dilated, no pooling inside).
* **Widths.** Encoder outputs 68/96/96/96/96, inner (mid) width = out/2; D6 out = 96 and D_k's output
  width equals E_{k-1}'s so that the fused maps can be summed (D1 out = 68). The paper gives no widths;
  these are chosen so that both published costs are met at once: 4.035 M params (paper 4.04 M) and
  83.8 GMACs at 512×512 counted by torch's FlopCounterMode (paper 85.68 "GFLOPs", i.e. thop MACs). The
  first width moves MACs (full-resolution stage), the others move params; the common 64/96/96/96/96
  gives 3.97 M / 77.4 G, 10 % short of the paper's cost. The remaining ≈2 % MAC gap: thop also counts
  BatchNorm (≈0.3 G here) and bilinear up-sampling, and the unknown MLP / output-block sizes.
* **Fusion block** (Fig. 4 right): for each of the two inputs (encoder map E_k and up-sampled decoder map
  D_{k+1}) its own weights σ(BN(DWConv(GAP(x)))) — a depth-wise 1×1 conv on the pooled C×1×1 vector —
  multiply the map; the two weighted maps are summed and fed to D_k.
  Without fusion blocks (Table 6 baseline) the two maps are simply summed.
* **Language fusion block** (Eq. 1–3) at E5/D6: v1 = GAP(map), v2 = MLP(TD) (Linear–ReLU–Linear, hidden =
  C) of the same size C; v1 and v2 interleaved channel by channel (v1[0], v2[0], v1[1], …), a 1×1 conv
  with C groups (2 inputs per group) → BN → σ gives C weights multiplied onto the map. E5 and D6 have their
  own v1, conv and BN; the MLP F_tar is shared (Eq. 1 has one F_tar). The weighted E5 and up-sampled D6
  are summed and fed to D5. With `use_language=False` (Table 2 "never") the block falls back to the plain
  fusion block and TD is ignored.
* **Output block** (§3.3.3): every decoder output → point-wise conv to 1 channel → bilinear up-sampling to
  the input size (side outputs, deep-supervised with BCE). Scaling weights (1×H×W) =
  σ(conv1×1(concat(shallow side maps D1–D3))); each of the six side maps is multiplied by them, all six are
  concatenated and a point-wise conv gives the fused logits.
* **TD** is a vector (B, td_dim), the sum/concatenation produced by `langir.language`; td_dim defaults to
  512 (CLIP ViT-B-16's embedding width).
* **Text encoder** (§3.2: "passed as input to the fine-tuned CLIP text encoder f(T)"): frozen and cached by
  default; ``langir train --finetune-text`` trains it with LGNet — every text block, final LayerNorm,
  projection and positional embedding (``--text-layers N``: the last N blocks only), token embeddings
  frozen, at ``--text-lr-scale`` 0.1 × the detector's lr (1e-4 with §5.2's 1e-3; CLIP fine-tuning rates are
  1e-5 – 1e-4). LGNet itself only sees TD; the tower lives in ``langir.language.text_tower`` (reasons there
  and in docs/train.md).
"""

from __future__ import annotations

import torch
from torch import nn

from langir.errors import ConfigError
from langir.models.blocks import RSU, upsample_like
from langir.models.heads import init_head, init_pass_through
from langir.models.padding import crop, pad_to_multiple
from langir.models.registry import register_model


class PooledBatchNorm(nn.BatchNorm2d):
    """BN on pooled (B, C, 1, 1) vectors; a training batch of one uses the running statistics instead of
    failing ("expected more than 1 value per channel"), e.g. the last short batch of an epoch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1:
            return nn.functional.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0,
                                            self.eps)
        return super().forward(x)


def _channel_weights(channels: int) -> nn.Sequential:
    """σ(BN(depth-wise 1×1 conv(v))) on a pooled (B, C, 1, 1) vector."""
    return nn.Sequential(nn.Conv2d(channels, channels, 1, groups=channels, bias=False), PooledBatchNorm(channels),
                         nn.Sigmoid())


class FusionBlock(nn.Module):
    """Weights each of two same-shaped maps by σ(BN(DWConv(GAP(x)))) and sums them (§3.3.2)."""

    def __init__(self, channels: int, enabled: bool = True):
        super().__init__()
        self.enabled = enabled
        if enabled:
            self.w_enc = _channel_weights(channels)
            self.w_dec = _channel_weights(channels)

    def forward(self, enc: torch.Tensor, dec: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return enc + dec
        return enc * self.w_enc(enc.mean((2, 3), keepdim=True)) + dec * self.w_dec(dec.mean((2, 3), keepdim=True))


class LanguageFusionBlock(nn.Module):
    """Language-guided weights on E5 and D6 from interleaved [GAP(map), MLP(TD)] (§3.3.1, Eq. 1–3)."""

    def __init__(self, channels: int, td_dim: int):
        super().__init__()
        self.channels = channels
        self.f_tar = nn.Sequential(nn.Linear(td_dim, channels), nn.ReLU(inplace=True), nn.Linear(channels, channels))
        self.w_enc = self._weights(channels)
        self.w_dec = self._weights(channels)

    @staticmethod
    def _weights(c: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(2 * c, c, 1, groups=c, bias=False), PooledBatchNorm(c), nn.Sigmoid())

    def _weigh(self, x: torch.Tensor, v2: torch.Tensor, net: nn.Sequential) -> torch.Tensor:
        v1 = x.mean((2, 3))
        stacked = torch.stack([v1, v2], dim=2).reshape(x.shape[0], 2 * self.channels, 1, 1)  # v1[0], v2[0], v1[1], …
        return x * net(stacked)

    def forward(self, enc: torch.Tensor, dec: torch.Tensor, td: torch.Tensor) -> torch.Tensor:
        v2 = self.f_tar(td.to(enc.dtype))
        return self._weigh(enc, v2, self.w_enc) + self._weigh(dec, v2, self.w_dec)


class LGNet(nn.Module):
    """LGNet: RSU encoder–decoder, fusion blocks, language fusion at E5/D6, output block (see module docs)."""

    pad_multiple = 32  # five 2× poolings (E1–E5)

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (68, 96, 96, 96, 96), td_dim: int = 512,
                 use_language: bool = True, use_fusion: bool = True):
        super().__init__()
        if len(widths) != 5:
            raise ConfigError("lgnet: widths must list 5 encoder widths")
        self.uses_language = bool(use_language)
        self.td_dim = td_dim
        self.use_fusion = use_fusion
        heights = (7, 6, 5, 4, 4)
        dilated = (False, False, False, False, True)
        self.encoders = nn.ModuleList()
        cin = in_channels
        for w, h, d in zip(widths, heights, dilated, strict=True):
            self.encoders.append(RSU(cin, w // 2, w, h, d))
            cin = w
        c5 = widths[4]
        self.d6 = RSU(c5, c5 // 2, c5, 4, dilated=True)
        # decoders D5..D1; D_k takes the fused (E_k, up(D_{k+1})) map of width widths[k-1]
        dec_out = [widths[k - 2] if k > 1 else widths[0] for k in range(5, 0, -1)]  # D5..D1
        self.decoders = nn.ModuleList(
            RSU(widths[k - 1], widths[k - 1] // 2, dec_out[5 - k], heights[k - 1], dilated[k - 1]) for k in range(5, 0, -1)
        )
        self.fusions = nn.ModuleList(FusionBlock(widths[k - 1], use_fusion) for k in range(4, 0, -1))  # for D4..D1
        self.top_fusion = LanguageFusionBlock(c5, td_dim) if use_language else FusionBlock(c5, use_fusion)
        side_widths = [dec_out[4], dec_out[3], dec_out[2], dec_out[1], dec_out[0], c5]  # D1..D6
        self.sides = nn.ModuleList(nn.Conv2d(c, 1, 1) for c in side_widths)
        self.scale = nn.Sequential(nn.Conv2d(3, 1, 1), nn.Sigmoid())
        self.out = nn.Conv2d(6, 1, 1)

    def init_output_bias(self, bias: float) -> None:
        """Side heads at the prior; the scaling weights start at σ(0) = 0.5 everywhere and the output
        conv passes the D1 side through, so the fused logit starts at the prior as well."""
        for side in self.sides:
            init_head(side, bias)
        nn.init.zeros_(self.scale[0].weight)
        nn.init.zeros_(self.scale[0].bias)
        init_pass_through(self.out, 0, gain=0.5)  # sides are ordered D1..D6

    def forward(self, image: torch.Tensor, td: torch.Tensor | None = None, return_aux: bool = False):
        if self.uses_language and td is None:
            raise ConfigError("lgnet was built with use_language=True but got no target descriptor (td); "
                              "pass td or build it with use_language=False")
        x, size = pad_to_multiple(image, self.pad_multiple)
        encs = []
        y = x
        for i, enc in enumerate(self.encoders):
            if i > 0:
                y = nn.functional.max_pool2d(y, 2, ceil_mode=True)
            y = enc(y)
            encs.append(y)
        d6 = self.d6(nn.functional.max_pool2d(y, 2, ceil_mode=True))
        up6 = upsample_like(d6, encs[4])
        if self.uses_language:
            if td.ndim != 2 or td.shape[-1] != self.td_dim:
                raise ConfigError(f"lgnet expects td of shape (B, {self.td_dim}), got {tuple(td.shape)}")
            y = self.top_fusion(encs[4], up6, td)
        else:
            y = self.top_fusion(encs[4], up6)
        decs = [d6]
        for k, dec in enumerate(self.decoders):  # D5..D1
            y = dec(y)
            decs.append(y)
            if k < 4:
                skip = encs[3 - k]
                y = self.fusions[k](skip, upsample_like(y, skip))
        decs = decs[::-1]  # D1..D6
        sides = [upsample_like(conv(d), x) for conv, d in zip(self.sides, decs, strict=True)]
        scale = self.scale(torch.cat(sides[:3], 1))
        fused = self.out(torch.cat([s * scale for s in sides], 1))
        fused = crop(fused, size)
        if return_aux:
            return fused, [crop(s, size) for s in sides]
        return fused


@register_model("lgnet", default_loss="bce_deep", uses_language=True)
def lgnet(**kwargs) -> LGNet:
    """LGNet (LangIR §3.3): RSU U-Net with fusion blocks and the language fusion block (BCE deep supervision)."""
    return LGNet(**kwargs)


@register_model("lgnet_no_fusion", default_loss="bce_deep", uses_language=True)
def lgnet_no_fusion(**kwargs) -> LGNet:
    """LGNet without fusion blocks (Table 6 ablation): encoder and decoder maps are plainly summed."""
    kwargs.setdefault("use_fusion", False)
    return LGNet(**kwargs)


@register_model("lgnet_no_language", default_loss="bce_deep", uses_language=False)
def lgnet_no_language(**kwargs) -> LGNet:
    """LGNet without the language fusion block (Table 6 ablation); takes no target descriptor."""
    kwargs.pop("td_dim", None)
    kwargs["use_language"] = False
    return LGNet(**kwargs)
