"""`langir report`: plots, a Markdown dataset card and HTML for a LangIR set."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:  # the command arrives with langir.curate.report
    pass
