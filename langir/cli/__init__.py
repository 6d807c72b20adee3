"""The `langir` command line: a thin Typer layer over the library."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from langir import __version__
from langir.cli.common import err
from langir.errors import LangirError

# One module per command (or group); each defines `register(app)`. Keep heavy imports
# (torch, open_clip, SDKs) inside the command functions so `langir --help` stays fast.
COMMAND_MODULES = [
    "info",
    "synth",
    "eval_cmd",
    "export",
    "describe",
    "train",
    "embed",
    "profile",
    "stats",
    "validate",
    "report",
]

app = typer.Typer(
    name="langir",
    help="Language-guided infrared small target detection: describe, curate, train, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
_state = {"verbose": False}


def _version(value: bool) -> None:
    if value:
        print(f"langir {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show details and tracebacks of errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    _state["verbose"] = verbose or bool(os.environ.get("LANGIR_VERBOSE"))


for _name in COMMAND_MODULES:
    importlib.import_module(f"langir.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors become one red line and exit code 2."""
    try:
        code = app(args=argv, standalone_mode=False)
        # with standalone_mode=False click/typer *return* the code of Ctrl-C (130) and typer.Exit(n)
        if isinstance(code, int) and code:
            sys.exit(code)
    except LangirError as error:
        if _state["verbose"]:
            err.print_exception()
        err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        err.print("[red]aborted[/]")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/]")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as error:
        # Usage errors (bad option, unknown command) from click, or typer's vendored copy of it.
        if callable(getattr(error, "show", None)) and isinstance(getattr(error, "exit_code", None), int):
            error.show()
            sys.exit(error.exit_code)
        raise
