"""The training engine: data, model, Adan, warm-up + cosine/poly schedule, AMP, checkpoints, resume, DDP.

Used by `langir train`; importable for scripts and for phase hooks (DGSPNet pretraining).
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from langir.data.atomic import write_text_atomic
from langir.errors import ConfigError, LangirError
from langir.train.checkpoint import read_checkpoint, save_checkpoint
from langir.train.config import TrainConfig, dump_toml
from langir.train.data import TrainSamples
from langir.train.losses import compute_loss
from langir.train.predict import pad_to_multiple, resolve_device

console = Console(stderr=True)
CSV_FIELDS = ["epoch", "train_loss", "lr", "images_per_s", "seconds", "val_iou", "val_niou", "val_pd", "val_fa"]


class TrainingDiverged(LangirError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class Dist:
    """Distributed context (world 1 when not launched by torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str, min_ratio: float = 0.0) -> float:
    """Linear warm-up to 1, then cosine or poly(0.9) decay to ``min_ratio``."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    t = min(1.0, (step - warmup_steps) / span)
    decay = 0.5 * (1 + math.cos(math.pi * t)) if schedule == "cosine" else (1 - t) ** 0.9
    return min_ratio + (1 - min_ratio) * decay


def resolve_splits(ds: Any, config: TrainConfig) -> tuple[list[str], list[str]]:
    """Training and validation ids from the config (falls back to sensible split names)."""
    names = ds.split_names

    def pick(given: str, candidates: tuple[str, ...]) -> str | None:
        if given:
            if given not in names:
                raise ConfigError(f"unknown split {given!r} in {ds.root} (splits: {', '.join(names) or 'none'})")
            return given
        return next((n for n in candidates if n in names), None)

    train_name = pick(config.train_split, ("train", "trainval"))
    val_name = pick(config.val_split, ("val", "test"))
    train_ids = ds.ids(train_name) if train_name else ds.all_ids()
    val_ids = ds.ids(val_name) if val_name else list(train_ids)
    if not train_ids:
        raise ConfigError(f"no training images in {ds.root}")
    return train_ids, val_ids


def open_config_dataset(config: TrainConfig) -> Any:
    from langir.data.dataset import LangIRDataset

    return LangIRDataset.open(config.dataset, config.layout, config.images or None, config.masks or None,
                              config.descriptions or None, dict(config.split_files) or None)


def resolve_model(config: TrainConfig) -> tuple[str, str, dict[str, Any]]:
    """(loss name, language prior, model kwargs) from the registry's model info."""
    from langir.models import model_info

    try:
        info = model_info(config.model)
    except (KeyError, ValueError) as error:
        raise ConfigError(f"unknown model {config.model!r}: {error}") from error
    def field(key: str) -> Any:  # the registry may describe a model by attributes or as a mapping
        return info[key] if isinstance(info, dict) else getattr(info, key)

    uses_language = bool(field("uses_language"))
    loss = field("default_loss") if config.loss == "auto" else config.loss
    prior = config.language_prior
    if prior == "auto":
        prior = "train-only" if uses_language else "never"
    if prior != "never" and not uses_language:
        raise ConfigError(f"model {config.model!r} takes no language input; use --language-prior never")
    kwargs = dict(config.model_kwargs)
    if config.model == "dgspnet":  # its frozen CLIP text encoder comes from the run's CLIP settings
        kwargs.setdefault("clip_model", config.clip_model)
        kwargs.setdefault("clip_pretrained", config.clip_pretrained or None)
    if uses_language and "use_language" not in kwargs:
        kwargs["use_language"] = prior != "never"
    return loss, prior, kwargs


