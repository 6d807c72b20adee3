"""`report`: PNG plots, a Markdown dataset card and the same card as HTML.

Plots use matplotlib's object API (`Figure` + the Agg canvas): no pyplot state, no GUI backend,
safe in threads and on headless machines. Every file is written atomically; when an output cannot
be written (full disk, read-only folder) the files this run created are removed again, so a failed
run leaves no new half-report behind.
"""

from __future__ import annotations

import base64
import contextlib
import html
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from langir.curate.grounding import DEFAULT_TOLERANCE
from langir.curate.provenance import provenance_lines, read_provenance, summarize_provenance
from langir.curate.regions import Claim
from langir.curate.stats import TABLE1_COLUMNS, DatasetStats, compute_stats, disjoint_splits, markdown_table
from langir.curate.validate import (
    FAILURE_KINDS,
    FILE_FAILURES,
    GROUNDING_FAILURES,
    MASK_FAILURES,
    TEXT_FAILURES,
    ValidationResult,
    validate_dataset,
)
from langir.data.atomic import ensure_dir, save_figure_atomic, write_text_atomic
from langir.data.dataset import LangIRDataset
from langir.errors import DataError, OutputError

AXIS_VALUES = {"vertical": ("upper", "center", "lower"), "horizontal": ("left", "center", "right")}
PLOT_FILES = ("table1.png", "word_counts.png", "failures.png", "target_heatmap.png", "region_confusion.png", "gallery.png")
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


# ---- the card: one list of blocks rendered to Markdown and to HTML ------------------------------
@dataclass
class Card:
    """A dataset card as blocks: ('h', level, text) · ('p', text) · ('table', DataFrame) · ('img', file, alt)."""

    title: str
    blocks: list[tuple] = field(default_factory=list)
    front_matter: str = ""  # YAML lines (without the --- fences) for the Markdown card
    folder: Path | None = None  # where the images are, to embed them in the HTML

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", level, text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, frame: pd.DataFrame) -> None:
        self.blocks.append(("table", frame))

    def img(self, file: str, alt: str) -> None:
        self.blocks.append(("img", file, alt))

    def markdown(self) -> str:
        parts = ["---", self.front_matter.rstrip("\n"), "---", ""] if self.front_matter else []
        parts += [f"# {self.title}", ""]
        for block in self.blocks:
            if block[0] == "h":
                parts += ["#" * block[1] + " " + block[2], ""]
            elif block[0] == "p":
                parts += [block[1], ""]
            elif block[0] == "table":
                parts += [markdown_table(block[1]), ""]
            else:
                parts += [f"![{block[2]}]({block[1]})", ""]
        return "\n".join(parts)

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for block in self.blocks:
            if block[0] == "h":
                body.append(f"<h{block[1]}>{html.escape(block[2])}</h{block[1]}>")
            elif block[0] == "p":
                text = html.escape(block[1])
                text = _inline_code(text)
                body.append(f"<p>{text}</p>")
            elif block[0] == "table":
                body.append(block[1].to_html(index=False, border=0, classes="stats", na_rep="", float_format=lambda v: f"{v:.3g}"))
            else:
                body.append(f'<figure><img src="{self._src(block[1])}" alt="{html.escape(block[2])}">'
                            f"<figcaption>{html.escape(block[2])}</figcaption></figure>")
        style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
                 "table.stats{border-collapse:collapse;margin:1em 0;display:block;overflow-x:auto}table.stats td,table.stats th{padding:.2em .6em;"
                 "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}code{background:#f3f3f3;padding:0 .2em}")
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{style}</style></head><body>\n"
                + "\n".join(body) + "\n</body></html>\n")

    def _src(self, file: str) -> str:
        path = None if self.folder is None else self.folder / file
        return _embed(path) if path is not None and path.is_file() else html.escape(file)


