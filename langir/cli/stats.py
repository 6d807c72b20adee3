"""`langir stats`: the paper's Table 1 and description statistics per split and dataset."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from langir.cli.common import (
    DescriptionsOpt,
    ImagesOpt,
    JsonOpt,
    LayoutOpt,
    MasksOpt,
    SplitOpt,
    notice,
    open_dataset,
    out,
    print_json,
    progress_bar,
    warn,
)

FORMATS = ("table", "csv", "json", "markdown")


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if value != value else f"{value:.3g}"
    return str(value)


def _print_tables(stats) -> None:
    from langir.curate.stats import TABLE1_COLUMNS

    rule = "synonyms folded" if stats.synonyms else "exact words"
    several = stats.table["dataset"].nunique() > 1
    keys = ("dataset", "split") if several else ("split",)
    title = f"Table 1: position words ({rule})" + ("" if several else f", {stats.table['dataset'].iloc[0]}")
    t1 = Table(title=title, title_justify="left")
    for col in (*keys, *TABLE1_COLUMNS):
        t1.add_column(col, justify="right" if col in TABLE1_COLUMNS else "left")
    for row in stats.table[[*keys, *TABLE1_COLUMNS]].itertuples(index=False):
        t1.add_row(*map(_fmt, row))
    out.print(t1)
    groups = (
        ("Descriptions", (("images", "images"), ("descriptions", "present"), ("missing", "missing"),
                          ("unreadable", "unreadable"), ("refusals", "refusals"), ("no_target_texts", "'no target'"))),
        (f"Words per description (limit {stats.max_words})",
         (("words_mean", "mean"), ("words_median", "median"), ("words_p95", "p95"), ("words_max", "max"),
          ("over_limit", "over limit"), ("over_limit_share", "share"))),
    )
    for title, columns in groups:  # two narrow tables read better on an 80-column terminal than one wide one
        table = Table(title=title, title_justify="left")
        for key in keys:
            table.add_column(key)
        for _, head in columns:
            table.add_column(head, justify="right")
        for row in stats.table[[*keys, *(c for c, _ in columns)]].itertuples(index=False):
            table.add_row(*map(_fmt, row))
        out.print(table)
    for name, pairs in stats.top_words.items():
        out.print(f"[bold]most frequent words[/] ({name}): " + (", ".join(f"{w} {c}" for w, c in pairs) or "none"))


def stats(
    datasets: Annotated[list[Path], typer.Argument(metavar="DATASET...", help="One or more dataset folders (same layout options for all).", show_default=False)],
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    synonyms: Annotated[bool, typer.Option("--synonyms", help="Also count top→Upper, bottom→Lower, middle/centre/central→Center.")] = False,
    max_words: Annotated[int, typer.Option("--max-words", min=1, help="Word limit for the over-limit share (paper: 50).")] = 50,
    top: Annotated[int, typer.Option("--top", min=0, help="How many most frequent words to list.")] = 20,
    fmt: Annotated[str, typer.Option("--format", help=f"Output: {' | '.join(FORMATS)}.")] = "table",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the output to this file (atomically) instead of stdout.", show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Table 1 of the LangIR paper (Left/Right/Center/Lower/Upper counts) and description statistics.

    One row per split (the selected ones, else every split of the layout, plus 'all') and per
    dataset when several are given: descriptions present/missing, words per description
    (mean, median, p95, max), share over --max-words, refusals, and the most frequent words.
    A word counts when whole and case-insensitive; 'upper-left' counts Upper and Left.

    [bold]Example:[/] langir stats datasets/demo --synonyms --format markdown --out stats.md
    (or `langir stats datasets/demo --json` for machine-readable output)
    """
    from langir.curate.stats import compute_stats
    from langir.errors import ConfigError

    if as_json:  # the flag every reporting command has; same as --format json
        fmt = "json"
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    opened = [open_dataset(d, layout, images, masks, descriptions, split) for d in datasets]
    selected = opened[0][1]
    for ds, _ in opened:  # a selected split must exist in every dataset given
        missing = [s for s in selected if s not in ds.split_names]
        if missing:
            raise ConfigError(f"unknown split {missing[0]!r} in {ds.root} (splits: {', '.join(ds.split_names) or 'none found'})")
    total = sum(len(ds.all_ids()) for ds, _ in opened) if not selected else None
    with progress_bar() as bar:
        task = bar.add_task("reading descriptions", total=total, status="")
        result = compute_stats([ds for ds, _ in opened], selected, synonyms, max_words, top,
                               on_item=lambda _: bar.advance(task))
    if fmt == "table" and out_file is None:
        _print_tables(result)
    else:
        _write_output(result, fmt, out_file)
    for why in result.unreadable.values():  # counted in the table; each named here, exit 1 (finished, items failed)
        warn(why)
    if result.unreadable:
        raise typer.Exit(1)


def _write_output(result, fmt: str, out_file: Path | None) -> None:
    from langir.curate.stats import stats_markdown
    from langir.data.atomic import write_text_atomic

    if fmt == "csv":
        text = result.table.to_csv(index=False)
    elif fmt == "json":
        import json

        text = json.dumps(result.to_dict(), indent=2) + "\n"
    elif fmt == "markdown":
        text = stats_markdown(result)
    else:  # a table into a file: the Markdown form reads best
        text = stats_markdown(result)
    if out_file is not None:
        write_text_atomic(out_file, text)
        notice(f"wrote {out_file}")
    elif fmt == "json":
        print_json(result.to_dict())
    else:
        sys.stdout.write(text)  # plain text: no rich markup or wrapping in CSV/Markdown


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
