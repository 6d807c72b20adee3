"""Moving a broken describe ledger aside and rebuilding it, and the one-run-per-dataset lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from langir.data.atomic import ensure_dir
from langir.errors import LangirError

LEDGER_DIR = ".langir"
LEDGER_NAME = ".langir/describe.sqlite"
LOCK_NAME = ".langir/describe.lock"
REPAIR_HINT = "run again with --repair to move it aside and rebuild it from the description files"


class LedgerError(LangirError):
    """The ledger cannot be used: corrupt, foreign, unwritable, or locked by another run."""




# -- repair -------------------------------------------------------------------------------------
def repair(root: str | Path, descriptions: Callable[[], Iterable[tuple[str, str]]]) -> tuple[list[Path], int]:
    """Move a broken ledger aside (`describe.sqlite.corrupt-<date>`) and rebuild it.

    `descriptions` yields (id, text) of the description files present; each becomes a `restored`
    done row, so the provenance of what is on disk stays answerable. Returns (moved paths, rows).
    """
    try:
        return _repair(Path(root), descriptions)
    except OSError as error:  # a read-only or full dataset: one line naming the path, nothing half-moved matters
        raise LedgerError(f"{error.filename or Path(root) / LEDGER_DIR}: cannot repair the describe ledger "
                          f"({error.strerror or error})") from None


def _repair(root: Path, descriptions: Callable[[], Iterable[tuple[str, str]]]) -> tuple[list[Path], int]:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved: list[Path] = []
    folder = root / LEDGER_DIR
    if folder.exists() and not folder.is_dir():
        target = folder.with_name(f"{folder.name}.corrupt-{stamp}")
        os.replace(folder, target)
        moved.append(target)
    path = root / LEDGER_NAME
    if path.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        os.replace(path, target)
        moved.append(target)
        for suffix in ("-wal", "-shm"):  # keep SQLite's side files with their database
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
    from langir.describe.ledger import Ledger  # the ledger imports this module

    ledger = Ledger(path)
    n = 0
    try:
        with ledger.group():  # one commit for all rows (each commit is fsynced)
            for image_id, text in descriptions():
                ledger.record(f"restored:{image_id}", image_id, "restored", "unknown", "done", text=text, attempt=0,
                              request=f"restored:{image_id}", prompt_style="restored", current=1, cost_usd=0.0)
                n += 1
    finally:
        ledger.close()
    return moved, n


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
