"""What the review page shows: every sample judged by `validate`'s own judge, cached, filtered, paged.

Verdicts come from `langir.curate.validate.validate_dataset` (the judge of `langir validate`), run
on the ids whose files changed since the last look: each id's verdict row is cached on disk under the
user cache dir, keyed by the stat of its image, mask and description and by the judge's settings, so
opening a 10,000-image set a second time judges nothing. Who wrote each text comes from the ledger.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langir.curate.grounding import DEFAULT_STRICTNESS, DEFAULT_TOLERANCE
from langir.curate.regions import parse_text
from langir.curate.validate import MAX_WORDS, validate_dataset
from langir.data.answer_targets import read_targets
from langir.data.atomic import write_text_atomic
from langir.data.dataset import LangIRDataset
from langir.data.imageio import image_info
from langir.describe import human as store
from langir.describe.ledger import Ledger
from langir.errors import DataError

CACHE_VERSION = 1
KEPT = ("id", "splits", "verdict", "failures", "words", "description", "error", "claims", "target_regions", "targets")
FILTERS = ("all", "failing", "passing", "accepted", "queued")
ORDERS = ("id", "verdict", "words", "failing")


def _stat(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def who_wrote(provider: str | None) -> str:
    """person / template / model / unknown, from the provider of the current ledger row (`edited`: see `_authors`)."""
    if provider is None or provider == "restored":
        return "unknown"
    if provider == store.PERSON:
        return "person"
    return "template" if provider == "template" else "model"


@dataclass
class ReviewIndex:
    """All samples of one dataset with their verdicts and authorship, kept in memory."""

    ds: LangIRDataset
    cache_dir: Path
    max_words: int = MAX_WORDS
    tolerance: float = DEFAULT_TOLERANCE
    strictness: str = DEFAULT_STRICTNESS
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    judged_now: int = 0  # how many ids the last load judged (the rest came from the cache)

    @property
    def _cache_file(self) -> Path:
        key = hashlib.sha256(str(self.ds.root.resolve()).encode()).hexdigest()[:20]
        return self.cache_dir / "verdicts" / f"{key}.json"

    def _signature(self, sample_id: str) -> list:
        ds = self.ds
        return [CACHE_VERSION, self.max_words, self.tolerance, self.strictness,
                _stat(ds.image_path(sample_id)), _stat(ds.mask_path(sample_id)), _stat(ds.description_path(sample_id))]

    def load(self, ledger: Ledger | None) -> None:
        """Judge every id (cached ones are not judged again) and read who wrote each text."""
        ids = self.ds.all_ids()
        cached: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            cached = json.loads(self._cache_file.read_text())
        signatures = {i: self._signature(i) for i in ids}
        stale = [i for i in ids if cached.get(i, {}).get("sig") != signatures[i]]
        fresh = self._judge(stale) if stale else {}
        self.judged_now = len(stale)
        self.rows = {}
        for i in ids:
            row = fresh.get(i) or dict(cached[i]["row"])
            self.rows[i] = row
        self.order = list(ids)
        self._authors(ledger, ids)
        marks = store.accepted(self.ds.root)
        queued = set(store.queued_ids(self.ds.root))
        for i, row in self.rows.items():
            row["accepted"] = bool(row["description"]) and marks.get(i) == store.text_sha(row["description"])
            row["queued"] = i in queued
        if stale:
            self._save_cache({i: {"sig": signatures[i], "row": self._cacheable(self.rows[i])} for i in ids})

    @staticmethod
    def _cacheable(row: dict[str, Any]) -> dict[str, Any]:
        return {k: row[k] for k in KEPT}

    def _save_cache(self, entries: dict[str, Any]) -> None:
        # a cache that cannot be written only costs time on the next start
        with contextlib.suppress(Exception):
            write_text_atomic(self._cache_file, json.dumps(entries, separators=(",", ":")))

    def _judge(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        table = validate_dataset(self.ds, ids, self.max_words, self.tolerance, strictness=self.strictness)
        out = {}
        for record in table.table.to_dict("records"):
            row = {k: record[k] for k in KEPT}
            row["words"], row["targets"] = int(row["words"]), int(row["targets"])
            out[row["id"]] = row
        return out

    def _authors(self, ledger: Ledger | None, ids: list[str]) -> None:
        current = ledger.current_many(ids) if ledger is not None else {}
        for i in ids:
            found = current.get(i)
            row = self.rows[i]
            row["provider"] = found.provider if found else None
            row["model"] = found.model if found else None
            row["prompt_style"] = found.prompt_style if found else None
            row["who"] = who_wrote(found.provider if found else None)
            if found and row["description"] and (found.text or "").strip() != row["description"]:
                row["who"] = "edited"  # the file no longer holds the ledger's answer: changed outside langir

    def rejudge(self, sample_id: str, ledger: Ledger | None) -> dict[str, Any]:
        """Judge one id again (after a save) and refresh its cache entry."""
        row = self._judge([sample_id])[sample_id]
        old = self.rows.get(sample_id, {})
        self.rows[sample_id] = row
        self._authors(ledger, [sample_id])
        marks = store.accepted(self.ds.root)
        row["accepted"] = bool(row["description"]) and marks.get(sample_id) == store.text_sha(row["description"])
        row["queued"] = old.get("queued", False)
        with contextlib.suppress(OSError, ValueError):
            cached = json.loads(self._cache_file.read_text())
            cached[sample_id] = {"sig": self._signature(sample_id), "row": self._cacheable(row)}
            self._save_cache(cached)
        return row

    # -- reading -----------------------------------------------------------------------------
    @staticmethod
    def failing(row: dict[str, Any]) -> bool:
        """What validate counts as failing: any failure kind, unless a person accepted the text."""
        return bool(row["failures"]) and not row.get("accepted")

    def facets(self) -> dict[str, list[str]]:
        """The values each filter can take, for the page's menus."""
        def values(key: str) -> list[str]:
            return sorted({str(r.get(key)) for r in self.rows.values() if r.get(key)})

        splits = sorted({s for r in self.rows.values() for s in r["splits"].split(";") if s})
        models = sorted({f"{r['provider']}/{r['model']}" for r in self.rows.values() if r.get("provider")})
        return {"filter": list(FILTERS), "verdict": values("verdict"), "split": splits, "model": models,
                "who": values("who"), "order": list(ORDERS)}

    def select(self, params: dict[str, str]) -> list[str]:
        """Ids matching the page's filters (filter, verdict, split, model, who, q) in the chosen order."""
        kind = params.get("filter") or "all"
        verdict, split = params.get("verdict"), params.get("split")
        if kind not in FILTERS:  # `--filter contradicts`: a verdict word
            kind, verdict = "all", verdict or kind
        model, who, q = params.get("model"), params.get("who"), (params.get("q") or "").strip().lower()
        picked = []
        for i in self.order:
            r = self.rows[i]
            if kind == "failing" and not self.failing(r):
                continue
            if kind == "passing" and self.failing(r):
                continue
            if kind == "accepted" and not r.get("accepted"):
                continue
            if kind == "queued" and not r.get("queued"):
                continue
            if verdict and r["verdict"] != verdict:
                continue
            if split and split not in r["splits"].split(";"):
                continue
            if model and f"{r.get('provider')}/{r.get('model')}" != model:
                continue
            if who and r.get("who") != who:
                continue
            if q and q not in i.lower():
                continue
            picked.append(i)
        order = params.get("order") or "id"
        if order == "verdict":
            picked.sort(key=lambda i: self.rows[i]["verdict"])
        elif order == "words":
            picked.sort(key=lambda i: -self.rows[i]["words"])
        elif order == "failing":
            picked.sort(key=lambda i: not self.failing(self.rows[i]))
        return picked

    def card(self, sample_id: str) -> dict[str, Any]:
        """Everything one card shows, JSON-ready: text, verdict, reason, authorship, claimed shapes."""
        r = self.rows[sample_id]
        text = r["description"]
        reason = "; ".join(x for x in (r["failures"].replace(";", ", "), r["error"]) if x)
        return {
            "id": sample_id, "splits": r["splits"], "verdict": r["verdict"], "failing": self.failing(r),
            "accepted": bool(r.get("accepted")), "queued": bool(r.get("queued")), "failures": r["failures"],
            "reason": reason, "words": r["words"], "text": text, "targets": r["targets"],
            "target_regions": r["target_regions"], "provider": r.get("provider"), "model": r.get("model"),
            "prompt_style": r.get("prompt_style"), "who": r.get("who"),
            "claims": claim_shapes(text, self.strictness) if text else [],
            "answer_targets": self._answer_targets(sample_id),
        }

    def _answer_targets(self, sample_id: str) -> list[dict[str, Any]]:
        """Points and boxes of a structured answer, as fractions of the image (x right, y down)."""
        targets = read_targets(self.ds.root, sample_id)
        if not targets:
            return []
        try:
            width, height, _ = image_info(self.ds.image_path(sample_id))
        except DataError:
            return []
        out = []
        for t in targets:
            item: dict[str, Any] = {"point": [t["point"][0] / width, t["point"][1] / height]}
            if t.get("box") is not None:
                x0, y0, x1, y1 = t["box"]
                item["box"] = [x0 / width, y0 / height, x1 / width, y1 / height]
            out.append(item)
        return out


def claim_shapes(text: str, strictness: str = DEFAULT_STRICTNESS) -> list[dict[str, Any]]:
    """The regions a text claims for its target: boxes (fractions of the image) or clock directions."""
    shapes: list[dict[str, Any]] = []
    for claim in parse_text(text).claims:
        for one in claim.alternatives or (claim,):
            if one.clock is not None:
                shapes.append({"kind": "clock", "hour": one.clock, "label": one.label})
            else:
                r0, r1, c0, c1 = one.bounds(0.0, strictness)
                shapes.append({"kind": "box", "r0": r0, "r1": r1, "c0": c0, "c1": c1, "label": one.label})
    return shapes
