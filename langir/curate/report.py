"""`report`: PNG plots, a Markdown dataset card and the same card as HTML.

The plots are drawn by `langir.curate.plots`. Every file is written atomically; when an output cannot
be written (full disk, read-only folder) the files this run created are removed again, so a failed
run leaves no new half-report behind.
"""

from __future__ import annotations

import base64
import contextlib
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from langir.curate.grounding import DEFAULT_STRICTNESS, DEFAULT_TOLERANCE
from langir.curate.pack import card_front_matter
from langir.curate.plots import (  # noqa: F401 (re-exported: the plots lived here)
    AXIS_VALUES,
    GALLERY_ORDER,
    outcome_colour,
    plot_confusion,
    plot_failures,
    plot_gallery,
    plot_table1,
    plot_target_heatmap,
    plot_word_hist,
    region_confusion,
    worst_grounded,
)
from langir.curate.provenance import provenance_lines, read_provenance, summarize_provenance
from langir.curate.scores import scores_frame
from langir.curate.stats import TABLE1_COLUMNS, DatasetStats, compute_stats, disjoint_splits, markdown_table
from langir.curate.validate import (
    FAILURE_KINDS,
    ValidationResult,
    broken_samples,
    validate_dataset,
)
from langir.data.atomic import ensure_dir, write_text_atomic
from langir.data.dataset import LangIRDataset
from langir.errors import OutputError

PLOT_FILES = ("table1.png", "word_counts.png", "failures.png", "target_heatmap.png", "region_confusion.png", "gallery.png")


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
                text = _links(_inline_code(html.escape(block[1])))
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


_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def _links(text: str) -> str:
    """Markdown links to web pages (the review page's per-sample URLs) as <a> elements in escaped HTML."""
    return _LINK.sub(r'<a href="\2">\1</a>', text)


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
    ledger_problems: list[str] = field(default_factory=list)  # the describe ledger, there but not (fully) readable

    def to_dict(self) -> dict:
        return {"out": str(self.out_dir), "files": [str(p) for p in self.files], "validation": self.validation.summary(),
                "skipped": self.skipped, "broken": self.broken, "ledger_problems": self.ledger_problems}


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
    strictness: str = DEFAULT_STRICTNESS,
) -> ReportFiles:
    """Compute stats and validation for `ids`, write the plots, README.md (card) and card.html into `out_dir`.

    `strictness` (``grid`` or ``broad``) is the region rule the verdicts use; the card describes that rule.
    """
    out_dir = Path(out_dir)
    made_dir = not out_dir.is_dir()
    before = _existing(out_dir)
    ensure_dir(out_dir)
    try:
        return _write_report(ds, ids, out_dir, selected, max_words, tolerance, synonyms, gallery, title, on_item,
                             license, strictness)
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


@dataclass
class _Facts:
    """What the plots and the card are drawn from: computed once by `_gather`."""

    ds: LangIRDataset
    ids: Sequence[str]
    stats: DatasetStats
    result: ValidationResult
    summary: dict
    skipped: dict[str, list[str]]
    broken: dict[str, str]
    plot_splits: list[str]
    confusion: dict
    worst: pd.DataFrame
    provenance: dict
    ledger_problems: list[str]
    judged: str
    tolerance: float
    strictness: str
    max_words: int
    synonyms: bool
    gallery: int

    @property
    def has_targets(self) -> bool:  # no masks or only empty ones: a heat-map and a confusion of nothing say nothing
        return bool(len(self.result.targets))

    @property
    def has_masks(self) -> bool:
        return bool((self.result.table["targets"] >= 0).any())


def _gather(ds, ids, selected, max_words, tolerance, synonyms, gallery, on_item, strictness) -> _Facts:
    stats = compute_stats([ds], selected, synonyms, max_words)
    result = validate_dataset(ds, ids, max_words, tolerance, on_item=on_item, strictness=strictness)
    split_rows = [n for n in stats.table["split"].unique() if n != "all"]
    texts = dict(zip(result.table["id"], result.table["description"], strict=True))
    problems: list[str] = []
    records = read_provenance(ds.root, {k: v for k, v in texts.items() if v}, problems)
    return _Facts(
        ds=ds, ids=ids, stats=stats, result=result, summary=result.summary(),
        skipped=skipped_images(result.table), broken=broken_samples(result.table),
        plot_splits=disjoint_splits({n: ds.split_ids(n) for n in split_rows if n in ds.layout.splits}) or ["all"],
        confusion=region_confusion(result.claims, result.targets, tolerance, strictness),
        worst=worst_grounded(result.table, gallery, result.targets),
        provenance=summarize_provenance(records, list(ids)), ledger_problems=problems,
        judged=f"judged as validate did: tolerance {tolerance:g}, strictness {strictness}",
        tolerance=tolerance, strictness=strictness, max_words=max_words, synonyms=synonyms, gallery=gallery)


