"""`langir train` on bad input (issue 19), in subprocesses like tests/test_bad_inputs.py: each case is one
`error:` line naming the file and what to do, exit 2, no traceback, no warning, and the run folder
byte-for-byte as it was (nothing half-written).

Cases: --out on a read-only folder; --resume from a checkpoint whose weights have other shapes, or that
lacks the optimizer state; a pickled (not weights-only) checkpoint; 8000×8000 images (validation at
native size, and training images that cannot be held in memory).
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from langir.train import engine
from langir.train.config import TrainConfig
from tests.bad_inputs_kit import REPO, Result, Server, tree_digest
from tests.train import tiny

FLAGS = ["--model", "unet", "--language-prior", "never", "--size", "32", "--batch-size", "2", "--device", "cpu",
         "--no-tensorboard"]
BIG = 8000


@pytest.fixture(scope="module")
def server():
    server = Server()
    yield server
    server.close()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("train-bad")


@pytest.fixture(scope="module")
def dataset(work) -> Path:
    return tiny.make_dataset(work / "ds", n=4)


@pytest.fixture(scope="module")
def finished_run(work, dataset) -> Path:
    """A real 1-epoch unet run (last.pt with optimizer state) to break in each case."""
    run = work / "finished"
    engine.train(TrainConfig(dataset=str(dataset), out=str(run), model="unet", language_prior="never", epochs=1, size=32,
                             batch_size=2, warmup_epochs=0, device="cpu", tensorboard=False), quiet=True)
    return run


def _error_line(result: Result, *words: str) -> str:
    """The one `error:` line: exit 2, no traceback, no warning, every word in it."""
    shown = f"\n--- exit {result.code}\n{result.output[-3000:]}"
    assert not result.timed_out, "hung" + shown
    assert "Traceback" not in result.output and "Warning" not in result.output, shown
    assert result.code == 2, shown
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), shown
    for word in words:
        assert word in lines[0], f"{word!r} missing" + shown
    return lines[0]


def _train(server: Server, dataset: Path, out: Path, *extra: str, logs: Path, mounts: list | None = None,
           timeout: float = 60) -> Result:
    logs.mkdir(parents=True, exist_ok=True)
    scratch = logs / f"{len(list(logs.iterdir()))}"
    return server.run(["train", dataset, *FLAGS, "--out", out, *extra], logs, scratch, mounts=mounts, timeout=timeout)


def _copy_run(finished: Path, where: Path) -> Path:
    shutil.copytree(finished, where)
    return where


# ---- --out on a read-only folder ----------------------------------------------------------------------
@pytest.mark.parametrize("inside", [True, False], ids=["new-run-inside", "the-folder-itself"])
def test_out_on_read_only_folder(server, dataset, tmp_path, inside):
    folder = tmp_path / "ro"
    folder.mkdir()
    out = folder / "run" if inside else folder
    mounts = None
    if server.namespaces:
        mounts = [{"kind": "readonly", "path": str(folder)}]
    elif os.geteuid() != 0:
        folder.chmod(0o555)
    else:
        pytest.skip("no mount namespace, and root ignores file permissions")
    try:
        result = _train(server, dataset, out, "--epochs", "1", logs=tmp_path / "logs", mounts=mounts)
    finally:
        folder.chmod(0o755)
    words = "read-only file system" if mounts else "permission denied"
    line = _error_line(result, str(out), words, "--out")
    assert "cannot write" in line
    assert list(folder.iterdir()) == []  # refused before anything: no run folder, no config.toml


# ---- --resume from a broken last.pt -------------------------------------------------------------------
def _break_last(run: Path, change) -> None:
    payload = torch.load(run / "last.pt", weights_only=True)
    change(payload)
    torch.save(payload, run / "last.pt")


def _wrong_shape(payload: dict) -> str:
    key = next(k for k, v in payload["model_state"].items() if v.ndim == 4)
    payload["model_state"][key] = torch.zeros(3, 1, 5, 5)
    return key


@pytest.mark.parametrize("kind", ["wrong-shapes", "no-optimizer", "no-state"])
def test_resume_from_broken_checkpoint(server, dataset, finished_run, tmp_path, kind):
    run = _copy_run(finished_run, tmp_path / "run")
    names: list[str] = []
    if kind == "wrong-shapes":
        _break_last(run, lambda p: names.append(_wrong_shape(p)))
    elif kind == "no-optimizer":
        _break_last(run, lambda p: p["state"].pop("optimizer"))
    else:
        _break_last(run, lambda p: p.pop("state"))
    before = tree_digest(run)
    result = _train(server, dataset, run, "--resume", "--epochs", "2", logs=tmp_path / "logs")
    if kind == "wrong-shapes":
        _error_line(result, str(run / "last.pt"), "do not fit", names[0], "3×1×5×5")
    else:
        _error_line(result, str(run / "last.pt"), "optimizer", f"--init-from {run / 'last.pt'}")
    assert tree_digest(run) == before  # nothing written, nothing removed


# ---- pickled checkpoints ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["plain-pickle", "torch-with-objects"])
@pytest.mark.parametrize("how", ["--init-from", "--resume"])
def test_pickled_checkpoint_is_one_line_without_warning(server, dataset, finished_run, tmp_path, kind, how):
    payload = torch.load(finished_run / "last.pt", weights_only=True)
    payload["meta"]["extra"] = Namespace(note="a Python object")
    run = _copy_run(finished_run, tmp_path / "run") if how == "--resume" else tmp_path / "new"
    target = run / "last.pt" if how == "--resume" else tmp_path / "shared.pt"
    if kind == "plain-pickle":
        target.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, target)
    before = tree_digest(tmp_path)
    extra = ["--resume"] if how == "--resume" else ["--init-from", str(target)]
    result = _train(server, dataset, run, *extra, "--epochs", "2", logs=tmp_path.parent / f"{tmp_path.name}-logs")
    words = "a plain Python pickle" if kind == "plain-pickle" else "pickled Python objects (argparse.Namespace)"
    _error_line(result, str(target), words, "could run code")
    assert tree_digest(tmp_path) == before


# ---- 8000×8000 images ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_pair(work) -> tuple[Path, Path]:
    """One 8000×8000 image and its mask (a 3×3 target), saved once and copied where needed."""
    image = np.zeros((BIG, BIG), np.uint8)
    image[4000:4003, 4000:4003] = 255
    paths = (work / "big-image.png", work / "big-mask.png")
    for path in paths:
        Image.fromarray(image).save(path, compress_level=1)
    return paths


def _with_big(root: Path, big_pair: tuple[Path, Path], ids: list[str]) -> Path:
    for sample_id in ids:
        shutil.copyfile(big_pair[0], root / "images" / f"{sample_id}.png")
        shutil.copyfile(big_pair[1], root / "masks" / f"{sample_id}.png")
    return root


def test_8000px_validation_images_name_the_size_and_the_flag(server, big_pair, tmp_path):
    """--input crop validates whole images at native size: 64 Mpx is refused before any pixel is decoded;
    --input resize (the flag the line names) then trains on the same set."""
    root = _with_big(tiny.make_dataset(tmp_path / "ds", n=4), big_pair, ["XDU2", "XDU3"])  # the test split
    result = _train(server, root, tmp_path / "run", "--epochs", "1", logs=tmp_path / "logs")
    line = _error_line(result, str(root / "images" / "XDU2.png"), str(root / "images" / "XDU3.png"), f"{BIG}×{BIG}",
                       "64.0 Mpx", "--input resize")
    assert "--skip-bad" in line and not (tmp_path / "run").exists()
    for folder in ("images", "masks"):  # one big frame is enough to show the fix (and halves the decoding)
        shutil.copyfile(root / folder / "XDU1.png", root / folder / "XDU3.png")
    done = _train(server, root, tmp_path / "run", "--epochs", "1", "--input", "resize", logs=tmp_path / "logs", timeout=120)
    assert done.code == 0 and "Traceback" not in done.output, done.output[-3000:]
    assert (tmp_path / "run" / "last.pt").is_file()


MEMORY_CHILD = """
import resource, sys
import langir.train.engine  # torch and the trainer are loaded: what is left is what the data may take
import scipy.ndimage  # loaded too (validation labels targets with it): OpenBLAS starting under the limit spins
vm = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize:")).split()[1]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + 600 * 2**20, resource.RLIM_INFINITY))
from langir.cli import main
main(sys.argv[1:])
"""


def test_training_images_that_do_not_fit_in_memory(big_pair, tmp_path):
    """Two 8000×8000 training images (1 GiB as float32 image + mask) with 600 MiB left: one line, not a MemoryError."""
    root = _with_big(tiny.make_dataset(tmp_path / "ds", n=4), big_pair, ["XDU0", "XDU1"])  # the trainval split
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, "train", str(root), *FLAGS, "--epochs", "1",
                           "--out", str(tmp_path / "run")], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"})
    result = Result(done.returncode, done.stdout, done.stderr, False, 0.0, [])
    _error_line(result, "2 training image(s)", "128.0 Mpx", f"largest {BIG}×{BIG}", "--input resize --size 32")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["fifo", "binary"])
def test_config_file_that_is_not_text(server, dataset, tmp_path, kind):
    """`--config` is read through the guarded reader: a FIFO does not hang the run, binary bytes are named."""
    config = tmp_path / "train.toml"
    if kind == "fifo":
        os.mkfifo(config)
    else:
        config.write_bytes(b"epochs = 1\n\0\xff\xfe")
    out = tmp_path / "run"
    result = _train(server, dataset, out, "--config", str(config), logs=tmp_path / "logs", timeout=30)
    _error_line(result, str(config), "FIFO" if kind == "fifo" else "binary")
    assert not out.exists()


def test_skip_bad_finishes_with_exit_1_naming_the_sample(server, work, tmp_path):
    """--skip-bad trains on the rest, lists the bad sample, and exits 1 (finished, but some items failed)."""
    ds = tiny.make_dataset(tmp_path / "ds", n=4)
    victim = sorted((ds / "images").iterdir())[0]
    victim.write_bytes(b"not a png")
    out = tmp_path / "run"
    result = _train(server, ds, out, "--epochs", "1", "--skip-bad", logs=tmp_path / "logs", timeout=120)
    assert result.code == 1, result.output[-2000:]
    assert "Traceback" not in result.output and victim.name in result.output and "skipped" in result.output
    assert (out / "last.pt").is_file()


def test_running_out_of_memory_while_validating_names_validation(tmp_path):
    """Training fits (32² crops) but a 1800² validation image, run whole at its native size, does not: the line
    says validation ran out and names --input resize, not --batch-size; the first epoch's weights are kept."""
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((1800, 1800)) * 60).astype(np.uint8)).save(root / "images" / "XDU3.png")
    Image.fromarray(np.zeros((1800, 1800), np.uint8)).save(root / "masks" / "XDU3.png")
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, "train", str(root), *FLAGS, "--epochs", "2",
                           "--val-every", "2", "--out", str(run)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"})
    result = Result(done.returncode, done.stdout, done.stderr, False, 0.0, [])
    assert result.code == 2 and "Traceback" not in result.output, result.output[-3000:]
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.output.rstrip().endswith(errors[0]), result.output[-3000:]  # after epoch 1's line
    for words in ("out of memory validating epoch 2 on cpu", "native size", "--input resize", "weights of epoch 1",
                  "--init-from"):
        assert words in errors[0], errors[0]
    assert (run / "last.pt").is_file() and "--batch-size" not in errors[0]


