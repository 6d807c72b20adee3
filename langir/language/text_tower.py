"""The CLIP text encoder fine-tuned with the detector (``langir train --finetune-text``).

LangIR §3 (Target Descriptor) passes the language prior "to the fine-tuned CLIP text encoder"; the
paper says nothing about which layers train or at which rate. Our reading, and why:

* **Layers.** Every transformer block, the final LayerNorm, the text projection and the positional
  embedding train (``--text-layers N``: only the last N blocks + final LayerNorm + projection). The
  token-embedding table stays frozen: it is 25 M of ViT-B-16's 63 M text parameters, the few hundred tokens
  of the descriptions are all that would receive a gradient, and Adan's decoupled weight decay
  would shrink every other row at each step.
* **Rate.** ``--text-lr-scale`` (default 0.1) multiplies the detector's learning rate (paper §5.2: 1e-3
  with Adan), giving 1e-4: the top of the usual CLIP fine-tuning range (1e-5 – 1e-4), so the pre-trained
  text space bends toward the task without being overwritten by a rate chosen for a randomly
  initialised detector. The same warm-up / cosine schedule applies to both groups.

The checkpoint keeps only the tensors that trained (``text_state``), with the CLIP model name and
pretrained tag they came from (``meta["text_encoder"]``); everything else is rebuilt from CLIP itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from langir.errors import ConfigError, DataError

DEFAULT_LR_SCALE = 0.1


class TextTower(nn.Module):
    """CLIP's text path (the image tower dropped) → L2-normalised embeddings; part of it trainable."""

    def __init__(self, clip: Any, layers: int = 0):
        super().__init__()
        clip.visual = nn.Identity()  # the image tower is not needed here; image embeddings stay cached
        self.clip = clip
        blocks = clip.transformer.resblocks
        if layers < 0 or layers > len(blocks):
            raise ConfigError(f"--text-layers must be between 0 (all) and {len(blocks)} for this CLIP text encoder, got {layers}")
        self.layers = layers
        for p in clip.parameters():
            p.requires_grad_(False)
        trained: list[nn.Module | nn.Parameter] = [clip.ln_final]
        trained += list(blocks[len(blocks) - layers:]) if layers else [*blocks, clip.positional_embedding]
        if clip.text_projection is not None:
            trained.append(clip.text_projection)
        for part in trained:
            for p in part.parameters() if isinstance(part, nn.Module) else [part]:
                p.requires_grad_(True)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.clip.encode_text(tokens).float(), dim=-1)

    def trained_state(self) -> dict[str, torch.Tensor]:
        """Only the tensors that train (names as in the CLIP model), on the CPU."""
        return {name: p.detach().cpu().clone() for name, p in self.clip.named_parameters() if p.requires_grad}

    def load_trained(self, state: dict[str, torch.Tensor], where: str | Path) -> None:
        """Put fine-tuned tensors back; names or shapes CLIP does not have are one DataError naming ``where``."""
        own = dict(self.clip.named_parameters())
        for name, value in state.items():
            if name not in own or not isinstance(value, torch.Tensor) or own[name].shape != value.shape:
                raise DataError(where, f"fine-tuned text encoder tensor {name!r} does not fit this CLIP text encoder")
        with torch.no_grad():
            for name, value in state.items():
                own[name].copy_(value.to(own[name].device, own[name].dtype))


def build_tower(clip_model: str, clip_pretrained: str | None, layers: int = 0, device: str = "cpu") -> tuple[TextTower, Any]:
    """(tower, tokenizer) from CLIP as loaded everywhere else (same weights as the embedding cache's)."""
    from langir.language.clip import load_clip

    clip, _, tokenizer = load_clip(clip_model, clip_pretrained or None, "cpu")
    return TextTower(clip, layers).to(device), tokenizer


def origin(meta_text: dict[str, Any]) -> tuple[str, str | None]:
    return str(meta_text.get("clip_model")), meta_text.get("clip_pretrained") or None


def check_origin(where: str | Path, meta_text: dict[str, Any], clip_model: str, clip_pretrained: str | None) -> None:
    """One ConfigError line when fine-tuned text weights come from another CLIP than the configured one."""
    name, tag = origin(meta_text)
    if (name, tag) != (clip_model, clip_pretrained or None):
        raise ConfigError(f"{where}: its text encoder was fine-tuned from CLIP {name} (weights {tag or 'none'}), "
                          f"not the configured {clip_model} (weights {clip_pretrained or 'none'}); "
                          f"use --clip-model {name} --clip-pretrained {tag or 'none'}")


def encode(tower: TextTower, tokenizer: Any, texts: list[str], device: str, batch: int = 64) -> np.ndarray:
    """L2-normalised embeddings of ``texts`` (no gradient), float32 (N, D)."""
    out = []
    was = tower.training
    tower.eval()
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            out.append(tower(tokenizer(texts[start:start + batch]).to(device)).cpu().numpy())
    tower.train(was)
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)


def tower_for(model: Any, meta: dict[str, Any], device: str) -> tuple[TextTower, Any] | None:
    """The fine-tuned tower a loaded checkpoint carries (``model.text_state``), or None when it has none."""
    state = getattr(model, "text_state", None)
    info = meta.get("text_encoder")
    if not state or not isinstance(info, dict):
        return None
    where = meta.get("path", "checkpoint")
    check_origin(where, info, meta.get("clip_model", "ViT-B-16"), meta.get("clip_pretrained"))
    tower, tokenizer = build_tower(*origin(info), int(info.get("layers", 0)), device)
    tower.load_trained(state, where)
    return tower.eval(), tokenizer


class WithText(nn.Module):
    """Detector + text tower as one module (one DDP wrapper, one autocast): TD = image emb + tower(tokens[i])."""

    def __init__(self, detector: nn.Module, tower: TextTower, tokens: torch.Tensor):
        super().__init__()
        self.detector, self.tower = detector, tower
        self.register_buffer("tokens", tokens, persistent=False)  # every description variant, tokenised once

    def forward(self, image: torch.Tensor, td: torch.Tensor | None = None, return_aux: bool = False,
                text_index: torch.Tensor | None = None) -> Any:
        if text_index is not None and td is not None:
            td = td + self.tower(self.tokens[text_index]).to(td.dtype)
        return self.detector(image, td=td, return_aux=return_aux)
