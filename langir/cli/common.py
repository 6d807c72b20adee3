"""Shared CLI pieces: consoles, dataset layout options, progress, and user-error handling."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from langir.data.dataset import LangIRDataset
from langir.data.layout import LAYOUT_CHOICES, parse_split_options
from langir.describe.selection import split_ids
from langir.errors import ConfigError

# Results go to stdout (so `--json` output can be piped); progress, notices and errors to stderr.
# No emoji codes: user text such as ":x:" in a description must print as written.
# Piped stdout: rich would assume 80 columns and cut table headers ("strat…"); a file or pipe has no
# width, so tables get their natural width there ($COLUMNS still wins when set).
PIPED_WIDTH = 200
out = Console(emoji=False, width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPED_WIDTH)
err = Console(stderr=True, emoji=False)

T = TypeVar("T")

_PANEL = "Dataset layout"
DatasetArg = Annotated[Path, typer.Argument(help="Dataset folder (images/, masks/, descriptions/, split files).", metavar="DATASET", show_default=False)]
LayoutOpt = Annotated[str, typer.Option("--layout", help=f"Naming preset: {' | '.join(LAYOUT_CHOICES)}.", rich_help_panel=_PANEL)]
ImagesOpt = Annotated[str | None, typer.Option("--images", help="Image path pattern with {id}, e.g. 'mixed/{id}.png' ('.*' = any image type).", rich_help_panel=_PANEL, show_default=False)]
MasksOpt = Annotated[str | None, typer.Option("--masks", help="Mask path pattern with {id}, e.g. 'annotations/masks/{id}_pixels0.png'.", rich_help_panel=_PANEL, show_default=False)]
DescriptionsOpt = Annotated[str | None, typer.Option("--descriptions", help="Description path pattern with {id}, e.g. 'descriptions/{id}.txt'.", rich_help_panel=_PANEL, show_default=False)]
SplitOpt = Annotated[list[str] | None, typer.Option("--split", help="NAME=FILE defines a split file; a bare NAME selects that split. Repeatable.", rich_help_panel=_PANEL, show_default=False)]
SkipBadOpt = Annotated[bool, typer.Option("--skip-bad", help="Warn about and skip unreadable samples instead of stopping.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def open_dataset(
    dataset: Path,
    layout: str = "auto",
    images: str | None = None,
    masks: str | None = None,
    descriptions: str | None = None,
    split: list[str] | None = None,
) -> tuple[LangIRDataset, list[str]]:
    """Open a dataset from the shared layout options; returns it and the bare split names selected."""
    split = split or []
    definitions = parse_split_options([s for s in split if "=" in s])
    selected = [s for s in split if "=" not in s]
    ds = LangIRDataset.open(dataset, layout, images, masks, descriptions, definitions)
    ds.require_images()  # a wrong folder stops here, before any command writes into it (e.g. describe's .langir/)
    for name in selected:
        if name not in ds.layout.splits:
            known = ", ".join(ds.layout.splits) or "none found"
            raise ConfigError(f"unknown split {name!r} in {dataset} (splits: {known})")
    return ds, selected


# The commands' one id selection (the selected splits' ids, or every image): the library's.
selected_ids = split_ids


def progress_bar(transient: bool = True) -> Progress:
    """The standard rich progress bar (on stderr)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=transient,
        disable=not err.is_terminal,
    )


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on stderr (hidden when stderr is not a terminal)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress_bar() as bar:
        task = bar.add_task(description, total=total, status="")
        for item in items:
            yield item
            bar.advance(task)


def print_json(data: Any) -> None:
    """Write JSON to stdout without rich markup or wrapping."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def literal(text: object) -> str:
    """`text` escaped for rich markup: ids, paths and error text print exactly as they are."""
    return escape(str(text))


def warn(message: str) -> None:
    """A yellow `warning:` line on stderr; `message` is printed literally (no markup, no emoji)."""
    err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def notice(message: str, style: str | None = None) -> None:
    """A line on stderr, printed literally; `style` (e.g. "green") colours the whole line."""
    err.print(escape(message), style=style, highlight=False, soft_wrap=True)
