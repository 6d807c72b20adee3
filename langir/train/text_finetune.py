"""``langir train --finetune-text``: the run's parts that concern the fine-tuned CLIP text encoder.

The tower itself, and why these layers and this learning rate, are in :mod:`langir.language.text_tower`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from langir.errors import ConfigError
from langir.models.checkpoint import read_checkpoint
from langir.train.config import TrainConfig


def check_init_text(config: TrainConfig) -> None:
    """--init-from a checkpoint with a fine-tuned text encoder: same CLIP, and the run fine-tunes it too
    (a frozen run would silently fall back to the un-tuned cached text embeddings)."""
    from langir.language.text_tower import check_origin

    text = read_checkpoint(config.init_from)["meta"].get("text_encoder")
    if not isinstance(text, dict):
        return
    check_origin(config.init_from, text, config.clip_model, config.clip_pretrained or None)
    if not config.finetune_text:
        raise ConfigError(f"{config.init_from} carries a fine-tuned text encoder: pass --finetune-text to keep using it")


def build_text_tower(setup: Any, data: Any, model: Any) -> tuple[Any, Any]:
    """--finetune-text: (detector + text tower module, tokenizer); (model, None) otherwise."""
    config = setup.config
    if not config.finetune_text:
        return model, None
    from langir.language.text_tower import WithText, build_tower

    tower, tokenizer = build_tower(config.clip_model, config.clip_pretrained or None, config.text_layers, setup.device)
    return WithText(model, tower, tokenizer(data.texts).to(setup.device)), tokenizer


def text_descriptors(tower: Any, tokenizer: Any, data: Any, device: str) -> dict[str, dict[str, np.ndarray]] | None:
    """Validation entries with the text embedded by the current fine-tuned tower (train+test), else the cached ones."""
    if tower is None or data.val_texts is None or data.val_desc is None:
        return data.val_desc
    from langir.language.text_tower import encode

    ids = list(data.val_desc)
    embs = encode(tower, tokenizer, [data.val_texts[i] for i in ids], device)
    return {i: {"image": data.val_desc[i]["image"], "text_00": emb} for i, emb in zip(ids, embs, strict=True)}
