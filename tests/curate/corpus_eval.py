"""Judge the labelled corpus (tests/curate/corpus/descriptions.jsonl) with `judge_text`; shared by the tests and bench/curate_accuracy.py."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from langir.curate.validate import judge_text

CORPUS = Path(__file__).parent / "corpus" / "descriptions.jsonl"
# kind → (failure kind that must be present, or None: the text must pass), per strictness
EXPECTED = {
    "correct": None,
    "no-target": None,
    "wrong": "contradicts",
    "vague": "no-position",
    "refusal": "refusal",
    "too-long": "too-long",
    "claims-target": "claims-target",
    "says-no-target": "says-no-target",
    "count-mismatch": "plural-mismatch",
}


def load_corpus(path: Path = CORPUS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def mask_centroids(sirst: Path, sample_id: str) -> np.ndarray:
    """Normalised centroids of the 8-connected components of the SIRST mask `{id}_pixels0.png`."""
    mask = np.asarray(Image.open(sirst / "masks" / f"{sample_id}_pixels0.png")) > 0
    if mask.ndim == 3:
        mask = mask[..., 0]
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    cents = np.array(ndimage.center_of_mass(mask, labels, range(1, n + 1))).reshape(-1, 2)
    return cents / np.array(mask.shape)


def is_right(record: dict, failures: list[str], strictness: str) -> bool | None:
    """Whether the judged failures match the record's label (None: no expectation at this strictness)."""
    kind = record["kind"]
    if kind == "grid-wrong":
        return "contradicts" in failures if strictness == "grid" else None
    want = EXPECTED[kind]
    if want is None:
        return not failures
    return want in failures


def evaluate(sirst: Path, strictness: str, records: list[dict] | None = None) -> dict[tuple[str, str], list[tuple[bool, dict, list[str]]]]:
    """(family, kind) → [(right, record, failures)] for every record with an expectation."""
    records = records if records is not None else load_corpus()
    cache: dict[str, np.ndarray] = {}
    out: dict[tuple[str, str], list] = defaultdict(list)
    for rec in records:
        if rec["empty_mask"]:
            cents = np.zeros((0, 2))
        else:
            if rec["id"] not in cache:
                cache[rec["id"]] = mask_centroids(sirst, rec["id"])
            cents = cache[rec["id"]]
        failures = judge_text(rec["text"], cents, strictness=strictness).failures
        right = is_right(rec, failures, strictness)
        if right is not None:
            out[(rec["family"], rec["kind"])].append((right, rec, failures))
    return dict(out)


# ---------------------------------------------------------------- coordinates corpus (issue 17)
COORDINATES = Path(__file__).parent / "corpus" / "coordinates.jsonl"
# kind → failure kind that must be present (None: the answer must pass)
COORD_EXPECTED = {"correct": None, "no-target": None, "wrong": "contradicts", "disagree": "contradicts",
                  "ambiguous": "ambiguous", "says-no-target": "says-no-target"}


def mask_targets_of(sirst: Path, sample_id: str):
    """`validate.MaskTargets` of the SIRST mask `{id}_pixels0.png` (boxes included)."""
    from langir.curate.validate import mask_targets

    mask = np.asarray(Image.open(sirst / "masks" / f"{sample_id}_pixels0.png")) > 0
    return mask_targets(mask[..., 0] if mask.ndim == 3 else mask)


def judge_record(record: dict, found, strictness: str = "grid"):
    """`judge_text` of one coordinate-corpus record against its mask's targets (`found`: MaskTargets)."""
    from langir.curate.validate import coordinate_convention

    if record["empty_mask"]:
        cents, targets = np.zeros((0, 2)), None
    else:
        cents, targets = found.centroids, found.pixel_targets()
    sent = tuple(record["sent_size"]) if record.get("sent_size") else None
    convention = coordinate_convention(record.get("provider"), record.get("model"))
    return judge_text(record["text"], cents, strictness=strictness, targets=targets, convention=convention,
                      sent_size=sent)


def coordinate_right(record: dict, judged) -> bool:
    want = COORD_EXPECTED[record["kind"]]
    if want is None:
        return not judged.failures
    if record["kind"] == "disagree":
        return "contradicts" in judged.failures and judged.reason == "words and coordinates disagree"
    return want in judged.failures


def evaluate_coordinates(sirst: Path, records: list[dict], strictness: str = "grid") -> dict[tuple[str, str], list]:
    """(family, kind) → [(right, record, judgement)] over the coordinate corpus records given."""
    cache: dict[str, object] = {}
    out: dict[tuple[str, str], list] = defaultdict(list)
    for rec in records:
        if rec["id"] not in cache:
            cache[rec["id"]] = mask_targets_of(sirst, rec["id"])
        judged = judge_record(rec, cache[rec["id"]], strictness)
        out[(rec["family"], rec["kind"])].append((coordinate_right(rec, judged), rec, judged))
    return dict(out)
