"""Ledger schema versions and migrations, corrupt/foreign ledgers, --repair, read-only --status/--dry-run, lock."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from langir.describe.ledger import SCHEMA_VERSION, DatasetLock
from tests.describe.describe_helpers import make_dataset

REPO = Path(__file__).resolve().parents[2]

# The ledger schema of langir before versioning (user_version 0), verbatim.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY, image_id TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, latency_s REAL, input_tokens INTEGER,
    output_tokens INTEGER, cost_usd REAL, raw_reply TEXT, text TEXT, error TEXT, batch_id TEXT, updated REAL
);
CREATE INDEX IF NOT EXISTS requests_image ON requests(image_id);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, provider TEXT NOT NULL, status TEXT NOT NULL, keys TEXT NOT NULL, created REAL
);
"""
OLD_COLUMNS = "key, image_id, provider, model, status, attempts, latency_s, input_tokens, output_tokens, cost_usd, raw_reply, text, error, batch_id, updated"


def _ledger(root: Path) -> Path:
    return root / ".langir" / "describe.sqlite"


def _downgrade(root: Path) -> None:
    """Rewrite the dataset's ledger as the old (pre-versioning) schema with the same rows."""
    path = _ledger(root)
    con = sqlite3.connect(path)
    rows = con.execute(f"SELECT {OLD_COLUMNS} FROM requests").fetchall()
    con.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    old.executemany(f"INSERT INTO requests ({OLD_COLUMNS}) VALUES ({','.join('?' * 15)})", rows)
    old.commit()
    assert old.execute("PRAGMA user_version").fetchone()[0] == 0
    old.close()


def test_old_ledger_opens_and_is_upgraded(tmp_path, cli):
    root = make_dataset(tmp_path / "ds", 4)
    assert cli("describe", root, "--provider", "template").code == 0
    texts = {p.name: p.read_text() for p in (root / "descriptions").iterdir()}
    _downgrade(root)
    before = _ledger(root).read_bytes()
    # --status reads an old ledger without changing it
    res = cli("describe", root, "--status", "--json")
    assert res.code == 0 and json.loads(res.stdout)["by_status"] == {"done": 4}
    assert _ledger(root).read_bytes() == before
    for p in (root / "descriptions").iterdir():
        p.unlink()
    res = cli("describe", root, "--provider", "template", "--json")
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["from_ledger"] == 4  # old answers are found under the old keys
    assert {p.name: p.read_text() for p in (root / "descriptions").iterdir()} == texts
    con = sqlite3.connect(_ledger(root))
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = {r[1] for r in con.execute("PRAGMA table_info(requests)")}
    assert {"attempt", "prompt_style", "prompt_digest", "current", "provider", "model", "status", "text", "cost_usd",
            "updated", "image_id"} <= columns
    assert con.execute("SELECT COUNT(*), SUM(current), SUM(attempt) FROM requests").fetchone() == (4, 4, 0)


def _garbage(root):
    _ledger(root).write_bytes(os.urandom(4096))


