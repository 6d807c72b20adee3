"""Structured targets travel with the set: `pack` rows carry `targets`, `report` draws them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image

from langir.curate.target_marks import ANSWER_COLOUR, draw_answer_targets
from langir.data.answer_targets import read_targets
from langir.data.dataset import LangIRDataset

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # nothing reaches the network
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def structured_set(demo_copy: Path, tmp_path: Path, cli) -> Path:
    """The demo described with structured answers, then its test split asked again plainly (no targets)."""
    assert cli("describe", demo_copy, "--provider", "template", "--structured").code == 0
    ds = LangIRDataset.open(demo_copy)
    ids = tmp_path / "test-ids.txt"
    ids.write_text("\n".join(ds.split_ids("test")) + "\n")
    res = cli("describe", demo_copy, "--provider", "template", "--plain", "--redo", ids)
    assert res.code == 0, res.stderr
    return demo_copy


def _expected(root: Path) -> dict[str, list | None]:
    ds = LangIRDataset.open(root)
    out = {}
    for sample_id in ds.all_ids():
        stored = read_targets(root, sample_id)
        out[sample_id] = None if stored is None else [{"point": t["point"], "box": t.get("box")} for t in stored]
    return out


def test_pack_rows_carry_the_stored_pixel_targets(structured_set: Path, tmp_path: Path, cli) -> None:
    expected = _expected(structured_set)
    ds = LangIRDataset.open(structured_set)
    test_ids = set(ds.split_ids("test"))
    assert all(expected[i] is None for i in test_ids)  # the plain redo dropped them
    assert any(expected[i] == [] for i in expected)  # empty masks: the answer saw no target
    assert sum(bool(v) for v in expected.values()) >= 10
    out = tmp_path / "packed"
    assert cli("pack", structured_set, out, "--format", "jsonl").code == 0
    rows = [json.loads(line) for split in ("trainval", "test") for line in (out / "data" / f"{split}.jsonl").open()]
    assert len(rows) == 32
    for row in rows:
        assert row["targets"] == expected[row["id"]], row["id"]
        mask = ds.read_mask(row["id"]) > 0
        for target in row["targets"] or []:  # pixels of the image, x first: the point lies on the target
            x, y = target["point"]
            assert mask[int(y), int(x)], (row["id"], target)


@pytest.mark.parametrize("fmt", ["hf", "parquet"])
def test_packed_targets_load_with_datasets(structured_set: Path, tmp_path: Path, cli, fmt: str) -> None:
    datasets = pytest.importorskip("datasets")
    expected = _expected(structured_set)
    out = tmp_path / f"packed-{fmt}"
    res = cli("pack", structured_set, out, "--format", fmt)
    assert res.code == 0, res.stderr
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    # one feature type in every split, although the test split has no structured targets at all
    target_type = {split: loaded[split].features["targets"] for split in loaded}
    assert len({repr(t) for t in target_type.values()}) == 1, target_type
    for split in loaded:
        for row in loaded[split]:
            assert row["targets"] == expected[row["id"]], row["id"]


def test_draw_answer_targets_marks_the_point_where_it_is(tmp_path: Path) -> None:
    fig = Figure(figsize=(4, 4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(np.zeros((100, 100)), cmap="gray", vmin=0, vmax=1)
    target = {"point": [70.5, 30.5], "box": [60.0, 20.0, 81.0, 41.0]}
    assert draw_answer_targets(ax, [target]) == 1 and draw_answer_targets(ax, None) == 0
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    magenta = np.all(np.abs(rgb - np.array(to_rgb(ANSWER_COLOUR)) * 255) < 40, axis=-1)
    # the × is centred on pixel (70, 30) of the image (the point is in corner-origin pixels)
    x, y = ax.transData.transform((70.0, 30.0))
    row, col = rgb.shape[0] - y, x
    near = magenta[int(row) - 6 : int(row) + 7, int(col) - 6 : int(col) + 7]
    assert near.sum() >= 10
    far = magenta[int(rgb.shape[0] - ax.transData.transform((20.0, 80.0))[1]) - 6 :][:13]
    assert far[:, int(ax.transData.transform((20.0, 80.0))[0]) - 6 :][:, :13].sum() == 0


def test_report_gallery_draws_the_answers(structured_set: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "report"
    res = cli("report", structured_set, "--out", out)
    assert res.code == 0, res.stderr
    rgb = np.asarray(Image.open(out / "gallery.png").convert("RGB")).astype(int)
    magenta = np.all(np.abs(rgb - np.array(to_rgb(ANSWER_COLOUR)) * 255) < 40, axis=-1)
    assert magenta.sum() > 50  # the answers' marks are on the overlays
