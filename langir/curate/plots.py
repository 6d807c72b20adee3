"""The report's plots: Table-1 bars, description lengths, failure kinds, target heat-map,
claimed-vs-actual region confusion and the gallery.

matplotlib's object API (`Figure` + the Agg canvas): no pyplot state, no GUI backend, safe in
threads and on headless machines. Every file is written atomically.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from langir.curate.grounding import DEFAULT_TOLERANCE
from langir.curate.regions import Claim
from langir.curate.stats import TABLE1_COLUMNS, DatasetStats
from langir.curate.validate import (
    FAILURE_KINDS,
    FILE_FAILURES,
    GROUNDING_FAILURES,
    MASK_FAILURES,
    TEXT_FAILURES,
)
from langir.data.atomic import save_figure_atomic
from langir.data.dataset import LangIRDataset
from langir.errors import DataError

AXIS_VALUES = {"vertical": ("upper", "center", "lower"), "horizontal": ("left", "center", "right")}
_VERDICT_ORDER = {"contradicts": 0, "vague": 1, "no-target": 2, "agrees": 3}


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    save_figure_atomic(path, fig, format="png", dpi=110)
    return path


def plot_table1(stats: DatasetStats, path: Path, splits: Sequence[str] | None = None) -> Path:
    """Grouped bars: Table-1 word counts, one group per word, one bar per (dataset,) split.

    `splits`: the split rows to draw (non-overlapping ones, so no image is counted twice); None: every row.
    """
    table = stats.table1
    if splits is not None:
        table = table[table["split"].isin(list(splits))]
    fig = Figure(figsize=(8, 4.2))
    ax = fig.add_subplot()
    n = max(len(table), 1)
    width = 0.8 / n
    x = np.arange(len(TABLE1_COLUMNS))
    several = table["dataset"].nunique() > 1
    for i, row in enumerate(table.itertuples(index=False)):
        label = f"{row.dataset} / {row.split}" if several else row.split
        ax.bar(x + (i - (n - 1) / 2) * width, [getattr(row, c) for c in TABLE1_COLUMNS], width, label=label)
    ax.set_xticks(x, TABLE1_COLUMNS)
    ax.set_ylabel("occurrences (words)")
    ax.set_xlabel("position word" + (" (synonyms folded)" if stats.synonyms else ""))
    ax.set_title("Table 1: position words per split" + ("" if splits is None else f" ({', '.join(splits)})"))
    if len(table):
        ax.legend(title="split", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def plot_word_hist(lengths: Sequence[int], max_words: int, path: Path) -> Path:
    """Histogram of words per description, the limit as a dashed line."""
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    values = np.asarray(lengths, dtype=int)
    if len(values):
        top = max(int(values.max()), max_words) + 2
        ax.hist(values, bins=np.arange(0, top + 1) - 0.5 if top <= 120 else 60, color="#4477aa", edgecolor="white")
        over = int((values > max_words).sum())
        ax.set_ylim(top=ax.get_ylim()[1] * 1.18)  # headroom: the note must not sit on the bars or the limit line
        ax.text(0.99, 0.97, f"{over} of {len(values)} over the limit ({100 * over / len(values):.1f} %)",
                transform=ax.transAxes, ha="right", va="top",
                bbox={"facecolor": "white", "edgecolor": "#cccccc", "boxstyle": "round,pad=0.3"})
    ax.axvline(max_words, color="#cc3311", linestyle="--", label=f"limit: {max_words} words")
    ax.set_xlabel("words per description")
    ax.set_ylabel("descriptions")
    ax.set_title("Description length")
    ax.legend(loc="upper left")
    return _save(fig, path)


def plot_target_heatmap(targets: pd.DataFrame, path: Path, bins: int = 24) -> Path:
    """2-D histogram of target centroids in image fractions, with the quadrant and 3×3-grid lines."""
    fig = Figure(figsize=(5.6, 4.8))
    ax = fig.add_subplot()
    hist, _, _ = np.histogram2d(targets["row"], targets["col"], bins=bins, range=[[0, 1], [0, 1]])
    im = ax.imshow(hist, extent=(0, 1, 1, 0), cmap="magma", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="targets per cell")
    for v in (1 / 3, 2 / 3):
        ax.axhline(v, color="white", lw=0.6, ls=":")
        ax.axvline(v, color="white", lw=0.6, ls=":")
    ax.axhline(0.5, color="cyan", lw=0.8)
    ax.axvline(0.5, color="cyan", lw=0.8)
    ax.set_xlabel("column (fraction of image width)")
    ax.set_ylabel("row (fraction of image height, top = 0)")
    ax.set_title(f"Target positions ({len(targets)} targets)\nquadrants: cyan, 3×3 grid: dotted")
    return _save(fig, path)


def region_confusion(claims: pd.DataFrame, targets: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, pd.DataFrame]:
    """Per axis: (actual region of the nearest target, region word the claim uses) counts.

    Judged as validate judges: a claim validate found consistent counts as right on both axes (the
    diagonal); for the others each axis is checked on its own with the same region rule and
    tolerance, and a wrong axis is put in the row of the grid third holding the nearest target. A
    fully correct set is therefore purely diagonal. Claims that name no region on an axis are left
    out of that axis (their count is in `DataFrame.attrs['unnamed']`).
    """
    result = {}
    by_id = {k: g[["row", "col"]].to_numpy() for k, g in targets.groupby("id")} if len(targets) else {}
    grid_col = {"vertical": "mask_row", "horizontal": "mask_col"}
    for axis, values in AXIS_VALUES.items():
        table = pd.DataFrame(0, index=pd.Index(values, name="actual"), columns=pd.Index(values, name="claimed"))
        unnamed = 0
        for row in claims.itertuples(index=False):
            word = getattr(row, axis) or ""
            cell = int(getattr(row, grid_col[axis]))
            if cell < 0:  # no target to compare with (empty or unreadable mask)
                continue
            if not word:
                unnamed += 1
                continue
            right = bool(row.consistent)
            if not right and row.id in by_id:
                claim = Claim(**{axis: word, ("horizontal" if axis == "vertical" else "vertical"): None}, phrase="")
                full = Claim(row.vertical or None, row.horizontal or None, "")
                points = by_id[row.id]
                nearest = points[int(np.argmin(full.distance(points)))]
                right = bool(claim.contains(nearest[None, :], tolerance)[0])
            table.loc[word if right else values[cell], word] += 1
        table.attrs["unnamed"] = unnamed
        result[axis] = table
    return result


def plot_confusion(confusion: dict[str, pd.DataFrame], path: Path, judged: str = "") -> Path:
    """Claimed word (columns) vs the actual region of the nearest target (rows), one panel per axis."""
    fig = Figure(figsize=(10, 4.4))
    for i, (axis, table) in enumerate(confusion.items()):
        ax = fig.add_subplot(1, 2, i + 1)
        values = table.to_numpy()
        im = ax.imshow(values, cmap="Blues", vmin=0, vmax=max(int(values.max()), 1))
        for (r, c), v in np.ndenumerate(values):
            ax.text(c, r, str(v), ha="center", va="center",
                    color="white" if v > values.max() / 2 else ("#cc3311" if v and r != c else "black"))
        ax.set_xticks(range(table.shape[1]), table.columns)
        ax.set_yticks(range(table.shape[0]), table.index)
        ax.set_xlabel(f"claimed ({axis} word)")
        ax.set_ylabel("actual (nearest target)")
        correct = int(np.trace(values))
        total = int(values.sum())
        ax.set_title(f"{axis.capitalize()}: {correct} of {total} claims right"
                     + (f", {table.attrs.get('unnamed', 0)} name no {axis} region" if table.attrs.get("unnamed") else ""),
                     fontsize="medium")
        fig.colorbar(im, ax=ax, label="claims", shrink=0.8)
    fig.suptitle("Claimed vs. actual region" + (f" ({judged})" if judged else "") + "; off-diagonal = wrong claims",
                 fontsize="medium")
    return _save(fig, path)


def worst_grounded(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """Graded images, worst first: contradicts, vague, then by grounding distance, then failures."""
    graded = table[table["verdict"] != "n/a"].copy()
    graded["_order"] = graded["verdict"].map(_VERDICT_ORDER).fillna(9)
    graded["_fail"] = graded["ok"].map(lambda ok: 0 if not ok else 1)
    graded["_dist"] = -graded["distance"].fillna(0.0)
    return graded.sort_values(["_order", "_fail", "_dist", "id"]).head(n)


def plot_gallery(ds: LangIRDataset, rows: pd.DataFrame, path: Path, cols: int = 4) -> Path:
    """Images with the mask outlined (green) and their description, worst grounded first."""
    n = max(len(rows), 1)
    cols = min(cols, n)
    nrows = (n + cols - 1) // cols
    fig = Figure(figsize=(3.4 * cols, 4.3 * nrows))
    for i, row in enumerate(rows.itertuples(index=False)):
        ax = fig.add_subplot(nrows, cols, i + 1)
        ax.set_xticks([])
        ax.set_yticks([])
        try:
            image = ds.read_image(row.id)
            mask = ds.read_mask(row.id, image.shape)
        except DataError:
            ax.set_title(f"{row.id}: unreadable", fontsize="small")
            continue
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        if mask.any():
            ax.contour(mask.astype(float), levels=[0.5], colors="lime", linewidths=1.0)
        kinds = [k for k in str(row.failures).split(";") if k]
        colour = outcome_colour(kinds)
        ax.set_title(f"{row.id} · {row.verdict}" + (f" · d={row.distance:.2f}" if row.distance else "")
                     + (f"\n{', '.join(kinds)}" if kinds else ""), fontsize="small", color=colour)
        text = textwrap.fill(str(row.description), 44)
        lines = text.splitlines()
        text = "\n".join(lines[:6] + (["…"] if len(lines) > 6 else []))
        ax.set_xlabel(text, fontsize=7, loc="left")
    fig.suptitle("Gallery, worst grounded first (mask outline in green). Titles: green ok, red grounding failure, "
                 "orange text failure, purple file/mask problem", fontsize="medium")
    return _save(fig, path)


def outcome_colour(kinds: Sequence[str]) -> str:
    """Colour of an image's failure kinds: grounding (red) before text (orange) before file/mask (purple)."""
    for group, colour in ((GROUNDING_FAILURES, "#cc3311"), (TEXT_FAILURES, "#ee7733"),
                          (FILE_FAILURES + MASK_FAILURES, "#aa3377")):
        if any(k in group for k in kinds):
            return colour
    return "#228833"


def plot_failures(summary: dict, path: Path) -> Path:
    """Horizontal bars of failure kinds, coloured by group (grounding / text / file and mask)."""
    kinds = [k for k in FAILURE_KINDS if summary["failures"].get(k)]
    fig = Figure(figsize=(7, 0.45 * max(len(kinds), 1) + 1.4))
    ax = fig.add_subplot()
    counts = [summary["failures"][k] for k in kinds]
    ax.barh(range(len(kinds)), counts, color=[outcome_colour([k]) for k in kinds])
    ax.set_yticks(range(len(kinds)), kinds)
    ax.invert_yaxis()
    for i, v in enumerate(counts):
        ax.text(v, i, f" {v}", va="center")
    ax.set_xlabel("images")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Failure kinds ({summary['failing']} of {summary['images']} images fail)", fontsize="medium")
    if not kinds:
        ax.text(0.5, 0.5, "no failures: every image passes every check", transform=ax.transAxes, ha="center", va="center")
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_xlabel("")
    return _save(fig, path)
