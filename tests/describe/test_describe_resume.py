"""A describe run killed mid-way resumes with no duplicate call for finished images."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from langir.describe.images import encode_file
from tests.describe.describe_helpers import SECRET, all_bytes, make_dataset
from tests.describe.fake_server import FakeServer

REPO = Path(__file__).resolve().parents[2]


def _done_ids(root: Path) -> set[str]:
    db = root / ".langir" / "describe.sqlite"
    if not db.exists():
        return set()
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        return {r[0] for r in con.execute("SELECT image_id FROM requests WHERE status='done'")}
    except sqlite3.Error:
        return set()


def test_killed_run_resumes_each_image_once(tmp_path):
    n = 16
    root = make_dataset(tmp_path / "ds", n, size=(24, 24))
    sha = {p.stem: hashlib.sha256(encode_file(p).png).hexdigest()[:16] for p in (root / "images").glob("*.png")}
    env = {**os.environ, "OPENAI_API_KEY": SECRET, "PYTHONPATH": str(REPO)}
    with FakeServer(latency=0.15) as fake:
        cmd = [sys.executable, "-m", "langir", "describe", str(root), "--provider", "openai", "--base-url",
               fake.openai_url, "--concurrency", "2", "--backoff", "0.01"]
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while len(_done_ids(root)) < 4 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done_at_kill = _done_ids(root)
        assert 4 <= len(done_at_kill) < n
        served_at_kill = sum(fake.api.served.values())
        # A kill during an atomic write leaves `.NAME.*.tmp`; whether this kill did depends on timing,
        # so plant one: the resumed run (holding the dataset lock) must sweep it either way.
        (root / "descriptions").mkdir(exist_ok=True)
        (root / "descriptions" / ".ir_00015.description.txt.k1ll3d.tmp").write_text("half")
        resumed = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
    # finished images were never asked again; only requests in flight at the kill may repeat
    for image_id in done_at_kill:
        assert fake.api.served[sha[image_id]] == 1, image_id
    assert set(fake.api.served) == set(sha.values())
    assert sum(fake.api.served.values()) <= n + 2 and served_at_kill <= len(done_at_kill) + 2
    assert _done_ids(root) == set(sha)
    files = sorted(p.name for p in (root / "descriptions").iterdir())
    assert files == sorted(f"{i}.description.txt" for i in sha)  # no temp or half-written files
    for path, data in all_bytes(root):
        assert SECRET.encode() not in data, path
