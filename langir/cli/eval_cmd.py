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
from langir.errors import ConfigError, DataError
from langir.evaluate.inference import DEFAULT_MAX_PIXELS

DatasetOpt = Annotated[Path, typer.Option("--dataset", help="Dataset folder with the ground-truth masks.", show_default=False)]
PD_FA_CHOICES = ("pooled", "per-image")


def _clean(value: Any) -> Any:
    """NaN (Pd with no GT target) → null so --json stays valid JSON."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


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
    from langir.evaluate.inference import evaluate_dataset, evaluate_folder, load_model, resolve_device
    from langir.evaluate.metrics import NIOU_EMPTY_CHOICES, PD_MATCHING_CHOICES
    from langir.evaluate.outputs import PredictionWriter, check_out_dir, check_out_file
    from langir.evaluate.sweep import parse_thresholds

    if (preds is None) == (checkpoint is None):
        raise ConfigError("give exactly one of --preds DIR or --checkpoint CKPT")
    if niou_empty not in NIOU_EMPTY_CHOICES:
        raise ConfigError(f"--niou-empty must be one of {', '.join(NIOU_EMPTY_CHOICES)}")
    if pd_matching not in PD_MATCHING_CHOICES:
        raise ConfigError(f"--pd-matching must be one of {', '.join(PD_MATCHING_CHOICES)}")
    if pd_fa not in PD_FA_CHOICES:
        raise ConfigError(f"--pd-fa must be one of {', '.join(PD_FA_CHOICES)}")
    if preds is not None and not preds.is_dir():
        raise ConfigError(f"--preds {preds}: not a folder")
    if not 0.0 <= threshold < 1.0:
        raise ConfigError("--threshold must lie in [0, 1)")
    sweep_values = parse_thresholds(thresholds) if thresholds else []
    writer = None
    if save_preds is not None:
        writer = PredictionWriter(check_out_dir(save_preds, "--save-preds"), threshold=threshold, pd_matching=pd_matching)
    curve_path = curves or (save_preds or Path(".")) / "curves.png"
    if sweep_values:
        check_out_file(curve_path, "--curves")
    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    ids = selected_ids(ds, selected)

    def on_skip(sample_id: str, error: DataError) -> None:
        warn(f"skipped {sample_id}: {error}")

    common = {"threshold": threshold, "thresholds": sweep_values, "niou_empty": niou_empty, "pd_matching": pd_matching,
              "skip_bad": skip_bad, "on_skip": on_skip, "max_pixels": max_pixels}
    with progress_bar() as bar:
        task = bar.add_task("scoring", total=len(ids), status="")

        def on_result(pred: Any, mask: Any) -> None:
            if writer is not None:
                writer.write(pred.id, pred.image, pred.prob, mask)
            bar.advance(task)

        if checkpoint is not None:
            dev = resolve_device(device)
            model, meta = load_model(checkpoint, dev)
            result = evaluate_dataset(model, meta, ds, ids, device=dev, batch_size=batch_size, cache_dir=cache_dir,
                                      on_result=on_result, **common)
        else:
            result = evaluate_folder(preds, ds, ids, on_result=on_result, **common)
    if result["images"] == 0:
        raise DataError(dataset, "no sample could be scored")
    if writer is not None:
        result.update(writer.finish())
    result["pd_pooled"], result["fa_pooled"] = result["pd"], result["fa"]
    if pd_fa == "per-image":
        result["pd"], result["fa"] = result["pd_per_image"], result["fa_per_image"]
    result.update({"pd_fa": pd_fa, "niou_empty": niou_empty, "pd_matching": pd_matching})
    if sweep_values:
        from langir.evaluate.visualize import plot_curves

        rows = [{**r, "pd": r["pd_per_image"], "fa": r["fa_per_image"]} if pd_fa == "per-image" else r for r in result["sweep"]]
        plot_curves(rows, curve_path, title=str(dataset))
        result["curves"] = str(curve_path)
    code = 1 if result["skipped"] else 0
    if as_json:
        print_json(_clean(result))
        raise typer.Exit(code)
    title = f"{dataset} · {result['images']} images · threshold {threshold} · Pd/Fa {pd_fa}"
    table = Table(title=escape(title), title_justify="left")  # a path like runs[1] is text, not markup
    for col in ("threshold", "IoU (%)", "nIoU (%)", "Pd (%)", "Fa (×1e-6)", "F1 (%)"):
        table.add_column(col, justify="right")
    pd_key, fa_key = ("pd_per_image", "fa_per_image") if pd_fa == "per-image" else ("pd", "fa")
    main_row = {**result, "pd": result["pd"], "fa": result["fa"]}
    rows = [{**r, "pd": r[pd_key], "fa": r[fa_key]} for r in result["sweep"]] if sweep_values else [main_row]
    if sweep_values and threshold not in sweep_values:
        rows = sorted([*rows, main_row], key=lambda r: r["threshold"])
    for r in rows:
        table.add_row(f"{r['threshold']:.2f}", _fmt(r["iou"]), _fmt(r["niou"]), _fmt(r["pd"]), _fmt(r["fa"], 1e6), _fmt(r["f1"]))
    out.print(table)
    if sweep_values:
        out.print(f"curves: {result['curves']}", highlight=False, markup=False)
    if writer is not None:
        out.print(f"predictions: {save_preds} (prob/ 16-bit, mask/, overlay/, targets.csv)", highlight=False, markup=False)
    if result["skipped"]:
        out.print(f"skipped {len(result['skipped'])}: {', '.join(s['id'] for s in result['skipped'])}", highlight=False, markup=False)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
