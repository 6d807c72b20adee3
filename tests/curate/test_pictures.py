"""The report's pictures tell the truth: small targets stay visible, tiles are equal, counts have whole ticks,
the limit bar shows, the card names the rule and the provenance the verdicts really used."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from scipy import ndimage

from langir.curate.plots import (
    confusion_figure,
    failures_figure,
    gallery_figure,
    heatmap_bins,
    heatmap_figure,
    outline_ring,
    table1_figure,
    word_hist_figure,
    worst_grounded,
)
from langir.curate.provenance import provenance_lines, read_provenance, summarize_provenance
from langir.curate.validate import validate_dataset
from langir.data.dataset import LangIRDataset
from tests.curate.curate_helpers import make_dataset, square


def _render(fig) -> np.ndarray:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3]


def _whole(ticks) -> bool:
    return all(float(t).is_integer() for t in ticks)


def _visible_ticks(axis) -> list[float]:
    lo, hi = sorted(axis.get_view_interval())
    return [t for t in axis.get_ticklocs() if lo - 1e-9 <= t <= hi + 1e-9]


# ---- the gallery -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 2), (3, 1), (1, 1)])
def test_outline_ring_leaves_the_target_and_a_gap_free(shape):
    mask = np.zeros((20, 20), bool)
    mask[9 : 9 + shape[0], 9 : 9 + shape[1]] = True
    ring = outline_ring(mask, gap=2, width=2)
    assert not (ring & mask).any()
    near = ndimage.binary_dilation(mask, np.ones((3, 3), bool), iterations=2)
    assert not (ring & near).any()  # two clear pixels between the target and its outline
    rows, cols = np.nonzero(ring)
    assert rows.min() < 9 < 9 + shape[0] <= rows.max() and cols.min() < 9 < 9 + shape[1] <= cols.max()  # all round


def _gallery_set(tmp_path: Path) -> Path:
    """Three tiny-target images of different shapes and descriptions of different lengths."""
    items = {
        "wide": (square((60, 160), [(30, 40)], half=1), "The small target is in the left of the image."),
        "tall": (square((160, 60), [(40, 30)], half=1),
                 "The small target is in the upper part of the image. " + "It is faint against the cloud. " * 8),
        "tiny": (square((90, 90), [(70, 70)], half=0), "The small target is in the lower right of the image."),
    }
    return make_dataset(tmp_path / "gallery", items)


def test_gallery_tiles_are_equal_and_a_one_pixel_target_is_seen_inside_its_ring(tmp_path):
    ds = LangIRDataset.open(_gallery_set(tmp_path))
    result = validate_dataset(ds, ds.all_ids())
    rows = worst_grounded(result.table, 3, result.targets)
    fig = gallery_figure(ds, rows, cols=3)
    pixels = _render(fig)
    boxes = [ax.get_window_extent() for ax in fig.axes]
    assert len({(round(b.width), round(b.height)) for b in boxes}) == 1  # equal tiles whatever the image shape
    assert len({round(b.y0) for b in boxes}) == 1
    tile = next(ax for ax, rid in zip(fig.axes, rows["id"], strict=True) if rid == "tiny")
    x, y = tile.transData.transform((70, 70))
    y = pixels.shape[0] - y  # display y runs upwards
    r, c = int(round(y)), int(round(x))
    centre = pixels[r, c].astype(int)
    assert centre.min() > 200 and abs(centre[0] - centre[1]) < 20  # the target itself: bright grey, not green
    around = pixels[r - 12 : r + 13, c - 12 : c + 13].reshape(-1, 3).astype(int)
    green = (around[:, 1] > 200) & (around[:, 0] < 120) & (around[:, 2] < 120)
    assert green.sum() >= 8  # and the ring is there around it


def test_worst_first_breaks_ties_by_the_smallest_target_not_the_alphabet(tmp_path):
    items = {
        "a_big": (square((90, 90), [(70, 70)], half=3), "The small target is in the lower right of the image."),
        "b_tiny": (square((90, 90), [(70, 70)], half=0), "The small target is in the lower right of the image."),
        "c_mid": (square((90, 90), [(70, 70)], half=1), "The small target is in the lower right of the image."),
        "d_wrong": (square((90, 90), [(70, 70)], half=2), "The small target is in the upper left of the image."),
    }
    ds = LangIRDataset.open(make_dataset(tmp_path / "ties", items))
    result = validate_dataset(ds, ds.all_ids())
    order = worst_grounded(result.table, 4, result.targets)["id"].tolist()
    assert order == ["d_wrong", "b_tiny", "c_mid", "a_big"]  # the contradiction, then smallest target first


# ---- counts: whole ticks, visible bars ----------------------------------------------------------
def test_heatmap_bins_follow_the_target_count_and_the_colour_bar_counts_whole_targets():
    assert heatmap_bins(67) == 6 and heatmap_bins(10) == 3 and heatmap_bins(532) == 18 and heatmap_bins(10**6) == 24
    rng = np.random.default_rng(1)
    targets = pd.DataFrame({"row": rng.random(67), "col": rng.random(67)})
    fig = heatmap_figure(targets)
    _render(fig)
    colourbar = fig.axes[1]
    assert _whole(_visible_ticks(colourbar.yaxis))
    assert "6×6 cells" in fig.axes[0].get_title()
    many = pd.DataFrame({"row": rng.random(5000) ** 3, "col": rng.random(5000) ** 3})  # > 10 per cell: continuous
    fig = heatmap_figure(many)
    _render(fig)
    assert _whole(_visible_ticks(fig.axes[1].yaxis))


def test_word_counts_show_single_descriptions_and_the_bar_at_the_limit():
    lengths = [15] * 200 + [35, 44, 47, 50, 50]
    fig = word_hist_figure(lengths, 50)
    _render(fig)
    ax = fig.axes[0]
    bars = {round(p.get_x() + p.get_width() / 2): p for p in ax.patches if p.get_height() > 0}
    limit = next(line for line in ax.get_lines() if "limit" in line.get_label()).get_xdata()[0]
    at_limit = bars[50]
    assert not at_limit.get_x() <= limit <= at_limit.get_x() + at_limit.get_width()  # the line beside the bar, not on it
    for one in (35, 44, 47):  # one description each: an edge to see and its count written above
        assert bars[one].get_edgecolor()[:3] != (1.0, 1.0, 1.0)
        assert any(t.get_text() == "1" and round(t.get_position()[0]) == one for t in ax.texts)
    assert _whole(_visible_ticks(ax.yaxis)) and _whole(_visible_ticks(ax.xaxis))


def test_every_count_axis_has_whole_ticks_even_for_tiny_counts(tmp_path):
    from langir.curate.stats import compute_stats

    root = make_dataset(tmp_path / "few", {
        "x": (square((60, 60), [(10, 10)]), "The small target is in the upper left of the image."),
        "y": (square((60, 60), [(50, 50)]), "The small target is in the lower right of the image."),
    })
    ds = LangIRDataset.open(root)
    fig = table1_figure(compute_stats([ds]))
    _render(fig)
    assert _whole(_visible_ticks(fig.axes[0].yaxis))
    table = pd.DataFrame([[2, 0, 0], [0, 1, 0], [0, 0, 1]], index=["upper", "center", "lower"],
                         columns=["upper", "center", "lower"])
    fig = confusion_figure({"vertical": table, "horizontal": table.set_axis(["left", "center", "right"], axis=0)
                            .set_axis(["left", "center", "right"], axis=1)})
    _render(fig)
    colourbars = [ax for ax in fig.axes if ax.get_ylabel() == "claims"]
    assert len(colourbars) == 2 and all(_whole(_visible_ticks(ax.yaxis)) for ax in colourbars)
    fig = failures_figure({"failures": {"too-long": 1, "contradicts": 2}, "failing": 2, "images": 3})
    _render(fig)
    assert _whole(_visible_ticks(fig.axes[0].xaxis))


# ---- the card ----------------------------------------------------------------------------------
@pytest.mark.parametrize("strictness", ["grid", "broad"])
def test_the_card_describes_the_rule_the_verdicts_used(tmp_path, strictness):
    from langir.curate.report import write_report

    root = make_dataset(tmp_path / "set", {
        "x": (square((90, 90), [(40, 10)]), "The small target is in the upper left of the image."),
    })
    ds = LangIRDataset.open(root)
    done = write_report(ds, ds.all_ids(), tmp_path / f"rep_{strictness}", strictness=strictness, gallery=1)
    card = (tmp_path / f"rep_{strictness}" / "README.md").read_text()
    other = "broad" if strictness == "grid" else "grid"
    assert f"judged with the **{strictness}** rule" in card and f"**{other}** rule" not in card
    assert f"strictness {strictness}" in card
    assert done.validation.strictness == strictness
    # a target in the middle third, claimed "upper left": right by the half-plane, wrong by the grid
    verdicts = done.validation.summary()["verdicts"]
    assert verdicts["agrees" if strictness == "broad" else "contradicts"] == 1


def _ledger(root: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """A describe ledger with the columns `langir describe` writes (image_id, provider, model, prompt style)."""
    (root / ".langir").mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(root / ".langir" / "describe.sqlite")
    db.execute("CREATE TABLE requests (image_id TEXT, provider TEXT, model TEXT, status TEXT, text TEXT, cost_usd REAL,"
               " updated REAL, prompt_style TEXT, prompt_digest TEXT)")
    db.executemany("INSERT INTO requests VALUES (?, ?, ?, 'done', ?, 0.0, 1.7e9, 'system', 'abc123')", rows)
    db.commit()
    db.close()


def test_template_descriptions_name_no_prompt_style(tmp_path):
    _ledger(tmp_path, [("a", "template", "template-rich", "x"), ("b", "template", "template-rich", "y")])
    records = read_provenance(tmp_path)
    assert all(r["prompt_style"] is None and r["prompt_digest"] is None for r in records.values())
    lines = provenance_lines(summarize_provenance(records))
    assert not any("Prompt styles" in line for line in lines)
    assert any("`template`, which writes from the masks with no model and no prompt" in line for line in lines)


def test_a_mixed_ledger_counts_prompt_styles_of_the_prompted_answers_only(tmp_path):
    _ledger(tmp_path, [("a", "template", "template-rich", "x"), ("b", "openai", "gpt-4o-mini", "y")])
    lines = provenance_lines(summarize_provenance(read_provenance(tmp_path)))
    assert any(line.startswith("Prompt styles: `system` (1).") for line in lines)
    assert any(line.startswith("1 description(s) came from `template`") for line in lines)


def test_template_describe_then_report_names_no_prompt(tmp_path, cli):
    root = make_dataset(tmp_path / "d", {"x": (square((60, 60), [(10, 10)]), None)})
    assert cli("describe", root, "--provider", "template").code == 0
    assert cli("report", root, "--out", tmp_path / "rep", "--gallery", "0", "--strictness", "broad").code == 0
    card = (tmp_path / "rep" / "README.md").read_text()
    assert "Prompt styles" not in card and "no model and no prompt" in card
    assert "judged with the **broad** rule" in card  # the CLI passes the strictness through to the card
