"""The report's plots: Table-1 bars, description lengths, failure kinds, target heat-map,
claimed-vs-actual region confusion and the gallery.

matplotlib's object API (`Figure` + the Agg canvas): no pyplot state, no GUI backend, safe in
threads and on headless machines. Every file is written atomically.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy import ndimage

from langir.curate.grounding import DEFAULT_STRICTNESS, DEFAULT_TOLERANCE
from langir.curate.regions import Claim
from langir.curate.stats import TABLE1_COLUMNS, DatasetStats
from langir.curate.target_marks import draw_answer_targets
from langir.curate.validate import (
    FAILURE_KINDS,
    FILE_FAILURES,
    GROUNDING_FAILURES,
    MASK_FAILURES,
    TEXT_FAILURES,
)
from langir.data.answer_targets import read_targets
from langir.data.atomic import save_figure_atomic
from langir.data.dataset import LangIRDataset
from langir.errors import DataError

AXIS_VALUES = {"vertical": ("upper", "center", "lower"), "horizontal": ("left", "center", "right")}
_VERDICT_ORDER = {"contradicts": 0, "vague": 1, "no-target": 2, "agrees": 3}


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.set_layout_engine(None)  # laid out once: the placeholder engine tight_layout leaves makes savefig draw twice
    save_figure_atomic(path, fig, format="png", dpi=110)
    return path


def plot_table1(stats: DatasetStats, path: Path, splits: Sequence[str] | None = None) -> Path:
    """Table-1 word counts as grouped bars (see `table1_figure`)."""
    return _save(table1_figure(stats, splits), path)


def table1_figure(stats: DatasetStats, splits: Sequence[str] | None = None) -> Figure:
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
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_word_hist(lengths: Sequence[int], max_words: int, path: Path) -> Path:
    """Histogram of words per description (see `word_hist_figure`)."""
    return _save(word_hist_figure(lengths, max_words), path)


def word_hist_figure(lengths: Sequence[int], max_words: int) -> Figure:
    """Bars of descriptions per word count, those over the limit in vermillion, the limit as a dashed line.

    The line sits half a word right of the limit, between the last passing bar and the first failing
    one, so a bar at exactly the limit is never hidden under it. Bars carry a dark edge and bars too
    short to see (under 2 % of the axis) their count, so a single description still shows.
    """
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    values = np.asarray(lengths, dtype=int)
    top = max(int(values.max()) if len(values) else 0, max_words) + 2
    step = max(1, -(-top // 120))  # words per bar: 1 up to 120 words, wider bins beyond (edges stay on the limit)
    first = max_words + 0.5 - step * -(-(max_words + 1) // step)
    edges = np.arange(first, top + step, step)
    counts, _ = np.histogram(values, bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    over_limit = centres > max_words
    colours = np.where(over_limit, "#d55e00", "#0072b2")
    edge_colours = np.where(over_limit, "#7a3500", "#003d5c")
    ax.bar(centres, counts, width=step * 0.85, color=colours, edgecolor=edge_colours, linewidth=0.8, zorder=2)
    peak = int(counts.max()) if len(counts) else 0
    ax.set_ylim(0, max(peak, 1) * 1.22)  # headroom: the note must not sit on the bars or the limit line
    for x, c in zip(centres, counts, strict=True):
        if 0 < c < 0.02 * max(peak, 1):
            ax.text(x, c, str(int(c)), ha="center", va="bottom", fontsize=7, color="#003d5c", zorder=3)
    ax.axvline(max_words + 0.5, color="#cc3311", linestyle="--", zorder=1,
               label=f"limit: {max_words} words (a description of {max_words} passes)")
    if len(values):
        over = int((values > max_words).sum())
        ax.text(0.99, 0.97, f"{over} of {len(values)} over the limit ({100 * over / len(values):.1f} %)",
                transform=ax.transAxes, ha="right", va="top",
                bbox={"facecolor": "white", "edgecolor": "#cccccc", "boxstyle": "round,pad=0.3"})
    ax.set_xlim(edges[0] - 0.5 if edges[0] > 0 else -1, edges[-1] + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("words per description" + (f" ({step} per bar)" if step > 1 else ""))
    ax.set_ylabel("descriptions")
    ax.set_title("Description length")
    ax.legend(loc="upper left")
    ax.grid(axis="y", alpha=0.3, zorder=0)
    return fig


def heatmap_bins(n_targets: int) -> int:
    """Cells per side for `n_targets` centroids: about two targets per cell if spread evenly.

    A multiple of 6, so cell edges fall on both the quadrant lines (1/2) and the 3×3 grid (1/3, 2/3);
    3 (the grid itself) under 18 targets, at most 24.
    """
    side = math.sqrt(max(n_targets, 1) / 2)
    return 3 if side < 4.5 else int(min(24, 6 * round(side / 6)))


def plot_target_heatmap(targets: pd.DataFrame, path: Path, bins: int | None = None) -> Path:
    """2-D histogram of target centroids (see `heatmap_figure`)."""
    return _save(heatmap_figure(targets, bins), path)


def heatmap_figure(targets: pd.DataFrame, bins: int | None = None) -> Figure:
    """2-D histogram of target centroids in image fractions, with the quadrant and 3×3-grid lines.

    `bins` per side: None chooses from the number of targets (`heatmap_bins`). Counts are whole, so the
    colour bar has integer ticks; up to 10 per cell each count gets its own colour, and with 6×6 cells or
    fewer each cell is labelled with its count.
    """
    bins = bins or heatmap_bins(len(targets))
    fig = Figure(figsize=(5.6, 4.8))
    ax = fig.add_subplot()
    hist, _, _ = np.histogram2d(targets["row"], targets["col"], bins=bins, range=[[0, 1], [0, 1]])
    peak = max(int(hist.max()), 1)
    if peak <= 10:
        cmap = colormaps["magma"].resampled(peak + 1)
        norm = BoundaryNorm(np.arange(-0.5, peak + 1.5), cmap.N)
        im = ax.imshow(hist, extent=(0, 1, 1, 0), cmap=cmap, norm=norm, interpolation="nearest")
        fig.colorbar(im, ax=ax, label="targets per cell", ticks=range(peak + 1))
    else:
        im = ax.imshow(hist, extent=(0, 1, 1, 0), cmap="magma", vmin=0, interpolation="nearest")
        fig.colorbar(im, ax=ax, label="targets per cell", ticks=MaxNLocator(integer=True))
    if bins <= 6:
        for (r, c), v in np.ndenumerate(hist):
            ax.text((c + 0.5) / bins, (r + 0.5) / bins, str(int(v)), ha="center", va="center", fontsize="small",
                    color="black" if v > peak * 0.6 else "white")
    for v in (1 / 3, 2 / 3):
        ax.axhline(v, color="white", lw=0.6, ls=":")
        ax.axvline(v, color="white", lw=0.6, ls=":")
    ax.axhline(0.5, color="cyan", lw=0.8)
    ax.axvline(0.5, color="cyan", lw=0.8)
    ticks, labels = [0, 1 / 3, 1 / 2, 2 / 3, 1], ["0", "1/3", "1/2", "2/3", "1"]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("column (fraction of image width)")
    ax.set_ylabel("row (fraction of image height, top = 0)")
    ax.set_title(f"Target positions ({len(targets)} targets, {bins}×{bins} cells)\nquadrants: cyan, 3×3 grid: dotted",
                 fontsize="medium")
    return fig


def region_confusion(claims: pd.DataFrame, targets: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE,
                     strictness: str = DEFAULT_STRICTNESS) -> dict[str, pd.DataFrame]:
    """Per axis: (actual region of the nearest target, region word the claim uses) counts.

    Judged as validate judges: a claim validate found consistent counts as right on both axes (the
    diagonal); for the others each axis is checked on its own with the same region rule and
    tolerance and strictness, and a wrong axis is put in the row of the grid third holding the nearest target. A
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
                nearest = points[int(np.argmin(full.distance(points, strictness)))]
                right = bool(claim.contains(nearest[None, :], tolerance, strictness)[0])
            table.loc[word if right else values[cell], word] += 1
        table.attrs["unnamed"] = unnamed
        result[axis] = table
    return result


