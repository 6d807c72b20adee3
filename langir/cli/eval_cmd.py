"""`langir eval`: score a checkpoint or prediction PNGs with IRSTD metrics (IoU, nIoU, Pd, Fa, F1)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
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
    progress_bar,
    selected_ids,
    warn,
)
from langir.errors import DataError
from langir.evaluate.inference import DEFAULT_MAX_PIXELS

DatasetOpt = Annotated[Path, typer.Option("--dataset", help="Dataset folder with the ground-truth masks.", show_default=False)]


def _fmt(v: float | None, scale: float = 100.0, digits: int = 2) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * scale:.{digits}f}"


def eval_cmd(
    dataset: DatasetOpt,
    preds: Annotated[Path | None, typer.Option("--preds", help="Folder of prediction PNGs named {id}.png, e.g. BasicIRSTD's results/DATASET/METHOD (grey: probability = pixel/max; binary 0/255 works).", show_default=False)] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="Checkpoint (.pt) to run over the split.", show_default=False)] = None,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    threshold: Annotated[float, typer.Option("--threshold", help="Binarise probabilities at > this value.")] = 0.5,
    thresholds: Annotated[str | None, typer.Option("--thresholds", help="Sweep start:stop:step (e.g. 0.1:0.9:0.1) or a comma list (≤ 201 values); writes a Pd–Fa / PR curve PNG.", show_default=False)] = None,
    curves: Annotated[Path | None, typer.Option("--curves", help="Where the sweep's curve PNG goes (default: curves.png in --save-preds or the current folder).", show_default=False)] = None,
    save_preds: Annotated[Path | None, typer.Option("--save-preds", help="Write prob/{id}.png (16-bit), mask/{id}.png, overlay/{id}.png and targets.csv here.", show_default=False)] = None,
    pd_fa: Annotated[str, typer.Option("--pd-fa", help="Pd/Fa shown: 'pooled' over the set (community code) or 'per-image' mean (LangIR Eq. 7/8). --json has both.")] = "pooled",
    niou_empty: Annotated[str, typer.Option("--niou-empty", help="An image with empty union counts 'zero' in nIoU (ACM) or is 'skip'ped.")] = "zero",
    pd_matching: Annotated[str, typer.Option("--pd-matching", help="'greedy' (BasicIRSTD) or 'hungarian' (optimal) GT↔prediction matching.")] = "greedy",
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | mps (with --checkpoint).")] = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=4096, help="Inference batch size (with --checkpoint).")] = 8,
    max_pixels: Annotated[int, typer.Option("--max-pixels", min=1, help="Pixel budget per image; a larger image is a per-id error.")] = DEFAULT_MAX_PIXELS,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="CLIP embedding cache (default: DATASET/.langir/embeddings, or the user cache when the dataset is read-only).", show_default=False)] = None,
    skip_bad: SkipBadOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Score a checkpoint or another tool's prediction PNGs: IoU, nIoU, Pd, Fa (×1e-6), F1 as in LangIR Table 4.

    Prediction PNGs must be named like the dataset's image ids ({id}.png) and have the mask's size.
    Exit code 1 when samples were skipped (--skip-bad; they are listed).

    [bold]Example:[/] langir eval --preds runs/preds --dataset datasets/sirst --split test --json
    """
    from langir.evaluate.score import ScoreSettings, json_ready, prepare_scoring, score

    job = prepare_scoring(preds, checkpoint, ScoreSettings(
        threshold=threshold, thresholds=thresholds, curves=curves, save_preds=save_preds, pd_fa=pd_fa,
        niou_empty=niou_empty, pd_matching=pd_matching, device=device, batch_size=batch_size, max_pixels=max_pixels,
        cache_dir=cache_dir, skip_bad=skip_bad))
    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    ids = selected_ids(ds, selected)

    def on_skip(sample_id: str, error: DataError) -> None:
        warn(f"skipped {sample_id}: {error}")

    with progress_bar() as bar:
        task = bar.add_task("scoring", total=len(ids), status="")
        result = score(job, ds, ids, dataset, on_skip, lambda: bar.advance(task))
    code = 1 if result["skipped"] else 0
    if as_json:
        print_json(json_ready(result))
    else:
        _show(result, dataset, save_preds)
    raise typer.Exit(code)


def _show(result: dict[str, Any], dataset: Path, save_preds: Path | None) -> None:
    from langir.evaluate.score import table_rows

    title = f"{dataset} · {result['images']} images · threshold {result['threshold']} · Pd/Fa {result['pd_fa']}"
    table = Table(title=escape(title), title_justify="left")  # a path like runs[1] is text, not markup
    for col in ("threshold", "IoU (%)", "nIoU (%)", "Pd (%)", "Fa (×1e-6)", "F1 (%)"):
        table.add_column(col, justify="right")
    for r in table_rows(result):
        table.add_row(f"{r['threshold']:.2f}", _fmt(r["iou"]), _fmt(r["niou"]), _fmt(r["pd"]), _fmt(r["fa"], 1e6), _fmt(r["f1"]))
    out.print(table)
    plain = {"highlight": False, "markup": False}
    if "curves" in result:
        out.print(f"curves: {result['curves']}", **plain)
    if save_preds is not None:
        out.print(f"predictions: {save_preds} (prob/ 16-bit, mask/, overlay/, targets.csv)", **plain)
    if result["skipped"]:
        out.print(f"skipped {len(result['skipped'])}: {', '.join(s['id'] for s in result['skipped'])}", **plain)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
