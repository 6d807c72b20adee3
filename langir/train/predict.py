"""Run a trained model over dataset images at native resolution, feeding TD per the checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from langir.errors import ConfigError


def resolve_device(device: str = "auto") -> str:
    """'auto' → cuda when available else cpu; asking for cuda without one is a ConfigError."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but no CUDA device is available (use --device cpu or auto)")
    if device not in {"cpu"} and not device.startswith("cuda"):
        raise ConfigError(f"unknown device {device!r} (auto, cpu or cuda)")
    return device


def pad_to_multiple(x: Any, multiple: int = 32) -> tuple[Any, int, int]:
    """Reflect-free zero padding at bottom/right so U-shaped nets see sizes divisible by ``multiple``."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))
    return x, h, w


def eval_descriptor(entry: dict[str, np.ndarray] | None, language_prior: str) -> np.ndarray | None:
    """TD at evaluation: train+test → text+image, train-only → image alone, never → None."""
    from langir.language.cache import descriptor

    if language_prior == "never" or entry is None:
        return None
    return descriptor(entry, use_text=language_prior == "train+test")


def predict_dataset(
    checkpoint: str | Path | tuple[Any, dict[str, Any]],
    ds: Any,
    ids: list[str],
    device: str = "auto",
    batch_size: int = 8,
    amp: bool = True,
    descriptors: dict[str, dict[str, np.ndarray]] | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (id, probability H×W float32) at each image's native size.

    Images of the same size run together in batches of ``batch_size`` (results come grouped by
    size, not in ``ids`` order). Images of different sizes are not padded into one batch: a larger
    zero canvas would change what global-average-pooling layers (LGNet's fusion blocks) see.
    TD comes from the on-disk embedding cache per the checkpoint's language prior (CLIP runs only
    for embeddings not cached yet) unless ``descriptors`` are given.
    """
    import torch

    dev = resolve_device(device)
    if isinstance(checkpoint, (str, Path)):
        from langir.train.checkpoint import load_checkpoint

        model, meta = load_checkpoint(checkpoint, dev)
    else:
        model, meta = checkpoint
        model.to(dev).eval()
    prior = meta.get("language_prior", "never")
    uses_td = getattr(model, "uses_language", False)
    if prior != "never" and uses_td and descriptors is None:
        from langir.language.cache import EmbeddingCache, compute_descriptors

        cache = EmbeddingCache(ds.root, meta.get("clip_model", "ViT-B-16"), meta.get("clip_pretrained"), device=dev)
        descriptors = compute_descriptors(ds, ids, cache, with_text=prior == "train+test")
    use_amp = amp and dev.startswith("cuda")
    batch_size = max(1, int(batch_size))

    def run(batch: list[tuple[str, np.ndarray]]) -> Iterator[tuple[str, np.ndarray]]:
        images = torch.from_numpy(np.stack([img for _, img in batch])).float()[:, None].to(dev)
        x, h, w = pad_to_multiple(images)
        td = None
        if descriptors is not None and uses_td:
            vectors = [eval_descriptor(descriptors.get(sample_id), prior) for sample_id, _ in batch]
            if all(v is not None for v in vectors):
                td = torch.from_numpy(np.stack(vectors)).to(dev)
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            logits = model(x, td=td)
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        probs = torch.sigmoid(logits.float())[:, 0, :h, :w].cpu().numpy().astype(np.float32)
        for (sample_id, _), prob in zip(batch, probs, strict=True):
            yield sample_id, prob

    buckets: dict[tuple[int, int], list[tuple[str, np.ndarray]]] = {}
    for sample_id in ids:
        image = ds.read_image(sample_id)
        bucket = buckets.setdefault(image.shape, [])
        bucket.append((sample_id, image))
        if len(bucket) == batch_size:
            yield from run(bucket)
            buckets[image.shape] = []
    for bucket in buckets.values():
        if bucket:
            yield from run(bucket)
