"""The one-run-per-dataset lock, and the ledger names and error that lock, ledger and repair share."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from typing import Any

from langir.data.atomic import ensure_dir
from langir.data.guarded import check_inside
from langir.errors import DataError, LangirError

LEDGER_DIR = ".langir"
LEDGER_NAME = ".langir/describe.sqlite"
LOCK_NAME = ".langir/describe.lock"
# Every command that opens the ledger says this (validate, report, pack, review have no --repair of their own)
REPAIR_HINT = "`langir describe --repair` moves it aside and rebuilds it from the description files"


class LedgerError(LangirError):
    """The ledger cannot be used: corrupt, foreign, unwritable, or locked by another run."""


def check_state_inside(root: str | Path, *names: str) -> None:
    """The run-state folder (`.langir`) and files `names` under it stay in the dataset: a symlink that leads
    out of it (SQLite and the lock would write through it) is refused unless --follow-symlinks."""
    for rel in (LEDGER_DIR, *names):
        try:
            check_inside(Path(root) / rel, root, "describe ledger folder" if rel == LEDGER_DIR else "describe ledger file", use="use")
        except DataError as error:
            raise LedgerError(str(error)) from None


# -- lock ---------------------------------------------------------------------------------------
class DatasetLock:
    """One describe/curate run per dataset ledger at a time (an flock on `.langir/describe.lock`).

    Hand-written over `fcntl.flock` rather than `filelock` because the message must name the PID
    holding the lock; the kernel drops the lock when its process dies, kill -9 included.
    """

    def __init__(self, root: str | Path, wait: bool = False):
        self.path = Path(root) / LOCK_NAME
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self) -> DatasetLock:
        folder = self.path.parent
        check_state_inside(folder.parent, LOCK_NAME)
        if folder.exists() and not folder.is_dir():
            raise LedgerError(f"{folder}: is a file, not the folder for the describe ledger; {REPAIR_HINT}")
        ensure_dir(folder)  # read-only dataset, full disk: one OutputError naming the folder
        try:
            # a lock file, not data: it must stay the same inode, so no atomic replace here
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise LedgerError(f"{self.path}: cannot create the lock file ({error.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                os.close(fd)
                raise LedgerError(f"{self.path}: cannot lock ({error.strerror})") from None
            if not self.wait:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise LedgerError(
                    f"another langir describe/curate run (PID {pid}) is using {self.path.parent.parent}; "
                    "wait for it to finish, or pass --wait") from None
            fcntl.flock(fd, fcntl.LOCK_EX)
        with contextlib.suppress(OSError):  # the PID only names the holder in messages; a full disk may refuse it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None
