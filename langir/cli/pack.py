"""`langir pack`: a LangIR set as a Hugging Face `datasets` folder, Parquet or JSONL, with a dataset card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

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
    progress_bar,
    warn,
)


def pack(
    dataset: DatasetArg,
    out_dir: Annotated[Path, typer.Argument(metavar="OUT", help="Folder to write (must not exist, or be empty; see --overwrite).", show_default=False)],
    fmt: Annotated[str, typer.Option("--format", help="hf (imagefolder + metadata.jsonl) | parquet (image and mask bytes inline) | jsonl (records + files).")] = "hf",
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    license: Annotated[str, typer.Option("--license", help="The card's license field (the source images' license applies).")] = "unknown",
    title: Annotated[str | None, typer.Option("--title", help="Title of the dataset card.", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty OUT (swapped in only once complete).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Pack a LangIR set for sharing: images, masks, descriptions, targets, validate verdicts and provenance.

    Splits: the selected ones (--split NAME), else the layout's splits that share no image (SIRST: trainval and test), else one split 'full'.

    Exit codes: 0 packed; 1 packed, but samples with a missing or unreadable image, mask or description were left out, or the describe ledger could not be read (provenance left out; listed); 2 nothing written (bad dataset or option, OUT not writable).

    README.md is a Hugging Face dataset card (YAML front matter, configs per split, provenance from the describe ledger), so `datasets.load_dataset(OUT)` reads the folder.

    [bold]Example:[/] langir pack datasets/demo packed/demo --format parquet
    """
    from langir.curate.pack import pack_dataset

    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    with progress_bar() as bar:
        task = bar.add_task("validating", total=None, status="")
        result = pack_dataset(ds, out_dir, fmt, selected, license, title, overwrite, on_item=lambda _: bar.advance(task))
    for sample_id in result.skipped:
        warn(f"skipped {sample_id}: {result.broken.get(sample_id, 'missing or unreadable file')}")
    for problem in result.ledger_problems:
        warn(problem)
    if as_json:
        print_json(result.to_dict())
    else:
        parts = ", ".join(f"{name} {count}" for name, count in result.splits.items())
        out.print(escape(f"packed {len(result.records)} images ({parts}) as {fmt} into {out_dir}"
                         + (f"; skipped {len(result.skipped)}" if result.skipped else "")), highlight=False, soft_wrap=True)
    if result.skipped:
        warn(f"{len(result.skipped)} sample(s) left out for a missing or unreadable file (listed above)")
    if result.skipped or result.ledger_problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("pack")(pack)
