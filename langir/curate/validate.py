"""`validate`: check every description against the text rules and ground it in the mask.

Per image, in this order (the failure kinds of the per-image table, see `FAILURE_KINDS`):

- the description file: ``missing``, ``not-utf8``, ``empty`` (or ``unreadable``: an I/O error);
- the text: ``too-long`` (more than `max_words` words, `text_rules.word_count`), ``refusal``
  (`text_rules.is_refusal`), ``no-position`` (no region claimed for the target), ``plural-mismatch``
  (the text counts more targets than the mask has components — "two targets", "several targets"
  over one component, `text_rules.stated_count`: the hallucination of the paper's §5.6.6; singular
  wording over several components is allowed);
- the mask: ``missing-mask``, ``unreadable`` (corrupt image or mask, or sizes that differ);
- grounding (`langir.text.judge`: words and numbers, one judge): ``contradicts`` (a claimed region
  holds no target, a given point or box hits none, or words and coordinates disagree — the row's
  `reason` says which), ``ambiguous`` (numbers readable on two scales with different verdicts),
  ``says-no-target`` (the text says none is visible over a non-empty mask), ``claims-target``
  (the mask is empty but the text does not say so).

Numbers are read on the scale the text states, else the answering model's convention (provider and
model from the describe ledger, `coordinate_convention`), else every scale they fit; a structured
answer's stored targets (`langir.data.answer_targets`) are judged like numbers in the text.

Grounding runs at both strictness levels (``broad``: half-planes, ``grid``: the 3×3 cells); the
chosen one decides the verdict and the failures, the other is reported alongside in the summary.

An image *fails* when it has any failure kind not in `ignore`. The agreement rate is
(agrees + no-target images whose text says none is visible) / graded images, where graded means
description and mask were both readable.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from langir.curate.scores import SOURCE_COLUMNS, AnswerSource, answer_sources, grounding_scores
from langir.curate.texts import read_description_file
from langir.data import guarded
from langir.data.answer_targets import read_targets
from langir.data.atomic import ensure_dir
from langir.data.dataset import QUARANTINE_DIR, LangIRDataset
from langir.data.imageio import non_binary_levels, note_non_binary
from langir.data.positions import cell_phrase, components, grid_cell
from langir.data.text_rules import final_answer, is_refusal, says_no_target, stated_count, word_count
from langir.errors import ConfigError, DataError, OutputError
from langir.text.claims import parse_claims, parse_text
from langir.text.conventions import convention_for
from langir.text.coordinates import read_coordinates
from langir.text.judge import (
    DEFAULT_STRICTNESS,
    DEFAULT_TOLERANCE,
    Grounding,
    PositionJudgement,
    Targets,
    ground,
    judge_positions,
    judge_stored,
)
from langir.text.position import MAX_CHARS, Reading
from langir.text.vocabulary import STRICTNESS

MAX_WORDS = 50
FILE_FAILURES = ("missing", "not-utf8", "empty", "unreadable-text")
TEXT_FAILURES = ("too-long", "refusal", "no-position", "plural-mismatch")
MASK_FAILURES = ("missing-mask", "unreadable")
GROUNDING_FAILURES = ("contradicts", "ambiguous", "says-no-target", "claims-target")
FAILURE_KINDS = FILE_FAILURES + TEXT_FAILURES + MASK_FAILURES + GROUNDING_FAILURES
# Failures that a new description can fix (what --write-ids lists and --quarantine moves aside).
REDESCRIBE_FAILURES = frozenset(FILE_FAILURES + TEXT_FAILURES + GROUNDING_FAILURES)

COLUMNS = (
    "id", "splits", "verdict", "ok", "failures", "words", "targets", "claims", "claim_ok",
    "target_regions", "covered", "distance", "agrees_broad", "agrees_grid", "description", "error",
    "words_verdict", "coords_verdict", "positions", "position_hits", "false_points", "scale", "reason",
    "provider", "model", "prompt_style",
)
DISAGREE = "words and coordinates disagree"
# verdict words of the per-image table and `validate --json` (review cards carry them as data-verdict)
VERDICT_WORDS = ("agrees", "contradicts", "ambiguous", "vague", "no-target", "n/a")


@dataclass
class MaskTargets:
    """Targets of one mask: normalised centroids (N×2), pixel areas, image size (H, W), pixel boxes."""

    shape: tuple[int, int]
    centroids: np.ndarray
    areas: np.ndarray
    boxes: np.ndarray | None = None  # N×4 (x0, y0, x1, y1), pixels, end exclusive

    def pixel_targets(self) -> Targets:
        """The targets in pixels of the original image, as the position judge takes them."""
        height, width = self.shape
        xy = self.centroids[:, ::-1] * np.array([width, height], dtype=np.float64)
        if self.boxes is None:
            return Targets.from_normalised(self.centroids, (width, height))
        return Targets((width, height), self.boxes.astype(np.float64).reshape(-1, 4), xy.reshape(-1, 2))


def load_targets(ds: LangIRDataset, sample_id: str, kept: TargetsMemory | None = None) -> MaskTargets:
    """Read a mask once (size-checked against the image header) and locate its targets (`kept`: taken from
    and put into that memory while neither file changes; see `TargetsMemory`)."""
    mask_path = ds.mask_path(sample_id)
    if not os.path.lexists(mask_path):  # a FIFO or a folder there is named by the reader, not called missing
        raise DataError(mask_path, f"mask not found for id {sample_id!r}", sample_id)
    key = None
    if kept is not None:
        key, found = kept.get(ds.image_path(sample_id), mask_path)
        if found is not None:
            return found
    width, height, _ = ds.image_info(sample_id)  # header and integrity (CRCs, every row there), never decoded
    found = mask_targets(ds.read_mask(sample_id, (height, width)))
    if kept is not None:
        kept.put(key, mask_path, found)
    return found


class TargetsMemory:
    """Each id's targets for later rounds of one process while its image and mask are unchanged (same device,
    inode, size and mtime): `curate` validates every id each round, and checking a frame's integrity and
    decoding its mask again costs ≈ 1 ms a SIRST-size frame a round. A failure is never kept; the arrays kept
    are read-only; a non-binary mask is noted again on every hit, as a read would."""

    def __init__(self, limit: int = 200_000):
        self.limit = limit
        self._kept: dict[tuple, tuple[MaskTargets, int | None]] = {}

    def get(self, image: Path, mask: Path) -> tuple[tuple | None, MaskTargets | None]:
        key = (image, _identity(image), mask, _identity(mask))
        if key[1] is None or key[3] is None:
            return None, None
        hit = self._kept.get(key)
        if hit is None:
            return key, None
        found, levels = hit
        if levels is not None:
            note_non_binary(mask, levels)
        return key, found

    def put(self, key: tuple | None, mask: Path, found: MaskTargets) -> None:
        if key is None:
            return
        for array in (found.centroids, found.areas, found.boxes):
            if array is not None:
                array.flags.writeable = False
        if len(self._kept) >= self.limit:
            self._kept.clear()
        self._kept[key] = (found, non_binary_levels(mask))


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    """What tells a file's content changed without reading it (None: no regular file there)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None


