"""DGSPNet phase 1: reconstruction decoder + contrastive loss supervising the inversion net.

Loss per batch: ``L1(recon, image) + contrastive_weight * InfoNCE(t_f, v)`` (symmetric, temperature
``temperature``), where ``t_f`` is the image-specific text feature from the pseudo-words and ``v`` a
projection of the pooled deepest image feature. Masks and descriptions are not used. A batch of one
image has no negatives, so its contrastive term is 0.

:func:`run_pretrain` is registered as DGSPNet's pretraining hook (:mod:`langir.train.pretraining`); the
training engine calls it for ``--phase pretrain|both``. It ends by calling
:func:`langir.models.dgspnet.freeze_inversion`, so the normal loop that follows keeps the inversion
net fixed (a model built fresh for phase 2 must call ``freeze_inversion`` itself).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from langir.data.atomic import ensure_dir, write_bytes_atomic, write_text_atomic
from langir.models.dgspnet import DGSPNet, freeze_inversion
from langir.train.pretraining import register_pretrain

DEFAULTS: dict[str, Any] = {
    "pretrain_epochs": 1,
    "pretrain_lr": 1e-3,
    "pretrain_weight_decay": 1e-4,
    "contrastive_weight": 0.1,
    "temperature": 0.07,
}


def contrastive_loss(fine: torch.Tensor, visual: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Symmetric InfoNCE between matching rows of ``fine`` and ``visual`` (0 for a batch of one)."""
    if fine.shape[0] < 2:
        return fine.sum() * 0.0
    a = F.normalize(fine, dim=-1)
    b = F.normalize(visual, dim=-1)
    logits = a @ b.t() / temperature
    target = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def pretrain_loss(model: DGSPNet, image: torch.Tensor, contrastive_weight: float, temperature: float) -> dict[str, torch.Tensor]:
    """Phase-1 loss terms for one batch of images (B,1,H,W) in [0,1]."""
    out = model.pretrain_forward(image)
    recon = F.l1_loss(out["recon"], image)
    contrast = contrastive_loss(out["fine"], out["visual"], temperature)
    return {"loss": recon + contrastive_weight * contrast, "recon": recon, "contrastive": contrast}


def _images(batch: Any) -> torch.Tensor:
    # Engines hand over tensors, (image, mask, ...) tuples or dicts; phase 1 needs the image only.
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, Mapping):
        return batch["image"]
    return batch[0]


def _get(config: Any, key: str) -> Any:
    if isinstance(config, Mapping):
        return config.get(key, DEFAULTS[key])
    return getattr(config, key, DEFAULTS[key])


@register_pretrain("dgspnet")
def run_pretrain(model: DGSPNet, loader: Iterable[Any], config: Any, run_dir: str | Path | None, device: str | torch.device) -> dict[str, Any]:
    """Run phase 1 for ``pretrain_epochs`` epochs; write ``pretrain.json`` (and weights) to ``run_dir``.

    ``config`` is a mapping or an object with the :data:`DEFAULTS` keys (missing keys take defaults).
    Returns a summary dict (epochs, per-epoch mean losses, images/s).
    """
    epochs = int(_get(config, "pretrain_epochs"))
    weight, temperature = float(_get(config, "contrastive_weight")), float(_get(config, "temperature"))
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=float(_get(config, "pretrain_lr")), weight_decay=float(_get(config, "pretrain_weight_decay")))
    history: list[dict[str, float]] = []
    seen, start = 0, time.perf_counter()
    for epoch in range(epochs):
        sums = {"loss": 0.0, "recon": 0.0, "contrastive": 0.0}
        batches = 0
        for batch in loader:
            image = _images(batch).to(device, dtype=torch.float32)
            terms = pretrain_loss(model, image, weight, temperature)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
            for k in sums:
                sums[k] += float(terms[k].detach())
            batches += 1
            seen += image.shape[0]
        history.append({"epoch": epoch + 1, **{k: v / max(batches, 1) for k, v in sums.items()}})
    elapsed = time.perf_counter() - start
    # Phase 2 always follows with the inversion net fixed; freezing here means an engine that only
    # calls this hook still gets it right (Adan/AdamW skip parameters whose grad stays None).
    freeze_inversion(model)
    summary = {"phase": "pretrain", "epochs": epochs, "contrastive_weight": weight, "temperature": temperature,
               "history": history, "images": seen, "images_per_s": seen / elapsed if elapsed > 0 else 0.0}
    if run_dir is not None:
        import io

        run_dir = ensure_dir(run_dir)
        write_text_atomic(run_dir / "pretrain.json", json.dumps(summary, indent=2))
        buf = io.BytesIO()
        torch.save(model.state_dict(), buf)  # a plain state dict: loads with weights_only=True
        write_bytes_atomic(run_dir / "pretrain.pt", buf.getvalue())
    return summary
