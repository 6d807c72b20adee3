"""The training loop: one epoch, and :func:`train`, which strings a run's parts together.

The parts live beside it: :mod:`~langir.train.setup` (config, model facts, run folder),
:mod:`~langir.train.inputs` (datasets, sample checks, embeddings, loader), :mod:`~langir.train.optim`,
:mod:`~langir.train.resume`, :mod:`~langir.train.pretraining` (phase-1 hooks) and
:mod:`~langir.train.callbacks` (validation, checkpoints, logging). Model-specific facts come from the
model's registry entry (:class:`langir.models.ModelInfo`); nothing here branches on a model's name.
Launch with torchrun for DDP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from langir.data.atomic import ensure_dir, write_text_atomic
from langir.errors import LangirError
from langir.train.callbacks import (
    TrainingPlot,
    check_tensorboard,
    checkpoint_meta,
    log_epoch,
    open_tensorboard,
    read_csv,
    save_epoch,
    validate_epoch,
)
from langir.train.config import TrainConfig, dump_toml
from langir.train.distributed import Dist
from langir.train.inputs import RunData, make_loader, prepare_data
from langir.train.losses import compute_loss
from langir.train.optim import Optimisation, build_optimisation
from langir.train.pretraining import run_pretrain_phase
from langir.train.resume import load_resumed_weights, load_weights, restore_progress
from langir.train.setup import RunSetup, build_model, setup_run
from langir.train.text_finetune import build_text_tower, text_descriptors

console = Console(stderr=True)


class TrainingDiverged(LangirError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class OutOfMemory(LangirError):
    """Training ran out of memory after the up-front checks passed (activations, not the data); the
    checkpoints already saved are kept."""


def _is_out_of_memory(error: BaseException) -> bool:
    """MemoryError, torch's OutOfMemoryError (CUDA, MPS), or the CPU allocator's RuntimeError."""
    if isinstance(error, MemoryError | getattr(torch, "OutOfMemoryError", MemoryError)):
        return True
    return isinstance(error, RuntimeError) and any(
        words in str(error) for words in ("can't allocate memory", "out of memory", "Out of memory"))


def _out_of_memory(config: TrainConfig, device: str, epoch: int, last: Path, validating: bool = False) -> OutOfMemory:
    kept = (f"the weights of epoch {epoch - 1} are in {last} (a new run with --init-from {last} starts from them)"
            if last.is_file() else "nothing was saved yet")
    if validating and config.input != "resize":  # validation runs each image whole, at its native size
        return OutOfMemory(f"out of memory validating epoch {epoch} on {device}: validation runs every image "
                           "of the validation split at its native size, and the largest do not fit; train with "
                           f"--input resize (validation then runs at --size) or validate on smaller images; {kept}")
    return OutOfMemory(f"out of memory {'validating' if validating else 'in'} epoch {epoch} on {device} (batch "
                       f"{config.batch_size} of {config.size}×{config.size}): start again with a smaller "
                       f"--batch-size or --size; {kept}")


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



def _build(setup: RunSetup, data: RunData) -> tuple[Any, Any, Any, Any]:
    """(model, trainable module, text tower or None, tokenizer or None), with the weights the run starts from."""
    config = setup.config
    fresh = setup.payload is None and not config.init_from
    torch.manual_seed(config.seed)  # the initial weights must not depend on what consumed random numbers before (CLIP batches)
    model = build_model(setup, data.foreground if fresh else None).to(setup.device)
    trainable, tokenizer = build_text_tower(setup, data, model)
    tower = trainable.tower if tokenizer is not None else None
    if setup.payload is not None:
        load_resumed_weights(setup.payload, setup.run / "last.pt", model, tower)
    elif config.init_from:
        load_weights(model, config.init_from, "--init-from", tower)
    return model, trainable, tower, tokenizer


def _validate_epoch(setup: RunSetup, model: Any, data: RunData, tower: Any, tokenizer: Any, epoch: int,
                    best: dict[str, Any], rows: list[dict[str, Any]], amp: bool) -> dict[str, float]:
    meta = checkpoint_meta(setup, epoch, best, rows)
    val_desc = text_descriptors(tower, tokenizer, data, setup.device)
    resized = setup.config.input == "resize"  # the files may be large; what runs is size×size
    kwargs = {"max_pixels": None} if resized else {}
    return validate_epoch(model, meta, data.val_ds, data.val_ids, val_desc, setup.device, amp, setup.config.threshold, **kwargs)


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
    model, trainable, tower, tokenizer = _build(setup, data)
    on_gpu = device.startswith("cuda")
    # channels_last pays on CPUs too (oneDNN): LGNet ×1.3 per training step, ×1.3–1.4 per 256² inference (BENCHMARKS.md)
    use_cl = config.channels_last and not device.startswith("mps")
    if use_cl:
        model = model.to(memory_format=torch.channels_last)
    loader, sampler = make_loader(setup, data.samples)
    check_tensorboard(setup)
    if dist.is_main:
        write_text_atomic(ensure_dir(run) / "config.toml", dump_toml(config))
    run_pretrain_phase(setup, model, loader)
    base = {"run": str(run), "embeddings_computed": data.embeddings_computed, "skipped": data.skipped}
    if setup.phase == "pretrain":
        return {**base, "phase": "pretrain", "epochs_run": 0, "best": {}, "rows": []}
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
        start_epoch, best, rows = restore_progress(setup.payload, run / "last.pt", opt, lambda: read_csv(run / "metrics.csv"))
    best_iou = float(best.get("iou", -1.0))
    writer = open_tensorboard(setup)
    plot = TrainingPlot(run)
    end_epoch = config.epochs if stop_after_epoch is None else min(config.epochs, stop_after_epoch)
    t_start, last_epoch = time.perf_counter(), start_epoch - 1
    epoch, validating = start_epoch, False
    try:
        for epoch in range(start_epoch, end_epoch + 1):
            sampler.set_epoch(epoch)
            data.samples.set_epoch(epoch)
            stats = train_one_epoch(net, loader, opt, setup.loss, device, amp=amp, channels_last=use_cl, epoch=epoch,
                                    epochs=config.epochs, dist=dist, quiet=setup.quiet, last_good=run / "last.pt")
            row: dict[str, Any] = {"epoch": epoch, "train_loss": f"{stats.loss:.6f}", "lr": f"{stats.lr:.6g}",
                                   "images_per_s": f"{stats.images / max(stats.seconds, 1e-9):.2f}", "seconds": f"{stats.seconds:.2f}"}
            timed_out = stop_after_seconds is not None and time.perf_counter() - t_start >= stop_after_seconds
            if dist.is_main:
                improved = False
                if epoch % config.val_every == 0 or epoch == config.epochs or timed_out:
                    validating = True
                    metrics = _validate_epoch(setup, model, data, tower, tokenizer, epoch, best, rows, amp)
                    validating = False
                    row.update({f"val_{k}": f"{v:.6f}" for k, v in metrics.items()})
                    if metrics.get("iou", -1.0) > best_iou:
                        best_iou, best, improved = metrics["iou"], {"epoch": epoch, **metrics}, True
                rows.append(row)
                save_epoch(setup, model, opt, epoch, rows, best, improved, tower)
                log_epoch(setup, row, rows, writer, plot)
            dist.barrier()
            last_epoch = epoch
            if timed_out:
                break
    except KeyboardInterrupt:
        if dist.is_main:
            plot.finish(rows)
        raise
    except Exception as error:  # activations that do not fit (the data itself was checked up front): one line
        if not _is_out_of_memory(error):
            raise
        raise _out_of_memory(config, device, epoch, run / "last.pt", validating) from None
    finally:
        if writer is not None:
            writer.close()
    if dist.is_main:
        plot.finish(rows)
    return {**base, "epochs_run": last_epoch - start_epoch + 1, **({"note": setup.note} if setup.note else {}),
            "last_epoch": last_epoch, "best": best, "language_prior": setup.prior, "loss": setup.loss, "phase": setup.phase,
            "train_images": len(data.train_ids), "val_images": len(data.val_ids), "rows": rows}
