"""`langir eval`: score a checkpoint or prediction PNGs with IRSTD metrics (IoU, nIoU, Pd, Fa, F1)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from langir.cli.common import (
    DescriptionsOpt,
    ImagesOpt,
    JsonOpt,
    LayoutOpt,
    MasksOpt,
    SkipBadOpt,
    SplitOpt,
    open_dataset,
    out,
    print_json,
    selected_ids,
    track,
    warn,
)
from langir.errors import ConfigError, DataError

DatasetOpt = Annotated[Path, typer.Option("--dataset", help="Dataset folder with the ground-truth masks.", show_default=False)]


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """NaN (Pd with no GT target) → null so --json stays valid JSON."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def _fmt(v: float | None, scale: float = 100.0, digits: int = 2) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * scale:.{digits}f}"


def _read_pred(path: Path, shape: tuple[int, int]) -> Any:
    from langir.data.imageio import read_image

    if not path.is_file():
        raise DataError(path, "prediction PNG not found")
    prob = read_image(path)
    if prob.shape != shape:
        raise DataError(path, f"prediction size {prob.shape[1]}×{prob.shape[0]} does not match mask size {shape[1]}×{shape[0]}")
    return prob


def eval_cmd(
    dataset: DatasetOpt,
    preds: Annotated[Path | None, typer.Option("--preds", help="Folder of prediction PNGs named {id}.png (grey: probability = pixel/max; binary 0/255 works).", show_default=False)] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="Checkpoint (.pt) to run over the split.", show_default=False)] = None,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    threshold: Annotated[float, typer.Option("--threshold", help="Binarise probabilities at > this value.")] = 0.5,
    thresholds: Annotated[str | None, typer.Option("--thresholds", help="Sweep start:stop:step (e.g. 0.1:0.9:0.1) or a comma list; writes a Pd–Fa / PR curve PNG.", show_default=False)] = None,
    curves: Annotated[Path | None, typer.Option("--curves", help="Where the sweep's curve PNG goes (default: curves.png in --save-preds or the current folder).", show_default=False)] = None,
    save_preds: Annotated[Path | None, typer.Option("--save-preds", help="Write binary masks ({id}.png) and overlays (overlay/{id}.png) here.", show_default=False)] = None,
    niou_empty: Annotated[str, typer.Option("--niou-empty", help="An image with empty union counts 'zero' in nIoU (ACM) or is 'skip'ped.")] = "zero",
    pd_matching: Annotated[str, typer.Option("--pd-matching", help="'greedy' (BasicIRSTD) or 'hungarian' (optimal) GT↔prediction matching.")] = "greedy",
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda (with --checkpoint).")] = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Inference batch size (with --checkpoint).")] = 8,
    skip_bad: SkipBadOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Score a checkpoint or another tool's prediction PNGs: IoU, nIoU, Pd, Fa (×1e-6), F1 as in LangIR Table 4.

    Prediction PNGs must be named like the dataset's image ids ({id}.png) and have the mask's size.

    [bold]Example:[/] langir eval --preds runs/preds --dataset datasets/sirst --split test --json
    """
    from langir.evaluate.metrics import NIOU_EMPTY_CHOICES, PD_MATCHING_CHOICES
    from langir.evaluate.sweep import ThresholdSweep, parse_thresholds

    if (preds is None) == (checkpoint is None):
        raise ConfigError("give exactly one of --preds DIR or --checkpoint CKPT")
    if niou_empty not in NIOU_EMPTY_CHOICES:
        raise ConfigError(f"--niou-empty must be one of {', '.join(NIOU_EMPTY_CHOICES)}")
    if pd_matching not in PD_MATCHING_CHOICES:
        raise ConfigError(f"--pd-matching must be one of {', '.join(PD_MATCHING_CHOICES)}")
    if preds is not None and not preds.is_dir():
        raise ConfigError(f"--preds {preds}: not a folder")
    if not 0.0 <= threshold < 1.0:
        raise ConfigError("--threshold must lie in [0, 1)")
    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    ids = selected_ids(ds, selected)
    sweep_values = parse_thresholds(thresholds) if thresholds else []
    all_t = sorted({threshold, *sweep_values})
    sweep = ThresholdSweep(all_t, niou_empty=niou_empty, pd_matching=pd_matching)
    skipped: list[dict[str, str]] = []

    def on_skip(sample_id: str, error: DataError) -> None:
        skipped.append({"id": sample_id, "error": str(error)})
        warn(f"skipped {sample_id}: {error}")

    def pairs():  # (id, image, mask, probability map)
        if checkpoint is not None:
            from langir.train.predict import predict_dataset

            good = ids
            if skip_bad:  # screen first: a bad sample must not stop the inference stream half-way
                good = [s.id for s in ds.iter_samples(ids, skip_bad=True, on_skip=on_skip)]
            for sample_id, prob in predict_dataset(checkpoint, ds, good, device=device, batch_size=batch_size):
                s = ds.load(sample_id)
                yield s.id, s.image, s.mask, prob
            return
        for s in ds.iter_samples(ids, skip_bad=skip_bad, on_skip=on_skip):
            try:
                prob = _read_pred(preds / f"{s.id}.png", s.mask.shape)
            except DataError as error:
                if not skip_bad:
                    raise
                on_skip(s.id, error)
                continue
            yield s.id, s.image, s.mask, prob

    if save_preds is not None:
        (save_preds / "overlay").mkdir(parents=True, exist_ok=True)
    n = 0
    for sample_id, image, mask, prob in track(pairs(), "scoring", total=len(ids)):
        sweep.update(prob, mask)
        n += 1
        if save_preds is not None:
            from langir.evaluate.visualize import overlay, save_png

            binary = prob > threshold
            save_png((binary * 255).astype("uint8"), save_preds / f"{sample_id}.png")
            if image.shape == mask.shape:
                save_png(overlay(image, mask, binary), save_preds / "overlay" / f"{sample_id}.png")
    if n == 0:
        raise DataError(dataset, "no sample could be scored")
    rows = [_clean(r) for r in sweep.compute()]
    main = next(r for r in rows if r["threshold"] == threshold)
    result: dict[str, Any] = {
        **{k: main[k] for k in ("iou", "niou", "pd", "fa", "f1", "precision", "recall")},
        "threshold": threshold,
        "images": n,
        "counts": {k: main[k] for k in ("targets", "detected", "false_alarm_pixels", "pixels", "inter", "union", "tp", "fp", "fn")},
        "niou_empty": niou_empty,
        "pd_matching": pd_matching,
        "skipped": skipped,
    }
    if sweep_values:
        from langir.evaluate.visualize import plot_curves

        sweep_rows = [r for r in rows if r["threshold"] in sweep_values]
        curve_path = curves or (save_preds or Path(".")) / "curves.png"
        plot_curves(sweep_rows, curve_path, title=str(dataset))
        result["sweep"] = [{k: r[k] for k in ("threshold", "iou", "niou", "pd", "fa", "precision", "recall", "f1")} for r in sweep_rows]
        result["curves"] = str(curve_path)
    if as_json:
        print_json(result)
        return
    table = Table(title=f"{dataset} · {n} images · threshold {threshold}", title_justify="left")
    for col in ("threshold", "IoU (%)", "nIoU (%)", "Pd (%)", "Fa (×1e-6)", "F1 (%)"):
        table.add_column(col, justify="right")
    for r in rows if sweep_values else [main]:
        table.add_row(f"{r['threshold']:.2f}", _fmt(r["iou"]), _fmt(r["niou"]), _fmt(r["pd"]), _fmt(r["fa"], 1e6), _fmt(r["f1"]))
    out.print(table)
    if sweep_values:
        out.print(f"curves: {result['curves']}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