def _embed(path: Path) -> str:
    """A PNG as a data: URI, so card.html is one standalone file."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _inline_code(text: str) -> str:
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


@dataclass
class ReportFiles:
    """What `write_report` wrote (paths) and the numbers behind it."""

    out_dir: Path
    files: list[Path]
    stats: DatasetStats
    validation: ValidationResult
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> ids left out of the plots
    broken: dict[str, str] = field(default_factory=dict)  # id -> the missing or unreadable file, in words

    def to_dict(self) -> dict:
        return {"out": str(self.out_dir), "files": [str(p) for p in self.files], "validation": self.validation.summary(),
                "skipped": self.skipped, "broken": self.broken}


def skipped_images(table: pd.DataFrame) -> dict[str, list[str]]:
    """Ids left out of grading and of the target plots, by reason (no description, no or unreadable mask)."""
    reasons: dict[str, list[str]] = {}
    for row in table.itertuples(index=False):
        kinds = set(str(row.failures).split(";"))
        for kind, reason in (("missing-mask", "no mask"), ("unreadable", "unreadable image or mask"),
                             ("missing", "no description"), ("not-utf8", "description not UTF-8"),
                             ("empty", "empty description"), ("unreadable-text", "unreadable description")):
            if kind in kinds:
                reasons.setdefault(reason, []).append(row.id)
    return reasons


# Per-file failure kinds of validate that make a sample "broken" for the exit code: a file that is
# there but cannot be read, or one that is missing while other samples have theirs.
_UNREADABLE = ("unreadable", "not-utf8", "unreadable-text")
_MISSING = ("missing-mask", "missing")


def broken_samples(table: pd.DataFrame) -> dict[str, str]:
    """Samples with a missing or unreadable image, mask or description, each with the problem naming the file.

    A kind of file that no sample has (a set without masks, or not yet described) is a property of
    the dataset, said once in the card, not a failure of every sample.
    """
    kinds = [set(str(f).split(";")) for f in table["failures"]]
    everywhere = {k for k in _MISSING if kinds and all(k in ks for ks in kinds)}
    broken: dict[str, str] = {}
    for row, ks in zip(table.itertuples(index=False), kinds, strict=True):
        if ks & set(_UNREADABLE) or (ks & set(_MISSING)) - everywhere:
            broken[row.id] = str(row.error) or ", ".join(sorted(ks & set(_UNREADABLE + _MISSING)))
    return broken


def write_report(
    ds: LangIRDataset,
    ids: Sequence[str],
    out_dir: str | Path,
    selected: Sequence[str] = (),
    max_words: int = 50,
    tolerance: float = DEFAULT_TOLERANCE,
    synonyms: bool = False,
    gallery: int = 8,
    title: str | None = None,
    on_item: Callable[[str], None] | None = None,
    license: str = "unknown",
) -> ReportFiles:
    """Compute stats and validation for `ids`, write the plots, README.md (card) and card.html into `out_dir`."""
    out_dir = Path(out_dir)
    made_dir = not out_dir.is_dir()
    before = _existing(out_dir)
    ensure_dir(out_dir)
    try:
        return _write_report(ds, ids, out_dir, selected, max_words, tolerance, synonyms, gallery, title, on_item, license)
    except (OutputError, KeyboardInterrupt):
        _roll_back(out_dir, before, made_dir)
        raise


def _existing(folder: Path) -> set[str]:
    try:
        return {p.name for p in folder.iterdir()}
    except OSError:
        return set()


def _roll_back(out_dir: Path, before: set[str], made_dir: bool) -> None:
    """Remove the plots this failed run created (each is whole, but a card-less set of new plots is litter)."""
    for name in PLOT_FILES + ("README.md", "card.html"):
        if name not in before:
            with contextlib.suppress(OSError):
                (out_dir / name).unlink()
    if made_dir:
        with contextlib.suppress(OSError):
            out_dir.rmdir()  # only when empty: never anything the user put there


def _write_report(ds, ids, out_dir, selected, max_words, tolerance, synonyms, gallery, title, on_item, license) -> ReportFiles:
    stats = compute_stats([ds], selected, synonyms, max_words)
    result = validate_dataset(ds, ids, max_words, tolerance, on_item=on_item)
    summary = result.summary()
    strictness = getattr(result, "strictness", None)
    judged = f"judged as validate did: tolerance {tolerance:g}" + (f", strictness {strictness}" if strictness else "")
    skipped = skipped_images(result.table)
    broken = broken_samples(result.table)
    has_targets = bool(len(result.targets))
    has_masks = bool((result.table["targets"] >= 0).any())
    split_rows = [n for n in stats.table["split"].unique() if n != "all"]
    plot_splits = disjoint_splits({n: ds.split_ids(n) for n in split_rows if n in ds.layout.splits}) or ["all"]
    files: list[Path] = []
    files.append(plot_table1(stats, out_dir / "table1.png", plot_splits))
    lengths = result.table.loc[result.table["description"] != "", "words"].astype(int).tolist()
    files.append(plot_word_hist(lengths, max_words, out_dir / "word_counts.png"))
    files.append(plot_failures(summary, out_dir / "failures.png"))
    confusion = region_confusion(result.claims, result.targets, tolerance)
    if has_targets:  # no masks or only empty ones: a heat-map and a confusion of nothing say nothing
        files.append(plot_target_heatmap(result.targets, out_dir / "target_heatmap.png"))
        files.append(plot_confusion(confusion, out_dir / "region_confusion.png", judged))
    worst = worst_grounded(result.table, gallery)
    if gallery > 0 and len(worst):
        files.append(plot_gallery(ds, worst, out_dir / "gallery.png"))
    texts = dict(zip(result.table["id"], result.table["description"], strict=True))
    provenance = summarize_provenance(read_provenance(ds.root, {k: v for k, v in texts.items() if v}), list(ids))

    from langir.curate.pack import card_front_matter

    name = ds.root.resolve().name
    card = Card(title or f"{name}: a LangIR description set",
                front_matter=card_front_matter(ds, len(ids), license, title), folder=out_dir)
    agreement = summary["agreement"]
    card.p(f"{summary['images']} images, {int((result.table['description'] != '').sum())} descriptions; "
           f"grounding agreement {'–' if agreement is None else f'{100 * agreement:.1f} %'} of "
           f"{summary['graded']} graded images (description and mask readable); {summary['failing']} image(s) fail "
           f"at least one check. Made with `langir report {ds.root}`.")
    if skipped:
        card.p("Not graded: " + "; ".join(f"{reason}: {_id_list(members)}" for reason, members in skipped.items()) + ".")
    if broken:
        card.p(f"Skipped, {len(broken)} sample(s) with a missing or unreadable file (not graded, not in the target "
               "plots or the gallery; a readable description still counts in Table 1 and the lengths): "
               + "; ".join(f"`{_relative(problem, ds.root)}`" for problem in list(broken.values())[:12])
               + (" …" if len(broken) > 12 else "") + ".")
    if not has_masks:
        card.p("No masks were found, so there are no target positions and no grounding: the target heat-map and "
               "the region confusion are left out.")
    card.h(2, "Layout")
    card.table(pd.DataFrame([ds.layout.describe() | {"splits": ", ".join(f"{k}={v}" for k, v in ds.layout.splits.items()) or "none"}]))
    card.h(2, "Position words (Table 1 of the LangIR paper)")
    card.p("Whole words, case-insensitive; hyphenated forms count each part ('upper-left' counts Upper and Left)"
           + ("; synonyms folded: top→Upper, bottom→Lower, middle/centre/central→Center." if synonyms else "."))
    card.table(stats.table1)
    card.img("table1.png", f"Table-1 word counts per split (plotted: {', '.join(plot_splits)}, which share no image)")
    card.h(2, "Descriptions")
    card.table(stats.table.drop(columns=list(TABLE1_COLUMNS)))
    card.img("word_counts.png", f"Words per description; the dashed line is the {max_words}-word limit")
    for dataset, pairs in stats.top_words.items():
        card.p(f"Most frequent words ({dataset}): " + (", ".join(f"{w} ({c})" for w, c in pairs) or "none") + ".")
    if has_targets:
        card.h(2, "Targets")
        card.p(f"{len(result.targets)} targets (8-connected mask components) located by their centroid.")
        card.img("target_heatmap.png", "Heat-map of target centroids")
    card.h(2, "Grounding in the masks")
    card.p("Each region a description claims ('upper left', 'near the center', 'top-left quadrant') must hold "
           f"at least one target centroid (upper/lower/left/right: that half; center: the middle third; "
           f"slack {tolerance:g} of the image side). Verdicts: agrees, contradicts, vague (no region claimed), "
           "no-target (empty mask).")
    rows = [("all", summary)] + list(summary["per_split"].items())
    card.table(pd.DataFrame([{"split": n, **{k: b[k] for k in ("images", "graded", "agreeing", "failing")},
                              "agreement": "–" if b["agreement"] is None else f"{100 * b['agreement']:.1f} %"}
                             for n, b in rows]))
    card.table(pd.DataFrame([summary["verdicts"]]))
    kinds = {k: v for k, v in summary["failures"].items() if v}
    card.p("Failures: " + (", ".join(f"{k} {v}" for k, v in kinds.items()) or "none") + f" (kinds: {', '.join(FAILURE_KINDS)}).")
    card.img("failures.png", "Failure kinds: grounding (red), text (orange), file or mask (purple)")
    from langir.review.links import review_paragraph  # each failing sample linked to `langir review`'s page

    card.p(review_paragraph(name, result.failing["id"].tolist()))
    if has_targets:
        for axis, table in confusion.items():
            card.p(f"Claimed vs. actual region, {axis} axis ({judged}; rows: where the nearest target is, "
                   "columns: the claimed word; a right claim is on the diagonal):")
            card.table(table.rename_axis(None, axis=1).rename_axis("actual").reset_index())
        card.img("region_confusion.png", "Claimed vs. actual region")
    if gallery > 0 and len(worst):
        card.img("gallery.png", "Gallery, worst grounded first")
    card.h(2, "Provenance")
    for line in provenance_lines(provenance):
        card.p(line)
    card.h(2, "Citation")
    card.p("Cite the source images and masks (e.g. NUAA-SIRST: Dai et al., WACV 2021; IRSTD-1k: Zhang et al., CVPR 2022) "
           "and the LangIR paper for the description method.")
    for stale in PLOT_FILES:  # a plot an earlier run wrote but this one has nothing for
        if out_dir / stale not in files and (out_dir / stale).is_file():
            with contextlib.suppress(OSError):  # a leftover we cannot remove is no reason to fail
                (out_dir / stale).unlink()
    md_path, html_path = out_dir / "README.md", out_dir / "card.html"
    write_text_atomic(md_path, card.markdown())
    write_text_atomic(html_path, card.html())
    files += [md_path, html_path]
    return ReportFiles(out_dir, files, stats, result, skipped, broken)


def _relative(text: str, root: Path) -> str:
    """Paths inside the dataset relative to it: a card is shared, the local folder is nobody's business."""
    return text.replace(f"{root}/", "").replace(f"{root.resolve()}/", "")


def _id_list(ids: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return f"{len(ids)} ({shown}{' …' if len(ids) > limit else ''})"
