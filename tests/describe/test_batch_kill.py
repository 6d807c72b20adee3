"""kill -9 of a `--batch` run at every step, for OpenAI, Anthropic and Gemini: nothing is bought twice.

The real CLI runs in a subprocess against the fake server (in this process, so it keeps counting
across the kill). It stops at a step through the documented test hook `LANGIR_TEST_PAUSE_AT`
(or, between the create call's send and its reply, through the server's `batch_create_delay`),
is SIGKILLed there, and run again (in-process: only the killed run needs a process of its own,
and each start costs a second of SDK imports). The fake counts every batch item it creates (what a batch
API bills): each image is bought exactly once, and the ledger holds one paid row per item.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.describe.describe_helpers import SECRET, make_dataset
from tests.describe.fake_server import FakeServer

REPO = Path(__file__).resolve().parents[2]
N = 3
STEPS = ["before_create", "in_create", "after_create", "mid_poll", "mid_download"]


def _args(root: Path, flavour: str, fake: FakeServer) -> list[str]:
    url = fake.openai_url if flavour == "openai" else fake.url
    return ["describe", str(root), "--provider", flavour, "--base-url", url, "--batch",
            "--poll", "0.05", "--backoff", "0.01", "--timeout", "20", "--json"]


def _cmd(root: Path, flavour: str, fake: FakeServer) -> list[str]:
    return [sys.executable, "-m", "langir", *_args(root, flavour, fake)]


@pytest.fixture
def keys(monkeypatch):
    """The providers' keys for the in-process runs (the killed subprocesses get them from `_env`)."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(name, SECRET)
    monkeypatch.delenv("LANGIR_TEST_PAUSE_AT", raising=False)


def _env(step: str | None = None) -> dict[str, str]:
    env = {**os.environ, "OPENAI_API_KEY": SECRET, "ANTHROPIC_API_KEY": SECRET, "GEMINI_API_KEY": SECRET,
           "PYTHONPATH": str(REPO)}
    env.pop("LANGIR_TEST_PAUSE_AT", None)
    if step:
        env["LANGIR_TEST_PAUSE_AT"] = step
    return env


