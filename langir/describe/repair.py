"""Moving a broken describe ledger aside and rebuilding it from the description files."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from langir.describe.ledger import Ledger
from langir.describe.lock import LEDGER_DIR, LEDGER_NAME, LedgerError


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
