"""Shared fixtures. Tests are offline; the real SIRST set is used when ../shared is present."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SIRST = Path(os.environ.get("LANGIR_SIRST", REPO.parent / "shared" / "datasets" / "sirst"))
DEMO = REPO / "datasets" / "demo"

os.environ.setdefault("COLUMNS", "200")  # rich tables unwrapped in captured output
for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_BASE_URL",
            "ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL"):
    os.environ.pop(key, None)  # a developer's real keys must never reach a test


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def sirst_root() -> Path:
    """The real public SIRST set (Dai et al., WACV 2021); skipped when ../shared is absent."""
    if not (SIRST / "images").is_dir():
        pytest.skip(f"real SIRST dataset not found at {SIRST}")
    return SIRST


@pytest.fixture
def demo_root() -> Path:
    if not (DEMO / "images").is_dir():
        pytest.skip("datasets/demo not built yet")
    return DEMO


@pytest.fixture
def demo_copy(tmp_path: Path, demo_root: Path) -> Path:
    """A writable copy of the demo set (without descriptions or ledger)."""
    dst = tmp_path / "demo"
    shutil.copytree(demo_root, dst, ignore=shutil.ignore_patterns("descriptions", ".langir"))
    return dst


@pytest.fixture
def cli(capfd):
    """Run `langir ARGS…` in-process; returns exit code, stdout and stderr."""
    from langir.cli import main

    def run(*args: str) -> CliResult:
        capfd.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        captured = capfd.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_langir(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300) -> CliResult:
    """Run `python -m langir ARGS…` in a subprocess (for kill/resume and environment tests)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "langir", *map(str, args)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
