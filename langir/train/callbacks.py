"""What happens at the end of an epoch: validation, metrics.csv + checkpoints, plot, TensorBoard, one line."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from langir.data.atomic import write_text_atomic
from langir.evaluate.inference import DEFAULT_MAX_PIXELS
from langir.models.checkpoint import save_checkpoint
from langir.train.optim import Optimisation, rng_state
from langir.train.setup import RunSetup

console = Console(stderr=True)
CSV_FIELDS = ["epoch", "train_loss", "lr", "images_per_s", "seconds", "val_iou", "val_niou", "val_pd", "val_fa"]


# ---- validation + checkpoint ----------------------------------------------------------------------
def validate_epoch(model: Any, meta: dict[str, Any], ds: Any, ids: list[str], descriptors: dict[str, dict[str, np.ndarray]] | None,
             device: str, amp: bool, threshold: float, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> dict[str, float]:
    """The one validation call of training: IoU, nIoU, Pd, Fa over ``ids`` (full images, native size),
    through the library's one evaluation path (``langir.evaluate.inference.evaluate_dataset``).
    ``max_pixels=None`` for a resized view (its files may be large, what runs is size×size)."""
    from langir.evaluate.inference import evaluate_dataset

    result = evaluate_dataset(model, meta, ds, ids, descriptors=descriptors, device=device, amp=amp, threshold=threshold,
                              max_pixels=max_pixels)
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
    if not setup.config.tensorboard or not setup.dist.is_main:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(setup.run / "tb"))


class TrainingPlot:
    """RUN/loss_iou.png: drawn after the first epoch, then at most every ``every_s`` seconds, and once more
    when the run ends however it ends (``finish``). A redraw costs ≈ 0.25 s of CPU, as much as a whole
    epoch of a small set: drawn every epoch it was a tenth of a 12-epoch CPU run."""

    def __init__(self, run: Path, every_s: float = 30.0) -> None:
        self.run, self.every_s = Path(run), every_s
        self.drawn_at: float | None = None
        self.drawn_rows = 0

    def update(self, rows: list[dict[str, Any]], force: bool = False) -> None:
        from langir.train.plots import plot_training

        now = time.monotonic()
        if force or self.drawn_at is None or now - self.drawn_at >= self.every_s:
            plot_training(self.run, rows)
            self.drawn_at, self.drawn_rows = now, len(rows)

    def finish(self, rows: list[dict[str, Any]]) -> None:
        """Draw what the last update skipped (the run ended, was stopped or failed)."""
        if rows and len(rows) != self.drawn_rows:
            self.update(rows, force=True)


def log_epoch(setup: RunSetup, row: dict[str, Any], rows: list[dict[str, Any]], writer: Any, plot: TrainingPlot) -> None:
    """Plot, TensorBoard scalars and one console line (Fa printed ×10⁻⁶ like `langir eval`)."""
    plot.update(rows)
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