def _kill_at(root: Path, flavour: str, fake: FakeServer, step: str) -> None:
    """Start the CLI, wait until it sits at `step`, SIGKILL it."""
    paused = None if step == "in_create" else step
    proc = subprocess.Popen(_cmd(root, flavour, fake), env=_env(paused), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        if paused:
            seen = []
            for line in proc.stderr:  # the hook says where it stopped
                seen.append(line)
                if line.startswith(f"LANGIR_TEST_PAUSED {step}"):
                    break
            else:
                pytest.fail(f"the run never reached {step}: {''.join(seen)}")
        else:  # the server holds the create call's reply: the batch exists, the client has no id yet
            deadline = time.time() + 30
            while not fake.api.batches and time.time() < deadline and proc.poll() is None:
                time.sleep(0.01)
            assert fake.api.batches, "the batch was never created"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()


def _paid_rows(root: Path) -> list[tuple[str, str, float]]:
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    try:
        return con.execute("SELECT image_id, status, cost_usd FROM requests WHERE status IN ('done','invalid')").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("flavour", ["openai", "anthropic", "gemini"])
@pytest.mark.parametrize("step", STEPS)
def test_kill_9_at_every_batch_step_buys_nothing_twice(tmp_path, flavour, step, cli, keys):
    root = make_dataset(tmp_path / "ds", N, size=(24, 24))
    with FakeServer() as fake:
        fake.api.batch_polls_until_done = 2  # the first poll finds it running: a mid-poll step exists
        if step == "in_create":
            fake.api.batch_create_delay = 60
        _kill_at(root, flavour, fake, step)
        fake.api.batch_create_delay = 0
        status = cli("describe", root, "--status")  # in-process: reads the ledger only
        again = cli(*_args(root, flavour, fake))
        bought = dict(fake.api.bought)
        batches = len(fake.api.batches)
    assert again.code == 0, again.stderr
    assert len(bought) == N and set(bought.values()) == {1}, (step, bought)  # every image bought exactly once
    assert batches == 1
    assert len(list((root / "descriptions").glob("*.txt"))) == N
    rows = _paid_rows(root)
    assert sorted(r[0] for r in rows) == [f"ir_{i:05d}" for i in range(N)]  # one paid row per item bought
    if step in ("in_create", "after_create"):
        assert "found batch" in again.stderr  # looked up by its tag, not submitted again
    # --status between the kill and the re-run shows the batch (or its intent) in flight
    assert status.code == 0, status.stderr
    assert "batches in flight: 1" in status.stdout
    assert ("intent recorded" if step in ("before_create", "in_create", "after_create") else "submitted") in status.stdout
    final = cli("describe", root, "--status").stdout
    assert "batches in flight: 0 (none)" in final and f"{flavour} " in final and "spend by run:" in final
    assert f"{N} paid answer(s)" in final


def _served_per_image(fake: FakeServer) -> list[int]:
    return sorted(fake.api.served.values())


@pytest.mark.parametrize("step", ["after_create", "mid_poll"])
def test_redo_with_batch_survives_kill_9(tmp_path, step, cli, keys):
    """`--redo FILE --batch`, killed, run again: each redone image is bought once more, not twice."""
    root = make_dataset(tmp_path / "ds", N, size=(24, 24))
    ids = tmp_path / "redo.txt"
    ids.write_text("ir_00000\nir_00001\n")
    with FakeServer() as fake:
        first = cli(*_args(root, "openai", fake))
        assert first.code == 0, first.stderr
        fake.api.batch_polls_until_done = 2
        cmd = [*_cmd(root, "openai", fake), "--redo", str(ids)]
        proc = subprocess.Popen(cmd, env=_env(step), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            if line.startswith("LANGIR_TEST_PAUSED"):
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
        again = cli(*cmd[3:])
        bought = dict(fake.api.bought)
    assert again.code == 0, again.stderr
    assert sorted(bought.values()) == [1, 2, 2]  # the first run's three, then one redo each for two images
    rows = _paid_rows(root)
    assert len(rows) == 5


def test_direct_redo_survives_kill_9(tmp_path, cli, keys):
    """A direct `--redo FILE` killed after its first answer: the re-run buys only the one still missing."""
    root = make_dataset(tmp_path / "ds", N, size=(24, 24))
    ids = tmp_path / "redo.txt"
    ids.write_text("ir_00000\nir_00001\n")
    with FakeServer() as fake:
        cmd = [sys.executable, "-m", "langir", "describe", str(root), "--provider", "openai", "--base-url",
               fake.openai_url, "--backoff", "0.01", "--timeout", "30", "--concurrency", "1"]
        assert cli(*cmd[3:]).code == 0
        fake.api.delay_fn = lambda info: 30.0 if info["n"] == N + 1 else 0.0  # the redo's second request hangs
        proc = subprocess.Popen([*cmd, "--redo", str(ids)], env=_env(), cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline and (fake.api.model_requests < N + 2 or len(_paid_rows(root)) < N + 1):
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        fake.api.delay_fn = None
        again = cli(*cmd[3:], "--redo", ids)
        requests = fake.api.model_requests
    assert again.code == 0, again.stderr
    assert requests == N + 3  # first run N, the killed redo 2 (one answered, one in flight), the re-run 1
    assert len(_paid_rows(root)) == N + 2
    # the redo is over: the same --redo now asks anew, as a user who is still unhappy expects
    with FakeServer() as fake:
        cmd[cmd.index("--base-url") + 1] = fake.openai_url
        assert cli(*cmd[3:], "--redo", ids).code == 0
        assert fake.api.model_requests == 2
