"""Checkpoints: one file holding the model weights, how to rebuild the model, and (for resume) the state."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

from langir.data.atomic import write_bytes_atomic
from langir.errors import ConfigError, DataError

FORMAT = "langir-checkpoint/1"


def _unwrap(model: Any) -> Any:
    model = getattr(model, "_orig_mod", model)  # torch.compile wrapper
    return getattr(model, "module", model)  # DDP wrapper


def save_checkpoint(path: str | Path, model: Any, meta: dict[str, Any], state: dict[str, Any] | None = None) -> Path:
    """Write ``path`` atomically (never half-written).

    ``meta`` must hold ``model`` (registry name) and ``model_kwargs``; it also carries
    language_prior, clip name/pretrained, config, epoch and best metrics. ``state`` holds what
    resume needs (optimizer, scheduler, scaler, RNG states).
    """
    import torch

    if "model" not in meta:
        raise ValueError("checkpoint meta needs the model name")
    payload = {"format": FORMAT, "meta": dict(meta), "model_state": _unwrap(model).state_dict(), "state": state or {}}
    buf = io.BytesIO()
    torch.save(payload, buf)
    write_bytes_atomic(path, buf.getvalue())
    return Path(path)


def read_checkpoint(path: str | Path, device: str = "cpu") -> dict[str, Any]:
    """The raw checkpoint dictionary; a missing, foreign or corrupt file is a DataError naming it."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "checkpoint not found")
    try:
        payload = torch.load(path, map_location=device, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise DataError(path, f"not a readable checkpoint ({error.__class__.__name__}: {error})") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DataError(path, "not a langir checkpoint")
    return payload


def load_checkpoint(path: str | Path, device: str = "cpu", expect_model: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Rebuild the model from ``path`` → (model in eval mode on ``device``, meta)."""
    from langir.models import create_model

    payload = read_checkpoint(path, device)
    meta = payload["meta"]
    if expect_model is not None and meta.get("model") != expect_model:
        raise ConfigError(f"{path} is a checkpoint of model {meta.get('model')!r}, not {expect_model!r}")
    model = create_model(meta["model"], **meta.get("model_kwargs", {}))
    try:
        model.load_state_dict(payload["model_state"])
    except RuntimeError as error:
        raise ConfigError(f"{path}: weights do not fit model {meta['model']!r}: {str(error).splitlines()[0]}") from error
    model.to(device).eval()
    return model, meta
