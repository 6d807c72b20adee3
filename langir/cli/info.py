"""`langir info`: what a dataset holds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from langir.cli.common import (
    DatasetArg,
    DescriptionsOpt,
    ImagesOpt,
    JsonOpt,
    LayoutOpt,
    MasksOpt,
    SplitOpt,
    open_dataset,
    out,
    print_json,
    selected_ids,
    track,
    warn,
)


def _list(ids: list[str], limit: int = 8) -> str:
    if not ids:
        return "none"
    more = f" … (+{len(ids) - limit})" if len(ids) > limit else ""
    return f"{len(ids)}: " + ", ".join(ids[:limit]) + more


def info(
    dataset: DatasetArg,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop with an error at the first unreadable sample.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a dataset's layout, splits, image sizes and modes, and target statistics.

    Unreadable samples (corrupt files, missing masks, mask/image size mismatch) are listed as
    problems; with --strict the first one is an error.

    [bold]Example:[/] langir info datasets/demo --json
    """
    from langir.data.inspect import inspect_dataset

    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    report = inspect_dataset(ds, selected_ids(ds, selected), skip_bad=not strict, wrap=lambda it: track(it, "reading"))
    for bad in report["skipped"]:
        warn(f"problem with {bad['id']}: {bad['error']}")
    if as_json:
        print_json(report)
        return
    table = Table(title=f"{ds.root}  ·  layout {report['layout']}", show_header=False, title_justify="left")
    table.add_column(style="bold cyan")
    table.add_column()
    table.add_row("image pattern", report["images"])
    table.add_row("mask pattern", report["masks"])
    table.add_row("description pattern", report["descriptions"])
    table.add_row("images", f"{report['image_count']} on disk, {report['checked']} read")
    splits = ", ".join(f"{k} {v} ({ds.layout.splits[k]})" for k, v in report["split_counts"].items())
    table.add_row("splits", splits or "none (ids from the image folder)")
    table.add_row("split ids without image", _list(report["split_ids_without_image"]))
    table.add_row("without mask", _list(report["images_without_mask"]))
    table.add_row("without description", _list(report["images_without_description"]))
    table.add_row("without target", _list(report["images_without_target"]))
    table.add_row("sizes (W×H)", ", ".join(f"{k}: {v}" for k, v in list(report["image_sizes"].items())[:8]))
    table.add_row("modes", ", ".join(f"{k}: {v}" for k, v in report["image_modes"].items()))
    table.add_row("targets per image", ", ".join(f"{k}: {v}" for k, v in report["targets_per_image"].items()))
    for key, unit in (("target_area_px", "px"), ("target_area_percent", "% of image")):
        stats = report[key]
        if stats:
            table.add_row(
                f"target size ({unit})",
                f"min {stats['min']:.3g} · median {stats['median']:.3g} · mean {stats['mean']:.3g} · "
                f"p95 {stats['p95']:.3g} · max {stats['max']:.3g}",
            )
    table.add_row("problems", _list([s["id"] for s in report["skipped"]]))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
