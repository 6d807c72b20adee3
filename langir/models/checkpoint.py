"""Checkpoints: one file holding the model weights, how to rebuild the model, and (for resume) the state.

Checkpoints are shared between researchers, so they are read with ``torch.load(weights_only=True)``:
only tensors and plain containers/numbers/strings are unpickled, never arbitrary objects. The RNG state
is stored as plain lists (no numpy objects); checkpoints written before that carry numpy's MT19937
state, for which the numpy array constructor globals alone are allowlisted.
"""

from __future__ import annotations

import inspect
import io
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from langir.data.atomic import write_bytes_atomic
from langir.data.imageio import open_regular
from langir.errors import ConfigError, DataError

FORMAT = "langir-checkpoint/1"
# torch.save writes a zip archive; files from torch < 1.6 (or _use_new_zipfile_serialization=False) start
# with a pickled magic number. Anything else that starts with a pickle opcode is a plain Python pickle.
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
PLAIN_PICKLE = ("a plain Python pickle, not a torch checkpoint: loading it could run code, so it is refused "
                "(save the weights with torch.save from a trusted source)")


def _unwrap(model: Any) -> Any:
    model = getattr(model, "_orig_mod", model)  # torch.compile wrapper
    return getattr(model, "module", model)  # DDP wrapper


def _plain(value: Any) -> Any:
    """numpy arrays/scalars → lists/Python numbers, recursively, so weights_only loading accepts them."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def save_checkpoint(path: str | Path, model: Any, meta: dict[str, Any], state: dict[str, Any] | None = None,
                    text_state: dict[str, Any] | None = None) -> Path:
    """Write ``path`` atomically (never half-written).

    ``meta`` must hold ``model`` (registry name) and ``model_kwargs``; it also carries
    language_prior, clip name/pretrained, config, epoch and best metrics. ``state`` holds what
    resume needs (optimizer, scheduler, scaler, RNG states). ``text_state`` holds the fine-tuned CLIP text
    encoder's trained tensors (``--finetune-text``; ``meta["text_encoder"]`` names their CLIP).
    """
    import torch

    if "model" not in meta:
        raise ValueError("checkpoint meta needs the model name")
    payload = {"format": FORMAT, "meta": _plain(dict(meta)), "model_state": _unwrap(model).state_dict(),
               "state": _plain(state or {})}
    if text_state:
        payload["text_state"] = dict(text_state)
    buf = io.BytesIO()
    torch.save(payload, buf)
    write_bytes_atomic(path, buf.getvalue())
    return Path(path)


def _legacy_globals() -> list[Any]:
    """numpy's array reconstruction, for checkpoints whose RNG state is a numpy array (uint32 only)."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def _unsafe(error: Exception) -> str | None:
    """The refusal line when the weights-only unpickler met a Python object, else None (plain corruption)."""
    text = str(error)
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found is None and not re.search(r"not an allowed global|Trying to call reduce|Unsupported class", text):
        return None
    what = f" ({found.group(1)})" if found else ""
    return (f"refused: it holds pickled Python objects{what}, not only weights; loading it could run code "
            "(re-save it from a trusted source)")


def _load_weights_only(path: Path, device: str, what: str) -> Any:
    """``torch.load(weights_only=True)`` through the guarded reader (regular files only, a FIFO never
    hangs); a plain pickle, an unsafe or a corrupt file is one DataError naming ``path``, without warnings."""
    import torch

    with open_regular(path, what) as fh:
        head = fh.read(len(_LEGACY_MAGIC))
        if not head.startswith(_ZIP_MAGIC) and not head.startswith(_LEGACY_MAGIC):
            plain = head[:1] == b"\x80" or head[:1] in (b"(", b"}", b"]")  # protocol ≥ 2, or protocol 0/1 containers
            raise DataError(path, PLAIN_PICKLE if plain else f"not a readable {what} (not a torch file)")
        fh.seek(0)
        try:
            # torch warns about pickle protocols it then refuses anyway: the DataError below says it all.
            with warnings.catch_warnings(), torch.serialization.safe_globals(_legacy_globals()):
                warnings.simplefilter("ignore")
                return torch.load(fh, map_location=device, weights_only=True)
        except pickle.UnpicklingError as error:
            refusal = _unsafe(error)
            if refusal is not None:
                raise DataError(path, refusal) from None
            raise DataError(path, f"not a readable {what} (corrupt or not a torch file)") from None
        except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError, TypeError) as error:
            first = (str(error).splitlines() or [""])[0][:200]
            raise DataError(path, f"not a readable {what} ({error.__class__.__name__}: {first})") from None


