"""Grounding scores per model: which VLM places targets right, in words and in numbers.

`answer_sources` reads, from the describe ledger, which provider, model and prompt style wrote each
current description (ids without a ledger row are ``-``). `grounding_scores` groups validate's
per-image table by them:

- ``agreement``   share of graded answers that agree (words and numbers judged together);
- ``words``       share of answers with a word claim whose words agree (and how many had one);
- ``coordinates`` share of answers with positions as numbers whose numbers agree (and how many had
  them), ``ambiguous`` how many could be read on two scales with different verdicts;
- ``point_hit``   Pd style: targets hit by some position / targets of the answers whose positions were read
  (ambiguous ones left out);
- ``false_point`` Fa style: positions that hit no target / positions given.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import pandas as pd

UNKNOWN = "-"
SOURCE_COLUMNS = ("provider", "model", "prompt_style")


class AnswerSource(NamedTuple):
    """Who wrote a description, and the size (W, H) of the image its request carried (None: not known)."""

    provider: str = UNKNOWN
    model: str = UNKNOWN
    prompt_style: str = UNKNOWN
    sent_size: tuple[int, int] | None = None


def answer_sources(root: str | Path, ids: Iterable[str], problems: list[str] | None = None) -> dict[str, AnswerSource]:
    """id → `AnswerSource` of the answer each description file holds (ledger rows marked current); {}
    when the dataset has no ledger. A ledger that is there but unreadable (or not a regular file inside
    the set) adds one line to `problems`: validate still judges every text, only the per-model table
    loses its names (and numbers in pixels are judged on the image's own size)."""
    from langir.data import guarded
    from langir.describe.ledger import LEDGER_NAME, Ledger, LedgerError
    from langir.errors import DataError

    path = Path(root) / LEDGER_NAME
    if not os.path.lexists(path):
        return {}
    try:
        guarded.check_regular(path, "describe ledger", root=Path(root))  # never opened here: see check_regular
        ledger = Ledger(path, readonly=True)
        try:
            rows = ledger.current_many(list(ids))
        finally:
            ledger.close()
    except (DataError, LedgerError, OSError, sqlite3.Error) as error:
        if problems is not None:
            problems.append(f"{error}; per-model scores left out")
        return {}
    return {i: AnswerSource(r.provider or UNKNOWN, r.model or UNKNOWN, r.prompt_style or UNKNOWN, r.sent_size)
            for i, r in rows.items()}


def _rate(num: float, den: float) -> float | None:
    return round(float(num) / float(den), 6) if den else None


def grounding_scores(table: pd.DataFrame) -> list[dict]:
    """One row per (provider, model, prompt style) of the graded answers in validate's table."""
    graded = table[table["verdict"] != "n/a"]
    if graded.empty:
        return []
    out = []
    for key, frame in graded.groupby(list(SOURCE_COLUMNS), sort=True):
        good = (frame["verdict"] == "agrees") | ((frame["verdict"] == "no-target") & ~frame["failures"].str.contains("claims-target", regex=False))
        worded = frame[frame["words_verdict"].isin(["agrees", "contradicts"])]
        numbered = frame[frame["positions"] > 0]
        read = numbered[numbered["coords_verdict"] != "ambiguous"]  # no scale, so no hit and no miss
        out.append({
            **dict(zip(SOURCE_COLUMNS, key, strict=True)),
            "answers": int(len(frame)),
            "agreement": _rate(good.sum(), len(frame)),
            "words_answers": int(len(worded)),
            "words": _rate((worded["words_verdict"] == "agrees").sum(), len(worded)),
            "coordinate_answers": int(len(numbered)),
            "coordinates": _rate((numbered["coords_verdict"] == "agrees").sum(), len(numbered)),
            "ambiguous": int((numbered["coords_verdict"] == "ambiguous").sum()),
            "point_hit": _rate(read["position_hits"].sum(), read["targets"].clip(lower=0).sum()),
            "false_point": _rate(read["false_points"].sum(), read["positions"].sum()),
        })
    return out


def scores_frame(scores: list[dict]) -> pd.DataFrame:
    """The per-model table, rates as percentages with their counts (the report's dataset card)."""
    def pct(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.1f} %"

    return pd.DataFrame([{
        "provider": s["provider"], "model": s["model"], "prompt": s["prompt_style"], "answers": s["answers"],
        "agreement": pct(s["agreement"]), "words (n)": f"{pct(s['words'])} ({s['words_answers']})",
        "coordinates (n)": f"{pct(s['coordinates'])} ({s['coordinate_answers']})", "ambiguous": s["ambiguous"],
        "point hit": pct(s["point_hit"]), "false point": pct(s["false_point"]),
    } for s in scores])
