"""A served review page for tests: a small dataset with known failures, the server as a subprocess, Chromium."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LANGIR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# texts planted over the template's answers (the template agrees with every mask)
CONTRADICTS = "A small target lies in the lower right corner of the image."
VAGUE = "A small bright target is visible against the sky."


def need_browser():
    """(sync_playwright, chromium path) or a skip naming what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install playwright (the Python package; no browser download)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (or set LANGIR_CHROMIUM)")
    pytest.importorskip("starlette", reason="the review extra is not installed: pip install 'langir[review]'")
    pytest.importorskip("uvicorn", reason="the review extra is not installed: pip install 'langir[review]'")
    return sync_playwright


def langir(*args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "langir", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def make_review_set(root: Path, count: int = 10) -> dict[str, str]:
    """A synthetic set described by the template, then a contradicting and a vague text planted.

    Returns {"contradicts": id, "vague": id, "agrees": id} (ids whose mask has one target or more).
    Built once per process and size, then copied (each build runs the CLI: about 2 s).
    """
    if count not in _BUILT:
        master = Path(tempfile.mkdtemp(prefix="langir-review-set-")) / "ds"
        atexit.register(shutil.rmtree, master.parent, True)
        _BUILT[count] = master, _build_review_set(master, count)
    master, planted = _BUILT[count]
    shutil.copytree(master, root)
    return dict(planted)


_BUILT: dict[int, tuple[Path, dict[str, str]]] = {}


def _build_review_set(root: Path, count: int) -> dict[str, str]:
    from langir.data.synth import synthesize

    synthesize(root, count=count, size=(96, 96), seed=3, empty_fraction=0.0)
    done = langir("describe", root, "--provider", "template")
    assert done.returncode == 0, done.stderr
    from langir.curate.validate import validate_dataset
    from langir.data.dataset import LangIRDataset

    table = validate_dataset(LangIRDataset.open(root), sorted(p.stem for p in (root / "images").glob("*.png"))).table
    ids = [i for i, regions in zip(table["id"], table["target_regions"], strict=True)
           if regions and "lower right" not in regions]
    planted = {"contradicts": ids[0], "vague": ids[1], "agrees": ids[2]}
    (root / "descriptions" / f"{planted['contradicts']}.description.txt").write_text(CONTRADICTS + "\n")
    (root / "descriptions" / f"{planted['vague']}.description.txt").write_text(VAGUE + "\n")
    return planted


@dataclass
class Served:
    url: str  # with ?token=
    base: str
    token: str
    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C the server; returns its exit code and stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=60)  # a loaded machine can stall the closing fsyncs for many seconds
        except subprocess.TimeoutExpired:  # hung: SIGABRT makes faulthandler print every thread's stack
            self.proc.send_signal(signal.SIGABRT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            code = self.proc.wait()
        return code, self.proc.stderr.read() if self.proc.stderr else ""


def serve(root: Path, cache: Path, *extra: str) -> Served:
    """Start `langir review ROOT --port 0 --no-open` and read its first line (the URL)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(cache), "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "langir", "review", str(root), "--port", "0", "--no-open", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = proc.stdout.readline().strip()
    if not first.startswith("http://"):
        proc.kill()
        raise AssertionError(f"no URL on the first line: {first!r} {proc.stderr.read()}")
    base, token = first.split("/?token=")
    return Served(first, base, token.split("&")[0], proc)


def copy_set(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
