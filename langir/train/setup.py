"""Run setup: everything decided before data is read — config, model facts, device, DDP, the run folder.

The run folder is checked first (an existing run needs --resume or --overwrite; a folder that cannot be
written is refused) so that a bad ``--out`` costs seconds, not a pass over the dataset.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape

from langir.errors import ConfigError, OutputError
from langir.evaluate.inference import resolve_device
from langir.models.checkpoint import read_checkpoint
from langir.train.config import TrainConfig, load_toml, resumed
from langir.train.distributed import Dist, init_distributed, is_main_process
from langir.train.pretraining import pretrain_hook
from langir.train.resume import check_resume_payload
from langir.train.text_finetune import check_init_text

console = Console(stderr=True)
# Files a run writes; an existing run folder holding any of the results needs --resume or --overwrite
# (phase-1 results only count for a run that would pretrain again: `--phase main` continues from them).
RUN_FILES = ("last.pt", "best.pt", "metrics.csv", "config.toml", "loss_iou.png", "pretrain.pt", "pretrain.json")
MAIN_RESULTS = ("last.pt", "best.pt", "metrics.csv")
PRETRAIN_RESULTS = ("pretrain.pt",)


@dataclass
class RunSetup:
    """Everything decided before data is read: config, folder, device, model facts."""

    config: TrainConfig
    run: Path
    device: str
    dist: Dist
    info: Any
    loss: str
    prior: str
    phase: str
    model_kwargs: dict[str, Any]
    payload: dict[str, Any] | None = None  # last.pt when resuming
    quiet: bool = False
    note: str | None = None  # --resume found nothing saved yet: why the run starts from epoch 1


def resolve_model(config: TrainConfig) -> tuple[Any, str, str, str, dict[str, Any]]:
    """(registry entry, loss name, language prior, phase, model kwargs) for ``config``."""
    from langir.models import model_info

    info = model_info(config.model)
    loss = info.default_loss if config.loss == "auto" else config.loss
    prior = config.language_prior
    if prior == "auto":
        prior = "train-only" if info.uses_language else "never"
    if prior != "never" and not info.uses_language:
        raise ConfigError(f"model {config.model!r} takes no language input; use --language-prior never")
    phase = info.default_phase if config.phase == "auto" else config.phase
    if phase != "main" and "pretrain" not in info.phases:
        raise ConfigError(f"--phase {phase}: model {config.model!r} has no pretraining phase")
    kwargs = dict(config.model_kwargs)
    if info.needs_clip:  # e.g. DGSPNet's frozen CLIP text encoder comes from the run's CLIP settings
        kwargs.setdefault("clip_model", config.clip_model)
        kwargs.setdefault("clip_pretrained", config.clip_pretrained or None)
    if config.finetune_text and (prior == "never" or info.needs_clip):
        why = "has its own frozen CLIP text path" if info.needs_clip else "gets no text with --language-prior never"
        raise ConfigError(f"--finetune-text: model {config.model!r} {why}")
    if info.uses_language and "use_language" not in kwargs:
        kwargs["use_language"] = prior != "never"
    return info, loss, prior, phase, kwargs


def check_writable(run: Path) -> None:
    """Refuse a run folder that cannot be written (read-only disk, no permission) before any data is read.

    Looks at the folder, or the nearest existing folder above it, without creating anything."""
    where = run
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise OutputError(run, f"{where} exists and is not a folder")
    read_only = bool(os.statvfs(where).f_flag & os.ST_RDONLY)
    if read_only or not os.access(where, os.W_OK | os.X_OK):
        words = os.strerror(errno.EROFS if read_only else errno.EACCES).lower()
        at = "" if where == run else f" at {where}"
        raise OutputError(run, f"{words}{at}; pass --out a folder you can write to")


def prepare_run_folder(run: Path, resume: bool, overwrite: bool, phase: str = "main") -> None:
    """Refuse to replace a run silently; remove stale temp files; ``overwrite`` clears the run's own files."""
    if run.exists() and not run.is_dir():
        raise ConfigError(f"--out {run} exists and is not a folder")
    check_writable(run)
    results = MAIN_RESULTS + (PRETRAIN_RESULTS if phase != "main" else ())
    existing = [name for name in results if (run / name).exists()]
    if existing and not resume and not overwrite:
        raise ConfigError(f"{run} already holds a run ({', '.join(existing)}): pass --resume to continue it "
                          "or --overwrite to start over")
    if run.is_dir():
        for stale in [*run.glob(".*.tmp"), *run.glob("*.tmp")]:  # left by a kill during a write
            stale.unlink(missing_ok=True)
    if overwrite and not resume:
        for name in RUN_FILES if phase != "main" else [n for n in RUN_FILES if n not in ("pretrain.pt", "pretrain.json")]:
            (run / name).unlink(missing_ok=True)
        shutil.rmtree(run / "tb", ignore_errors=True)