def test_running_out_of_memory_while_training_is_one_line(tmp_path):
    """The data passes the up-front check (4 small images), but a batch's activations do not fit in what is
    left (600 MiB): one line naming the epoch, the settings and the flags to lower, exit 2, no traceback."""
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    run = tmp_path / "run"
    # 1024² inputs, batch 16: the first convolution's output alone is ≈ 1 GiB
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, "train", str(root), *FLAGS, "--epochs", "2", "--input",
                           "resize", "--size", "1024", "--batch-size", "16", "--out", str(run)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"})
    result = Result(done.returncode, done.stdout, done.stderr, False, 0.0, [])
    _error_line(result, "out of memory in epoch 1 on cpu", "batch 16 of 1024×1024", "--batch-size", "--size",
                "nothing was saved yet")
    assert not (run / "last.pt").exists() and not (run / "best.pt").exists()


def test_resume_refuses_settings_it_would_ignore(server, finished_run, dataset, tmp_path):
    """--resume continues a run with its own settings: a smaller --batch-size given with it (as after running out
    of memory) is refused in one line that says what to do, not silently ignored; the run is untouched."""
    run = shutil.copytree(finished_run, tmp_path / "run")
    before = tree_digest(run)
    result = _train(server, dataset, run, "--resume", "--epochs", "2", "--batch-size", "1", logs=tmp_path / "logs")
    _error_line(result, "--resume continues", "batch_size = 1 (the run's: 2)", "--init-from", "--epochs")
    assert tree_digest(run) == before
    same = _train(server, dataset, run, "--resume", "--epochs", "2", logs=tmp_path / "logs")  # FLAGS as started
    assert same.code == 0, same.output
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 2


def test_resume_without_epochs_keeps_the_runs_own(server, finished_run, dataset, tmp_path):
    """--resume with no --epochs continues to the run's own epoch count (not the 600 default); a finished run
    says there is nothing to continue; how the run is watched (--workers, --val-every, --tensorboard) may change."""
    run = shutil.copytree(finished_run, tmp_path / "run")
    done = _train(server, dataset, run, "--resume", "--workers", "1", "--val-every", "3", logs=tmp_path / "logs")
    assert done.code == 0, done.output
    assert "has run 1 of 1 epochs: nothing to continue" in done.output
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 1
    more = _train(server, dataset, run, "--resume", "--epochs", "2", logs=tmp_path / "logs")
    assert more.code == 0 and "epoch 2/2" in more.output, more.output
    again = _train(server, dataset, run, "--resume", logs=tmp_path / "logs")  # the last resume's --epochs holds
    assert again.code == 0 and "has run 2 of 2 epochs" in again.output, again.output
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 2
