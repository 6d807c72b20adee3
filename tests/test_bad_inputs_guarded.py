"""Every user-file read goes through the guarded reader (issue 19): the reads outside the dataset table.

Each case runs the real CLI in a subprocess with a timeout (a FIFO read would hang), and asserts its
one line and exit code: eval / predict with a language checkpoint (CLIP hashing of the image files,
`--descriptions` texts), describe's `--prompt-file` and `--prices`, pack's stored answer targets, and
export's onnxruntime files. The dataset commands' cases are in tests/test_bad_inputs.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_langir

TIMEOUT = 120
OUTSIDE = "root:x:0:0:root:/root:/bin/bash\n"


def _langir(*args, env: dict | None = None):
    return run_langir(*args, env={"COLUMNS": "200", **(env or {})}, timeout=TIMEOUT)


def _one_line(text: str, needle: str) -> str:
    lines = [line for line in text.splitlines() if needle in line]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture(scope="module")
def language_ckpts(tmp_path_factory) -> dict[str, Path]:
    """Tiny LGNet checkpoints with a train-only and a train+test prior on the offline CLIP (`langir-tiny`)."""
    pytest.importorskip("open_clip")
    from langir.models import create_model
    from langir.models.checkpoint import save_checkpoint

    root = tmp_path_factory.mktemp("ckpt")
    kwargs = {"widths": [8, 8, 8, 8, 8], "td_dim": 64}  # langir-tiny's embedding width
    out = {}
    for prior in ("train-only", "train+test"):
        meta = {"model": "lgnet", "model_kwargs": kwargs, "language_prior": prior, "clip_model": "langir-tiny",
                "clip_pretrained": None}
        out[prior] = save_checkpoint(root / f"{prior}.pt", create_model("lgnet", **kwargs), meta)
    return out


def _dataset(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for sample_id in ("a", "b", "c"):
        for folder in ("images", "masks"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        img = (rng.random((32, 32)) * 60).astype(np.uint8)
        mask = np.zeros((32, 32), np.uint8)
        img[8:11, 8:11], mask[8:11, 8:11] = 250, 255
        Image.fromarray(img).save(root / "images" / f"{sample_id}.png")
        Image.fromarray(mask).save(root / "masks" / f"{sample_id}.png")
    (root / "trainval.txt").write_text("a\nb\n")
    (root / "test.txt").write_text("c\n")
    return root


def test_eval_with_a_language_checkpoint_names_a_fifo_image(language_ckpts, tmp_path) -> None:
    """The CLIP cache hashes each image file: a FIFO there hung `eval` (no --skip-bad) before any check."""
    ds = _dataset(tmp_path / "ds")
    (ds / "images" / "c.png").unlink()
    os.mkfifo(ds / "images" / "c.png")
    done = _langir("eval", "--dataset", ds, "--checkpoint", language_ckpts["train-only"], "--split", "test",
                   "--device", "cpu", "--cache-dir", tmp_path / "cache")
    assert done.code == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{ds / 'images' / 'c.png'}: image is a FIFO (named pipe), not a regular file" in _one_line(done.stderr, "error:")


def test_predict_with_a_language_checkpoint_names_a_fifo_image(language_ckpts, tmp_path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.fromarray(np.full((32, 32), 40, np.uint8)).save(frames / "good.png")
    os.mkfifo(frames / "pipe.png")
    done = _langir("predict", frames, "--checkpoint", language_ckpts["train-only"], "--out", tmp_path / "out",
                   "--device", "cpu", "--cache-dir", tmp_path / "cache")
    assert done.code == 1, done.stderr  # the good frame is predicted, the FIFO listed
    assert "Traceback" not in done.stderr
    assert "pipe.png: image is a FIFO (named pipe), not a regular file" in _one_line(done.stderr, "pipe.png: image is")
    assert (tmp_path / "out" / "mask" / "good.png").is_file()


BAD_TEXTS = {  # kind of bad text file (made by _bad_text) → the words of its one line
    "fifo": "description is a FIFO (named pipe), not a regular file",
    "huge": "description is larger than 64 KiB",
    "symlink-out": "description is a symlink to",
    "binary": "description holds binary data",
    "not-utf8": "description is not valid UTF-8 text",
}


def _bad_text(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        path.write_bytes(b"The target is upper left. " * 400_000)
    elif kind == "symlink-out":
        (path.parent.parent / "passwd").write_text(OUTSIDE)
        path.symlink_to(path.parent.parent / "passwd")
    elif kind == "binary":
        path.write_bytes(b"upper\x00left" + bytes(range(256)))
    else:
        path.write_bytes("en haut à gauche".encode("latin-1"))


def test_predict_descriptions_go_through_the_guarded_reader(language_ckpts, tmp_path) -> None:
    """`predict --descriptions DIR` (train+test prior) read each text with a plain read_text: a FIFO hung it,
    a 10 MB or binary file went to CLIP (or a traceback), a link to /etc/passwd was read. One run, one line each."""
    frames, texts = tmp_path / "frames", tmp_path / "texts"
    frames.mkdir()
    texts.mkdir()
    for name in ("good", *BAD_TEXTS):
        Image.fromarray(np.full((32, 32), 40, np.uint8)).save(frames / f"{name}.png")
    (texts / "good.txt").write_text("The small target is in the upper left.")
    for kind in BAD_TEXTS:
        _bad_text(texts / f"{kind}.txt", kind)
    done = _langir("predict", frames, "--checkpoint", language_ckpts["train+test"], "--descriptions", texts,
                   "--out", tmp_path / "out", "--device", "cpu", "--cache-dir", tmp_path / "cache")
    assert done.code == 1, done.stderr  # the good frame is predicted, the others listed
    assert "Traceback" not in done.stderr and "root:x" not in done.stdout + done.stderr
    for kind, words in BAD_TEXTS.items():
        assert words in _one_line(done.stderr, f"{texts / kind}.txt: "), done.stderr
        assert not (tmp_path / "out" / "mask" / f"{kind}.png").exists()
    assert (tmp_path / "out" / "mask" / "good.png").is_file()


@pytest.mark.parametrize(("flag", "words"), [("--prompt-file", "prompt file is a FIFO"),
                                             ("--prices", "price table is a FIFO")])
def test_describe_option_files_that_are_fifos(tmp_path, flag: str, words: str) -> None:
    """`describe --prompt-file PIPE` blocked forever in read_text; `--prices PIPE` too."""
    ds = _dataset(tmp_path / "ds")
    os.mkfifo(tmp_path / "pipe")
    done = _langir("describe", ds, "--provider", "template", "--dry-run", flag, tmp_path / "pipe")
    assert done.code == 2, done.stderr
    assert f"{tmp_path / 'pipe'}: {words} (named pipe), not a regular file" in _one_line(done.stderr, "error:")


@pytest.mark.parametrize(("table", "words"), [
    ({"gpt-x": [-5, 1]}, "price of 'gpt-x' must be two finite numbers ≥ 0, got [-5, 1]"),
    ({"gpt-x": ["NaN", 1]}, "price of 'gpt-x' must be two finite numbers ≥ 0"),
    ({"gpt-x": [1]}, "not a price table"),
    ("[1, 2", "price table is not valid JSON (line 1"),
])
def test_a_price_table_that_would_let_spending_past_the_cap_is_refused(tmp_path, table, words: str) -> None:
    """A negative or NaN price made every answer free (or worse) under --max-cost."""
    ds = _dataset(tmp_path / "ds")
    prices = tmp_path / "prices.json"
    prices.write_text(table if isinstance(table, str) else json.dumps(table))
    done = _langir("describe", ds, "--provider", "template", "--dry-run", "--prices", prices)
    assert done.code == 2, done.stderr
    assert words in _one_line(done.stderr, "error:")


def test_pack_does_not_publish_answer_targets_linked_from_outside(tmp_path) -> None:
    """A structured answer's targets file that is a symlink out of the set was read and published by `pack`."""
    ds = _dataset(tmp_path / "ds")
    for sample_id in ("a", "b", "c"):
        (ds / "descriptions").mkdir(exist_ok=True)
        (ds / "descriptions" / f"{sample_id}.description.txt").write_text("The small target is in the upper left.")
    record = {"image_size": [32, 32], "targets": [{"point": [9.5, 9.5], "box": [8, 8, 11, 11]}], "request": "k"}
    (ds / ".langir" / "targets").mkdir(parents=True)
    (ds / ".langir" / "targets" / "a.json").write_text(json.dumps(record))
    (tmp_path / "elsewhere.json").write_text(json.dumps(record))
    (ds / ".langir" / "targets" / "b.json").symlink_to(tmp_path / "elsewhere.json")
    done = _langir("pack", ds, tmp_path / "pack", "--format", "jsonl")
    assert done.code == 0, done.stderr
    rows = {}
    for path in (tmp_path / "pack").rglob("*.jsonl"):
        rows.update({r["id"]: r for r in map(json.loads, path.read_text().splitlines())})
    assert rows["a"]["targets"] and not rows["b"]["targets"], rows


def test_export_leaves_no_onnxruntime_files_in_home_or_tmpdir(tmp_path) -> None:
    """onnxruntime's telemetry wrote ~/.cache/Microsoft/DeveloperTools/… and $TMPDIR/.ses unasked."""
    pytest.importorskip("onnxruntime")
    from langir.models import create_model
    from langir.models.checkpoint import save_checkpoint

    kwargs = {"widths": [8, 8, 8, 8, 8]}
    ckpt = save_checkpoint(tmp_path / "best.pt", create_model("lgnet", **kwargs), {"model": "lgnet", "model_kwargs": kwargs})
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    done = run_langir("export", "--checkpoint", ckpt, "--onnx", tmp_path / "m.onnx", "--size", "64",
                      env={"HOME": str(home), "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(home / ".cache")}, timeout=TIMEOUT)
    assert done.code == 0, done.stderr
    left = [str(p.relative_to(tmp_path)) for root in (home, tmp) for p in root.rglob("*")]
    assert left == [], left
