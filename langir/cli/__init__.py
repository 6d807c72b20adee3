"""The `langir` command line: a thin Typer layer over the library."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
import typer.main
from rich.markup import escape

from langir import __version__

# One module per command (or group); each defines `register(app)`. Keep heavy imports
# (torch, open_clip, SDKs) inside the command functions: `langir --help` stays fast and the
# base install (no torch) runs every command that does not need it. Imported by name (not by
# string), so the import graph shows every command module.
from langir.cli import (
    curate,
    describe,
    embed,
    eval_cmd,
    export,
    info,
    pack,
    predict,
    profile_cmd,
    report,
    review,
    stats,
    synth,
    train,
    validate,
)
from langir.cli.common import err
from langir.data.guarded import FOLLOW_SYMLINKS_ENV
from langir.errors import LangirError
from langir.extras import friendly_import_error

COMMANDS = [info, synth, describe, curate, validate, stats, report, pack, embed, train, predict, eval_cmd, profile_cmd,
            export, review]
COMMAND_MODULES = [module.__name__.rsplit(".", 1)[1] for module in COMMANDS]
# `langir --help` lists commands in workflow order, whatever the order of COMMAND_MODULES;
# commands not named here come last.
COMMAND_ORDER = [
    "info", "synth", "describe", "curate", "validate", "stats", "report", "pack",
    "embed", "train", "predict", "eval", "profile", "export",
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
    follow_symlinks: Annotated[bool, typer.Option(
        "--follow-symlinks", help="Read dataset files that are symlinks to places outside the dataset folder.")] = False,
) -> None:
    _state["verbose"] = verbose or bool(os.environ.get("LANGIR_VERBOSE"))
    if follow_symlinks:  # the guarded reader (langir.data.guarded) reads this for the whole run
        os.environ[FOLLOW_SYMLINKS_ENV] = "1"


for _module in COMMANDS:
    _module.register(app)
app.registered_commands.sort(
    key=lambda c: COMMAND_ORDER.index(c.name) if c.name in COMMAND_ORDER else len(COMMAND_ORDER)
)
app.registered_groups.sort(
    key=lambda g: COMMAND_ORDER.index(g.name) if g.name in COMMAND_ORDER else len(COMMAND_ORDER)
)


def _hide_flag_types(command, help_names: list[str]) -> None:
    """Blank the type column of on/off flags (typer shows `<bool>` there) in `command` and its subcommands."""
    params = list(command.params)
    if getattr(command, "add_help_option", False):
        ctx = type("Ctx", (), {"help_option_names": help_names})()
        help_option = command.get_help_option(ctx)
        if help_option is not None:
            params.append(help_option)
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # typer prints the metavar instead of `<bool>`; "" prints nothing
    for sub in getattr(command, "commands", {}).values():
        _hide_flag_types(sub, help_names)


def _reflow(text: str | None) -> str | None:
    """Join the hard-wrapped lines of each prose paragraph so help text wraps to the terminal.

    Typer's rich mode keeps every newline of a docstring, which leaves ragged lines on narrow
    terminals. Paragraphs holding example commands or comments (lines starting with `langir`, `#`,
    `-`, `python`) keep their lines.
    """
    if not text:
        return text
    keep = ("langir", "#", "-", "python", "•")
    paragraphs = []
    for paragraph in text.split("\n\n"):
        lines = [line.strip() for line in paragraph.splitlines()]
        if any(line.startswith(keep) for line in lines):
            paragraphs.append(paragraph)
        else:
            paragraphs.append(" ".join(line for line in lines if line))
    return "\n\n".join(paragraphs)


def _reflow_help(command) -> None:
    command.help = _reflow(command.help)
    for sub in getattr(command, "commands", {}).values():
        _reflow_help(sub)


def build_command():
    """The click command behind `app`, with flags shown without a type placeholder and help text reflowed."""
    command = typer.main.get_command(app)
    _hide_flag_types(command, app.info.context_settings.get("help_option_names", ["--help"]))
    _reflow_help(command)
    return command


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors become one red line and exit code 2."""
    follow_before = os.environ.get(FOLLOW_SYMLINKS_ENV)  # --follow-symlinks holds for this command only
    try:
        code = build_command().main(args=argv, prog_name="langir", standalone_mode=False)
        # with standalone_mode=False click/typer *return* the code of Ctrl-C (130) and typer.Exit(n)
        if isinstance(code, int) and code:
            sys.exit(code)
    except LangirError as error:
        _print_error(error)
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
        # A missing optional dependency (torch without `langir[train]`, …) or a torch/torchvision
        # pair that was not built together: one line naming the fix, not a traceback.
        friendly = friendly_import_error(error)
        if friendly is None:
            raise
        _print_error(friendly)
        sys.exit(friendly.exit_code)
    finally:
        _say_non_binary_masks()
        if follow_before is None:
            os.environ.pop(FOLLOW_SYMLINKS_ENV, None)
        else:
            os.environ[FOLLOW_SYMLINKS_ENV] = follow_before


def _say_non_binary_masks() -> None:
    """One line for every mask that was not binary (0 and one value): named, with the rule it was read by."""
    if "langir.data.imageio" not in sys.modules:
        return
    from langir.data.imageio import MASK_THRESHOLD_WORDS, non_binary_masks

    found = non_binary_masks()
    if found:
        from langir.cli.common import warn

        shown = ", ".join(f"{path} ({levels} values > 0)" for path, levels in list(found.items())[:5])
        more = f" … (+{len(found) - 5})" if len(found) > 5 else ""
        warn(f"{len(found)} mask(s) not binary: {shown}{more}; each is read as {MASK_THRESHOLD_WORDS}, as every mask is")


def _print_error(error: LangirError) -> None:
    """One red line; the message is printed literally (brackets in it are text, not rich markup)."""
    if _state["verbose"]:
        err.print_exception()
    err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