def plot_confusion(confusion: dict[str, pd.DataFrame], path: Path, judged: str = "") -> Path:
    """The region confusion as two panels (see `confusion_figure`)."""
    return _save(confusion_figure(confusion, judged), path)


def confusion_figure(confusion: dict[str, pd.DataFrame], judged: str = "") -> Figure:
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
        fig.colorbar(im, ax=ax, label="claims", shrink=0.8, ticks=MaxNLocator(integer=True))
    fig.suptitle("Claimed vs. actual region" + (f" ({judged})" if judged else "") + "; off-diagonal = wrong claims",
                 fontsize="medium")
    return fig


GALLERY_ORDER = ("failing images first, by verdict (contradicts, vague, no-target); then farther from the claimed "
                 "region, right under one region rule only (broad or grid), more targets left undescribed; ties: the "
                 "smallest target first (the hardest to see), then the id. An empty mask whose text says so counts as "
                 "agreeing")


def worst_grounded(table: pd.DataFrame, n: int, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """The `n` graded images worst grounded first, in the order `GALLERY_ORDER` states.

    `targets` (validate's per-target table, with `area`) breaks the ties of a set where every image
    agrees: smallest target first, instead of alphabetical.
    """
    graded = table[table["verdict"] != "n/a"].copy()
    graded["_fail"] = graded["ok"].map(lambda ok: 0 if not ok else 1)
    graded["_order"] = graded["verdict"].map(_VERDICT_ORDER).fillna(9)
    graded.loc[(graded["verdict"] == "no-target") & graded["ok"].astype(bool), "_order"] = _VERDICT_ORDER["agrees"]
    graded["_dist"] = -pd.to_numeric(graded["distance"], errors="coerce").fillna(0.0)
    agree = graded[["agrees_broad", "agrees_grid"]].astype(bool) if {"agrees_broad", "agrees_grid"} <= set(graded) else None
    graded["_one_rule"] = 1 if agree is None else (agree["agrees_broad"] == agree["agrees_grid"]).astype(int)
    n_targets = pd.to_numeric(graded["targets"], errors="coerce").fillna(0)
    covered = pd.to_numeric(graded.get("covered", n_targets), errors="coerce").fillna(0)
    graded["_undescribed"] = -(n_targets - covered).clip(lower=0)
    smallest = targets.groupby("id")["area"].min() if targets is not None and len(targets) else pd.Series(dtype=float)
    graded["_area"] = graded["id"].map(smallest).fillna(np.inf)
    keys = ["_fail", "_order", "_dist", "_one_rule", "_undescribed", "_area", "id"]
    return graded.sort_values(keys, kind="stable").head(n).drop(columns=[k for k in keys if k != "id"])


def outline_ring(mask: np.ndarray, gap: int = 2, width: int = 2) -> np.ndarray:
    """Pixels `gap`+1 … `gap`+`width` pixels (8-connected) outside `mask`: an outline that never covers a target.

    Drawn instead of a contour along the mask's edge, which on a 2–3 px target hides the target itself.
    """
    mask = np.asarray(mask, bool)
    square = np.ones((3, 3), bool)
    inner = ndimage.binary_dilation(mask, square, iterations=gap) if gap else mask
    outer = ndimage.binary_dilation(inner, square, iterations=width)
    return outer & ~inner


TILE_ASPECT = 0.75  # height / width of every gallery picture (images are letterboxed into it)
_TILE_PX = 330  # about the displayed width of a tile's picture, in pixels at the report's dpi
_CAPTION_LINES = 6


def plot_gallery(ds: LangIRDataset, rows: pd.DataFrame, path: Path, cols: int = 4) -> Path:
    """Images with the mask outlined (see `gallery_figure`), worst grounded first."""
    return _save(gallery_figure(ds, rows, cols), path)


def gallery_figure(ds: LangIRDataset, rows: pd.DataFrame, cols: int = 4) -> Figure:
    """Equal tiles: the image letterboxed to a 4:3 box, a green ring 2 display px outside each target, title, caption.

    Every tile has a two-line title and a caption padded to the same number of lines, so all tiles
    (and their pictures) are the same size whatever the image's shape or the description's length.
    """
    n = max(len(rows), 1)
    cols = min(cols, n)
    nrows = (n + cols - 1) // cols
    fig = Figure(figsize=(3.4 * cols, 4.3 * nrows))
    for i, row in enumerate(rows.itertuples(index=False)):
        ax = fig.add_subplot(nrows, cols, i + 1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_box_aspect(TILE_ASPECT)
        ax.set_facecolor("#202020")
        kinds = [k for k in str(row.failures).split(";") if k]
        distance = pd.to_numeric(getattr(row, "distance", 0), errors="coerce")
        title = f"{row.id} · {row.verdict}" + (f" · d={distance:.2f}" if distance and distance > 0 else "")
        ax.set_title(title + "\n" + (", ".join(kinds) or " "), fontsize="small", color=outcome_colour(kinds))
        lines = textwrap.fill(str(row.description), 44).splitlines()
        lines = lines[:_CAPTION_LINES - 1] + ["…"] if len(lines) > _CAPTION_LINES else lines
        ax.set_xlabel("\n".join(lines + [" "] * (_CAPTION_LINES - len(lines))), fontsize=7, loc="left")
        try:
            image = ds.read_image(row.id)
            mask = ds.read_mask(row.id, image.shape)
        except DataError:
            ax.text(0.5, 0.5, "unreadable", transform=ax.transAxes, ha="center", va="center", color="white")
            continue
        _draw_tile(ax, image, mask)
        draw_answer_targets(ax, read_targets(ds.root, row.id))  # a structured answer's points/boxes, magenta
    fig.suptitle("Gallery, worst grounded first; targets ringed in green (the ring is drawn outside the target); "
                 "a structured answer's points (×) and boxes (dashed) in magenta. "
                 "Titles: green ok, red grounding failure, orange text failure, purple file/mask problem",
                 fontsize="medium")
    return fig


def _draw_tile(ax, image: np.ndarray, mask: np.ndarray) -> None:
    """The image letterboxed into the tile's box and the ring around the mask, both at the image's pixels."""
    h, w = image.shape[:2]
    frame_w = max(w, h / TILE_ASPECT)
    per_display_px = frame_w / _TILE_PX  # image pixels per displayed pixel: ring and gap stay ~2 display px
    gap, width = max(2, round(2 * per_display_px)), max(2, round(2 * per_display_px))
    ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    if mask.any():
        ring = outline_ring(mask, gap, width)
        layer = np.zeros((h, w, 4), np.float32)
        layer[ring] = (0.2, 1.0, 0.2, 1.0)
        ax.imshow(layer, interpolation="nearest")
    frame_h = frame_w * TILE_ASPECT
    ax.set_xlim(w / 2 - frame_w / 2 - 0.5, w / 2 + frame_w / 2 - 0.5)
    ax.set_ylim(h / 2 + frame_h / 2 - 0.5, h / 2 - frame_h / 2 - 0.5)


def outcome_colour(kinds: Sequence[str]) -> str:
    """Colour of an image's failure kinds: grounding (red) before text (orange) before file/mask (purple)."""
    for group, colour in ((GROUNDING_FAILURES, "#cc3311"), (TEXT_FAILURES, "#ee7733"),
                          (FILE_FAILURES + MASK_FAILURES, "#aa3377")):
        if any(k in group for k in kinds):
            return colour
    return "#228833"


def plot_failures(summary: dict, path: Path) -> Path:
    """Failure kinds as bars (see `failures_figure`)."""
    return _save(failures_figure(summary), path)


def failures_figure(summary: dict) -> Figure:
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
    return fig
