"""Weights and progress a run starts from: RUN/last.pt on ``--resume``, a checkpoint's weights on ``--init-from``.

Every problem with the file is one DataError naming it, raised before the run folder is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langir.errors import DataError
from langir.models.checkpoint import fit_state, read_checkpoint, validate_checkpoint
from langir.train.optim import Optimisation, set_rng_state

RESUME_STATE = ("optimizer", "scheduler", "scaler")


def check_resume_payload(path: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` when it holds what resuming needs (weights, run config, epoch, optimiser state)."""
    meta = validate_checkpoint(path, payload)
    if not isinstance(meta.get("config"), dict):
        raise DataError(path, "checkpoint has no run 'config': it was not written by `langir train`; "
                              "start a new run from its weights with --init-from instead of --resume")
    if not isinstance(meta.get("epoch"), int) or isinstance(meta.get("epoch"), bool) or meta["epoch"] < 0:
        raise DataError(path, f"checkpoint 'epoch' must be a whole number ≥ 0, got {meta.get('epoch')!r}")
    state = payload.get("state")
    missing = [key for key in RESUME_STATE if not isinstance(state, dict) or not isinstance(state.get(key), dict)]
    if missing:
        raise DataError(path, f"checkpoint has no {'/'.join(missing)} state, so the run cannot continue where it "
                              "stopped (weights only, e.g. best.pt?); start a new run from its weights with "
                              f"--init-from {path} --out NEW_RUN")
    return payload


def load_resumed_weights(payload: dict[str, Any], path: Path, model: Any, tower: Any = None) -> None:
    """The model's (and a fine-tuned text tower's) weights from the resumed checkpoint."""
    fit_state(model, payload["model_state"], path, "resumed")
    if tower is not None:
        tower.load_trained(payload.get("text_state") or {}, path)


def load_weights(model: Any, path: str | Path, what: str, tower: Any = None) -> None:
    """Weights from a langir checkpoint (``--init-from``), its fine-tuned text encoder into ``tower``;
    a mismatch is one line naming the file."""
    payload = read_checkpoint(path)
    state = payload.get("model_state")
    if not isinstance(state, dict):
        raise DataError(path, "checkpoint has no 'model_state' (the weights)")
    fit_state(model, state, path, what)
    if tower is not None and payload.get("text_state"):
        tower.load_trained(payload["text_state"], path)


def restore_progress(payload: dict[str, Any], path: Path, opt: Optimisation,
                     read_rows: Any) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """Optimiser, schedule and RNG from ``payload`` → (first epoch to run, best metrics, metrics rows).

    ``read_rows()`` gives metrics.csv's rows, for checkpoints written before last.pt carried them."""
    meta = payload["meta"]
    try:
        opt.load(payload["state"])
        set_rng_state(payload["state"].get("rng", {}))
    except (KeyError, ValueError, RuntimeError, TypeError, AttributeError, IndexError) as error:
        first = (str(error).splitlines() or [""])[0][:160]
        raise DataError(path, f"optimizer state does not fit this run ({error.__class__.__name__}: {first}); "
                              f"start a new run from its weights with --init-from {path} --out NEW_RUN") from None
    start = int(meta["epoch"]) + 1
    best = meta.get("best") if isinstance(meta.get("best"), dict) else {}
    # last.pt carries the rows; metrics.csv may be one epoch ahead (killed before last.pt was renamed)
    rows = meta.get("rows") or [r for r in read_rows() if int(r["epoch"]) < start]
    return start, dict(best), rows
