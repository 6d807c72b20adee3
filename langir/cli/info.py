"""`langir info`: what a dataset holds, and what is wrong with it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

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


def _problems(problems: list[dict[str, str]], root: Path, limit: int = 8) -> str:
    """One line per problem saying what is wrong: `Misc_111: mask size 592×400 does not match … (masks/…png)`."""
    if not problems:
        return "none"
    lines = []
    for p in problems[:limit]:
        file = Path(p["file"]) if p.get("file") else None
        shown = file.relative_to(root) if file is not None and file.is_relative_to(root) else file
        lines.append(f"{p['id']}: {p.get('problem') or p['error']}" + (f" ({shown})" if shown else ""))
    if len(problems) > limit:
        lines.append(f"… (+{len(problems) - limit}; --json lists them all)")
    return f"{len(problems)}:\n" + "\n".join(lines)


def info(
    dataset: DatasetArg,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit with code 1 when any problem is found (all are still listed).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a dataset's layout, splits, image sizes and modes, and target statistics, and list its problems.

    Problems: images or masks that are missing, unreadable, corrupt, too large for the pixel budget
    (LANGIR_MAX_PIXELS, default 2^26), not regular files (folder, FIFO, symlink loop), masks of the
    wrong size, and split ids without an image. They are listed (a warning each and the 'problems'
    row); the exit code is 0, or 1 with --strict when there is any. Sizes come from the headers;
    integrity: a PNG's chunks and checksums, and its pixel stream inflated to see every row is there
    (never decoded); a BMP, JPEG or TIFF is decoded (Pillow checks no more of them).

    [bold]Example:[/] langir info datasets/demo --json
    """
    from langir.data.audit import inspect_dataset
    from langir.data.layout import unused_split_files

    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    if not split:
        unused = unused_split_files(ds.root, ds.layout)
        if unused:
            shown = ", ".join(unused[:4]) + (" …" if len(unused) > 4 else "")
            warn(f"split-like files found but none is used: {shown}; pass --split NAME=FILE, "
                 f"a [layout] splits entry in langir.toml, or a matching --layout (e.g. basicirstd)")
    report = inspect_dataset(ds, selected_ids(ds, selected), skip_bad=True, wrap=lambda it: track(it, "reading"))
    problems = report["problems"]
    for bad in problems:
        warn(f"problem with {bad['id']}: {bad['error']}")
    code = 1 if strict and problems else 0
    if as_json:
        print_json(report)
        raise typer.Exit(code)
    table = Table(title=Text(f"{ds.root}  ·  layout {report['layout']}"), show_header=False, title_justify="left")
    table.add_column(style="bold cyan")
    table.add_column()

    def row(name: str, value: str) -> None:
        table.add_row(name, Text(value))  # Text: ids and paths are shown literally, never as markup

    row("image pattern", report["images"])
    row("mask pattern", report["masks"])
    row("description pattern", report["descriptions"])
    row("images", f"{report['image_count']} on disk, {report['checked']} read")
    splits = ", ".join(f"{k} {v} ({ds.layout.splits[k]})" for k, v in report["split_counts"].items())
    row("splits", splits or "none (ids from the image folder)")
    row("split ids without image", _list(report["split_ids_without_image"]))
    row("without mask", _list(report["images_without_mask"]))
    row("without description", _list(report["images_without_description"]))
    row("without target", _list(report["images_without_target"]))
    row("sizes (W×H)", ", ".join(f"{k}: {v}" for k, v in list(report["image_sizes"].items())[:8]))
    row("modes", ", ".join(f"{k}: {v}" for k, v in report["image_modes"].items()))
    row("targets per image", ", ".join(f"{k}: {v}" for k, v in report["targets_per_image"].items()))
    for key, unit in (("target_area_px", "px"), ("target_area_percent", "% of image")):
        stats = report[key]
        if stats:
            row(f"target size ({unit})",
                f"min {stats['min']:.3g} · median {stats['median']:.3g} · mean {stats['mean']:.3g} · "
                f"p95 {stats['p95']:.3g} · max {stats['max']:.3g}")
    row("problems", _problems(problems, ds.root))
    out.print(table)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
