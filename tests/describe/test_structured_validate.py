"""A structured answer whose words are right but whose point is wrong: `langir validate` calls it contradicts.

The judge that reads stored targets is built on the `grounding` branch (issue #17 item 3: words and
coordinates are both judged; when they disagree the answer fails as contradicts). On a branch without
it these tests fail: the stored targets are not read yet.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from langir.data.answer_targets import from_scale, read_targets, write_targets
from langir.data.dataset import LangIRDataset
from tests.describe.describe_helpers import SECRET
from tests.describe.fake_server import FakeServer

RIGHT_WORDS = "The small target lies in the lower right of the image, a bright point against a dark sky."
SIZE = (240, 320)  # height, width
TARGET = (180, 250)  # row, col of the 6×6 target's top-left pixel: lower right


def _dataset(root: Path, n: int) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    r, c = TARGET
    for i in range(n):
        image = np.full(SIZE, 30 + i, np.uint8)
        mask = np.zeros(SIZE, np.uint8)
        image[r : r + 6, c : c + 6] = 240
        mask[r : r + 6, c : c + 6] = 255
        Image.fromarray(image).save(root / "images" / f"ir_{i:05d}.png")
        Image.fromarray(mask).save(root / "masks" / f"ir_{i:05d}.png")
    return root


def _grid(x: float, y: float) -> dict:
    """A target on the 0..1000 grid around (x, y), as a structured answer gives it."""
    return {"point": [x, y], "box": [x - 10, y - 10, x + 10, y + 10]}


RIGHT = _grid(1000 * (TARGET[1] + 3) / SIZE[1], 1000 * (TARGET[0] + 3) / SIZE[0])
WRONG = _grid(120, 110)  # upper left: empty sky


def _verdicts(cli, root: Path, tmp_path: Path) -> pd.DataFrame:
    table = tmp_path / "table.csv"
    res = cli("validate", root, "--out", table, "--json")
    assert "Traceback" not in res.stderr
    return pd.read_csv(table, keep_default_na=False).set_index("id")


def test_right_words_wrong_point_is_contradicts(tmp_path, cli):
    root = _dataset(tmp_path / "ds", 2)
    ds = LangIRDataset.open(root)
    height, width = SIZE
    for sample_id, target in (("ir_00000", RIGHT), ("ir_00001", WRONG)):
        ds.write_description(sample_id, RIGHT_WORDS)  # the description file: only the text
        write_targets(root, sample_id, from_scale([target], width, height), (width, height))
    table = _verdicts(cli, root, tmp_path)
    assert table.at["ir_00000", "verdict"] == "agrees"  # control: words and point both right
    assert table.at["ir_00001", "verdict"] == "contradicts"
    assert str(table.at["ir_00001", "ok"]) == "False"


def test_wrong_point_through_describe_never_passes(tmp_path, cli, monkeypatch):
    """End to end: describe either refuses the answer (the same judge) or validate flags what was written."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    root = _dataset(tmp_path / "ds", 1)
    with FakeServer() as fake:
        fake.api.answer_fn = lambda info: {"description": RIGHT_WORDS, "targets": [WRONG]}
        res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--structured",
                  "--invalid-retries", "0", "--json", "--backoff", "0.01")
    assert "Traceback" not in res.stderr
    written = LangIRDataset.open(root).read_description("ir_00000")
    if written is None:  # refused by describe's own check: recorded, not written
        con = sqlite3.connect(root / ".langir" / "describe.sqlite")
        (status,) = con.execute("SELECT status FROM requests WHERE provider = 'openai'").fetchone()
        con.close()
        assert status == "invalid" and json.loads(res.stdout)["failed"] == 1
        return
    assert read_targets(root, "ir_00000")
    assert _verdicts(cli, root, tmp_path).at["ir_00000", "verdict"] == "contradicts"
