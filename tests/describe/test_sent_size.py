"""Numbers in pixels are judged on the image the model was sent, not on the file on disk.

`describe` downscales large frames before sending (--max-side, default 1024; each provider's own
limit). A model that answers in pixels answers in the pixels it saw — GPT's of the sent image,
Qwen2.5-VL's of its own `smart_resize` of it — so `validate` must read the point on that size. The
ledger records the size each request carried, for direct and batch runs; the fake VLM below finds the
target in the PNG it receives and answers where it sees it, as a real one would.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from langir.curate.validate import judge_text
from langir.data.dataset import LangIRDataset
from langir.describe.ledger import Ledger
from tests.describe.describe_helpers import set_provider_keys
from tests.describe.fake_server import FakeServer, image_bytes

FAST = ["--backoff", "0.01", "--timeout", "10", "--json"]
SIZE = (1536, 2048)  # height, width: sent at 768×1024 under the default --max-side 1024
TARGET = (1296, 1796)  # row, col of the 9×9 target's top-left pixel: lower right, off any round fraction


def _dataset(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    image = np.full(SIZE, 20, np.uint8)
    mask = np.zeros(SIZE, np.uint8)
    r, c = TARGET
    image[r : r + 9, c : c + 9] = 250
    mask[r : r + 9, c : c + 9] = 255
    Image.fromarray(image).save(root / "images" / "big.png")
    Image.fromarray(mask).save(root / "masks" / "big.png")
    return root


def _seen(info: dict) -> tuple[float, float, int, int]:
    """(x, y) of the brightest spot in the image the request carried, and that image's (W, H)."""
    sent = np.asarray(Image.open(io.BytesIO(image_bytes(info))).convert("L"), np.float32)
    rows, cols = np.nonzero(sent >= sent.max() - 20)
    return float(cols.mean()), float(rows.mean()), sent.shape[1], sent.shape[0]


def _smart_resize(width: int, height: int) -> tuple[int, int]:
    """Qwen2.5-VL's resize for a mid-sized image: each side rounded to a multiple of 28."""
    return round(width / 28) * 28, round(height / 28) * 28


def gpt_answer(info: dict) -> str:
    x, y, _, _ = _seen(info)
    return f"A small bright target lies in the lower right, at pixel ({x:.0f}, {y:.0f})."


def qwen_answer(info: dict) -> str:
    x, y, w, h = _seen(info)
    qw, qh = _smart_resize(w, h)
    return f"The target is in the lower right, at ({x * qw / w:.0f}, {y * qh / h:.0f})."


@pytest.mark.parametrize(("model", "answer", "batch"), [
    ("gpt-4o", gpt_answer, False),
    ("gpt-4o", gpt_answer, True),
    ("Qwen/Qwen2.5-VL-7B-Instruct", qwen_answer, False),
])
def test_a_point_in_the_sent_images_pixels_agrees(tmp_path, cli, monkeypatch, model, answer, batch):
    set_provider_keys(monkeypatch)
    root = _dataset(tmp_path / "ds")
    prices = tmp_path / "prices.json"
    prices.write_text('{"Qwen/Qwen2.5-VL-7B-Instruct": [0.2, 0.6]}')
    with FakeServer() as fake:
        fake.api.reply_fn = answer
        done = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--model", model,
                   "--prices", prices, *(["--batch", "--poll", "0.01"] if batch else []), *FAST)
        assert done.code == 0, done.stderr
    ledger = Ledger.for_dataset(root, readonly=True)
    row = ledger.current("big")
    ledger.close()
    assert row is not None and row.sent_size == (1024, 768)

    table = tmp_path / "table.csv"
    judged = cli("validate", root, "--out", table)
    verdict = pd.read_csv(table, keep_default_na=False).set_index("id").loc["big"]
    assert (judged.code, verdict["verdict"], verdict["coords_verdict"]) == (0, "agrees", "agrees"), judged.stdout

    # the same words and numbers judged on the file's own size miss the target: what validate did before
    text = LangIRDataset.open(root).read_description("big")
    mask = np.asarray(Image.open(root / "masks" / "big.png")) > 0
    centroid = np.array([[(TARGET[0] + 4) / SIZE[0], (TARGET[1] + 4) / SIZE[1]]])
    convention = "qwen2.5" if "Qwen" in model else "pixels"
    assert mask.any() and judge_text(text, centroid, convention=convention).coords.verdict == "contradicts"
    assert judge_text(text, centroid, convention=convention, sent_size=(1024, 768)).coords.verdict == "agrees"


def test_a_ledger_from_before_the_column_opens_and_judges_on_the_files_size(tmp_path, cli, monkeypatch):
    """Rows written before the size was recorded have none: validate judges them as it always did."""
    set_provider_keys(monkeypatch)
    root = _dataset(tmp_path / "ds")
    with FakeServer() as fake:
        fake.api.reply_fn = gpt_answer
        assert cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, *FAST).code == 0
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    con.execute("UPDATE requests SET sent_width = NULL, sent_height = NULL")
    con.commit()
    con.close()
    table = tmp_path / "table.csv"
    assert cli("validate", root, "--out", table).code == 1  # the point, read on 2048×1536, hits nothing
    verdict = pd.read_csv(table, keep_default_na=False).set_index("id").loc["big"]
    assert verdict["coords_verdict"] == "contradicts"
