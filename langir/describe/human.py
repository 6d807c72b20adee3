"""Every write `langir review` makes, and the reads other commands need from it.

- a person's text: the description file is replaced atomically and the ledger gets a `done` row
  from provider/model ``person`` (prompt style ``human``) that becomes current; earlier answers
  stay in the ledger (a file text no ledger row holds is first kept as a ``restored`` row);
- an acceptance: a person approves one exact text (by its SHA-256) in the table
  ``review_accepts``; a new text is not accepted until accepted again;
- a queued re-ask: ``review_redo`` lists ids for ``langir describe --redo review``; an id leaves
  the queue once its current answer is newer than the queueing.

The two tables live in the describe ledger with their own version table (``review_schema``), so
they migrate like the ledger does without touching its `PRAGMA user_version`.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from langir.data.answer_targets import remove_targets
from langir.data.dataset import LangIRDataset
from langir.describe.ledger import LEDGER_NAME, Ledger, LedgerError
from langir.errors import ConfigError

PERSON = "person"
HUMAN_STYLE = "human"
MAX_TEXT_CHARS = 4000


def _r001_tables(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS review_accepts (image_id TEXT PRIMARY KEY, text_sha TEXT NOT NULL, "
               "text TEXT, who TEXT NOT NULL, at REAL NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS review_redo (image_id TEXT PRIMARY KEY, at REAL NOT NULL)")


REVIEW_MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_r001_tables]


def migrate_review(ledger: Ledger) -> None:
    """Create or upgrade the review tables (idempotent; versioned in `review_schema`)."""
    db = ledger.db
    with ledger.transaction():
        db.execute("CREATE TABLE IF NOT EXISTS review_schema (version INTEGER NOT NULL)")
        row = db.execute("SELECT version FROM review_schema").fetchone()
        version = row[0] if row else 0
        for number, step in enumerate(REVIEW_MIGRATIONS[version:], start=version + 1):
            step(db)
            db.execute("DELETE FROM review_schema")
            db.execute("INSERT INTO review_schema VALUES (?)", (number,))


def text_sha(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()


def open_ledger(root: str | Path, readonly: bool = False) -> Ledger:
    """The dataset's ledger with the review tables in place."""
    ledger = Ledger.for_dataset(root, readonly=readonly)
    try:
        migrate_review(ledger)
    except sqlite3.Error as error:
        ledger.close()
        raise LedgerError(f"{ledger.path}: cannot add the review tables ({error})") from None
    return ledger


def save_text(ds: LangIRDataset, ledger: Ledger, sample_id: str, text: str) -> Path:
    """Write a person's text for `sample_id` (file atomically, ledger row current); returns the file."""
    text = " ".join(text.split())
    if not text:
        raise ConfigError("the text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(f"the text is longer than {MAX_TEXT_CHARS} characters")
    previous = None
    with contextlib.suppress(Exception):  # an unreadable old file is simply replaced
        previous = ds.read_description(sample_id)
    current = ledger.current(sample_id)
    if previous and (current is None or (current.text or "").strip() != previous):
        # the file held a text no ledger row has (written by hand): keep it, as `describe --repair` restores files
        key = f"restored:{sample_id}:{time.time_ns()}"
        ledger.record(key, sample_id, "restored", "unknown", "done", text=previous, attempt=0,
                      request=key, prompt_style="restored", current=1, cost_usd=0.0)
    path = ds.write_description(sample_id, text, overwrite=True)
    remove_targets(ds.root, sample_id)  # positions of a VLM's structured answer no longer describe this text
    key = f"person:{sample_id}:{time.time_ns()}"
    ledger.record(key, sample_id, PERSON, PERSON, "done", text=text, attempt=0, request=key,
                  prompt_style=HUMAN_STYLE, cost_usd=0.0)
    return path  # type: ignore[return-value]


def accept(ledger: Ledger, sample_id: str, text: str) -> None:
    """A person accepts this exact text of `sample_id` (a debatable one validate would flag)."""
    with ledger.transaction():
        ledger.db.execute("INSERT OR REPLACE INTO review_accepts VALUES (?,?,?,?,?)",
                          (sample_id, text_sha(text), text.strip(), PERSON, time.time()))


def queue_redo(ledger: Ledger, sample_id: str) -> None:
    """Queue `sample_id` for `langir describe --redo review`."""
    with ledger.transaction():
        ledger.db.execute("INSERT OR REPLACE INTO review_redo VALUES (?,?)", (sample_id, time.time()))


def _read(root: str | Path, sql: str) -> list[tuple]:
    """Rows of a review table from a read-only copy of the ledger; [] without a ledger or table."""
    if not (Path(root) / LEDGER_NAME).is_file():
        return []
    try:
        ledger = Ledger.for_dataset(root, readonly=True)
    except LedgerError:
        return []
    try:
        return ledger.db.execute(sql).fetchall()
    except sqlite3.Error:  # no review tables yet
        return []
    finally:
        ledger.close()


def accepted(root: str | Path) -> dict[str, str]:
    """Id → SHA-256 of the text a person accepted."""
    return {i: sha for i, sha in _read(root, "SELECT image_id, text_sha FROM review_accepts")}


def queued_ids(root: str | Path) -> list[str]:
    """Ids queued for a re-ask whose current answer is older than the queueing, oldest queued first."""
    rows = _read(root, "SELECT q.image_id FROM review_redo q LEFT JOIN requests r ON r.image_id = q.image_id "
                       "AND r.current = 1 WHERE r.updated IS NULL OR r.updated < q.at ORDER BY q.at, q.image_id")
    return [r[0] for r in rows]


def mark_accepted(root: str | Path, table) -> None:
    """validate's hook: rows whose text a person accepted get `accepted` = True and count as passing."""
    sha = accepted(root)
    table["accepted"] = [bool(sha) and i in sha and d != "" and text_sha(d) == sha[i]
                         for i, d in zip(table["id"], table["description"], strict=True)]
    table.loc[table["accepted"], "ok"] = True


def accepted_by(root: str | Path, texts: dict[str, str] | None) -> dict[str, str]:
    """Id → who accepted its current text (for the provenance of `pack`)."""
    sha = accepted(root)
    return {i: PERSON for i, s in sha.items() if texts and i in texts and text_sha(texts[i]) == s}


def accepted_ids(table) -> list[str]:
    """Ids of a validate table that pass because a person accepted their text."""
    if "accepted" not in table:
        return []
    return table.loc[table["accepted"].astype(bool), "id"].tolist()
