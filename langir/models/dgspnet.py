"""DGSPNet: dual-granularity semantic prompts with text-guided channel and spatial attention.

From the paper's abstract and figure captions (Wang et al., "Dual-Granularity Semantic Prompting for
Language Guidance Infrared Small Target Detection"); everything the text leaves open is chosen here:

* **Coarse prompts**: fixed texts (default ``"infrared image"``, ``"small target"``), encoded ONCE by the
  frozen CLIP text encoder at construction; their mean is the coarse text feature ``t_c`` (D = CLIP embed dim).
* **Fine prompts**: the *inversion net* (GAP of the deepest encoder feature → 2-layer MLP) emits
  ``n_tokens`` = 4 pseudo-word embeddings in CLIP's token-embedding space. They replace the ``*`` slots of
  the template ``"* * * * small target in an infrared image"`` and the frozen text transformer encodes
  the sequence (token → +positional → transformer → ln_final → EOT pooling → text_projection, i.e.
  open_clip's ``CLIP.encode_text`` with injected embeddings) → image-specific feature ``t_f``.
  The CLIP text transformer is causal, so the sequence is cut right after the EOT token (same result,
  ~7× less work than all 77 positions).
* **Text feature**: ``t = Linear(concat(t_c, t_f))`` (D → ``text_hidden`` = 128), shared by all attentions.
* **Encoder**: 5 stages of 2 conv blocks (conv3×3 → BatchNorm → ReLU), widths ``base·(1,2,4,8,16)``
  (base 16), 2×2 max-pool between stages. **Decoder**: 4 stages, each a deconv block
  (ConvTranspose 2×2 → BatchNorm → ReLU), skip concat, 2 conv blocks.
* **TGCA** ``x·σ(MLP(t)) + x`` and **TGSA** ``x·σ(<conv1×1(x), W t>/√C) + x`` after every encoder stage and
  every decoder stage (channel first, then spatial).
* **Outputs**: a 1×1 side head per decoder stage (upsampled) plus the last stage; the fused logits are a
  1×1 conv over all side logits (``return_aux`` returns the side logits for deep supervision).
* **Phase 1 (pre-training)**: the segmentation decoder is replaced by a reconstruction decoder (4 deconv
  blocks from the deepest feature, no skips so it cannot copy the input) → sigmoid image; loss
  ``L1(recon, image) + λ_c · InfoNCE(t_f, v)`` with λ_c = 0.1, temperature 0.07, where ``v`` is a learned
  projection of the pooled deepest image feature (batch < 2 → contrastive term is 0).
  The loop that trains it is registered on the training side as DGSPNet's pretraining hook.
* **Phase 2 (main)**: :func:`freeze_inversion` sets the inversion net to eval with ``requires_grad=False``.
* **Loss**: default ``"bce"`` on fused + side logits (like LGNet; deep supervision).
* **CLIP**: the text encoder is frozen (eval, ``requires_grad=False``), not a registered submodule, so it
  is neither in ``parameters()`` (so never in an optimizer) nor in ``state_dict()``; checkpoints must be
  loaded with the same ``clip_model``/``clip_pretrained``. Random CLIP weights need ``allow_random_clip=True``
  (tests use ``clip_model="langir-tiny"``, which is always random and allowed).
* Input (B,1,H,W) in [0,1], any H, W: padded (replicate) to a multiple of 16 and cropped back.
  ``td`` is accepted and ignored: no description is needed at inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from langir.errors import ConfigError
from langir.models.heads import init_head, init_pass_through
from langir.models.padding import crop, pad_to_multiple
from langir.models.registry import register_model

DEFAULT_COARSE_PROMPTS: tuple[str, ...] = ("infrared image", "small target")
DEFAULT_TEMPLATE = "{tokens} small target in an infrared image"
PLACEHOLDER = "*"


class ConvBlock(nn.Sequential):
    """conv3×3 → BatchNorm → ReLU (the paper's convolutional block)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DeconvBlock(nn.Sequential):
    """ConvTranspose 2×2 stride 2 → BatchNorm → ReLU (the paper's deconvolutional block)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class TGCA(nn.Module):
    """Text-guide channel attention: ``x * sigmoid(MLP(t)) + x``."""

    def __init__(self, channels: int, text_dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(text_dim, channels), nn.ReLU(inplace=True), nn.Linear(channels, channels))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.mlp(t))[:, :, None, None]
        return x * w + x


class TGSA(nn.Module):
    """Text-guide spatial attention: ``x * sigmoid(<key(x), query(t)> / sqrt(C)) + x``."""

    def __init__(self, channels: int, text_dim: int) -> None:
        super().__init__()
        self.key = nn.Conv2d(channels, channels, 1)
        self.query = nn.Linear(text_dim, channels)
        self.scale = channels**-0.5

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        sim = torch.einsum("bchw,bc->bhw", self.key(x), self.query(t))[:, None] * self.scale
        return x * torch.sigmoid(sim) + x


class TextGuide(nn.Module):
    """TGCA followed by TGSA."""

    def __init__(self, channels: int, text_dim: int) -> None:
        super().__init__()
        self.tgca = TGCA(channels, text_dim)
        self.tgsa = TGSA(channels, text_dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.tgsa(self.tgca(x, t), t)


class FrozenTextEncoder(nn.Module):
    """open_clip's text path with injectable token embeddings; all weights frozen."""

    def __init__(self, clip: Any) -> None:
        super().__init__()
        self.token_embedding = clip.token_embedding
        self.positional_embedding = clip.positional_embedding
        self.transformer = clip.transformer
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.register_buffer("attn_mask", clip.attn_mask, persistent=False)
        self.width = int(clip.token_embedding.embedding_dim)
        self.embed_dim = int(clip.text_projection.shape[1] if isinstance(clip.text_projection, torch.Tensor)
                             else clip.text_projection.out_features)
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FrozenTextEncoder:  # always eval: frozen encoder
        return super().train(False)

    def encode_embeddings(self, emb: torch.Tensor, eot_index: torch.Tensor) -> torch.Tensor:
        """Encode (B, L, width) token embeddings; pool at ``eot_index`` (B,) → (B, embed_dim)."""
        length = emb.shape[1]
        x = emb + self.positional_embedding[:length].to(emb.dtype)
        mask = self.attn_mask[:length, :length] if self.attn_mask is not None else None
        x = self.transformer(x, attn_mask=mask)
        x = self.ln_final(x)
        x = x[torch.arange(x.shape[0], device=x.device), eot_index]
        proj = self.text_projection
        return proj(x) if isinstance(proj, nn.Linear) else x @ proj

    def encode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Encode token ids (B, L) the way ``CLIP.encode_text`` does (EOT = argmax id)."""
        eot = tokens.argmax(dim=-1)
        keep = int(eot.max()) + 1  # causal attention: positions after EOT never affect it
        return self.encode_embeddings(self.token_embedding(tokens[:, :keep]), eot)


def _load_text_encoder(clip_model: str, clip_pretrained: str | None, allow_random_clip: bool) -> tuple[FrozenTextEncoder, Any]:
    from langir.language.clip import TINY_NAME, load_clip

    clip_pretrained = clip_pretrained or None  # the train config spells "no weights" as ""
    if clip_pretrained is None and clip_model != TINY_NAME and not allow_random_clip:
        raise ConfigError(
            f"dgspnet needs CLIP weights for {clip_model}: pass clip_pretrained (tag or local file), "
            "or allow_random_clip=True for an untrained text encoder"
        )
    clip, _, tokenizer = load_clip(clip_model, clip_pretrained, "cpu")
    return FrozenTextEncoder(clip), tokenizer


class DGSPNet(nn.Module):
    """Dual-granularity semantic prompt network (see module docstring for every design choice)."""

    uses_language = False
    td_dim = 0

    def __init__(
        self,
        clip_model: str = "ViT-B-16",
        clip_pretrained: str | None = None,
        *,
        allow_random_clip: bool = False,
        coarse_prompts: Sequence[str] = DEFAULT_COARSE_PROMPTS,
        template: str = DEFAULT_TEMPLATE,
        n_tokens: int = 4,
        base: int = 16,
        text_hidden: int = 128,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        if n_tokens < 1:
            raise ConfigError("dgspnet: n_tokens must be >= 1")
        if "{tokens}" not in template:
            raise ConfigError("dgspnet: template must contain '{tokens}'")
        if not coarse_prompts:
            raise ConfigError("dgspnet: at least one coarse prompt is needed")
        text, tokenizer = _load_text_encoder(clip_model, clip_pretrained, allow_random_clip)
        # Plain attribute list: keeps the frozen CLIP out of parameters() and state_dict().
        self._frozen = [text]
        self.config = {"clip_model": clip_model, "clip_pretrained": clip_pretrained, "coarse_prompts": list(coarse_prompts),
                       "template": template, "n_tokens": n_tokens, "base": base, "text_hidden": text_hidden}
        self.n_tokens = n_tokens
        self.pad_multiple = 16

        with torch.no_grad():
            coarse = text.encode_tokens(tokenizer(list(coarse_prompts)))
        self.register_buffer("coarse_feature", coarse.mean(0), persistent=False)
        prompt = tokenizer([template.format(tokens=" ".join([PLACEHOLDER] * n_tokens))])[0]
        star = int(tokenizer([PLACEHOLDER])[0][1])
        eot = int(prompt.argmax())
        prompt = prompt[: eot + 1]
        slots = (prompt == star).nonzero().flatten()
        if len(slots) != n_tokens:
            raise ConfigError(f"dgspnet: template must not contain '{PLACEHOLDER}' apart from the token slots")
        self.register_buffer("template_tokens", prompt, persistent=False)
        self.register_buffer("slot_index", slots, persistent=False)
        self.eot_index = eot

        widths = [base * m for m in (1, 2, 4, 8, 16)]
        self.widths = widths
        d_text = text.embed_dim
        self.encoders = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.encoders.append(nn.Sequential(ConvBlock(cin, w), ConvBlock(w, w)))
            cin = w
        self.enc_guides = nn.ModuleList(TextGuide(w, text_hidden) for w in widths)
        self.ups = nn.ModuleList(DeconvBlock(widths[i + 1], widths[i]) for i in reversed(range(4)))
        self.decoders = nn.ModuleList(nn.Sequential(ConvBlock(2 * widths[i], widths[i]), ConvBlock(widths[i], widths[i]))
                                      for i in reversed(range(4)))
        self.dec_guides = nn.ModuleList(TextGuide(widths[i], text_hidden) for i in reversed(range(4)))
        self.side_heads = nn.ModuleList(nn.Conv2d(widths[i], 1, 1) for i in reversed(range(4)))
        self.fuse = nn.Conv2d(4, 1, 1)

        self.inversion = nn.Sequential(nn.Linear(widths[-1], 4 * widths[-1]), nn.ReLU(inplace=True),
                                       nn.Linear(4 * widths[-1], n_tokens * text.width))
        self.text_fuse = nn.Sequential(nn.Linear(2 * d_text, text_hidden), nn.ReLU(inplace=True))
        # Phase-1 only: reconstruction decoder and the visual projection for the contrastive loss.
        recon: list[nn.Module] = [DeconvBlock(widths[i + 1], widths[i]) for i in reversed(range(4))]
        self.recon_decoder = nn.Sequential(*recon, nn.Conv2d(widths[0], in_channels, 1))
        self.visual_proj = nn.Linear(widths[-1], d_text)

    @property
    def text_encoder(self) -> FrozenTextEncoder:
        return self._frozen[0]

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> DGSPNet:
        # .to()/.cuda()/.half() must move the frozen text encoder too.
        super()._apply(fn, *args, **kwargs)
        self.text_encoder._apply(fn, *args, **kwargs)
        return self

    # ---- pieces -----------------------------------------------------------------------------
    def _pad(self, image: torch.Tensor) -> torch.Tensor:
        if image.ndim != 4 or image.shape[1] != 1:
            raise ValueError(f"dgspnet expects (B,1,H,W) input, got {tuple(image.shape)}")
        return pad_to_multiple(image, self.pad_multiple)[0]

    def init_output_bias(self, bias: float) -> None:
        """Side heads at the prior and the fuse conv passing the full-resolution side through (see heads.py)."""
        for head in self.side_heads:
            init_head(head, bias)
        init_pass_through(self.fuse, len(self.side_heads) - 1)  # heads run deepest → finest

    def encode_image(self, x: torch.Tensor, t: torch.Tensor | None) -> list[torch.Tensor]:
        """Encoder features per stage; text guidance applied when ``t`` is given."""
        feats = []
        for i, (enc, guide) in enumerate(zip(self.encoders, self.enc_guides, strict=True)):
            if i:
                x = F.max_pool2d(x, 2)
            x = enc(x)
            if t is not None:
                x = guide(x, t)
            feats.append(x)
        return feats

    def pseudo_tokens(self, deep: torch.Tensor) -> torch.Tensor:
        """Inversion net: deepest feature map → (B, n_tokens, token width)."""
        v = deep.mean(dim=(2, 3))
        return self.inversion(v).view(v.shape[0], self.n_tokens, self.text_encoder.width)

    def fine_feature(self, deep: torch.Tensor) -> torch.Tensor:
        """Image-specific text feature t_f (B, D) from pseudo-words in the template."""
        pseudo = self.pseudo_tokens(deep)
        b = pseudo.shape[0]
        emb = self.text_encoder.token_embedding(self.template_tokens)[None].expand(b, -1, -1).clone()
        emb[:, self.slot_index] = pseudo.to(emb.dtype)
        eot = torch.full((b,), self.eot_index, dtype=torch.long, device=emb.device)
        return self.text_encoder.encode_embeddings(emb, eot)

    def text_feature(self, fine: torch.Tensor) -> torch.Tensor:
        """Combined text feature t (B, text_hidden) from coarse and fine features."""
        coarse = self.coarse_feature[None].expand(fine.shape[0], -1)
        return self.text_fuse(torch.cat([coarse, fine], dim=1))

    def guidance(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (fine text feature t_f, fused text feature t) for the padded image ``x``.

        The inversion net sees an unguided pass of the encoder (it has no text yet); the guided pass
        then reuses the same encoder weights.
        """
        deep = self.encode_image(x, None)[-1]
        fine = self.fine_feature(deep)
        return fine, self.text_feature(fine)

    # ---- forward passes -------------------------------------------------------------------
    def forward(self, image: torch.Tensor, td: torch.Tensor | None = None, return_aux: bool = False) -> Any:
        """Segmentation logits (B,1,H,W); ``td`` is ignored (no description needed)."""
        size = (image.shape[-2], image.shape[-1])
        x = self._pad(image)
        _, t = self.guidance(x)
        feats = self.encode_image(x, t)
        y = feats[-1]
        sides = []
        for k, (up, dec, guide, head) in enumerate(zip(self.ups, self.decoders, self.dec_guides, self.side_heads, strict=True)):
            skip = feats[3 - k]
            y = guide(dec(torch.cat([up(y), skip], dim=1)), t)
            sides.append(F.interpolate(head(y), size=x.shape[-2:], mode="bilinear", align_corners=False))
        fused = crop(self.fuse(torch.cat(sides, dim=1)), size)
        sides = [crop(s, size) for s in sides]
        return (fused, sides) if return_aux else fused

    def prepare_main_phase(self) -> None:
        """Called by the training engine before the main phase (also when resuming): freeze the inversion net."""
        freeze_inversion(self)

    def train(self, mode: bool = True) -> DGSPNet:
        super().train(mode)
        if not any(p.requires_grad for p in self.inversion.parameters()):
            self.inversion.eval()  # a frozen inversion net keeps its norm statistics too
        return self

    def pretrain_forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Phase 1: reconstruction (B,1,H,W in [0,1]), fine text feature and visual embedding."""
        size = (image.shape[-2], image.shape[-1])
        x = self._pad(image)
        fine, t = self.guidance(x)
        deep = self.encode_image(x, t)[-1]
        recon = crop(torch.sigmoid(self.recon_decoder(deep)), size)
        visual = self.visual_proj(deep.mean(dim=(2, 3)))
        return {"recon": recon, "fine": fine, "visual": visual}


def freeze_inversion(model: DGSPNet) -> None:
    """Phase 2: freeze the inversion net (eval mode, no grads) so its weights stay fixed."""
    model.inversion.eval()
    for p in model.inversion.parameters():
        p.requires_grad_(False)
        p.grad = None


def main_phase_parameters(model: DGSPNet) -> list[nn.Parameter]:
    """Phase-2 parameters: everything trainable except the phase-1-only heads and the inversion net."""
    skip = {id(p) for m in (model.inversion, model.recon_decoder, model.visual_proj) for p in m.parameters()}
    return [p for p in model.parameters() if p.requires_grad and id(p) not in skip]


@register_model("dgspnet", default_loss="bce", uses_language=False, needs_clip=True, phases=("pretrain", "main"),
                default_phase="both", pad_multiple=16,
                profile_kwargs={"allow_random_clip": True})
def build_dgspnet(**kwargs: Any) -> DGSPNet:
    """DGSPNet: dual-granularity CLIP text prompts from a pre-trained inversion net (no description needed)."""
    return DGSPNet(**kwargs)
