"""`langir review`: a local page to look at, fix, accept and re-ask descriptions."""

from __future__ import annotations

from typing import Annotated

import typer

from langir.cli.common import DatasetArg, LayoutOpt, notice, open_dataset, warn


def review(
    dataset: DatasetArg,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback unless you say otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port; 0 picks a free one.")] = 8765,
    no_open: Annotated[bool, typer.Option("--no-open", help="Do not open a browser.")] = False,
    filter_: Annotated[str, typer.Option("--filter", help="Start with: all, failing, or one verdict (agrees, contradicts, vague, no-target, …).")] = "all",
    layout: LayoutOpt = "auto",
) -> None:
    """Serve a page to look at every frame with its mask and text, fix texts, accept them, queue re-asks.

    The first line printed is the page's URL with its access token. Edits replace the description
    file atomically and are recorded in the ledger as written by a person; accepted texts pass
    `langir validate` (reported separately); re-asks are run by `langir describe --redo review`.
    Ctrl-C stops it. Needs the extra `review`.

    [bold]Example:[/] langir review datasets/demo --filter failing
    """
    from langir.extras import require

    require("starlette", "review")
    require("uvicorn", "review")
    from langir.review.server import serve

    ds, _ = open_dataset(dataset, layout, None, None, None, None)
    serve(ds, host, port, not no_open, filter_, say=lambda line: print(line, flush=True), warn=warn)
    notice("review stopped")


def register(app: typer.Typer) -> None:
    app.command("review")(review)