def _write_report(ds, ids, out_dir, selected, max_words, tolerance, synonyms, gallery, title, on_item, license,
                  strictness) -> ReportFiles:
    facts = _gather(ds, ids, selected, max_words, tolerance, synonyms, gallery, on_item, strictness)
    files = _plots(facts, out_dir)
    card = _card(facts, out_dir, title, license)
    for stale in PLOT_FILES:  # a plot an earlier run wrote but this one has nothing for
        if out_dir / stale not in files and (out_dir / stale).is_file():
            with contextlib.suppress(OSError):  # a leftover we cannot remove is no reason to fail
                (out_dir / stale).unlink()
    md_path, html_path = out_dir / "README.md", out_dir / "card.html"
    write_text_atomic(md_path, card.markdown())
    write_text_atomic(html_path, card.html())
    files += [md_path, html_path]
    return ReportFiles(out_dir, files, facts.stats, facts.result, facts.skipped, facts.broken, facts.ledger_problems)


def _plots(facts: _Facts, out_dir: Path) -> list[Path]:
    """Every plot the facts support, in the order the card shows them."""
    result = facts.result
    files = [plot_table1(facts.stats, out_dir / "table1.png", facts.plot_splits)]
    lengths = result.table.loc[result.table["description"] != "", "words"].astype(int).tolist()
    files.append(plot_word_hist(lengths, facts.max_words, out_dir / "word_counts.png"))
    files.append(plot_failures(facts.summary, out_dir / "failures.png"))
    if facts.has_targets:
        files.append(plot_target_heatmap(result.targets, out_dir / "target_heatmap.png"))
        files.append(plot_confusion(facts.confusion, out_dir / "region_confusion.png", facts.judged))
    if facts.gallery > 0 and len(facts.worst):
        files.append(plot_gallery(facts.ds, facts.worst, out_dir / "gallery.png"))
    return files


def _card(facts: _Facts, out_dir: Path, title: str | None, license: str) -> Card:
    """The dataset card: overview, layout, words, descriptions, targets, grounding, provenance, citation."""
    ds = facts.ds
    name = ds.root.resolve().name
    card = Card(title or f"{name}: a LangIR description set",
                front_matter=card_front_matter(ds, len(facts.ids), license, title), folder=out_dir)
    _card_overview(card, facts)
    _card_words(card, facts)
    _card_grounding(card, facts, name)
    card.h(2, "Provenance")
    problems = "; ".join(_relative(problem, ds.root) for problem in facts.ledger_problems)
    if problems and not facts.provenance["with_provenance"]:
        card.p(f"The describe ledger could not be read ({problems}), so who wrote the descriptions is not known: "
               "treat them as of unknown provenance.")
    else:
        if problems:
            card.p(f"The describe ledger could not be read in full ({problems}).")
        for line in provenance_lines(facts.provenance):
            card.p(line)
    card.h(2, "Citation")
    card.p("Cite the source images and masks (e.g. NUAA-SIRST: Dai et al., WACV 2021; IRSTD-1k: Zhang et al., CVPR 2022) "
           "and the LangIR paper for the description method.")
    return card


def _card_overview(card: Card, facts: _Facts) -> None:
    ds, summary, result = facts.ds, facts.summary, facts.result
    agreement = summary["agreement"]
    card.p(f"{summary['images']} images, {int((result.table['description'] != '').sum())} descriptions; "
           f"grounding agreement {'–' if agreement is None else f'{100 * agreement:.1f} %'} of "
           f"{summary['graded']} graded images (description and mask readable); {summary['failing']} image(s) fail "
           f"at least one check. Made with `langir report {ds.root}`.")
    if facts.skipped:
        card.p("Not graded: " + "; ".join(f"{reason}: {_id_list(members)}" for reason, members in facts.skipped.items()) + ".")
    if facts.broken:
        card.p(f"Skipped, {len(facts.broken)} sample(s) with a missing or unreadable file (not graded, not in the target "
               "plots or the gallery; a readable description still counts in Table 1 and the lengths): "
               + "; ".join(f"`{_relative(problem, ds.root)}`" for problem in list(facts.broken.values())[:12])
               + (" …" if len(facts.broken) > 12 else "") + ".")
    if not facts.has_masks:
        card.p("No masks were found, so there are no target positions and no grounding: the target heat-map and "
               "the region confusion are left out.")
    card.h(2, "Layout")
    card.table(pd.DataFrame([ds.layout.describe() | {"splits": ", ".join(f"{k}={v}" for k, v in ds.layout.splits.items()) or "none"}]))


