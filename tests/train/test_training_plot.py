"""loss_iou.png: a title, a legend naming every curve, integer epoch ticks and an IoU axis from 0."""

from __future__ import annotations

from langir.train.plots import plot_training, training_figure


def _rows(n: int, iou: float | None) -> list[dict]:
    return [{"epoch": str(i), "train_loss": f"{1 / i:.4f}", "val_iou": "" if iou is None else f"{iou:.6f}",
             "val_niou": "" if iou is None else f"{iou:.6f}"} for i in range(1, n + 1)]


def _tick_values(axis) -> list[float]:
    lo, hi = axis.get_view_interval()
    return [t for t in axis.get_ticklocs() if lo <= t <= hi]


def test_epoch_ticks_are_whole_epochs_and_a_stuck_iou_gets_a_zero_based_axis():
    fig = training_figure(_rows(4, 0.0), "demo")
    fig.canvas.draw()
    loss_ax, iou_ax = fig.axes
    assert all(float(t).is_integer() for t in _tick_values(loss_ax.xaxis))
    lo, hi = iou_ax.get_ylim()
    assert lo == 0 and 0.1 <= hi <= 1  # not matplotlib's -0.04…0.04 around a flat zero line
    assert loss_ax.get_title().startswith("Training: demo")
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert labels == ["training loss", "validation IoU", "validation nIoU"]


def test_a_good_run_uses_the_whole_iou_range_and_a_long_run_keeps_integer_ticks():
    fig = training_figure(_rows(37, 0.8), "long")
    fig.canvas.draw()
    loss_ax, iou_ax = fig.axes
    assert iou_ax.get_ylim() == (0.0, 1.0)
    assert all(float(t).is_integer() for t in _tick_values(loss_ax.xaxis))
    assert "best val IoU 0.800" in loss_ax.get_title()


def test_without_validation_only_the_loss_is_drawn(tmp_path):
    path = plot_training(tmp_path, _rows(3, None))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = training_figure(_rows(3, None), "x")
    assert len(fig.axes) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["training loss"]
