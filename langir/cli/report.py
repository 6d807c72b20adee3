"""`langir report`: plots, a Markdown dataset card and HTML for a LangIR set."""

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
    selected_ids,
    warn,
)
from langir.cli.validate import Strictness


def report(
    dataset: DatasetArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the plots, README.md (dataset card) and card.html.", show_default=False)],
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    max_words: Annotated[int, typer.Option("--max-words", min=1, help="Word limit marked on the histogram (paper: 50).")] = 50,
    tolerance: Annotated[float, typer.Option("--tolerance", min=0.0, max=0.5, help="Slack around claimed regions, as a fraction of the image side.")] = 0.05,
    synonyms: Annotated[bool, typer.Option("--synonyms", help="Table 1 also counts top/bottom/middle/centre.")] = False,
    gallery: Annotated[int, typer.Option("--gallery", min=0, help="Images in the gallery (worst grounded first); 0: none.")] = 8,
    title: Annotated[str | None, typer.Option("--title", help="Title of the dataset card.", show_default=False)] = None,
    license: Annotated[str, typer.Option("--license", help="License field of the card's metadata (the source images' license applies).")] = "unknown",
    strictness: Annotated[Strictness, typer.Option("--strictness", help="Region rule of the verdicts, as in validate: grid (3×3 cells) or broad (half-planes); the card names it.", case_sensitive=False)] = Strictness.grid,
    as_json: JsonOpt = False,
) -> None:
    """Write PNG plots, a Markdown dataset card (README.md) and a standalone card.html for a description set.

    Plots: Table-1 bars per split (splits that share no image), word-count histogram with the limit, failure kinds, heat-map of target positions, claimed vs. actual region (judged as validate judges), and a gallery worst grounded first.

    README.md carries Hugging Face dataset-card metadata and the provenance of the texts (describe ledger); card.html embeds the images. Images that could not be graded are listed.

    Exit codes: 0 report written; 1 written, but samples with a missing or unreadable image, mask or description were skipped, or the describe ledger could not be read (listed, also in the card); 2 nothing could be done (bad dataset or option, --out not writable: the files this run created are removed again).

    [bold]Example:[/] langir report datasets/demo --out reports/demo
    """
    from langir.curate.report import write_report

    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    ids = selected_ids(ds, selected)
    with progress_bar() as bar:
        task = bar.add_task("validating", total=len(ids), status="")
        done = write_report(ds, ids, out_dir, selected, max_words, tolerance, synonyms, gallery, title,
                            on_item=lambda _: bar.advance(task), license=license,
                            strictness=strictness.value)
    for reason, all_members in done.skipped.items():
        members = [i for i in all_members if i not in done.broken]  # those are listed with their file below
        if not members:
            continue
        shown = ", ".join(members[:10]) + (f" … (+{len(members) - 10})" if len(members) > 10 else "")
        warn(f"not graded, {reason}: {shown}")
    for sample_id, problem in done.broken.items():
        warn(f"skipped {sample_id}: {problem}")
    for problem in done.ledger_problems:
        warn(problem)
    if as_json:
        print_json(done.to_dict())
    else:
        agreement = done.validation.summary()["agreement"]
        out.print(escape(f"wrote {len(done.files)} files to {out_dir} (card: {out_dir / 'README.md'}); grounding agreement "
                         + ("–" if agreement is None else f"{100 * agreement:.1f} %")), highlight=False, soft_wrap=True)
    if done.broken:
        warn(f"{len(done.broken)} sample(s) skipped for a missing or unreadable file (listed above and in the card)")
    if done.broken or done.ledger_problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
