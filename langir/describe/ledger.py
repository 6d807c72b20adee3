"""The describe ledger: one SQLite row per request key, so re-runs make no repeat calls.

The request key hashes what decides the reply (image content, provider, model, prompt, sampling
parameters) and leaves out how replies are validated, so `--revalidate` can re-check stored raw
replies under new rules without calling the API. WAL mode lets a killed run leave a consistent
file; each finished request is committed at once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEDGER_NAME = ".langir/describe.sqlite"

_SCHEMA = """
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
);
"""


def request_key(image_sha: str, provider: str, model: str, prompt_digest: str, params: dict[str, Any]) -> str:
    """Stable key of one request (no validation settings in it, on purpose)."""
    blob = json.dumps([image_sha, provider, model, prompt_digest, params], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


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


class Ledger:
    """Thin wrapper over the SQLite file (one connection, used from the event-loop thread)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    @classmethod
    def for_dataset(cls, root: str | Path) -> Ledger:
        return cls(Path(root) / LEDGER_NAME)

    def close(self) -> None:
        self.db.close()

    def get(self, key: str) -> Row | None:
        cur = self.db.execute(
            "SELECT key, image_id, status, attempts, raw_reply, text, error, cost_usd, batch_id FROM requests WHERE key=?", (key,)
        )
        found = cur.fetchone()
        return Row(*found) if found else None

    def get_many(self, keys: list[str]) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            cur = self.db.execute(
                "SELECT key, image_id, status, attempts, raw_reply, text, error, cost_usd, batch_id FROM requests "
                f"WHERE key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            rows.update({r[0]: Row(*r) for r in cur.fetchall()})
        return rows

    def record(self, key: str, image_id: str, provider: str, model: str, status: str, **fields: Any) -> None:
        """Insert or update one request row and commit (a kill right after keeps it)."""
        fields = {k: v for k, v in fields.items() if k in _COLUMNS}
        cols = ["key", "image_id", "provider", "model", "status", "updated", *fields]
        vals = [key, image_id, provider, model, status, time.time(), *fields.values()]
        updates = ", ".join(f"{c}=excluded.{c}" for c in cols[1:])
        self.db.execute(
            f"INSERT INTO requests ({','.join(cols)}) VALUES ({','.join('?' * len(cols))}) "
            f"ON CONFLICT(key) DO UPDATE SET {updates}",
            vals,
        )

    def add_batch(self, batch_id: str, provider: str, keys: list[str]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO batches VALUES (?,?,?,?,?)", (batch_id, provider, "submitted", json.dumps(keys), time.time())
        )

    def open_batches(self, provider: str) -> list[tuple[str, list[str]]]:
        cur = self.db.execute("SELECT batch_id, keys FROM batches WHERE provider=? AND status='submitted'", (provider,))
        return [(b, json.loads(k)) for b, k in cur.fetchall()]

    def close_batch(self, batch_id: str, status: str = "fetched") -> None:
        self.db.execute("UPDATE batches SET status=? WHERE batch_id=?", (status, batch_id))

    def rows(self) -> list[Row]:
        cur = self.db.execute("SELECT key, image_id, status, attempts, raw_reply, text, error, cost_usd, batch_id FROM requests")
        return [Row(*r) for r in cur.fetchall()]

    def summary(self) -> dict[str, Any]:
        """Counts by status and provider/model, tokens, cost, and the failures with reasons."""
        cur = self.db.execute(
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
        failures = [
            {"id": r[0], "status": r[1], "error": r[2]}
            for r in self.db.execute(
                "SELECT image_id, status, error FROM requests WHERE status IN ('failed','invalid') ORDER BY image_id"
            ).fetchall()
        ]
        batches = [
            {"batch_id": b, "provider": p, "status": s}
            for b, p, s in self.db.execute("SELECT batch_id, provider, status FROM batches").fetchall()
        ]
        return {"ledger": str(self.path), "by_status": dict(by_status), "groups": groups,
                "cost_usd": round(total_cost, 6), "failures": failures, "batches": batches}


_COLUMNS = {"attempts", "latency_s", "input_tokens", "output_tokens", "cost_usd", "raw_reply", "text", "error", "batch_id"}
