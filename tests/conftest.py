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
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # pytest -n N: each worker (and the CLI subprocesses it starts) gets its share of the cores. Torch's
    # default of one thread per core in every worker made the learning tests 1.5-8x slower (threads spinning on
    # a core another worker holds).
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, _share)
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


# With `pytest -n N` (README, .ci/run) a file runs on one worker, so its module fixtures (the bad-input
# tables run every case once) are built once; the tests of _SPLIT_FILES (long, independent trainings) are
# spread over the workers one by one. Longest first: a long file that starts last leaves the other workers
# idle at the end (per-file durations: BENCHMARKS.md). xdist's own `--dist loadgroup` marks do not work
# with pytest 9 (it renames node ids through an attribute pytest 9 no longer reads), hence the scheduler hook.
_SPLIT_FILES = ("train/test_learns_out_of_the_box.py",)
_LONG_FILES = ("test_bad_inputs.py", "describe/test_batch_kill.py", "review/test_review_page.py",
               "train/test_train_bad_inputs.py", "train/test_train_ddp.py", "test_bad_inputs_guarded.py",
               "review/test_review_cli.py")
_FIRST = _SPLIT_FILES + _LONG_FILES


def _test_file(nodeid: str) -> str:
    """'tests/train/test_x.py::test_y[a]' → 'train/test_x.py'."""
    return nodeid.split("::")[0].removeprefix("tests/")


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    # xdist orders scopes by their number of tests unless told not to: the learning tests (one test a scope,
    # the longest units of the suite) then ran last, and the two workers finished up to 40 s apart
    config.option.loadscopereorder = False

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid if _test_file(nodeid) in _SPLIT_FILES else nodeid.split("::")[0]

    return FileScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        rel = _test_file(item.nodeid)
        return _FIRST.index(rel) if rel in _FIRST else len(_FIRST)

    items.sort(key=rank)  # stable: the collection order within a rank
