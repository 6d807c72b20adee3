"""User-facing errors: the CLI prints them as one line and exits 2, never with a traceback."""

from __future__ import annotations

from pathlib import Path


class LangirError(Exception):
    """An error caused by the user's input or environment, with a message meant for them."""

    exit_code = 2


class DataError(LangirError):
    """A problem with one file of a dataset; the message names the file."""

    def __init__(self, path: str | Path | None, problem: str, sample_id: str | None = None):
        self.path = Path(path) if path is not None else None
        self.problem = problem
        self.sample_id = sample_id
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{problem}")


class ConfigError(LangirError):
    """A bad option, config file entry or missing credential."""


class OutputError(LangirError):
    """An output file cannot be written (disk full, read-only, not a regular file, …).

    Not a DataError on purpose: per-sample `--skip-bad` handling must never swallow it.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"cannot write {self.path}: {problem}")
