"""`loss_iou.png`: a run's training loss and validation IoU / nIoU per epoch.

matplotlib's object API (`Figure` + the Agg canvas): no pyplot state, safe in threads and on headless
machines. The file is written atomically, so a crash mid-epoch never leaves half a PNG.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from langir.data.atomic import save_figure_atomic

LOSS_COLOUR = "#0072b2"  # Okabe–Ito blue
IOU_COLOUR = "#d55e00"  # Okabe–Ito vermillion


def iou_axis_top(values: list[float]) -> float:
    """Upper end of the IoU axis: 0…1 once IoU passes 0.5, else the best value plus a margin (at least 0.1).

    IoU lives in [0, 1]; a run stuck at 0 gets 0…0.1 (not matplotlib's −0.04…0.04 around a flat line).
    """
    best = max(values, default=0.0)
    if best >= 0.5:
        return 1.0
    return min(1.0, max(0.1, math.ceil(best * 1.2 * 10) / 10))


def plot_training(run: Path, rows: list[dict[str, Any]], name: str | None = None) -> Path:
    """Write RUN/loss_iou.png from metrics.csv rows (see `training_figure`)."""
    run = Path(run)
    path = run / "loss_iou.png"
    save_figure_atomic(path, training_figure(rows, name or run.name), format="png", dpi=100)
    return path


def training_figure(rows: list[dict[str, Any]], name: str) -> Figure:
    """Loss (left axis) and validation IoU / nIoU (right axis, from 0) per epoch; integer epoch ticks."""
    fig = Figure(figsize=(6.4, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    epochs = [int(r["epoch"]) for r in rows]
    lines = ax.plot(epochs, [float(r["train_loss"]) for r in rows], color=LOSS_COLOUR, marker="." if len(rows) < 30 else None,
                    label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss", color=LOSS_COLOUR)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if epochs:
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    val = [(int(r["epoch"]), float(r["val_iou"]), float(r.get("val_niou") or "nan")) for r in rows
           if r.get("val_iou") not in ("", None)]
    title = f"Training: {name}"
    if val:
        ax2 = ax.twinx()
        e, iou, niou = zip(*val, strict=True)
        lines += ax2.plot(e, iou, "o-", color=IOU_COLOUR, markersize=4, label="validation IoU", clip_on=False)
        if not all(math.isnan(v) for v in niou):
            lines += ax2.plot(e, niou, "s--", color=IOU_COLOUR, markersize=3, alpha=0.7, label="validation nIoU",
                              clip_on=False)
        ax2.set_ylim(0, iou_axis_top([v for v in iou + niou if not math.isnan(v)]))
        ax2.set_ylabel("validation IoU / nIoU", color=IOU_COLOUR)
        best = max(range(len(iou)), key=lambda i: (iou[i], -i))
        ax2.annotate(f"best {iou[best]:.3f}", (e[best], iou[best]), textcoords="offset points", xytext=(0, 7),
                     ha="center", fontsize="small", color=IOU_COLOUR)
        title += f" (best val IoU {iou[best]:.3f} at epoch {e[best]})"
    ax.set_title(title, fontsize="medium")
    # below the axes: inside, it would cover a curve on one of the two y axes
    fig.legend(lines, [line.get_label() for line in lines], loc="lower center", ncol=len(lines), fontsize="small",
               frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig
