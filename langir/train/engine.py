"""The training engine, in parts: run setup, data, optimiser/schedule, one epoch, validation +
checkpoint, logging; :func:`train` strings them together.

Model-specific facts (language input, CLIP, phases, default loss, padding, output bias) come from the
model's registry entry (:class:`langir.models.ModelInfo`); nothing here branches on a model's name.
Launch with torchrun for DDP.
"""

from __future__ import annotations

import csv
import importlib
import io
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from langir.data.atomic import write_text_atomic
from langir.errors import ConfigError, DataError, LangirError
from langir.evaluate.inference import resolve_device
from langir.models.checkpoint import read_checkpoint, save_checkpoint
from langir.train.config import TrainConfig, dump_toml
from langir.train.data import DatasetUnion, ResizedView, TrainSamples, check_samples
from langir.train.losses import compute_loss
from langir.train.text_finetune import build_text_tower, check_init_text, text_descriptors

console = Console(stderr=True)
CSV_FIELDS = ["epoch", "train_loss", "lr", "images_per_s", "seconds", "val_iou", "val_niou", "val_pd", "val_fa"]
# Files a run writes; an existing run folder holding any of the results needs --resume or --overwrite
# (phase-1 results only count for a run that would pretrain again: `--phase main` continues from them).
RUN_FILES = ("last.pt", "best.pt", "metrics.csv", "config.toml", "loss_iou.png", "pretrain.pt", "pretrain.json")
MAIN_RESULTS = ("last.pt", "best.pt", "metrics.csv")
PRETRAIN_RESULTS = ("pretrain.pt",)


