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
