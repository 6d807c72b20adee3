"""Ctrl-C keeps the answers in flight and exits 130; a second Ctrl-C stops at once; progress without a TTY."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.describe.describe_helpers import SECRET, make_dataset
from tests.describe.fake_server import FakeServer

REPO = Path(__file__).resolve().parents[2]


def _start(root: Path, url: str, *extra: str, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "OPENAI_API_KEY": SECRET, "PYTHONPATH": str(REPO), **(env_extra or {})}
    cmd = [sys.executable, "-m", "langir", "describe", str(root), "--provider", "openai", "--base-url", url,
           "--backoff", "0.01", "--timeout", "30", *extra]
    return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_posts(fake: FakeServer, n: int, proc: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.time() + limit
    while fake.api.paths["POST /v1/chat/completions"] < n and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert fake.api.paths["POST /v1/chat/completions"] >= n


def _done(root: Path) -> set[str]:
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    return {r[0] for r in con.execute("SELECT image_id FROM requests WHERE status='done'")}


def test_first_ctrl_c_keeps_answers_in_flight_and_exits_130(tmp_path):
    root = make_dataset(tmp_path / "ds", 8, size=(24, 24))
    with FakeServer(latency=1.0) as fake:
        proc = _start(root, fake.openai_url, "--concurrency", "2")
        _wait_for_posts(fake, 2, proc)
        proc.send_signal(signal.SIGINT)
        t0 = time.time()
        out, err = proc.communicate(timeout=30)
        waited = time.time() - t0
        posts = fake.api.paths["POST /v1/chat/completions"]
    assert proc.returncode == 130, err
    assert posts == 2  # nothing sent after Ctrl-C
    assert "stopping" in err and "interrupted" in err and "6 image(s) not sent" in err
    assert "2 described" in out  # the summary is printed
    assert waited < 15
    # the two answers in flight were paid: both kept in the ledger and written
    assert len(_done(root)) == 2
    assert len(list((root / "descriptions").glob("*.txt"))) == 2


def test_second_ctrl_c_stops_at_once(tmp_path):
    root = make_dataset(tmp_path / "ds", 4, size=(24, 24))
    with FakeServer(latency=8.0) as fake:
        proc = _start(root, fake.openai_url, "--concurrency", "2")
        _wait_for_posts(fake, 2, proc)
        t0 = time.time()
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        elapsed = time.time() - t0
    assert proc.returncode == 130, err
    assert elapsed < 6  # did not wait for the 8 s replies
    assert "Traceback" not in err
    descriptions = root / "descriptions"
    assert not descriptions.exists() or not any(descriptions.iterdir())


def test_progress_lines_without_a_tty(tmp_path):
    root = make_dataset(tmp_path / "ds", 6, size=(24, 24))
    with FakeServer(latency=0.3) as fake:
        proc = _start(root, fake.openai_url, "--concurrency", "1", env_extra={"LANGIR_PROGRESS_SECONDS": "0.25"})
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = [line for line in err.splitlines() if re.match(r"describing \d+/6 · done \d+ .*\$0\.\d{4}", line)]
    assert len(lines) >= 3, err
    assert lines[-1] != lines[0]  # it moves


def test_second_ctrl_c_keeps_every_answer_read_and_says_how_many(tmp_path):
    """Two answers landed, two still in flight: a double Ctrl-C keeps the two and says 2 kept, 2 in flight."""
    root = make_dataset(tmp_path / "ds", 4, size=(24, 24))
    with FakeServer() as fake:
        fake.api.delay_fn = lambda info: 0.0 if info["n"] < 2 else 20.0
        proc = _start(root, fake.openai_url, "--concurrency", "4")
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            ledger = root / ".langir" / "describe.sqlite"
            if fake.api.model_requests >= 4 and ledger.exists() and len(_done(root)) >= 2:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        sent = fake.api.model_requests
    assert proc.returncode == 130, err
    kept = len(_done(root))
    assert kept == 2 and sent == 4
    assert f"{kept} answer(s) read were kept, {sent - kept} in flight were not" in err, err
    assert len(list((root / "descriptions").glob("*.txt"))) == kept
