"""Score the second coordinate corpus (tests/curate/corpus/answers_b.jsonl) with `judge_text`.

answers_b was written independently of the reader (431 records, 26 families); its kinds: correct → must
pass; wrong → ``contradicts``; disagree → ``contradicts`` because words and coordinates disagree;
ambiguous → ``ambiguous``; no-target (empty mask) → pass; says-no-target → ``says-no-target``. The length
rule is off (``max_words`` large): its long markdown reports are right answers, not the point here.

    PYTHONPATH=$PWD python bench/score_answers_b.py            # per kind and family, then every miss
    PYTHONPATH=$PWD python bench/score_answers_b.py --quiet    # the figures only
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from langir.curate.validate import coordinate_convention, judge_text  # noqa: E402
from tests.curate import corpus_eval as ce  # noqa: E402

CORPUS_B = REPO / "tests" / "curate" / "corpus" / "answers_b.jsonl"
SIRST = Path(os.environ.get("LANGIR_SIRST", REPO.parent / "shared" / "datasets" / "sirst"))
NO_LENGTH_RULE = 10_000


def score(sirst: Path, records: list[dict]) -> list[tuple[bool, dict, object]]:
    """(right, record, judgement) per record, judged at grid strictness without the length rule."""
    cache: dict[str, object] = {}
    out = []
    for r in records:
        if r["id"] not in cache:
            cache[r["id"]] = ce.mask_targets_of(sirst, r["id"])
        found = cache[r["id"]]
        cents, targets = (np.zeros((0, 2)), None) if r["empty_mask"] else (found.centroids, found.pixel_targets())
        sent = tuple(r["sent_size"]) if r.get("sent_size") else None
        j = judge_text(r["text"], cents, max_words=NO_LENGTH_RULE, strictness="grid", targets=targets,
                       convention=coordinate_convention(r.get("provider"), r.get("model")), sent_size=sent)
        out.append((ce.coordinate_right(r, j), r, j))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sirst", type=Path, default=SIRST)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    rows = score(args.sirst, ce.load_corpus(CORPUS_B))
    kinds: dict[tuple[str, str], list[bool]] = defaultdict(list)
    families: dict[str, list[bool]] = defaultdict(list)
    for ok, r, _ in rows:
        kinds[(r["kind"], "held" if r["held_out"] else "dev")].append(ok)
        families[r["family"]].append(ok)
    for (kind, part), oks in sorted(kinds.items()):
        print(f"{kind:15s} {part:4s} {sum(oks)}/{len(oks)}")
    print(f"all {sum(ok for ok, _, _ in rows)}/{len(rows)}")
    for fam, oks in sorted(families.items()):
        print(f"  {fam:18s} {sum(oks)}/{len(oks)}")
    if not args.quiet:
        for ok, r, j in rows:
            if not ok:
                print(r["family"], r["kind"], j.failures, j.reason, repr(r["text"][:200]))


if __name__ == "__main__":
    main()