def _card_words(card: Card, facts: _Facts) -> None:
    stats = facts.stats
    card.h(2, "Position words (Table 1 of the LangIR paper)")
    card.p("Whole words, case-insensitive; hyphenated forms count each part ('upper-left' counts Upper and Left)"
           + ("; synonyms folded: top→Upper, bottom→Lower, middle/centre/central→Center." if facts.synonyms else "."))
    card.table(stats.table1)
    card.img("table1.png", f"Table-1 word counts per split (plotted: {', '.join(facts.plot_splits)}, which share no image)")
    card.h(2, "Descriptions")
    card.table(stats.table.drop(columns=list(TABLE1_COLUMNS)))
    card.img("word_counts.png", f"Words per description; the dashed line is the {facts.max_words}-word limit")
    for dataset, pairs in stats.top_words.items():
        card.p(f"Most frequent words ({dataset}): " + (", ".join(f"{w} ({c})" for w, c in pairs) or "none") + ".")
    if facts.has_targets:
        card.h(2, "Targets")
        card.p(f"{len(facts.result.targets)} targets (8-connected mask components) located by their centroid.")
        card.img("target_heatmap.png", "Heat-map of target centroids")


def _card_grounding(card: Card, facts: _Facts, name: str) -> None:
    summary, strictness = facts.summary, facts.strictness
    card.h(2, "Grounding in the masks")
    card.p(grounding_rule(strictness, facts.tolerance))
    both = summary.get("agreement_by_strictness") or {}
    other = next((k for k in both if k != strictness), None)
    if other and both.get(other) is not None:
        card.p(f"Under the {other} rule the agreement would be {100 * both[other]:.1f} % (reported for comparison; "
               "the verdicts, failures and plots use the rule above).")
    rows = [("all", summary)] + list(summary["per_split"].items())
    card.table(pd.DataFrame([{"split": n, **{k: b[k] for k in ("images", "graded", "agreeing", "failing")},
                              "agreement": "–" if b["agreement"] is None else f"{100 * b['agreement']:.1f} %"}
                             for n, b in rows]))
    card.table(pd.DataFrame([summary["verdicts"]]))
    kinds = {k: v for k, v in summary["failures"].items() if v}
    card.p("Failures: " + (", ".join(f"{k} {v}" for k, v in kinds.items()) or "none") + f" (kinds: {', '.join(FAILURE_KINDS)}).")
    card.img("failures.png", "Failure kinds: grounding (red), text (orange), file or mask (purple)")
    if summary.get("grounding_scores"):  # issue 17: the table a researcher needs to pick a VLM
        card.p("Grounding per provider, model and prompt style (from the describe ledger; words and coordinates judged "
               "apart; point hit: targets hit by a given position, Pd style; false point: positions on no target, Fa style):")
        card.table(scores_frame(summary["grounding_scores"]))
    # each failing sample linked to `langir review`'s page
    from langir.curate.review_links import review_paragraph

    card.p(review_paragraph(name, facts.result.failing["id"].tolist()))
    if facts.has_targets:
        for axis, table in facts.confusion.items():
            card.p(f"Claimed vs. actual region, {axis} axis ({facts.judged}; rows: where the nearest target is, "
                   "columns: the claimed word; a right claim is on the diagonal):")
            card.table(table.rename_axis(None, axis=1).rename_axis("actual").reset_index())
        card.img("region_confusion.png", "Claimed vs. actual region")
    if facts.gallery > 0 and len(facts.worst):
        card.img("gallery.png", "Gallery, worst grounded first")
        card.p(f"Gallery order: {GALLERY_ORDER}. Each target is ringed in green a few pixels outside its mask, so "
               "even a 2-pixel target stays visible.")


RULES = {
    "grid": ("the **grid** rule (3×3 cells): a plain position ('upper left', 'on the right') means its outer third "
             "of the image; 'slightly left of centre' the band from 1/6 to 1/2 of the side; a clock position ±45° "
             "around the hour"),
    "broad": ("the **broad** rule (half-planes): a plain position ('upper left', 'on the right') means that half of "
              "the image; 'slightly left of centre' that half too; a clock position ±60° around the hour"),
}


def grounding_rule(strictness: str, tolerance: float) -> str:
    """The card's sentence on how claims were judged, for the strictness the verdicts actually used."""
    return (f"Each region a description claims must hold at least one target centroid, judged with {RULES[strictness]}. "
            "Under both rules 'half', 'quadrant' and 'side' mean a half-plane, 'edge', 'corner' and 'third' the outer "
            f"third, and center the middle third; the slack is {tolerance:g} of the image side. Verdicts: agrees, "
            "contradicts, vague (no region claimed), no-target (empty mask).")


def _relative(text: str, root: Path) -> str:
    """Paths inside the dataset relative to it: a card is shared, the local folder is nobody's business."""
    return text.replace(f"{root}/", "").replace(f"{root.resolve()}/", "")


def _id_list(ids: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return f"{len(ids)} ({shown}{' …' if len(ids) > limit else ''})"
