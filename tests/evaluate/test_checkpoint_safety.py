"""Checkpoints are loaded with weights_only: a pickled payload is refused and never runs; contents validated."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest
import torch

from langir.errors import DataError
from langir.models import create_model
from langir.models.checkpoint import FORMAT, load_checkpoint, read_checkpoint, save_checkpoint
from tests.evaluate.helpers import ensure_predict_registered


class Payload:
    """Unpickling this calls open(marker, 'w'): the file appearing means code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


def _good_payload() -> dict:
    return {"format": FORMAT, "meta": {"model": "test_bright", "model_kwargs": {}, "language_prior": "never"},
            "model_state": create_model("test_bright").state_dict(), "state": {}}


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(tmp_path / "imgs" / "a.png")
    return tmp_path / "imgs"


def test_pickled_payload_is_refused_and_never_runs(cli, tmp_path, image_dir, demo_root):
    ensure_predict_registered()
    marker = tmp_path / "PWNED"
    payload = _good_payload()
    payload["state"] = {"rng": Payload(marker)}
    ckpt = tmp_path / "evil.pt"
    torch.save(payload, ckpt)
    runs = [
        ("eval", "--checkpoint", ckpt, "--dataset", demo_root, "--device", "cpu"),
        ("export", "--checkpoint", ckpt, "--onnx", tmp_path / "x.onnx", "--size", "32"),
        ("predict", "--checkpoint", ckpt, image_dir, "--out", tmp_path / "p"),
    ]
    for args in runs:
        r = cli(*args)
        assert r.code == 2, (args[0], r.stderr)
        assert "refused" in r.stderr and "io.open" in r.stderr and str(ckpt.name) in r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 3  # one (soft-wrapped) line
        assert not marker.exists()
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "p").exists()


@pytest.mark.parametrize(("mutate", "words"), [
    (lambda p: p.pop("model_state"), "no 'model_state'"),
    (lambda p: p.update(meta=["not", "a", "table"]), "'meta' must be a table"),
    (lambda p: p["meta"].update(model="no_such_net"), "'no_such_net' is not registered"),
    (lambda p: p["meta"].update(model_kwargs={"bogus": 1}), "bogus"),
    (lambda p: p["meta"].update(model_kwargs=[1]), "'model_kwargs' must be a table"),
    (lambda p: p.update(format="langir-checkpoint/9"), "format 'langir-checkpoint/9' is not supported"),
    (lambda p: p.pop("format"), "not a langir checkpoint"),
    (lambda p: p.update(model_state={"level": torch.zeros(3)}), "weights do not fit"),
])
def test_malformed_checkpoints_are_one_line_errors(tmp_path, cli, mutate, words):
    payload = _good_payload()
    mutate(payload)
    ckpt = tmp_path / "bad.pt"
    torch.save(payload, ckpt)
    with pytest.raises(DataError, match=".*") as info:
        load_checkpoint(ckpt)
    assert words in str(info.value) and str(ckpt) in str(info.value)
    r = cli("export", "--checkpoint", ckpt, "--onnx", tmp_path / "m.onnx", "--size", "32")
    assert r.code == 2 and words.split("'")[0].strip() in r.stderr and "Traceback" not in r.stderr


def test_garbage_and_folders_are_refused(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(DataError, match="not a readable checkpoint"):
        read_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(DataError, match="not a regular file"):
        read_checkpoint(tmp_path)
    with pytest.raises(DataError, match="not found"):
        read_checkpoint(tmp_path / "none.pt")


def test_rng_state_round_trips_and_legacy_numpy_state_loads(tmp_path):
    model = create_model("test_bright")
    np.random.seed(7)
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state()}
    expected = np.random.rand(3)
    save_checkpoint(tmp_path / "a.pt", model, {"model": "test_bright", "model_kwargs": {}}, {"rng": state})
    back = read_checkpoint(tmp_path / "a.pt")["state"]["rng"]
    np.random.seed(0)
    np.random.set_state(back["numpy"])
    np.testing.assert_array_equal(np.random.rand(3), expected)
    assert torch.equal(back["torch"], state["torch"])
    # A checkpoint written before plain lists (numpy array inside) still loads under weights_only.
    legacy = _good_payload()
    np.random.seed(7)
    legacy["state"] = {"rng": {"numpy": np.random.get_state()}}
    torch.save(legacy, tmp_path / "old.pt")
    old = read_checkpoint(tmp_path / "old.pt")["state"]["rng"]["numpy"]
    np.random.set_state(old)
    np.testing.assert_array_equal(np.random.rand(3), expected)