def build_model(name: str, kwargs: dict[str, Any]) -> Any:
    from langir.models import create_model

    try:
        model = create_model(name, **kwargs)
    except TypeError as error:
        if "td_dim" not in kwargs:
            raise ConfigError(f"model {name!r}: bad model option ({error})") from error
        # A constructor without a td_dim option: build it as is and check its TD size below.
        kwargs.pop("td_dim")
        model = build_model(name, kwargs)
    expected = kwargs.get("td_dim")
    if expected is not None and getattr(model, "td_dim", expected) != expected:
        raise ConfigError(f"model {name!r} expects a {model.td_dim}-d target descriptor, but the CLIP model gives {expected}-d")
    return model


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "numpy" in state:
        np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def build_descriptors(ds: Any, ids: list[str], cache: Any, with_text: bool, quiet: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Read (or compute once, with progress) the CLIP embeddings the run needs."""
    from langir.language.cache import compute_descriptors

    def wrap(items: list[str]) -> Any:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=quiet or not console.is_terminal) as bar:
            yield from bar.track(items, description="CLIP embeddings")

    return compute_descriptors(ds, ids, cache, with_text=with_text, wrap=wrap)


def evaluate_model(model: Any, ds: Any, ids: list[str], descriptors: dict[str, dict[str, np.ndarray]] | None,
                   prior: str, device: str, amp: bool, threshold: float = 0.5) -> dict[str, float]:
    """IoU, nIoU, Pd, Fa on full images (padded to a multiple of 32, cropped back)."""
    from langir.evaluate.metrics import MetricAccumulator
    from langir.train.predict import eval_descriptor

    acc = MetricAccumulator(threshold=threshold)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for sample_id in ids:
            sample = ds.load(sample_id, need_mask=True)
            x, h, w = pad_to_multiple(torch.from_numpy(sample.image.astype(np.float32))[None, None].to(device))
            td = None
            if descriptors is not None:
                vec = eval_descriptor(descriptors.get(sample_id), prior)
                td = torch.from_numpy(vec)[None].to(device) if vec is not None else None
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.startswith("cuda")):
                out = model(x, td=td)
            out = out[0] if isinstance(out, (tuple, list)) else out
            prob = torch.sigmoid(out.float())[0, 0, :h, :w].cpu().numpy()
            acc.update(prob[None], sample.mask[None])
    model.train(was_training)
    result = acc.compute()
    return {k: float(result[k]) for k in ("iou", "niou", "pd", "fa") if k in result}


def _plot(run: Path, rows: list[dict[str, Any]]) -> None:
    """loss_iou.png: training loss and validation IoU per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = [int(r["epoch"]) for r in rows]
    ax.plot(epochs, [float(r["train_loss"]) for r in rows], color="tab:blue", label="train loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color="tab:blue")
    val = [(int(r["epoch"]), float(r["val_iou"])) for r in rows if r.get("val_iou") not in ("", None)]
    if val:
        ax2 = ax.twinx()
        ax2.plot(*zip(*val, strict=True), "o-", color="tab:orange", label="val IoU")
        ax2.set_ylabel("val IoU", color="tab:orange")
    fig.tight_layout()
    tmp = run / ".loss_iou.png.tmp"
    fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    os.replace(tmp, run / "loss_iou.png")


def _read_csv(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def train(config: TrainConfig, resume: bool = False, stop_after_epoch: int | None = None,
          pretrain_hook: Callable[..., Any] | None = None, quiet: bool = False) -> dict[str, Any]:
    """Train per ``config`` into ``config.out``; returns a summary (epochs run, best IoU, paths).

    ``resume`` continues from RUN/last.pt (model, optimizer, scheduler, scaler, epoch, RNG).
    ``stop_after_epoch`` ends early as if interrupted (tests and time-boxed jobs).
    ``pretrain_hook(model, loader, config, run_dir, device)`` runs before the main phase (DGSPNet).
    """
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    run = Path(config.out)
    payload = None
    if resume:
        if not (run / "last.pt").is_file():
            raise ConfigError(f"cannot resume: {run / 'last.pt'} does not exist")
        payload = read_checkpoint(run / "last.pt")
        saved = TrainConfig.from_dict(payload["meta"]["config"], where=str(run / "last.pt"))
        if saved.model != config.model:
            raise ConfigError(f"{run / 'last.pt'} is a checkpoint of model {saved.model!r}, not {config.model!r}")
        saved.epochs, saved.out, saved.device = config.epochs, config.out, config.device
        config = saved
    config.validate()
    device = resolve_device(config.device)
    dist = init_distributed(device)
    if device.startswith("cuda") and dist.world > 1:
        device = f"cuda:{dist.local_rank}"
        torch.cuda.set_device(dist.local_rank)
    quiet = quiet or not dist.main
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)

    ds = open_config_dataset(config)
    train_ids, val_ids = resolve_splits(ds, config)
    loss_name, prior, model_kwargs = resolve_model(config)
    train_desc = val_desc = None
    if prior != "never":
        from langir.language.cache import EmbeddingCache

        cache = EmbeddingCache(ds.root, config.clip_model, config.clip_pretrained or None, device=device)
        # Every rank reads the cache; rank 0 fills it first so others never run CLIP concurrently.
        if dist.main:
            train_desc = build_descriptors(ds, train_ids, cache, True, quiet)
            val_desc = build_descriptors(ds, val_ids, cache, prior == "train+test", quiet)
        if dist.world > 1:
            torch.distributed.barrier()
        if not dist.main:
            train_desc = build_descriptors(ds, train_ids, cache, True, True)
            val_desc = build_descriptors(ds, val_ids, cache, prior == "train+test", True)
        td_dim = len(next(iter(train_desc.values()))["image"])
        model_kwargs.setdefault("td_dim", td_dim)

    model = build_model(config.model, model_kwargs).to(device)
    if payload is not None:
        model.load_state_dict(payload["model_state"])
    use_cl = config.channels_last and device.startswith("cuda")
    if use_cl:
        model = model.to(memory_format=torch.channels_last)

    samples = TrainSamples(ds, train_ids, config.size, train_desc, config.hflip, config.vflip, config.seed)
    sampler = DistributedSampler(samples, num_replicas=dist.world, rank=dist.rank, shuffle=True, seed=config.seed, drop_last=False)
    batch = max(1, config.batch_size // dist.world) if dist.world > 1 else config.batch_size
    loader = DataLoader(samples, batch_size=batch, sampler=sampler, num_workers=config.workers,
                        drop_last=len(samples) > batch and len(samples) // dist.world > batch, pin_memory=device.startswith("cuda"))
    if config.phase in ("pretrain", "both"):
        if pretrain_hook is None:
            raise ConfigError(f"--phase {config.phase} applies only to models with a pretraining phase (dgspnet)")
        if payload is None:
            pretrain_hook(model, loader, config, run, device)
        if config.phase == "pretrain":
            return {"run": str(run), "phase": "pretrain"}
    if hasattr(model, "prepare_main_phase"):  # e.g. DGSPNet freezes its inversion net, also on resume
        model.prepare_main_phase()

    net = model
    if dist.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dist.local_rank] if device.startswith("cuda") else None)
    if config.compile:
        net = torch.compile(net)

    from langir.extras import import_open_clip

    import_open_clip()  # timm imports torchvision too: a mismatched pair fails here with one clear line
    from timm.optim import Adan

    optimizer = Adan(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, len(loader))
    total, warm = steps_per_epoch * config.epochs, steps_per_epoch * config.warmup_epochs
    min_ratio = config.min_lr / config.lr
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total, warm, config.schedule, min_ratio))
    # bf16 needs no loss scaling; the scaler exists (disabled) so fp16 setups and resume stay uniform.
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    amp = config.amp and device.startswith("cuda")

    start_epoch, best_iou, best = 1, -1.0, {}
    if payload is not None:
        state = payload["state"]
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        set_rng_state(state.get("rng", {}))
        start_epoch = int(payload["meta"]["epoch"]) + 1
        best = payload["meta"].get("best", {})
        best_iou = float(best.get("iou", -1.0))

    writer = None
    rows = _read_csv(run / "metrics.csv") if payload is not None else []
    rows = [r for r in rows if int(r["epoch"]) < start_epoch]
    if dist.main:
        run.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run / "config.toml", dump_toml(config))
        if config.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                writer = SummaryWriter(str(run / "tb"))
            except ImportError:
                writer = None

    def meta(epoch: int) -> dict[str, Any]:
        return {"model": config.model, "model_kwargs": model_kwargs, "language_prior": prior, "loss": loss_name,
                "clip_model": config.clip_model, "clip_pretrained": config.clip_pretrained or None,
                "config": config.to_dict(), "epoch": epoch, "best": best}

    last_epoch = start_epoch - 1
    end_epoch = config.epochs if stop_after_epoch is None else min(config.epochs, stop_after_epoch)
    net.train()
    for epoch in range(start_epoch, end_epoch + 1):
        sampler.set_epoch(epoch)
        samples.set_epoch(epoch)
        t0, seen, loss_sum, n = time.perf_counter(), 0, 0.0, 0
        with Progress(TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console, transient=True,
                      disable=quiet or not console.is_terminal) as bar:
            task = bar.add_task("train", total=steps_per_epoch, epoch=epoch, epochs=config.epochs, status="")
            for image, mask, td in loader:
                image, mask = image.to(device, non_blocking=True), mask.to(device, non_blocking=True)
                if use_cl:
                    image = image.contiguous(memory_format=torch.channels_last)
                td_in = td.to(device) if td.numel() else None
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                    output = net(image, td=td_in, return_aux=loss_name == "bce_deep")
                    loss = compute_loss(loss_name, output, mask)
                if not torch.isfinite(loss):
                    kept = f"; last good checkpoint kept: {run / 'last.pt'}" if (run / "last.pt").is_file() else ""
                    raise TrainingDiverged(f"loss became {loss.item()} at epoch {epoch} step {n + 1}{kept} "
                                           "(try a lower --lr or more warm-up epochs)")
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                seen += image.shape[0] * dist.world
                loss_sum += float(loss.item())
                n += 1
                rate = seen / max(time.perf_counter() - t0, 1e-9)
                bar.update(task, advance=1, status=f"loss {loss_sum / n:.4f}  lr {scheduler.get_last_lr()[0]:.2e}  {rate:.1f} img/s")
        seconds = time.perf_counter() - t0
        train_loss = loss_sum / max(n, 1)
        if dist.world > 1:
            stats = torch.tensor([loss_sum, float(n)], dtype=torch.float64)
            torch.distributed.all_reduce(stats)
            train_loss = float(stats[0] / max(stats[1], 1))
        row: dict[str, Any] = {"epoch": epoch, "train_loss": f"{train_loss:.6f}", "lr": f"{scheduler.get_last_lr()[0]:.6g}",
                               "images_per_s": f"{seen / max(seconds, 1e-9):.2f}", "seconds": f"{seconds:.2f}"}
        if dist.main:
            if epoch % config.val_every == 0 or epoch == config.epochs:
                metrics = evaluate_model(model, ds, val_ids, val_desc, prior, device, amp, config.threshold)
                row.update({f"val_{k}": f"{v:.6f}" for k, v in metrics.items()})
                if metrics.get("iou", -1.0) > best_iou:
                    best_iou = metrics["iou"]
                    best = {"epoch": epoch, **metrics}
                    save_checkpoint(run / "best.pt", model, meta(epoch))
            save_checkpoint(run / "last.pt", model, meta(epoch), {
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(), "rng": rng_state()})
            rows.append(row)
            _write_csv(run / "metrics.csv", rows)
            _plot(run, rows)
            if writer is not None:
                for key in ("train_loss", "lr", "images_per_s", "val_iou", "val_niou", "val_pd", "val_fa"):
                    if row.get(key) not in (None, ""):
                        writer.add_scalar(key.replace("_", "/", 1), float(row[key]), epoch)
                writer.flush()
            if not quiet:
                val = f"  IoU {float(row['val_iou']):.4f}  nIoU {float(row['val_niou']):.4f}  Pd {float(row['val_pd']):.4f}  " \
                      f"Fa {float(row['val_fa']):.3g}" if "val_iou" in row else ""
                console.print(f"epoch {epoch}/{config.epochs}  loss {train_loss:.4f}  {row['images_per_s']} img/s{val}", highlight=False)
        if dist.world > 1:
            torch.distributed.barrier()
        last_epoch = epoch
    if writer is not None:
        writer.close()
    return {"run": str(run), "epochs_run": last_epoch - start_epoch + 1,
            "embeddings_computed": cache.computed if prior != "never" else 0, "last_epoch": last_epoch, "best": best,
            "language_prior": prior, "loss": loss_name, "rows": rows}

