"""Write tests/curate/corpus/coordinates.jsonl: VLM answers that say where the target is (issue 17).

Every position is computed from the real SIRST masks ($LANGIR_SIRST or ../shared/datasets/sirst).
Written without reading langir's parser. Deterministic: re-running reproduces the file byte for byte.

    PYTHONPATH=. python tests/curate/make_coordinate_corpus.py [--check]

`build()` returns (record, Intent) pairs; `intended_positions(intent, frame, sent_size)` turns an
Intent back into the pixel points/boxes the writer meant (see coordinate_geometry for the scales).
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.curate.coordinate_families import FAMILIES  # noqa: E402
from tests.curate.coordinate_geometry import Frame, Intent, decode, load_frames, sirst_root  # noqa: E402

OUT = Path(__file__).with_name("corpus") / "coordinates.jsonl"
SEED = 17
FIELDS = ("id", "family", "kind", "text", "empty_mask", "held_out", "model", "provider", "sent_size")


def build(frames: dict[str, Frame] | None = None) -> list[tuple[dict, Intent]]:
    """All records, family by family; a seeded shuffle per family marks exactly a third held out.

    Each family has a multiple of three records, so exactly a third of every family is held out.
    """
    frames = frames if frames is not None else load_frames()
    rows: list[tuple[dict, Intent]] = []
    for i, (name, make) in enumerate(FAMILIES):
        rng = random.Random(SEED * 1000 + i)
        fam = make(rng, frames)
        assert len(fam) % 3 == 0, (name, len(fam))
        order = list(range(len(fam)))
        random.Random(SEED * 7 + i).shuffle(order)
        # every third record of the shuffle, taken kind by kind, so held-out spreads over kinds too
        order.sort(key=lambda j: fam[j][0]["kind"])
        held = set(order[::3])
        for j, (rec, intent) in enumerate(fam):
            rec = {k: rec.get(k) for k in FIELDS}
            rec["family"] = name
            rec["held_out"] = j in held
            rec["empty_mask"] = not frames[rec["id"]].targets
            rows.append((rec, intent))
    return rows


def intended_positions(intent: Intent, frame: Frame, sent_size: tuple[int, int] | None,
                       scale: str | None = None) -> list[tuple[float, ...]]:
    """Pixel points (x, y) and boxes (x0, y0, x1, y1) of the original frame that a record means."""
    return [decode(g, frame, sent_size, scale) for g in intent.geoms]


def intended(frames: dict[str, Frame] | None = None) -> list[dict]:
    """Per line of coordinates.jsonl, what its writer meant, in pixels of the original frame.

    {"points": [[x, y]], "boxes": [[x0, y0, x1, y1]], "scales": [...], "cells": [[row, col]] (3×3 cells the
    words give targets), "count": n | None, "readings": {scale: positions} (ambiguous records only)}.
    """
    frames = frames if frames is not None else load_frames()
    out = []
    for rec, intent in build(frames):
        f, sent = frames[rec["id"]], tuple(rec["sent_size"]) if rec["sent_size"] else None
        pos = intended_positions(intent, f, sent)
        out.append({"points": [list(p) for p in pos if len(p) == 2], "boxes": [list(p) for p in pos if len(p) == 4],
                    "scales": [g.scale for g in intent.geoms], "cells": [list(c) for c in intent.cells],
                    "count": intent.count,
                    "readings": {s: [list(p) for p in intended_positions(intent, f, sent, s)] for s in intent.readings}})
    return out


def numbers_in(text: str) -> list[str]:
    return re.findall(r"\d+(?:\.\d+)?", text)


def render(rows: list[tuple[dict, Intent]]) -> str:
    return "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec, _ in rows)


def main(argv: list[str]) -> int:
    masks = sirst_root() / "masks"
    if not masks.is_dir() or not any(masks.glob("*_pixels0.png")):
        print(f"error: no SIRST masks at {masks} (set LANGIR_SIRST)", file=sys.stderr)
        return 2
    text = render(build())
    if "--check" in argv:
        same = OUT.read_text(encoding="utf-8") == text
        print("coordinates.jsonl is up to date" if same else "coordinates.jsonl differs from the generator")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} records to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