def read_checkpoint(path: str | Path, device: str = "cpu") -> dict[str, Any]:
    """The raw checkpoint dictionary; a missing, foreign, unsafe or corrupt file is a DataError naming it."""
    path = Path(path)
    payload = _load_weights_only(path, device, "checkpoint")
    if not isinstance(payload, dict) or not str(payload.get("format", "")).startswith("langir-checkpoint/"):
        raise DataError(path, "not a langir checkpoint (no 'format' entry)")
    if payload["format"] != FORMAT:
        raise DataError(path, f"checkpoint format {payload['format']!r} is not supported (this langir reads {FORMAT!r})")
    return payload


def read_state_dict(path: str | Path, device: str = "cpu") -> dict[str, Any]:
    """A bare ``state_dict`` file (e.g. a run's ``pretrain.pt``), read like a checkpoint."""
    import torch

    path = Path(path)
    state = _load_weights_only(path, device, "weights file")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(path, "not a weights file (a table of named tensors)")
    return state


def _shape(value: Any) -> str:
    return "×".join(map(str, getattr(value, "shape", ()))) or "scalar"


def fit_state(model: Any, state: dict[str, Any], path: str | Path, what: str = "checkpoint") -> None:
    """``model.load_state_dict(state)``; tensors that do not fit are one DataError naming ``path`` and the
    first mismatches (torch's own message starts with a line that says nothing)."""
    own = model.state_dict()
    shapes = [f"{k} (file {_shape(v)}, model {_shape(own[k])})" for k, v in state.items()
              if k in own and getattr(v, "shape", None) != own[k].shape]
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    problems = []
    for label, names in (("of another shape", shapes), ("missing", missing), ("unknown to the model", extra)):
        if names:
            more = f", … (+{len(names) - 2})" if len(names) > 2 else ""
            problems.append(f"{len(names)} {label}: {', '.join(names[:2])}{more}")
    name = getattr(model, "model_name", type(model).__name__)
    if problems:
        raise DataError(path, f"{what} weights do not fit model {name!r}: " + "; ".join(problems))
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as error:
        raise DataError(path, f"{what} weights do not fit model {name!r}: {str(error).splitlines()[-1].strip()}") from None


def validate_checkpoint(path: str | Path, payload: dict[str, Any]) -> dict[str, Any]:
    """Check what rebuilding needs; returns ``meta``. Each problem is one DataError line naming ``path``."""
    from langir.models import list_models, model_info

    meta = payload.get("meta")
    if not isinstance(meta, dict):
        raise DataError(path, f"checkpoint 'meta' must be a table, got {type(meta).__name__}")
    name = meta.get("model")
    if not isinstance(name, str) or name not in list_models():
        raise DataError(path, f"checkpoint model {name!r} is not registered (known: {', '.join(list_models())})")
    state = payload.get("model_state")
    if not isinstance(state, dict) or not state:
        raise DataError(path, "checkpoint has no 'model_state' (the weights)")
    import torch

    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise DataError(path, f"checkpoint 'model_state' holds non-tensor entries: {', '.join(map(str, bad[:5]))}")
    text = payload.get("text_state")
    if text is not None:
        if not isinstance(text, dict) or not all(isinstance(v, torch.Tensor) for v in text.values()):
            raise DataError(path, "checkpoint 'text_state' must map names to tensors")
        if not isinstance(meta.get("text_encoder"), dict):
            raise DataError(path, "checkpoint has a fine-tuned text encoder ('text_state') but no 'text_encoder' entry "
                                  "naming its CLIP model")
    kwargs = meta.get("model_kwargs", {})
    if not isinstance(kwargs, dict):
        raise DataError(path, f"checkpoint 'model_kwargs' must be a table, got {type(kwargs).__name__}")
    params = inspect.signature(model_info(name).constructor).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(str(k) for k in kwargs if k not in params)
        if unknown:
            raise DataError(path, f"checkpoint 'model_kwargs' has argument(s) {', '.join(unknown)} that model "
                                  f"{name!r} does not take (it takes: {', '.join(params)})")
    return meta


def load_checkpoint(path: str | Path, device: str = "cpu", expect_model: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Rebuild the model from ``path`` → (model in eval mode on ``device``, meta)."""
    from langir.models import create_model

    payload = read_checkpoint(path, device)
    meta = validate_checkpoint(path, payload)
    if expect_model is not None and meta.get("model") != expect_model:
        raise ConfigError(f"{path} is a checkpoint of model {meta.get('model')!r}, not {expect_model!r}")
    try:
        model = create_model(meta["model"], **meta.get("model_kwargs", {}))
    except (TypeError, ValueError) as error:
        raise DataError(path, f"cannot rebuild model {meta['model']!r} from its 'model_kwargs': {error}") from None
    fit_state(model, payload["model_state"], path)
    if payload.get("text_state"):
        from langir.language.text_tower import check_origin

        # The origin is checked now (one line), the tower itself is built only when text is embedded.
        check_origin(path, meta["text_encoder"], meta.get("clip_model", "ViT-B-16"), meta.get("clip_pretrained"))
        model.text_state = payload["text_state"]  # a plain attribute: not part of the detector's state_dict
    model.to(device).eval()
    return model, meta