class TrainingDiverged(LangirError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


# ---- run setup ------------------------------------------------------------------------------------
@dataclass
class Dist:
    """Distributed context (world 1 when not launched by torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def init_distributed(device: str) -> Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        # Long timeout: ranks wait at barriers while the shared embedding cache is filled.
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo", timeout=timedelta(hours=2))
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


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


def prepare_run_folder(run: Path, resume: bool, overwrite: bool, phase: str = "main") -> None:
    """Refuse to replace a run silently; remove stale temp files; ``overwrite`` clears the run's own files."""
    if run.exists() and not run.is_dir():
        raise ConfigError(f"--out {run} exists and is not a folder")
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


def setup_run(config: TrainConfig, resume: bool = False, overwrite: bool = False, quiet: bool = False) -> RunSetup:
    """Validate the config, pick the device, join DDP, check the run folder, read last.pt on resume."""
    run = Path(config.out)
    payload = None
    note = None
    if resume and not (run / "last.pt").is_file():
        config, note = nothing_saved_yet(config, run)
        resume, overwrite = False, True
        if not quiet and int(os.environ.get("RANK", "0")) == 0:
            console.print(f"[yellow]notice:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if resume:
        payload = read_checkpoint(run / "last.pt")
        saved = TrainConfig.from_dict(payload["meta"]["config"], where=str(run / "last.pt"))
        if saved.model != config.model:
            raise ConfigError(f"{run / 'last.pt'} is a checkpoint of model {saved.model!r}, not {config.model!r}")
        saved.epochs, saved.out, saved.device = config.epochs, config.out, config.device
        config = saved
    config.validate()
    info, loss, prior, phase, kwargs = resolve_model(config)
    if note and phase == "both" and (run / "pretrain.pt").is_file():
        phase = "main"  # interrupted after phase 1 had finished: continue from its weights
    if config.init_from:
        check_init_text(config)
    device = resolve_device(config.device)
    dist = init_distributed(device)
    if device.startswith("cuda") and dist.world > 1:
        device = f"cuda:{dist.local_rank}"
        torch.cuda.set_device(dist.local_rank)
    if dist.main:
        prepare_run_folder(run, resume, overwrite, phase)
    dist.barrier()
    if ("pretrain" in info.phases and phase == "main" and payload is None and not config.init_from
            and not (run / "pretrain.pt").is_file()):
        raise ConfigError(f"--phase main for {config.model!r} needs its pre-trained phase-1 weights: run with "
                          f"--phase both (its default), or --phase pretrain into {run} first, or pass --init-from CKPT")
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    return RunSetup(config, run, device, dist, info, loss, prior, phase, kwargs, payload, quiet or not dist.main, note)


def nothing_saved_yet(config: TrainConfig, run: Path) -> tuple[TrainConfig, str]:
    """--resume before the first epoch was saved (config.toml but no last.pt): the run's own config and the
    one line saying it starts over from epoch 1 (a finished phase 1, pretrain.pt, is kept). A folder that
    never held a run is refused."""
    from langir.train.config import load_toml

    where = run / "config.toml"
    if not where.is_file():  # never started here (a mistyped --out?): starting a long run silently would surprise
        raise ConfigError(f"cannot resume: {run} holds no run ({run / 'last.pt'} and config.toml do not exist); "
                          "drop --resume to start one")
    saved = TrainConfig.from_dict(load_toml(where), where=str(where))
    saved.epochs, saved.out, saved.device = config.epochs, config.out, config.device
    config = saved
    kept = " (keeping its finished phase 1, pretrain.pt)" if (run / "pretrain.pt").is_file() else ""
    return config, (f"nothing to resume in {run}: it was interrupted before its first epoch was saved (no last.pt); "
                    f"starting it from epoch 1{kept}")


# ---- data -----------------------------------------------------------------------------------------
@dataclass
class RunData:
    ds: Any  # what training reads (a DatasetUnion for several datasets)
    val_ds: Any  # what validation reads (resized with --input resize)
    train_ids: list[str]
    val_ids: list[str]
    samples: TrainSamples
    train_desc: dict[str, dict[str, np.ndarray]] | None = None
    val_desc: dict[str, dict[str, np.ndarray]] | None = None
    embeddings_computed: int = 0
    skipped: list[str] = field(default_factory=list)
    foreground: float = 0.0
    texts: list[str] | None = None  # --finetune-text: every description variant of the training set
    val_texts: dict[str, str] | None = None  # --finetune-text with train+test: id → description


def pick_splits(names: list[str], train_given: str, val_given: str, root: Any) -> tuple[str | None, str | None]:
    """Split names: the community protocol (trainval → test) when the layout has both, else train → val."""
    for given in (train_given, val_given):
        if given and given not in names:
            raise ConfigError(f"unknown split {given!r} in {root} (splits: {', '.join(names) or 'none'})")
    community = "trainval" in names and "test" in names
    train = train_given or ("trainval" if community else next((n for n in ("train", "trainval") if n in names), None))
    if val_given:
        return train, val_given
    order = ("test", "val") if train == "trainval" else ("val", "test")
    return train, next((n for n in order if n in names), None)


def resolve_splits(ds: Any, config: TrainConfig) -> tuple[list[str], list[str]]:
    """Training and validation ids of one dataset (every image / the training ids when a split is absent)."""
    train_name, val_name = pick_splits(ds.split_names, config.train_split, config.val_split, ds.root)
    train_ids = ds.ids(train_name) if train_name else ds.all_ids()
    val_ids = ds.ids(val_name) if val_name else list(train_ids)
    if not train_ids:
        raise ConfigError(f"no training images in {ds.root}")
    return train_ids, val_ids


def open_datasets(config: TrainConfig) -> tuple[Any, list[str], list[str]]:
    """The dataset(s) of the run and their training / validation ids (a union for several datasets)."""
    from langir.data.dataset import LangIRDataset

    first = LangIRDataset.open(config.dataset, config.layout, config.images or None, config.masks or None,
                               config.descriptions or None, dict(config.split_files) or None)
    if not config.more_datasets:
        return (first, *resolve_splits(first, config))
    parts = [first] + [LangIRDataset.open(path) for path in config.more_datasets]  # each detects its own layout
    union = DatasetUnion(parts)
    train_ids: list[str] = []
    val_ids: list[str] = []
    for k, part in enumerate(parts):
        t, v = resolve_splits(part, config)
        train_ids += union.qualify(k, t)
        val_ids += union.qualify(k, v)
    return union, train_ids, val_ids


def embedding_cache(ds: Any, config: TrainConfig, device: str) -> Any:
    from langir.language.cache import EmbeddingCache

    return EmbeddingCache(ds.root, config.clip_model, config.clip_pretrained or None, device=device,
                          cache_dir=config.cache_dir or None)


def build_descriptors(ds: Any, ids: list[str], cache: Any, with_text: bool, quiet: bool = False, *, transpose: bool = False,
                      dist: Dist | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Read (or compute once, in batches, with progress) the CLIP embeddings the run needs.

    Under DDP every rank computes its share of the missing entries, then all read the full set
    after a barrier: no rank waits for one process to embed the whole dataset.
    """
    from langir.language.cache import compute_descriptors

    dist = dist or Dist()

    def wrap(items: Any) -> Any:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=quiet or not console.is_terminal) as bar:
            yield from bar.track(items, description="CLIP embeddings")

    if dist.world > 1:
        compute_descriptors(ds, ids, cache, with_text=with_text, wrap=wrap, transpose=transpose, shard=(dist.rank, dist.world))
        dist.barrier()
    return compute_descriptors(ds, ids, cache, with_text=with_text, wrap=wrap, transpose=transpose)


def prepare_data(setup: RunSetup) -> RunData:
    """Open the dataset(s), check every sample before epoch 1, fetch embeddings, build the training set."""
    config = setup.config
    ds, train_ids, val_ids = open_datasets(config)

    def skipped(sample_id: str, error: DataError) -> None:
        if not setup.quiet:
            console.print(f"[yellow]skipped[/] {escape(str(error))}", highlight=False)

    arrays, bad = check_samples(ds, train_ids + val_ids, config.skip_bad, skipped, keep=set(train_ids))
    bad_ids = {sample_id for sample_id, _ in bad}
    train_ids = [i for i in train_ids if i not in bad_ids]
    val_ids = [i for i in val_ids if i not in bad_ids]
    if not train_ids:
        raise ConfigError(f"no readable training images in {config.dataset}")
    data = RunData(ds, ResizedView(ds, config.size) if config.input == "resize" else ds, train_ids, val_ids,
                   samples=None, skipped=sorted(bad_ids))  # type: ignore[arg-type]
    data.foreground = float(np.mean([arrays[i][1].mean() for i in train_ids]))
    if setup.prior != "never":
        cache = embedding_cache(ds, config, setup.device)
        # --finetune-text: the cache serves image embeddings only; text is embedded in the loop.
        cached_text = not config.finetune_text
        data.train_desc = build_descriptors(ds, train_ids, cache, cached_text, setup.quiet, transpose=config.transpose,
                                            dist=setup.dist)
        data.val_desc = build_descriptors(ds, val_ids, cache, cached_text and setup.prior == "train+test", setup.quiet,
                                          dist=setup.dist)
        data.embeddings_computed = cache.computed
        setup.model_kwargs.setdefault("td_dim", len(next(iter(data.train_desc.values()))["image"]))
    text_index = None
    if config.finetune_text:
        from langir.language.cache import check_descriptions, text_variants

        data.texts, text_index = text_variants(ds, train_ids, config.transpose)
        if setup.prior == "train+test":
            check_descriptions(data.val_ds, val_ids)
            data.val_texts = {i: data.val_ds.read_description(i) or "" for i in val_ids}
    data.samples = TrainSamples(arrays, train_ids, config.size, data.train_desc, config.hflip, config.vflip, config.seed,
                                transpose=config.transpose, input=config.input, target_crop=config.target_crop,
                                text_index=text_index)
    return data


def make_loader(setup: RunSetup, samples: TrainSamples) -> tuple[Any, Any]:
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    dist, config = setup.dist, setup.config
    sampler = DistributedSampler(samples, num_replicas=dist.world, rank=dist.rank, shuffle=True, seed=config.seed, drop_last=False)
    batch = max(1, config.batch_size // dist.world) if dist.world > 1 else config.batch_size
    loader = DataLoader(samples, batch_size=batch, sampler=sampler, num_workers=config.workers,
                        drop_last=len(samples) > batch and len(samples) // dist.world > batch,
                        pin_memory=setup.device.startswith("cuda"))
    return loader, sampler


# ---- model ----------------------------------------------------------------------------------------
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


def load_weights(model: Any, path: str | Path, what: str, tower: Any = None) -> None:
    """Weights from a langir checkpoint (``--init-from``), its fine-tuned text encoder into ``tower``;
    a mismatch is one line naming the file."""
    payload = read_checkpoint(path)
    try:
        model.load_state_dict(payload["model_state"])
    except (RuntimeError, KeyError) as error:
        raise ConfigError(f"{path}: {what} weights do not fit model: {str(error).splitlines()[0]}") from error
    if tower is not None and payload.get("text_state"):
        tower.load_trained(payload["text_state"], path)


def run_pretrain_phase(setup: RunSetup, model: Any, loader: Any) -> None:
    """The model's phase 1 (registry ``pretrain`` hook), or load its result for ``--phase main``."""
    info, run = setup.info, setup.run
    if "pretrain" not in info.phases or setup.payload is not None:
        return
    if setup.phase in ("pretrain", "both"):
        module, _, function = info.pretrain.partition(":")
        getattr(importlib.import_module(module), function)(model, loader, setup.config, run if setup.dist.main else None, setup.device)
    elif setup.config.init_from:
        pass  # weights (pre-trained phase 1 included) come from --init-from
    else:  # setup_run made sure it exists
        model.load_state_dict(torch.load(run / "pretrain.pt", map_location="cpu", weights_only=True))


# ---- optimiser / schedule -------------------------------------------------------------------------
def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str, min_ratio: float = 0.0) -> float:
    """Linear warm-up to 1, then cosine or poly(0.9) decay to ``min_ratio``."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    t = min(1.0, (step - warmup_steps) / span)
    decay = 0.5 * (1 + math.cos(math.pi * t)) if schedule == "cosine" else (1 - t) ** 0.9
    return min_ratio + (1 - min_ratio) * decay


@dataclass
class Optimisation:
    optimizer: Any
    scheduler: Any
    scaler: Any

    def state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict()}

    def load(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])


def build_optimisation(model: Any, config: TrainConfig, steps_per_epoch: int, tower: Any = None) -> Optimisation:
    """Adan (paper §5.2) on the trainable parameters, warm-up + cosine/poly schedule per step; a fine-tuned
    text ``tower`` is a second parameter group at lr × text_lr_scale, on the same schedule."""
    from langir.extras import import_open_clip

    import_open_clip()  # timm imports torchvision too: a mismatched pair fails here with one clear line
    from timm.optim import Adan

    params: list[Any] = [{"params": [p for p in model.parameters() if p.requires_grad]}]  # a frozen part (DGSPNet's inversion net) is left out
    if tower is not None:
        params.append({"params": [p for p in tower.parameters() if p.requires_grad], "lr": config.lr * config.text_lr_scale})
    optimizer = Adan(params, lr=config.lr, weight_decay=config.weight_decay)
    total, warm = steps_per_epoch * config.epochs, steps_per_epoch * config.warmup_epochs
    # The paper warms up 10 of 600 epochs; a short run (say 12 epochs) would otherwise spend nearly all
    # of itself below the peak rate. Warm-up is capped at a fifth of the run's steps.
    warm = min(warm, total // 5)
    min_ratio = config.min_lr / config.lr
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warm, config.schedule, min_ratio))
    # bf16 needs no loss scaling; the scaler exists (disabled) so fp16 setups and resume stay uniform.
    return Optimisation(optimizer, scheduler, torch.amp.GradScaler("cuda", enabled=False))


def rng_state() -> dict[str, Any]:
    """RNG states as tensors and Python scalars only (checkpoints load with weights_only=True)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {"torch": torch.get_rng_state(),
                             "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                                       "has_gauss": int(has_gauss), "cached": float(cached)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "numpy" in state:
        n = state["numpy"]
        np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


# ---- one epoch ------------------------------------------------------------------------------------
@dataclass
class EpochStats:
    loss: float
    steps: int
    images: int
    seconds: float
    lr: float


def train_one_epoch(net: Any, loader: Any, opt: Optimisation, loss_name: str, device: str, *, amp: bool = False,
                    channels_last: bool = False, epoch: int = 1, epochs: int = 1, dist: Dist | None = None,
                    quiet: bool = True, last_good: Path | None = None) -> EpochStats:
    """One pass over ``loader``; bf16 autocast on ``device``'s type when ``amp``. Raises TrainingDiverged on NaN/inf."""
    dist = dist or Dist()
    net.train()
    t0, seen, loss_sum, n = time.perf_counter(), 0, 0.0, 0
    device_type = torch.device(device).type
    with Progress(TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console, transient=True,
                  disable=quiet or not console.is_terminal) as bar:
        task = bar.add_task("train", total=len(loader), epoch=epoch, epochs=epochs, status="")
        for image, mask, td, *text in loader:
            image, mask = image.to(device, non_blocking=True), mask.to(device, non_blocking=True)
            if channels_last:
                image = image.contiguous(memory_format=torch.channels_last)
            td_in = td.to(device) if td.numel() else None
            extra = {"text_index": text[0].to(device)} if text else {}  # --finetune-text: embedded here, with gradient
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=amp):
                output = net(image, td=td_in, return_aux=loss_name == "bce_deep", **extra)
                loss = compute_loss(loss_name, output, mask)
            if not torch.isfinite(loss):
                kept = f"; last good checkpoint kept: {last_good}" if last_good is not None and last_good.is_file() else ""
                raise TrainingDiverged(f"loss became {loss.item()} at epoch {epoch} step {n + 1}{kept} "
                                       "(try a lower --lr or more warm-up epochs)")
            opt.optimizer.zero_grad(set_to_none=True)
            opt.scaler.scale(loss).backward()
            opt.scaler.step(opt.optimizer)
            opt.scaler.update()
            opt.scheduler.step()
            seen += image.shape[0] * dist.world
            loss_sum += float(loss.item())
            n += 1
            rate = seen / max(time.perf_counter() - t0, 1e-9)
            bar.update(task, advance=1, status=f"loss {loss_sum / n:.4f}  lr {opt.scheduler.get_last_lr()[0]:.2e}  {rate:.1f} img/s")
    mean = loss_sum / max(n, 1)
    if dist.world > 1:
        stats = torch.tensor([loss_sum, float(n)], dtype=torch.float64)
        torch.distributed.all_reduce(stats)
        mean = float(stats[0] / max(stats[1], 1))
    return EpochStats(mean, n, seen, time.perf_counter() - t0, float(opt.scheduler.get_last_lr()[0]))


# ---- validation + checkpoint ----------------------------------------------------------------------
def validate(model: Any, meta: dict[str, Any], ds: Any, ids: list[str], descriptors: dict[str, dict[str, np.ndarray]] | None,
             device: str, amp: bool, threshold: float) -> dict[str, float]:
    """The one validation call of training: IoU, nIoU, Pd, Fa over ``ids`` (full images, native size),
    through the library's one evaluation path (``langir.evaluate.inference.evaluate_dataset``)."""
    from langir.evaluate.inference import evaluate_dataset

    result = evaluate_dataset(model, meta, ds, ids, descriptors=descriptors, device=device, amp=amp, threshold=threshold)
    return {k: float(result[k]) for k in ("iou", "niou", "pd", "fa")}


def checkpoint_meta(setup: RunSetup, epoch: int, best: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Plain Python values only (checkpoints load with weights_only=True); ``rows`` carries metrics.csv."""
    c = setup.config
    meta = {"model": c.model, "model_kwargs": setup.model_kwargs, "language_prior": setup.prior, "loss": setup.loss,
            "clip_model": c.clip_model, "clip_pretrained": c.clip_pretrained or None, "input": c.input, "size": c.size,
            "config": c.to_dict(), "epoch": epoch, "best": dict(best), "rows": [dict(r) for r in rows]}
    if c.finetune_text:  # where the checkpoint's text_state came from and how it was trained
        meta["text_encoder"] = {"clip_model": c.clip_model, "clip_pretrained": c.clip_pretrained or None,
                                "layers": c.text_layers, "lr_scale": c.text_lr_scale}
    return meta


def save_epoch(setup: RunSetup, model: Any, opt: Optimisation, epoch: int, rows: list[dict[str, Any]], best: dict[str, Any],
               improved: bool, tower: Any = None) -> None:
    """metrics.csv first, then best.pt, then last.pt (which carries the rows too): a kill at any moment
    leaves either the new epoch fully recorded or last.pt of the epoch before, whose resume redoes it."""
    run = setup.run
    write_csv(run / "metrics.csv", rows)
    meta = checkpoint_meta(setup, epoch, best, rows)
    text = tower.trained_state() if tower is not None else None
    if improved:
        save_checkpoint(run / "best.pt", model, meta, text_state=text)
    save_checkpoint(run / "last.pt", model, meta, {**opt.state(), "rng": rng_state()}, text_state=text)


# ---- logging --------------------------------------------------------------------------------------
def check_tensorboard(setup: RunSetup) -> None:
    """Tensorboard missing: one notice, and the run's config.toml records ``tensorboard = false``."""
    if not setup.config.tensorboard:
        return
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        setup.config.tensorboard = False
        if not setup.quiet:
            console.print("[yellow]notice:[/] tensorboard is not installed: no RUN/tb logs "
                          "(pip install tensorboard, or --no-tensorboard to silence this)", highlight=False)


def open_tensorboard(setup: RunSetup) -> Any:
    """A SummaryWriter in RUN/tb (rank 0), or None when disabled / not installed."""
    if not setup.config.tensorboard or not setup.dist.main:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(setup.run / "tb"))


def log_epoch(setup: RunSetup, row: dict[str, Any], rows: list[dict[str, Any]], writer: Any) -> None:
    """Plot, TensorBoard scalars and one console line (Fa printed ×10⁻⁶ like `langir eval`)."""
    from langir.train.plots import plot_training

    plot_training(setup.run, rows)
    epoch = int(row["epoch"])
    if writer is not None:
        for key in ("train_loss", "lr", "images_per_s", "val_iou", "val_niou", "val_pd", "val_fa"):
            if row.get(key) not in (None, ""):
                writer.add_scalar(key.replace("_", "/", 1), float(row[key]), epoch)
        writer.flush()
    if setup.quiet:
        return
    val = ""
    if row.get("val_iou") not in (None, ""):
        val = (f"  IoU {float(row['val_iou']):.4f}  nIoU {float(row['val_niou']):.4f}  Pd {float(row['val_pd']):.4f}  "
               f"Fa {float(row['val_fa']) * 1e6:.2f}×10⁻⁶")
    console.print(f"epoch {epoch}/{setup.config.epochs}  loss {float(row['train_loss']):.4f}  {row['images_per_s']} img/s{val}",
                  highlight=False, soft_wrap=True)


def read_csv(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


# ---- the whole run --------------------------------------------------------------------------------
def train(config: TrainConfig, resume: bool = False, stop_after_epoch: int | None = None, quiet: bool = False,
          overwrite: bool = False, stop_after_seconds: float | None = None) -> dict[str, Any]:
    """Train per ``config`` into ``config.out``; returns a summary (epochs run, best IoU, paths).

    ``resume`` continues from RUN/last.pt (model, optimizer, scheduler, scaler, epoch, RNG, metrics rows);
    ``overwrite`` replaces an existing run (without either, an existing run is refused).
    ``stop_after_epoch`` / ``stop_after_seconds`` end early as if interrupted (tests, time-boxed jobs).
    """
    setup = setup_run(config, resume, overwrite, quiet)
    config, run, device, dist = setup.config, setup.run, setup.device, setup.dist
    data = prepare_data(setup)
    fresh = setup.payload is None and not config.init_from
    torch.manual_seed(config.seed)  # the initial weights must not depend on what consumed random numbers before (CLIP batches)
    model = build_model(setup, data.foreground if fresh else None).to(device)
    trainable, tokenizer = build_text_tower(setup, data, model)
    tower = trainable.tower if tokenizer is not None else None
    if setup.payload is not None:
        model.load_state_dict(setup.payload["model_state"])
        if tower is not None:
            tower.load_trained(setup.payload.get("text_state") or {}, run / "last.pt")
    elif config.init_from:
        load_weights(model, config.init_from, "--init-from", tower)
    on_gpu = device.startswith("cuda")
    use_cl = config.channels_last and on_gpu
    if use_cl:
        model = model.to(memory_format=torch.channels_last)
    loader, sampler = make_loader(setup, data.samples)
    check_tensorboard(setup)
    if dist.main:
        run.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run / "config.toml", dump_toml(config))
    run_pretrain_phase(setup, model, loader)
    if setup.phase == "pretrain":
        return {"run": str(run), "phase": "pretrain", "epochs_run": 0, "best": {}, "rows": [],
                "embeddings_computed": data.embeddings_computed, "skipped": data.skipped}
    if hasattr(model, "prepare_main_phase"):  # e.g. DGSPNet freezes its inversion net, also on resume
        model.prepare_main_phase()

    net = trainable
    if dist.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(trainable, device_ids=[dist.local_rank] if on_gpu else None)
    if config.compile:
        net = torch.compile(net)
    opt = build_optimisation(model, config, max(1, len(loader)), tower)
    amp = config.amp and on_gpu

    start_epoch, best, rows = 1, {}, []
    if setup.payload is not None:
        meta = setup.payload["meta"]
        opt.load(setup.payload["state"])
        set_rng_state(setup.payload["state"].get("rng", {}))
        start_epoch = int(meta["epoch"]) + 1
        best = dict(meta.get("best", {}))
        # last.pt carries the rows; metrics.csv may be one epoch ahead (killed before last.pt was renamed)
        rows = meta.get("rows") or [r for r in read_csv(run / "metrics.csv") if int(r["epoch"]) < start_epoch]
    best_iou = float(best.get("iou", -1.0))
    writer = open_tensorboard(setup)
    end_epoch = config.epochs if stop_after_epoch is None else min(config.epochs, stop_after_epoch)
    t_start, last_epoch = time.perf_counter(), start_epoch - 1
    for epoch in range(start_epoch, end_epoch + 1):
        sampler.set_epoch(epoch)
        data.samples.set_epoch(epoch)
        stats = train_one_epoch(net, loader, opt, setup.loss, device, amp=amp, channels_last=use_cl, epoch=epoch,
                                epochs=config.epochs, dist=dist, quiet=setup.quiet, last_good=run / "last.pt")
        row: dict[str, Any] = {"epoch": epoch, "train_loss": f"{stats.loss:.6f}", "lr": f"{stats.lr:.6g}",
                               "images_per_s": f"{stats.images / max(stats.seconds, 1e-9):.2f}", "seconds": f"{stats.seconds:.2f}"}
        timed_out = stop_after_seconds is not None and time.perf_counter() - t_start >= stop_after_seconds
        if dist.main:
            improved = False
            if epoch % config.val_every == 0 or epoch == config.epochs or timed_out:
                meta = checkpoint_meta(setup, epoch, best, rows)
                val_desc = text_descriptors(tower, tokenizer, data, device)
                metrics = validate(model, meta, data.val_ds, data.val_ids, val_desc, device, amp, config.threshold)
                row.update({f"val_{k}": f"{v:.6f}" for k, v in metrics.items()})
                if metrics.get("iou", -1.0) > best_iou:
                    best_iou, best, improved = metrics["iou"], {"epoch": epoch, **metrics}, True
            rows.append(row)
            save_epoch(setup, model, opt, epoch, rows, best, improved, tower)
            log_epoch(setup, row, rows, writer)
        dist.barrier()
        last_epoch = epoch
        if timed_out:
            break
    if writer is not None:
        writer.close()
    return {"run": str(run), "epochs_run": last_epoch - start_epoch + 1, **({"note": setup.note} if setup.note else {}), "embeddings_computed": data.embeddings_computed,
            "last_epoch": last_epoch, "best": best, "language_prior": setup.prior, "loss": setup.loss, "phase": setup.phase,
            "train_images": len(data.train_ids), "val_images": len(data.val_ids), "skipped": data.skipped, "rows": rows}
