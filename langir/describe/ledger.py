"""The describe ledger: one SQLite row per paid request, so re-runs make no repeat calls.

The request key hashes what decides the reply (image content, provider, model, prompt, sampling
parameters, and the attempt number when it is above 0) and leaves out how replies are validated,
so `--revalidate` can re-check stored raw replies under new rules without calling the API.
`request` is the key without the attempt: all attempts at one request share it. Every paid
answer is kept; `current = 1` marks the one the description file holds.

The schema and its migrations live in ledger_schema.py; a ledger that is not one raises
`LedgerError` with one line naming the path, and `repair` (lock.py) moves it aside and rebuilds a
ledger from the description files present.

The ledger is the durable record of every paid answer: WAL mode with `synchronous=FULL`, so a
commit survives a kill and a power loss alike (the WAL is fsynced at each commit). Description
files are copies written after the commit, without fsync (files.py). Each row is committed at
once, except inside `defer_commits` / `group` (the direct executor: one commit per event-loop tick
for every answer read in it, always before the answers' files are written; restoring cached
answers: one commit). `DatasetLock` (lock.py) keeps two runs from buying the same images at once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from langir.data.atomic import ensure_dir
from langir.describe.ledger_schema import (
    _COLUMNS,
    _SELECT,
    MIGRATIONS,
    SCHEMA_VERSION,
    BatchRecord,
    Row,
    _db_error,
    _quick_check,
    migrate,
)

# the dataset lock and the names it shares with the ledger live in lock.py (repair in repair.py); imported here so
# `from langir.describe.ledger import …` keeps working
from langir.describe.lock import (
    LEDGER_DIR,
    LEDGER_NAME,
    LOCK_NAME,
    REPAIR_HINT,
    DatasetLock,
    LedgerError,
    check_state_inside,
)


# -- keys ---------------------------------------------------------------------------------------
def request_key(image_sha: str, provider: str, model: str, prompt_digest: str, params: dict[str, Any]) -> str:
    """Stable key of one request (no validation settings in it, on purpose)."""
    blob = json.dumps([image_sha, provider, model, prompt_digest, params], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def attempt_key(request: str, attempt: int) -> str:
    """Key of attempt `attempt` at `request`: attempt 0 is the request key itself (older ledgers stay valid)."""
    if attempt == 0:
        return request
    return hashlib.sha256(f"{request}#{attempt}".encode()).hexdigest()[:32]


def read_only_copy(path: Path) -> sqlite3.Connection:
    """An in-memory copy of the ledger file at ``path`` as it is (not migrated; nothing on disk created or
    changed); an empty database when there is no file. Raises sqlite3.Error for a file that is not one.

    Without a -wal file the database is fully checkpointed and ``immutable=1`` reads it without creating
    side files; with one (a run in progress or killed) ``mode=ro`` must read the WAL too, and where the
    folder is read-only (SQLite cannot make the -shm file) the checkpointed part is what can be read.
    """
    memory = sqlite3.connect(":memory:", isolation_level=None)
    if not path.exists():
        return memory
    wal = path.with_name(path.name + "-wal").exists()
    failed: sqlite3.Error | None = None
    for flags in ("mode=ro", "mode=ro&immutable=1") if wal else ("mode=ro&immutable=1",):
        try:
            source = sqlite3.connect(f"{path.resolve().as_uri()}?{flags}", uri=True, timeout=30)
        except sqlite3.Error as error:
            failed = failed or error
            continue
        try:
            _quick_check(source)
            source.backup(memory)
            return memory
        except sqlite3.Error as error:
            failed = failed or error
        finally:
            source.close()
    memory.close()
    raise failed or sqlite3.DatabaseError(f"{path}: cannot be read")


@functools.lru_cache(maxsize=64)
def _upsert_sql(columns: tuple[str, ...]) -> str:
    """The insert-or-update of one row with these optional `columns` (a run uses a handful of sets)."""
    cols = ("key", "image_id", "provider", "model", "status", "updated", *columns)
    updates = ", ".join(f"{c}=excluded.{c}" for c in cols[1:])
    return (f"INSERT INTO requests ({','.join(cols)}) VALUES ({','.join('?' * len(cols))}) "
            f"ON CONFLICT(key) DO UPDATE SET {updates}")


class Ledger:
    """Thin wrapper over the SQLite file (one connection, used from the event-loop thread).

    `readonly=True` (for --status and --dry-run) never creates or changes anything on disk: the
    file is copied into memory and migrated there; a missing ledger is an empty in-memory one.
    """

    def __init__(self, path: str | Path, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self._planned: dict[str, dict[str, Any]] = {}
        self.run_id: str | None = None
        self._deferring = False
        try:
            self.db = self._open_readonly() if readonly else self._open_writable()
            migrate(self.db, self.path)
        except sqlite3.Error as error:
            raise _db_error(self.path, error) from None

    def _check_paths(self) -> None:
        parent = self.path.parent
        if parent.name == LEDGER_DIR:  # a dataset's ledger (not a copy elsewhere): it stays in the dataset
            check_state_inside(parent.parent, *(str(Path(LEDGER_DIR) / (self.path.name + end)) for end in ("", "-wal", "-shm")))
        if parent.exists() and not parent.is_dir():
            raise LedgerError(f"{parent}: is a file, not the folder for the describe ledger; {REPAIR_HINT}")
        if self.path.exists() and not self.path.is_file():
            raise LedgerError(f"{self.path}: is not a file (the describe ledger should be); {REPAIR_HINT}")

    def _open_writable(self) -> sqlite3.Connection:
        self._check_paths()
        ensure_dir(self.path.parent)  # read-only dataset, full disk: one OutputError naming the folder
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # the ledger is the durable record (see above)
            _quick_check(db)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _open_readonly(self) -> sqlite3.Connection:
        self._check_paths()
        return read_only_copy(self.path)

    @classmethod
    def for_dataset(cls, root: str | Path, readonly: bool = False) -> Ledger:
        return cls(Path(root) / LEDGER_NAME, readonly)

    def close(self) -> None:
        self.db.close()

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, tuple(params))
        except sqlite3.Error as error:
            raise _db_error(self.path, error) from None

    # -- reading -----------------------------------------------------------------------------
    def get(self, key: str) -> Row | None:
        found = self._exec(f"{_SELECT} WHERE key=?", (key,)).fetchone()
        return Row(*found) if found else None

    def by_request(self, requests: list[str]) -> dict[str, list[Row]]:
        """Every row of each request (all attempts), oldest attempt first."""
        found: dict[str, list[Row]] = {}
        for i in range(0, len(requests), 500):
            chunk = requests[i : i + 500]
            cur = self._exec(f"{_SELECT} WHERE request IN ({','.join('?' * len(chunk))}) ORDER BY attempt", chunk)
            for r in cur.fetchall():
                row = Row(*r)
                found.setdefault(row.request or row.key, []).append(row)
        return found

    def rows(self) -> list[Row]:
        return [Row(*r) for r in self._exec(_SELECT).fetchall()]

    def current_many(self, image_ids: list[str]) -> dict[str, Row]:
        """The current answer (the one the file holds) of each image that has one."""
        found: dict[str, Row] = {}
        for i in range(0, len(image_ids), 500):
            chunk = image_ids[i : i + 500]
            cur = self._exec(f"{_SELECT} WHERE current=1 AND image_id IN ({','.join('?' * len(chunk))})", chunk)
            found.update({r[1]: Row(*r) for r in cur.fetchall()})
        return found

    def current(self, image_id: str) -> Row | None:
        found = self._exec(f"{_SELECT} WHERE image_id=? AND current=1", (image_id,)).fetchone()
        return Row(*found) if found else None

    # -- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._deferring:  # joins the open group; `flush` commits it
            if not self.db.in_transaction:
                self._exec("BEGIN IMMEDIATE")
            yield
            return
        self._exec("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise
        self._exec("COMMIT")

    def defer_commits(self, on: bool = True) -> None:
        """Group writes into one commit per `flush` (the direct executor flushes once per event-loop
        tick: one commit for every answer read in that tick, ≈ 1 ms CPU an answer saved). Off: flush now."""
        if not on:
            self.flush()
        self._deferring = on

    @contextlib.contextmanager
    def group(self) -> Iterator[None]:
        """Writes inside commit once, at the end (and are rolled back by an error)."""
        if self._deferring:  # already grouped by the caller
            yield
            return
        self._deferring = True
        try:
            yield
        except BaseException:
            self._deferring = False
            if self.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            raise
        self._deferring = False
        self.flush()

    def flush(self) -> None:
        """Commit the open group of writes (no-op when none is open)."""
        if self.db.in_transaction:
            self._exec("COMMIT")

    def plan(self, key: str, **fields: Any) -> None:
        """Remember (in memory only) the provenance of a planned request: `record` fills it in.

        So a writer that knows only the key (the batch path) still stores its attempt, request and
        prompt, and a resumed run finds the answer under its request.
        """
        self._planned[key] = {k: v for k, v in fields.items() if k in _COLUMNS}

    def record(self, key: str, image_id: str, provider: str, model: str, status: str, **fields: Any) -> None:
        """Insert or update one request row and commit (a kill right after keeps it).

        A `done` row becomes the current answer of its image (the one the file holds) unless
        `current=0` is passed; the image's other rows stop being current.
        """
        fields = {**self._planned.get(key, {}), **{k: v for k, v in fields.items() if k in _COLUMNS}}
        if status == "done":
            fields.setdefault("current", 1)
        fields.setdefault("request", key)
        if self.run_id:
            fields.setdefault("run_id", self.run_id)
        vals = (key, image_id, provider, model, status, time.time(), *fields.values())
        with self.transaction():
            self._exec(_upsert_sql(tuple(fields)), vals)
            if fields.get("current") == 1:
                self._exec("UPDATE requests SET current=0 WHERE image_id=? AND key<>?", (image_id, key))

    def set_current(self, key: str, image_id: str) -> None:
        """Mark the answer the description file now holds."""
        with self.transaction():
            self._exec("UPDATE requests SET current=(key=?) WHERE image_id=?", (key, image_id))

    def set_status(self, key: str, status: str, error: str | None) -> None:
        self._exec("UPDATE requests SET status=?, error=? WHERE key=?", (status, error, key))

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, provider: str, model: str, mode: str) -> str:
        """Open a run: every row recorded from now on carries its id (spend per run in --status)."""
        import uuid

        self.run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self._exec("INSERT INTO runs (run_id, started, provider, model, mode) VALUES (?,?,?,?,?)",
                   (self.run_id, time.time(), provider, model, mode))
        return self.run_id

    def finish_run(self) -> None:
        if self.run_id:
            self._exec("UPDATE runs SET finished=? WHERE run_id=?", (time.time(), self.run_id))

    # -- batches -------------------------------------------------------------------------------
    def add_batch(self, batch_id: str, provider: str, keys: list[str]) -> None:
        self._exec("INSERT OR REPLACE INTO batches (batch_id, provider, status, keys, created) VALUES (?,?,?,?,?)",
                   (batch_id, provider, "submitted", json.dumps(keys), time.time()))

    def batch_intent(self, tag: str, provider: str, model: str, items: dict[str, tuple[str, str, int]],
                     prefix: str | None = None) -> None:
        """Write-ahead: record a batch about to be created (before the create call), committed at once."""
        self._exec("INSERT INTO batches (batch_id, provider, status, keys, created, tag, model, items, run_id, prefix) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (f"intent:{tag}", provider, "intent", json.dumps(list(items)), time.time(), tag, model,
                    json.dumps(items), self.run_id, prefix))

    def batch_created(self, tag: str, batch_id: str) -> None:
        """The provider accepted the intent `tag` as `batch_id`."""
        self._exec("UPDATE batches SET batch_id=?, status='submitted' WHERE tag=?", (batch_id, tag))

    def drop_intent(self, tag: str) -> None:
        """The provider says no batch with `tag` exists: the intent was never submitted."""
        self._exec("DELETE FROM batches WHERE tag=? AND status='intent'", (tag,))

    def pending_batches(self, provider: str) -> list[BatchRecord]:
        """Intents and submitted batches of `provider` not fetched yet, oldest first."""
        found = []
        for batch_id, status, keys, tag, prefix, model, created, items in self._exec(
                "SELECT batch_id, status, keys, tag, prefix, model, created, items FROM batches "
                "WHERE provider=? AND status IN ('intent','submitted') ORDER BY created", (provider,)):
            try:
                parsed = json.loads(keys)
                if not isinstance(parsed, list) or not all(isinstance(k, str) for k in parsed):
                    raise ValueError("not a list of keys")
                table = {k: (v[0], v[1], int(v[2])) for k, v in json.loads(items).items()} if items else None
            except (ValueError, TypeError, IndexError, AttributeError) as error:
                raise LedgerError(f"{self.path}: batch {batch_id} has malformed keys ({error}); {REPAIR_HINT}") from None
            found.append(BatchRecord(batch_id, provider, status, parsed, tag, prefix, model, created, table))
        return found

    def open_batches(self, provider: str) -> list[tuple[str, list[str]]]:
        """Submitted batches not fetched yet as (batch_id, keys) (intents left out)."""
        return [(b.batch_id, b.keys) for b in self.pending_batches(provider) if not b.is_intent]

    def close_batch(self, batch_id: str, status: str = "fetched") -> None:
        self._exec("UPDATE batches SET status=? WHERE batch_id=?", (status, batch_id))

    # -- redo intents --------------------------------------------------------------------------
    def redo_floor(self, request: str, image_id: str, attempt_now: int) -> int:
        """The attempt a --redo of `request` starts after: kept from an unfinished redo (a killed run),
        else `attempt_now - 1` (answers from attempt `attempt_now` on belong to this redo)."""
        found = self._exec("SELECT after_attempt FROM redos WHERE request=?", (request,)).fetchone()
        if found:
            return int(found[0])
        self._exec("INSERT INTO redos VALUES (?,?,?,?)", (request, image_id, attempt_now - 1, time.time()))
        return attempt_now - 1

    def redo_pending(self, requests: list[str]) -> dict[str, int]:
        """Unfinished redos among `requests`: request → the attempt they start after."""
        found: dict[str, int] = {}
        for i in range(0, len(requests), 500):
            chunk = requests[i : i + 500]
            cur = self._exec(f"SELECT request, after_attempt FROM redos WHERE request IN ({','.join('?' * len(chunk))})", chunk)
            found.update({r: int(a) for r, a in cur.fetchall()})
        return found

    def finish_redo(self, request: str) -> None:
        self._exec("DELETE FROM redos WHERE request=?", (request,))

    def summary(self) -> dict[str, Any]:
        """Counts by status and provider/model, tokens, cost, and the failures with reasons."""
        cur = self._exec(
            "SELECT provider, model, status, COUNT(*), SUM(attempts), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd) "
            "FROM requests GROUP BY provider, model, status"
        )
        groups = []
        by_status: Counter = Counter()
        total_cost = 0.0
        for provider, model, status, n, attempts, tin, tout, cost in cur.fetchall():
            groups.append(
                {"provider": provider, "model": model, "status": status, "requests": n, "attempts": attempts or 0,
                 "input_tokens": tin or 0, "output_tokens": tout or 0, "cost_usd": round(cost or 0.0, 6)}
            )
            by_status[status] += n
            total_cost += cost or 0.0
        # an image fails when no answer is current; its newest failed/invalid row says why
        newest: dict[str, tuple[int, str, str | None]] = {}
        for image_id, status, error, attempt in self._exec(
            "SELECT image_id, status, error, attempt FROM requests r WHERE status IN ('failed','invalid') "
            "AND NOT EXISTS (SELECT 1 FROM requests c WHERE c.image_id=r.image_id AND c.current=1)"
        ).fetchall():
            if image_id not in newest or attempt >= newest[image_id][0]:
                newest[image_id] = (attempt, status, error)
        failures = [{"id": i, "status": s, "error": e} for i, (_, s, e) in sorted(newest.items())]
        batches = [
            {"batch_id": b, "provider": p, "status": s, "requests": len(json.loads(k or "[]")), "tag": t}
            for b, p, s, k, t in self._exec("SELECT batch_id, provider, status, keys, tag FROM batches").fetchall()
        ]
        current = self._exec("SELECT COUNT(*) FROM requests WHERE current=1").fetchone()[0]
        return {"ledger": str(self.path), "schema_version": SCHEMA_VERSION, "by_status": dict(by_status), "groups": groups,
                "current": current, "cost_usd": round(total_cost, 6), "failures": failures, "batches": batches,
                "in_flight": [b for b in batches if b["status"] in ("intent", "submitted")],
                "runs": self._spend_by_run(), "by_model": self._spend_by_model()}

    def _spend_by_run(self) -> list[dict[str, Any]]:
        """Spend per run (rows carry their run id; rows older than runs fall under run None)."""
        cur = self._exec(
            "SELECT r.run_id, u.started, u.mode, COALESCE(u.provider, MIN(r.provider)), COALESCE(u.model, MIN(r.model)), "
            "COUNT(*), SUM(CASE WHEN r.status IN ('done','invalid') THEN 1 ELSE 0 END), SUM(r.cost_usd) "
            "FROM requests r LEFT JOIN runs u ON u.run_id = r.run_id GROUP BY r.run_id ORDER BY u.started")
        return [{"run_id": run, "started": started, "mode": mode, "provider": p, "model": m, "rows": n, "answers": paid or 0,
                 "cost_usd": round(c or 0.0, 6)} for run, started, mode, p, m, n, paid, c in cur.fetchall()]

    def _spend_by_model(self) -> list[dict[str, Any]]:
        cur = self._exec("SELECT provider, model, SUM(CASE WHEN status IN ('done','invalid') THEN 1 ELSE 0 END), "
                         "SUM(cost_usd) FROM requests GROUP BY provider, model ORDER BY provider, model")
        return [{"provider": p, "model": m, "answers": n or 0, "cost_usd": round(c or 0.0, 6)} for p, m, n, c in cur.fetchall()]


__all__ = ["LEDGER_DIR", "LEDGER_NAME", "LOCK_NAME", "MIGRATIONS", "REPAIR_HINT", "SCHEMA_VERSION", "BatchRecord",
           "DatasetLock", "Ledger", "LedgerError", "Row", "attempt_key", "migrate", "request_key"]