def nothing_saved_yet(config: TrainConfig, run: Path) -> tuple[TrainConfig, str]:
    """--resume before the first epoch was saved (config.toml but no last.pt): the run's own config and the
    one line saying it starts over from epoch 1 (a finished phase 1, pretrain.pt, is kept). A folder that
    never held a run is refused."""
    where = run / "config.toml"
    if not where.is_file():  # never started here (a mistyped --out?): starting a long run silently would surprise
        raise ConfigError(f"cannot resume: {run} holds no run ({run / 'last.pt'} and config.toml do not exist); "
                          "drop --resume to start one")
    saved = resumed(TrainConfig.from_dict(load_toml(where), where=str(where)), config)
    kept = " (keeping its finished phase 1, pretrain.pt)" if (run / "pretrain.pt").is_file() else ""
    return saved, (f"nothing to resume in {run}: it was interrupted before its first epoch was saved (no last.pt); "
                   f"starting it from epoch 1{kept}")


def _resumed_config(config: TrainConfig, run: Path) -> tuple[TrainConfig, dict[str, Any]]:
    """The config saved in RUN/last.pt (epochs, out and device from ``config``) and the checked payload."""
    path = run / "last.pt"
    payload = check_resume_payload(path, read_checkpoint(path))
    saved = TrainConfig.from_dict(payload["meta"]["config"], where=str(path))
    if saved.model != config.model:
        raise ConfigError(f"{path} is a checkpoint of model {saved.model!r}, not {config.model!r}")
    return resumed(saved, config), payload


def setup_run(config: TrainConfig, resume: bool = False, overwrite: bool = False, quiet: bool = False) -> RunSetup:
    """Validate the config, pick the device, join DDP, check the run folder, read last.pt on resume."""
    run = Path(config.out)
    payload = None
    note = None
    if resume and not (run / "last.pt").is_file():
        config, note = nothing_saved_yet(config, run)
        resume, overwrite = False, True
        if not quiet and is_main_process():
            console.print(f"[yellow]notice:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if resume:
        config, payload = _resumed_config(config, run)
        done = int(payload["meta"].get("epoch", 0))
        was = payload["meta"].get("config", {}).get("workers")
        if was is not None and was != config.workers and not quiet and is_main_process():
            console.print(f"[yellow]notice:[/] --workers {config.workers} (the run had {was}): each loader worker draws its "
                          "own augmentation stream, so from here the run does not repeat exactly what an uninterrupted "
                          f"one would (--workers {was} does)", highlight=False, soft_wrap=True)
        if done >= config.epochs and not quiet and is_main_process():
            console.print(f"[yellow]notice:[/] {escape(str(run))} has run {done} of {config.epochs} epochs: nothing "
                          f"to continue; --epochs N (more than {done}) continues it", highlight=False, soft_wrap=True)
    config.checked()
    info, loss, prior, phase, kwargs = resolve_model(config)
    if note and phase == "both" and (run / "pretrain.pt").is_file():
        phase = "main"  # interrupted after phase 1 had finished: continue from its weights
    if phase in ("pretrain", "both") and payload is None:
        pretrain_hook(info.name)  # a model without its phase-1 hook is refused before anything is read or written
    if config.init_from:
        check_init_text(config)
    device = resolve_device(config.device)
    dist = init_distributed(device)
    if device.startswith("cuda") and dist.world > 1:
        device = f"cuda:{dist.local_rank}"
        torch.cuda.set_device(dist.local_rank)
    if dist.is_main:
        prepare_run_folder(run, resume, overwrite, phase)
    dist.barrier()
    if ("pretrain" in info.phases and phase == "main" and payload is None and not config.init_from
            and not (run / "pretrain.pt").is_file()):
        raise ConfigError(f"--phase main for {config.model!r} needs its pre-trained phase-1 weights: run with "
                          f"--phase both (its default), or --phase pretrain into {run} first, or pass --init-from CKPT")
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    return RunSetup(config, run, device, dist, info, loss, prior, phase, kwargs, payload, quiet or not dist.is_main, note)


def build_model(setup: RunSetup, foreground: float | None = None) -> Any:
    """The registered model; a fresh one starts its outputs at the training set's own foreground share."""
    from langir.models import create_model
    from langir.models.registry import prior_logit

    name, kwargs = setup.config.model, setup.model_kwargs
    try:
        model = create_model(name, **kwargs)
    except TypeError as error:
        raise ConfigError(f"model {name!r}: bad model option ({error})") from error
    expected = kwargs.get("td_dim")
    if expected is not None and getattr(model, "td_dim", expected) != expected:
        raise ConfigError(f"model {name!r} expects a {model.td_dim}-d target descriptor, but the CLIP model gives {expected}-d")
    if foreground and setup.info.output_bias is not None and hasattr(model, "init_output_bias"):
        # Measured prior (clamped: a set of empty frames must not start at −∞, a dense one not above 10 %).
        model.init_output_bias(prior_logit(min(max(foreground, 1e-4), 0.1)))
    return model
