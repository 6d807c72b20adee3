"""Description files are copies of durable ledger rows: written without fsync, rebuilt without a call.

After a power loss an unsynced file can be missing, empty or zero-filled (its data never reached the
disk while the rename did); the ledger row, committed with synchronous=FULL before the file was
written, is not lost. The next run rewrites such files from the ledger and buys nothing.
"""

from __future__ import annotations

import os
import sqlite3
import time

from langir.data.dataset import LangIRDataset
from langir.describe.ledger import Ledger
from langir.describe.prompts import load_prompt
from langir.describe.providers import choose_provider, make_provider
from langir.describe.runner import DescribeOptions, RetryPolicy, describe_dataset
from tests.describe.describe_helpers import SECRET, make_dataset
from tests.describe.fake_server import VALID_TEXT, FakeServer


def _run(root, url, **opts):
    ds = LangIRDataset.open(root)
    provider = make_provider(choose_provider("openai"), base_url=url, timeout=5)
    ledger = Ledger.for_dataset(root)
    try:
        return describe_dataset(ds, ds.all_ids(), provider, load_prompt("system"),
                                DescribeOptions(retry=RetryPolicy(initial=0.01), concurrency=4, **opts), ledger)
    finally:
        ledger.close()


def test_files_lost_or_torn_by_a_crash_are_rebuilt_without_a_call(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    root = make_dataset(tmp_path / "ds", 5)
    with FakeServer() as fake:
        assert _run(root, fake.openai_url)["described"] == 5
        files = sorted((root / "descriptions").glob("*.txt"))
        assert len(files) == 5
        later = time.time() + 60  # a crash leaves whatever time the inode got: newer than the ledger row
        missing, empty, zeros, edited, intact = files
        missing.unlink()
        empty.write_bytes(b"")
        zeros.write_bytes(b"\0" * len(zeros.read_bytes()))
        edited.write_text("A person rewrote this description by hand.\n")
        for path in (empty, zeros, edited):
            os.utime(path, (later, later))
        before = fake.api.model_requests
        summary = _run(root, fake.openai_url)
        assert fake.api.model_requests == before  # nothing bought again
    assert summary["from_ledger"] == 1 and summary["kept_existing"] == 4
    for path in (missing, empty, zeros, intact):
        assert path.read_text() == VALID_TEXT + "\n", path.name
    assert edited.read_text() == "A person rewrote this description by hand.\n"  # a real edit is kept


def test_ledger_is_the_durable_record_and_files_are_not_fsynced(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    root = make_dataset(tmp_path / "ds", 4)
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    with FakeServer() as fake:
        assert _run(root, fake.openai_url)["described"] == 4
    assert synced == []  # no fsync per description file (two per answer before)
    ledger = Ledger.for_dataset(root)
    try:  # each commit of the ledger (one per group of answers) is fsynced by SQLite itself
        assert ledger.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        ledger.close()
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    assert con.execute("SELECT COUNT(*) FROM requests WHERE status='done' AND current=1").fetchone()[0] == 4
    con.close()


def test_an_unreadable_image_built_ahead_is_that_images_failure_only(tmp_path, monkeypatch):
    """Requests are built ahead in a worker thread: a corrupt image fails there, named, and costs nothing."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    root = make_dataset(tmp_path / "ds", 6)
    (root / "images" / "ir_00002.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with FakeServer() as fake:
        summary = _run(root, fake.openai_url)
        requests = fake.api.model_requests
    assert summary["described"] == 5 and requests == 5
    [failure] = summary["failures"]
    assert failure["id"] == "ir_00002" and "ir_00002.png" in failure["reason"]
    assert sorted(p.name for p in (root / "descriptions").iterdir()) == [
        f"ir_{i:05d}.description.txt" for i in (0, 1, 3, 4, 5)]  # no file, no temp left for the bad one


def test_revalidate_leaves_a_persons_text_as_the_person_saved_it(tmp_path, cli):
    """A text a person wrote in `langir review` is not a model reply: `--revalidate` once marked an 85-word
    one invalid (the word limit of replies) while the file kept it, so the ledger said the current answer
    was a failed one. `validate` still reports the length."""
    from langir.describe import human

    root = make_dataset(tmp_path / "ds", n=3)
    assert cli("describe", root, "--provider", "template").code == 0
    ds = LangIRDataset.open(root)
    sample_id = ds.all_ids()[0]
    long = " ".join(["The small bright target sits in the upper left of the frame near a faint cloud edge."] * 5)
    ledger = human.open_ledger(root)
    human.save_text(ds, ledger, sample_id, long)
    ledger.close()
    done = cli("describe", root, "--revalidate", "--json")
    assert done.code == 0, done.stderr
    ledger = Ledger.for_dataset(root, readonly=True)
    row = ledger.current(sample_id)
    ledger.close()
    assert (row.provider, row.status, row.error) == (human.PERSON, "done", None)
    assert ds.read_description(sample_id) == long
    judged = cli("validate", root, "--json")
    assert judged.code == 1 and "too-long" in judged.stdout