def mask_targets(mask: np.ndarray) -> MaskTargets:
    """Targets of a mask: centroids, areas and bounding boxes of its 8-connected components."""
    labels, areas, cents = components(mask)
    height, width = mask.shape[:2]
    slices = ndimage.find_objects(labels) if len(areas) else []
    boxes = np.array([(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in slices], dtype=np.float64).reshape(-1, 4)
    return MaskTargets((height, width), cents / np.array([height, width], dtype=np.float64), areas, boxes)


def coordinate_convention(provider: str | None, model: str | None) -> str | None:
    """The scale `model` of `provider` writes coordinates on: the provider's ``coordinates`` table
    (model-name prefixes → convention, ``""`` its default), else the model families of
    `langir.text.conventions`; None when unknown."""
    from langir.describe.providers import REGISTRY  # the registry holds the fact, next to prices and limits

    cls = REGISTRY.get((provider or "").split("-compatible")[0])
    table = getattr(cls, "coordinates", None)
    found = convention_for(model, table) if table else None
    return found or (convention_for(model) if model else None)


def target_centroids(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroids (N×2, pixels) and areas of the 8-connected components (`positions.components`)."""
    _, areas, centroids = components(mask)
    return centroids, areas


@dataclass
class ValidationResult:
    """Per-image table, per-target and per-claim tables (for plots), and the options used."""

    table: pd.DataFrame
    targets: pd.DataFrame  # id, row, col (normalised), area, grid_row, grid_col
    claims: pd.DataFrame  # id, claim, vertical, horizontal, consistent, mask_row, mask_col
    max_words: int = MAX_WORDS
    tolerance: float = DEFAULT_TOLERANCE
    ignore: tuple[str, ...] = ()
    split_of: dict[str, list[str]] = field(default_factory=dict)
    split_names: list[str] = field(default_factory=list)  # the layout's order
    strictness: str = DEFAULT_STRICTNESS
    ledger_problems: list[str] = field(default_factory=list)  # the describe ledger could not be read

    @property
    def failing(self) -> pd.DataFrame:
        return self.table[~self.table["ok"]]

    def redescribe_ids(self) -> list[str]:
        """Failing ids a new description would fix (not those failing only for mask/image problems)."""
        keep = [bool(set(f.split(";")) & REDESCRIBE_FAILURES) for f in self.failing["failures"]]
        return self.failing["id"][keep].tolist()

    def summary(self) -> dict:
        return validation_summary(self)


@functools.lru_cache(maxsize=4096)
def _text_facts(text: str) -> tuple[int, bool, bool, int | None]:
    """Words, refusal, says-no-target, stated count: template sets repeat a few texts thousands of times.

    The rules read the first `MAX_CHARS` characters only: a megabyte answer is too long whatever it says."""
    head = text[:MAX_CHARS]
    return word_count(text), is_refusal(head), says_no_target(head), stated_count(head)


@functools.lru_cache(maxsize=4096)
def _coordinates(text: str) -> Reading:
    return read_coordinates(text)


@dataclass
class TextJudgement:
    """Verdict and failure kinds of one text against one mask's targets (see the module docstring)."""

    verdict: str
    failures: list[str]
    grounding: Grounding  # the words
    other: Grounding  # the words at the other strictness level
    coords: PositionJudgement | None = None  # the numbers (None: the text gives none)
    reason: str = ""
    other_verdict: str = ""  # the combined verdict at the other strictness level

    def agrees(self, grounding: Grounding | None = None) -> bool:
        """Agreement as the summary counts it: agrees, or an empty mask with a text that says so."""
        g = grounding or self.grounding
        verdict = self.other_verdict if grounding is self.other and self.other_verdict else self.verdict
        return verdict == "agrees" or (verdict == "no-target" and g.says_none)


def _combine(g: Grounding, coords: PositionJudgement | None, n: int) -> tuple[str, str | None, str]:
    """(verdict, failure kind or None, reason) of words and numbers judged together (one judge)."""
    if n == 0:
        return "no-target", None, ""
    if g.says_none:
        return "contradicts", "says-no-target", "the text says no target is visible"
    if coords is None:
        if g.verdict == "contradicts":
            return "contradicts", "contradicts", "a claimed region holds no target"
        return g.verdict, ("no-position" if g.verdict == "vague" else None), ""
    words_ok = g.verdict == "agrees" if g.claims else None
    if coords.verdict == "ambiguous":
        if words_ok is False:
            return "contradicts", "contradicts", "a claimed region holds no target"
        return "ambiguous", "ambiguous", coords.reason
    numbers_ok = coords.verdict == "agrees"
    if words_ok is not None and words_ok != numbers_ok:
        return "contradicts", "contradicts", DISAGREE
    if not numbers_ok:
        return "contradicts", "contradicts", coords.reason
    return "agrees", None, ""


def judge_text(text: str, centroids: np.ndarray, max_words: int = MAX_WORDS, tolerance: float = DEFAULT_TOLERANCE,
               strictness: str = DEFAULT_STRICTNESS, *, targets: Targets | None = None, convention: str | None = None,
               sent_size: tuple[int, int] | None = None, stored: list | None = None) -> TextJudgement:
    """Judge one description against a mask's targets: the per-text part of `validate_dataset`.

    `centroids`: normalised (row, col) of the targets (N×2); `targets`: the same targets in pixels with
    their boxes (needed to judge numbers well; built from the centroids when missing). `convention`:
    the scale the answering model writes numbers on (`langir.text.conventions`); `sent_size`: (W, H) of
    the image as sent; `stored`: a structured answer's pixel targets, judged like numbers in the text.
    """
    if strictness not in STRICTNESS:
        raise ConfigError(f"strictness must be one of {', '.join(STRICTNESS)}, not {strictness!r}")
    failures: list[str] = []
    text = final_answer(text)
    words, refusal, says_none, count = _text_facts(text)
    reading = _coordinates(text)
    says_none = (says_none or reading.empty or stored == []) and not reading.positions
    if words > max_words:
        failures.append("too-long")
    parsed = parse_text(reading.prose[:MAX_CHARS])
    if refusal and not parsed.claims and not reading.positions:  # "I can't be sure, but it seems to be upper left" is a hedge
        failures.append("refusal")
    other = STRICTNESS[1 - STRICTNESS.index(strictness)]
    g = ground(parsed, centroids, tolerance, strictness, says_none)
    g_other = ground(parsed, centroids, tolerance, other, says_none)
    n = len(np.asarray(centroids).reshape(-1, 2))
    coords = None
    if n and (reading.positions or reading.problem or stored):
        found = targets if targets is not None else Targets.from_normalised(centroids)
        coords = judge_stored(stored, found, tolerance) if stored else None
        coords = coords or judge_positions(reading, found, tolerance, convention, sent_size)
    verdict, failure, reason = _combine(g, coords, n)
    other_verdict = _combine(g_other, coords, n)[0]
    if n == 0:
        if not says_none:
            failures.append("claims-target")
    else:
        if failure:
            failures.append(failure)
        if count is not None and count > n and not says_none:
            failures.append("plural-mismatch")
    return TextJudgement(verdict, failures, g, g_other, coords, reason, other_verdict)


def _failures_list(cell: str) -> list[str]:
    return [f for f in cell.split(";") if f]


def validate_dataset(
    ds: LangIRDataset,
    ids: Iterable[str],
    max_words: int = MAX_WORDS,
    tolerance: float = DEFAULT_TOLERANCE,
    ignore: Iterable[str] = (),
    on_item: Callable[[str], None] | None = None,
    strictness: str = DEFAULT_STRICTNESS,
    kept: TargetsMemory | None = None,
) -> ValidationResult:
    """Validate the descriptions of `ids` (see the module docstring); never raises for one bad file.

    `strictness`: ``broad`` (half-planes) or ``grid`` (3×3 cells) decides the verdicts; the summary
    reports the agreement at both. `kept`: one `TargetsMemory` across calls that validate the same files
    again (the curate loop's rounds).
    """
    if strictness not in STRICTNESS:
        raise ConfigError(f"strictness must be one of {', '.join(STRICTNESS)}, not {strictness!r}")
    ignore = tuple(ignore)
    unknown = sorted(set(ignore) - set(FAILURE_KINDS))
    if unknown:
        raise ConfigError(f"unknown failure kind(s) to ignore: {', '.join(unknown)} (known: {', '.join(FAILURE_KINDS)})")
    split_of = ds.split_of()
    ids = list(ids)
    ledger_problems: list[str] = []
    sources = answer_sources(ds.root, ids, ledger_problems)
    rows: list[dict] = []
    target_rows: list[tuple] = []
    claim_rows: list[tuple] = []
    for sample_id in ids:
        rows.append(_validate_one(ds, sample_id, split_of, max_words, tolerance, ignore, target_rows, claim_rows, strictness,
                                  sources.get(sample_id, AnswerSource()), kept))
        if on_item is not None:
            on_item(sample_id)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    # typed even when empty, so boolean masks stay masks (an empty object column would select columns)
    table = table.astype({"ok": bool, "words": int, "targets": int, "covered": int, "distance": float,
                          "agrees_broad": bool, "agrees_grid": bool, "positions": int, "position_hits": int,
                          "false_points": int})
    from langir.describe.human import mark_accepted  # texts a person accepted in `langir review` pass, marked

    mark_accepted(ds.root, table)
    targets = pd.DataFrame(target_rows, columns=["id", "row", "col", "area", "grid_row", "grid_col"])
    claims = pd.DataFrame(
        claim_rows, columns=["id", "claim", "vertical", "horizontal", "consistent", "mask_row", "mask_col"]
    )
    return ValidationResult(table, targets, claims, max_words, tolerance, ignore, split_of, ds.split_names, strictness,
                            ledger_problems)


def failing_ids(ds: LangIRDataset, ids: Iterable[str], max_words: int = MAX_WORDS, strictness: str | None = None) -> list[str]:
    """The ids `langir validate` flags and a new description could fix (`langir describe --redo failing`)."""
    return validate_dataset(ds, ids, max_words, strictness=strictness or DEFAULT_STRICTNESS).redescribe_ids()

def _validate_one(ds, sample_id, split_of, max_words, tolerance, ignore, target_rows, claim_rows, strictness,
                  source: AnswerSource = AnswerSource(), kept: TargetsMemory | None = None) -> dict:
    failures: list[str] = []
    errors: list[str] = []
    row = dict.fromkeys(COLUMNS, "")
    row.update(id=sample_id, splits=";".join(split_of.get(sample_id, [])), words=0, targets=-1,
               covered=0, distance=np.nan, verdict="n/a", agrees_broad=False, agrees_grid=False, positions=0,
               position_hits=0, false_points=0)
    row.update(zip(SOURCE_COLUMNS, source[: len(SOURCE_COLUMNS)], strict=True))
    desc = read_description_file(ds, sample_id)
    text = desc.text
    if text is None:
        failures.append("unreadable-text" if desc.problem == "unreadable" else desc.problem)
        errors.append(desc.detail)
    else:
        row["description"] = text
        row["words"] = word_count(text)
    try:
        found = load_targets(ds, sample_id, kept)
    except DataError as error:
        missing = "not found" in error.problem and error.path == ds.mask_path(sample_id)
        failures.append("missing-mask" if missing else "unreadable")
        errors.append(str(error))
        found = None
    if found is not None:
        n = len(found.centroids)
        row["targets"] = n
        height, width = found.shape
        cells = [grid_cell(r * height, c * width, height, width) for r, c in found.centroids]
        row["target_regions"] = ";".join(cell_phrase(cell) for cell in cells)
        for (r, c), area, cell in zip(found.centroids, found.areas, cells, strict=True):
            target_rows.append((sample_id, float(r), float(c), int(area), cell[0], cell[1]))
        if text is not None:
            judged = judge_text(text, found.centroids, max_words, tolerance, strictness, targets=found.pixel_targets(),
                                convention=coordinate_convention(source.provider, source.model), sent_size=source.sent_size,
                                stored=read_targets(ds.root, sample_id))
            g = judged.grounding
            failures.extend(judged.failures)
            row["verdict"] = judged.verdict
            row["words_verdict"] = g.verdict
            row["reason"] = judged.reason
            if judged.coords is not None:
                c = judged.coords
                row.update(coords_verdict=c.verdict, positions=c.given, position_hits=c.covered,
                           false_points=c.false_points, scale=c.scale or "")
            row["agrees_" + strictness] = judged.agrees()
            row["agrees_" + STRICTNESS[1 - STRICTNESS.index(strictness)]] = judged.agrees(judged.other)
            row["claims"] = ";".join(c.label for c in g.claims)
            row["claim_ok"] = ";".join("1" if ok else "0" for ok in g.consistent)
            row["covered"] = g.covered
            row["distance"] = round(g.distance, 4)
            for claim, ok, near in zip(g.claims, g.consistent, g.nearest, strict=True):
                mr, mc = cells[near] if near >= 0 else (-1, -1)
                claim_rows.append((sample_id, claim.label, claim.vertical or "", claim.horizontal or "", ok, mr, mc))
    elif text is not None:
        # no mask to ground in: still judge what the text alone can tell
        if row["words"] > max_words:
            failures.append("too-long")
        if is_refusal(text):
            failures.append("refusal")
        claims = parse_claims(text)
        row["claims"] = ";".join(c.label for c in claims)
        if not claims and not says_no_target(text) and not read_coordinates(text).positions:
            failures.append("no-position")
    counted = [f for f in failures if f not in ignore]
    row["failures"] = ";".join(failures)
    row["ok"] = not counted
    row["error"] = " | ".join(e for e in errors if e)
    return row


def validation_summary(result: ValidationResult) -> dict:
    """Agreement overall and per split, verdict counts, failure counts (JSON-ready)."""
    table = result.table

    def block(frame: pd.DataFrame) -> dict:
        graded = frame[frame["verdict"] != "n/a"]
        good = (graded["verdict"] == "agrees") | (
            (graded["verdict"] == "no-target") & ~graded["failures"].str.contains("claims-target", regex=False)
        )
        return {
            "images": int(len(frame)),
            "graded": int(len(graded)),
            "agreeing": int(good.sum()),
            "agreement": round(float(good.mean()), 6) if len(graded) else None,
            "failing": int((~frame["ok"]).sum()),
        }

    failure_counts = {kind: 0 for kind in FAILURE_KINDS}
    for cell in table["failures"]:
        for kind in _failures_list(cell):
            failure_counts[kind] += 1
    per_split = {}
    if len(table):
        split_lists = table["splits"].map(_failures_list)
        present = {name for names in split_lists for name in names}
        names = [n for n in result.split_names if n in present]
        for name in names:
            per_split[name] = block(table[split_lists.map(lambda names, n=name: n in names)])
    verdicts = table["verdict"].value_counts().to_dict()
    graded = table[table["verdict"] != "n/a"]
    by_strictness = {
        s: (round(float(graded[f"agrees_{s}"].mean()), 6) if len(graded) else None) for s in STRICTNESS
    }
    return {
        **block(table),
        "strictness": result.strictness,
        "agreement_by_strictness": by_strictness,
        "verdicts": {k: int(verdicts.get(k, 0)) for k in VERDICT_WORDS},
        "grounding_scores": grounding_scores(table),
        "failures": failure_counts,
        "ignored": list(result.ignore),
        "per_split": per_split,
        "max_words": result.max_words,
        "tolerance": result.tolerance,
    }


def quarantine(ds: LangIRDataset, ids: Iterable[str], folder: str = QUARANTINE_DIR) -> list[tuple[Path, Path]]:
    """Move the description files of `ids` into `<their folder>/<folder>/` (never deletes, never overwrites).

    Returns (from, to) for every file moved; ids without a description file are skipped.
    """
    moved: list[tuple[Path, Path]] = []
    for sample_id in ids:
        src = ds.description_path(sample_id)
        if not src.is_file():
            continue
        # a quarantine folder linked out of the set would move descriptions out of it
        dest_dir = ensure_dir(guarded.check_inside(src.parent / folder, ds.root, "quarantine folder", use="use"))
        dest = dest_dir / src.name
        n = 1
        while dest.exists():  # an earlier quarantined version stays; number the new one
            dest = dest_dir / f"{src.name}.{n}"
            n += 1
        try:
            os.replace(src, dest)
        except OSError as error:  # read-only dataset, full disk: one line naming the file
            raise OutputError(dest, error.strerror or str(error)) from None
        moved.append((src, dest))
    return moved


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
