"""The describe ledger's SQLite schema: its migrations, the row types and how its errors read.

The schema carries a version (`PRAGMA user_version`) and is brought up to date by an ordered list
of migration functions, as `llm`'s migrations.py does: a ledger written by an older langir opens
and is upgraded in place. A file that is not a ledger (garbage, truncated, another program's
database, a folder) raises `LedgerError` with one line naming the path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langir.describe.lock import REPAIR_HINT, LedgerError


# -- migrations ---------------------------------------------------------------------------------
def _m001_initial(db: sqlite3.Connection) -> None:
    """The schema of langir ≤ 0.1 (ledgers written before versioning have user_version 0 and it)."""
    # one statement at a time: executescript would COMMIT the migration's transaction early
    for statement in _INITIAL.split(";"):
        if statement.strip():
            db.execute(statement)


_INITIAL = """
    CREATE TABLE IF NOT EXISTS requests (
        key TEXT PRIMARY KEY,
        image_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        status TEXT NOT NULL,            -- pending | done | invalid | failed | batched
        attempts INTEGER NOT NULL DEFAULT 0,
        latency_s REAL,
        input_tokens INTEGER,
        output_tokens INTEGER,
        cost_usd REAL,
        raw_reply TEXT,
        text TEXT,
        error TEXT,
        batch_id TEXT,
        updated REAL
    );
    CREATE INDEX IF NOT EXISTS requests_image ON requests(image_id);
    CREATE TABLE IF NOT EXISTS batches (
        batch_id TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        status TEXT NOT NULL,
        keys TEXT NOT NULL,
        created REAL
    )
"""


def _m002_attempts(db: sqlite3.Connection) -> None:
    """Attempts, prompt provenance and which answer the description file holds."""
    for column in ("attempt INTEGER NOT NULL DEFAULT 0", "prompt_style TEXT", "prompt_digest TEXT",
                   "current INTEGER NOT NULL DEFAULT 0", "request TEXT"):
        db.execute(f"ALTER TABLE requests ADD COLUMN {column}")
    db.execute("UPDATE requests SET request = key")
    # Before versioning a done row was what the file held; with several, the newest one.
    db.execute("""
        UPDATE requests SET current = 1 WHERE status = 'done' AND key IN (
            SELECT key FROM requests r WHERE r.status = 'done' AND r.updated = (
                SELECT MAX(updated) FROM requests q WHERE q.image_id = r.image_id AND q.status = 'done'))
    """)
    db.execute("CREATE INDEX IF NOT EXISTS requests_request ON requests(request)")


def _m003_runs_and_intents(db: sqlite3.Connection) -> None:
    """Runs (spend per run), write-ahead batch intents (tag, items) and redo intents.

    A batch row now exists *before* its create call (status `intent`, `batch_id` = "intent:TAG"):
    a run killed between the call and its reply finds the batch again by its tag.
    """
    db.execute("ALTER TABLE requests ADD COLUMN run_id TEXT")
    for column in ("tag TEXT", "model TEXT", "items TEXT", "run_id TEXT", "prefix TEXT"):
        db.execute(f"ALTER TABLE batches ADD COLUMN {column}")
    db.execute("CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, started REAL, provider TEXT, model TEXT, "
               "mode TEXT, finished REAL)")
    # a --redo asks anew once: the attempt it starts after is kept until the redo is answered,
    # so a re-run after a kill continues it instead of buying yet another answer
    db.execute("CREATE TABLE IF NOT EXISTS redos (request TEXT PRIMARY KEY, image_id TEXT, after_attempt INTEGER, "
               "created REAL)")
    db.execute("CREATE INDEX IF NOT EXISTS requests_run ON requests(run_id)")


def _m004_sent_size(db: sqlite3.Connection) -> None:
    """The width and height of the image as the request carried it (after --max-side and the provider's
    limit): a model that answers in pixels answers in these, so `validate` judges its numbers on them."""
    for column in ("sent_width INTEGER", "sent_height INTEGER"):
        db.execute(f"ALTER TABLE requests ADD COLUMN {column}")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_m001_initial, _m002_attempts, _m003_runs_and_intents,
                                                          _m004_sent_size]
SCHEMA_VERSION = len(MIGRATIONS)
_OLD_COLUMNS = {"key", "image_id", "provider", "model", "status", "attempts", "text", "error", "cost_usd", "updated"}


def _check_foreign(db: sqlite3.Connection, path: Path) -> None:
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return
    if "requests" not in tables:
        raise LedgerError(f"{path}: not a langir describe ledger (tables: {', '.join(sorted(tables))}); {REPAIR_HINT}")
    columns = {r[1] for r in db.execute("PRAGMA table_info(requests)")}
    missing = sorted(_OLD_COLUMNS - columns)
    if missing:
        raise LedgerError(f"{path}: not a langir describe ledger (no column {', '.join(missing)}); {REPAIR_HINT}")


def migrate(db: sqlite3.Connection, path: Path) -> int:
    """Bring the schema up to date; returns the number of migrations applied."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise LedgerError(f"{path}: ledger schema version {version} is newer than this langir knows ({SCHEMA_VERSION}); upgrade langir")
    _check_foreign(db, path)
    applied = 0
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied += 1
    return applied


@dataclass
class Row:
    key: str
    image_id: str
    status: str
    attempts: int
    raw_reply: str | None
    text: str | None
    error: str | None
    cost_usd: float | None
    batch_id: str | None
    attempt: int = 0
    request: str | None = None
    current: int = 0
    prompt_style: str | None = None
    provider: str | None = None
    model: str | None = None
    updated: float | None = None
    sent_width: int | None = None
    sent_height: int | None = None

    @property
    def sent_size(self) -> tuple[int, int] | None:
        """(W, H) of the image as sent, None when unknown (a ledger older than the column, a template row)."""
        return (self.sent_width, self.sent_height) if self.sent_width and self.sent_height else None


_SELECT = ("SELECT key, image_id, status, attempts, raw_reply, text, error, cost_usd, batch_id, attempt, request, current, "
           "prompt_style, provider, model, updated, sent_width, sent_height FROM requests")
_COLUMNS = {"attempts", "latency_s", "input_tokens", "output_tokens", "cost_usd", "raw_reply", "text", "error", "batch_id",
            "attempt", "prompt_style", "prompt_digest", "current", "request", "run_id", "sent_width", "sent_height"}


@dataclass
class BatchRecord:
    """One submitted (or about to be submitted) batch: `items` maps key → (image_id, request, attempt)."""

    batch_id: str
    provider: str
    status: str  # intent | submitted | fetched | failed
    keys: list[str]
    tag: str | None = None
    prefix: str | None = None
    model: str | None = None
    created: float | None = None
    items: dict[str, tuple[str, str, int]] | None = None

    @property
    def is_intent(self) -> bool:
        return self.status == "intent"


def _db_error(path: Path, error: Exception) -> LedgerError:
    text = str(error)
    corrupt = isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError)
    if corrupt or any(s in text for s in ("not a database", "malformed", "no such column", "no such table")):
        return LedgerError(f"{path}: describe ledger is corrupt or not a langir ledger ({text}); {REPAIR_HINT}")
    return LedgerError(f"{path}: cannot use the describe ledger ({text})")


def _quick_check(db: sqlite3.Connection) -> None:
    """Garbage and truncated files fail here, not in the middle of a run."""
    result = db.execute("PRAGMA quick_check").fetchone()
    if result and result[0] != "ok":
        raise sqlite3.DatabaseError(f"database disk image is malformed: {result[0]}")