def _truncated(root):
    data = _ledger(root).read_bytes()
    _ledger(root).write_bytes(data[: len(data) // 2 + 100])


def _foreign(root):
    _ledger(root).unlink()
    con = sqlite3.connect(_ledger(root))
    con.execute("CREATE TABLE requests (key TEXT, what TEXT)")
    con.commit()
    con.close()


def _langir_is_a_file(root):
    import shutil

    shutil.rmtree(root / ".langir")
    (root / ".langir").write_text("not a folder")


def _ledger_is_a_folder(root):
    _ledger(root).unlink()
    _ledger(root).mkdir()


def _bad_batch_json(root):
    con = sqlite3.connect(_ledger(root))
    con.execute("INSERT INTO batches (batch_id, provider, status, keys, created) VALUES ('batch_1', 'openai', 'submitted', '{not json', 0)")
    con.commit()
    con.close()


KINDS = {"garbage": _garbage, "truncated": _truncated, "foreign": _foreign, "langir-file": _langir_is_a_file,
         "ledger-folder": _ledger_is_a_folder}


def _checkpointed(root):
    con = sqlite3.connect(_ledger(root))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for suffix in ("-wal", "-shm"):
        Path(str(_ledger(root)) + suffix).unlink(missing_ok=True)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_corrupt_ledger_is_one_line_then_repaired(tmp_path, cli, kind):
    root = make_dataset(tmp_path / "ds", 5)
    assert cli("describe", root, "--provider", "template").code == 0
    _checkpointed(root)
    KINDS[kind](root)
    descriptions = {p.name: p.read_bytes() for p in (root / "descriptions").iterdir()}
    for extra in (["--status"], ["--dry-run"], ["--overwrite"]):
        res = cli("describe", root, "--provider", "template", *extra)
        assert res.code == 2, (extra, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and ".langir" in lines[0] and "Traceback" not in res.stderr, (extra, res.stderr)
        assert "--repair" in lines[0] or kind == "langir-file" and "file" in lines[0]
    assert {p.name: p.read_bytes() for p in (root / "descriptions").iterdir()} == descriptions  # untouched
    res = cli("describe", root, "--provider", "template", "--repair", "--status", "--json")
    assert res.code == 0, res.stderr
    assert "moved aside" in res.stderr
    status = json.loads(res.stdout)
    assert status["by_status"] == {"done": 5} and status["current"] == 5
    moved = list((root).glob(".langir.corrupt-*")) + list((root / ".langir").glob("describe.sqlite.corrupt-*"))
    assert moved
    res = cli("describe", root, "--provider", "template", "--json")
    assert res.code == 0 and json.loads(res.stdout)["kept_existing"] == 5


def test_malformed_batch_json_is_one_line(tmp_path, cli, monkeypatch):
    root = make_dataset(tmp_path / "ds", 2)
    assert cli("describe", root, "--provider", "template").code == 0
    _bad_batch_json(root)
    from tests.describe.fake_server import FakeServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeServer() as fake:
        res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--batch", "--overwrite")
    assert res.code == 2 and "batch_1" in res.stderr and "describe.sqlite" in res.stderr
    assert len(res.stderr.strip().splitlines()) <= 2 and "Traceback" not in res.stderr  # notice + error


def test_status_and_dry_run_never_create_or_change_the_ledger(tmp_path, cli):
    root = make_dataset(tmp_path / "ds", 3)
    for extra in (["--status"], ["--dry-run", "--provider", "template"]):
        assert cli("describe", root, *extra).code == 0
    assert not (root / ".langir").exists() and not (root / "descriptions").exists()
    assert cli("describe", root, "--provider", "template").code == 0
    _checkpointed(root)
    snapshot = {p: p.read_bytes() for p in (root / ".langir").iterdir()}
    os.chmod(root / ".langir", 0o555)  # a read-only ledger folder still answers --status / --dry-run
    try:
        for extra in (["--status"], ["--dry-run", "--provider", "template", "--overwrite"]):
            res = cli("describe", root, *extra)
            assert res.code == 0, res.stderr
    finally:
        os.chmod(root / ".langir", 0o755)
    assert {p: p.read_bytes() for p in (root / ".langir").iterdir()} == snapshot


def test_second_run_exits_2_naming_the_pid(tmp_path, cli):
    root = make_dataset(tmp_path / "ds", 2)
    with DatasetLock(root):
        res = cli("describe", root, "--provider", "template")
        assert res.code == 2 and f"PID {os.getpid()}" in res.stderr and "--wait" in res.stderr
        assert not (root / "descriptions").exists()
        # --wait blocks until the holder is gone: run it in a subprocess and release after a moment
        proc = subprocess.Popen([sys.executable, "-m", "langir", "describe", str(root), "--provider", "template", "--wait"],
                                env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            proc.wait(timeout=3)
            raise AssertionError("--wait did not wait")
        except subprocess.TimeoutExpired:
            pass
    out, errs = proc.communicate(timeout=60)
    assert proc.returncode == 0, errs
    assert len(list((root / "descriptions").iterdir())) == 2


@pytest.mark.parametrize("link", [".langir", ".langir/describe.sqlite"])
def test_a_ledger_linked_out_of_the_set_is_refused_unless_followed(tmp_path, cli, link, monkeypatch):
    """SQLite and the lock write through a symlink: a `.langir` (or ledger) leading out of the set is one
    line and nothing is written there; `--follow-symlinks` (a set built from links) writes through it."""
    monkeypatch.setenv("LANGIR_FOLLOW_SYMLINKS", "")  # the in-process --follow-symlinks below sets it: undone after
    root = make_dataset(tmp_path / "ds", 3, size=(24, 24))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    if link == ".langir":
        (root / ".langir").symlink_to(outside)
    else:
        (root / ".langir").mkdir()
        (root / link).symlink_to(outside / "describe.sqlite")
    refused = cli("describe", root, "--provider", "template")
    assert refused.code == 2, refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "outside the dataset" in lines[0] and "--follow-symlinks" in lines[0], refused.stderr
    assert list(outside.iterdir()) == [] and not list((root / "descriptions").glob("*.txt"))
    status = cli("describe", root, "--status")  # reading through the link is refused the same way
    assert status.code == 2 and "outside the dataset" in status.stderr
    followed = cli("--follow-symlinks", "describe", root, "--provider", "template")
    assert followed.code == 0, followed.stderr
    assert (outside / "describe.sqlite").is_file() and len(list((root / "descriptions").glob("*.txt"))) == 3


def test_read_only_copy_sees_answers_still_in_the_wal_and_changes_nothing(tmp_path):
    """`describe --status` and the card's provenance read a ledger a run is writing (its answers still in the
    WAL) through one opener; the file and its WAL are left as they were (the -shm index is SQLite's own
    reader bookkeeping)."""
    from langir.curate.provenance import read_provenance
    from langir.describe.ledger import Ledger, read_only_copy

    root = tmp_path / "ds"
    writer = Ledger.for_dataset(root)
    writer.db.execute("PRAGMA wal_autocheckpoint=0")  # a run in progress: nothing checkpointed yet
    for i in range(3):
        writer.record(f"k{i}", f"img{i}", "openai", "gpt-4o", "done", text=f"answer {i}", cost_usd=0.01)
    folder = root / ".langir"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.endswith("-shm")}
    assert (folder / "describe.sqlite-wal").stat().st_size > 0
    copy = read_only_copy(folder / "describe.sqlite")
    assert copy.execute("SELECT count(*) FROM requests").fetchone()[0] == 3
    copy.close()
    found = read_provenance(root)
    assert sorted(found) == ["img0", "img1", "img2"] and found["img1"]["model"] == "gpt-4o"
    assert {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.endswith("-shm")} == before
    writer.close()
