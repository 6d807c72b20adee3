"""Benchmark: per-family accuracy of `validate` on the labelled VLM-style corpus, broad and grid.

The corpus (tests/curate/corpus/descriptions.jsonl, built by tests/curate/make_corpus.py) holds
descriptions of real SIRST images written the way GPT-4V / Claude answer, labelled by construction
from the masks. A text is judged right when `judge_text` gives it its label's verdict: no failure
for correct / no-target texts, `contradicts` for wrong regions, `no-position` for vague ones,
`refusal`, `too-long`, `claims-target`, `says-no-target`, `plural-mismatch` for over-counts; texts
naming a neighbouring 3×3 cell (grid-wrong) count only under grid. Held-out families (never looked
at while the reader was fixed) are reported separately.

The coordinate corpus (tests/curate/corpus/coordinates.jsonl, issue 17: positions as numbers in 17
styles, written without reading the parser) is scored per family at grid strictness: correct
answers must pass; wrong, disagreeing (words vs numbers), ambiguous-scale and no-target-over-a-target
answers must get their failure. Its held-out third is scored only with --held-out.

    python bench/curate_accuracy.py [--sirst PATH] [--record FILE] [--json] [--held-out]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.curate.corpus_eval import evaluate, load_corpus  # noqa: E402

GROUPS = {
    "correct texts agree": ("correct", "no-target"),
    "wrong regions contradict": ("wrong",),
    "neighbour cell caught": ("grid-wrong",),
    "vague/refusal/over-limit/no-target verdicts": ("vague", "refusal", "too-long", "claims-target", "says-no-target",
                                                    "count-mismatch"),
}


def fake_vlm(sirst: Path, seed: int = 0) -> dict[str, dict[str, list[int]]]:
    """A fake VLM that names a wrong 3×3 cell for every single-target SIRST image (and the right one).

    Text: "The small target lies in the <cell> of the image." Returns, per strictness, [caught,
    total] for the wrong cells and [agreeing, total] for the right cells.
    """
    import random

    from langir.curate.validate import judge_text
    from langir.data.positions import cell_phrase
    from tests.curate.corpus_eval import mask_centroids

    rng = random.Random(seed)
    out = {s: {"wrong cell flagged": [0, 0], "right cell agrees": [0, 0]} for s in ("broad", "grid")}
    for path in sorted((sirst / "masks").glob("*_pixels0.png")):
        sid = path.name[: -len("_pixels0.png")]
        cents = mask_centroids(sirst, sid)
        if len(cents) != 1 or sid == "Misc_111":
            continue
        r, c = (min(int(3 * x), 2) for x in cents[0])
        wrong = rng.choice([(i, j) for i in range(3) for j in range(3) if (i, j) != (r, c)])
        for cell, key in (((r, c), "right cell agrees"), (wrong, "wrong cell flagged")):
            name = cell_phrase(cell)
            text = f"The small target lies in the {'center' if name == 'center' else name} of the image."
            for s in ("broad", "grid"):
                failures = judge_text(text, cents, strictness=s).failures
                hit = ("contradicts" in failures) if key.startswith("wrong") else not failures
                out[s][key][0] += hit
                out[s][key][1] += 1
    return out


def coordinate_figures(sirst: Path, held_out: bool) -> dict[str, dict[str, list[int]]]:
    """family → part ("dev", "held-out") → [right, total] over the coordinate corpus (empty when absent)."""
    from tests.curate.corpus_eval import COORDINATES, evaluate_coordinates

    if not COORDINATES.is_file():
        return {}
    records = [r for r in load_corpus(COORDINATES) if held_out or not r["held_out"]]
    out: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for (family, kind), rows in evaluate_coordinates(sirst, records).items():
        for right, rec, _ in rows:
            for key in (family, f"all {kind}"):
                cell = out[key].setdefault("held-out" if rec["held_out"] else "dev", [0, 0])
                cell[0] += right
                cell[1] += 1
    return dict(out)


def _pct(right: int, total: int) -> str:
    return f"{100 * right / total:.1f} % ({right}/{total})" if total else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sirst", type=Path, default=Path(os.environ.get("LANGIR_SIRST", REPO.parent / "shared" / "datasets" / "sirst")))
    parser.add_argument("--record", type=Path, help="write the Markdown tables to this file")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--held-out", action="store_true", help="also score the coordinate corpus' held-out third")
    args = parser.parse_args()
    if not (args.sirst / "masks").is_dir():
        raise SystemExit(f"--sirst: no masks/ under {args.sirst}")

    records = load_corpus()
    held = {r["family"] for r in records if r["held_out"]}
    results, seconds = {}, {}
    for strictness in ("broad", "grid"):
        start = time.perf_counter()
        results[strictness] = evaluate(args.sirst, strictness, records)
        seconds[strictness] = time.perf_counter() - start

    per_family: dict[str, dict[str, list[int]]] = defaultdict(dict)
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for strictness, res in results.items():
        for (family, kind), rows in res.items():
            right = sum(r for r, _, _ in rows)
            cell = per_family[family].setdefault(strictness, [0, 0])
            cell[0] += right
            cell[1] += len(rows)
            for group, kinds in GROUPS.items():
                if kind in kinds:
                    part = "held-out" if family in held else "dev"
                    for key in ((strictness, group, part), (strictness, group, "all")):
                        groups[key][0] += right
                        groups[key][1] += len(rows)

    fake = fake_vlm(args.sirst)
    coords = coordinate_figures(args.sirst, args.held_out)
    figures = {
        "coordinates": coords,
        "fake_vlm": fake,
        "texts": len(records), "families": len(per_family), "held_out_families": sorted(held),
        "per_family": {f: {s: v for s, v in d.items()} for f, d in sorted(per_family.items())},
        "groups": {f"{s}|{g}|{p}": v for (s, g, p), v in groups.items()},
        "seconds": seconds,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    lines = [
        "# Grounding accuracy on the labelled corpus (`bench/curate_accuracy.py`)",
        "",
        f"{len(records)} VLM-style descriptions of real SIRST images in {len(per_family)} families "
        f"({len(held)} held out), labels by construction from the masks. Python {platform.python_version()}; "
        f"judging all texts took {seconds['broad']:.2f} s (broad) and {seconds['grid']:.2f} s (grid) on a shared 2-core CPU.",
        "",
        "| group | part | broad | grid |",
        "|---|---|---:|---:|",
    ]
    for group in GROUPS:
        for part in ("dev", "held-out", "all"):
            b, g = groups.get(("broad", group, part), [0, 0]), groups.get(("grid", group, part), [0, 0])
            if b[1] or g[1]:
                lines.append(f"| {group} | {part} | {_pct(*b) if b[1] else 'n/a'} | {_pct(*g)} |")
    lines += ["", "A fake VLM naming a random *wrong* 3×3 cell (and, separately, the right one) for every "
              "single-target SIRST image (\"The small target lies in the upper center of the image.\"):", "",
              "| fake VLM | broad | grid |", "|---|---:|---:|"]
    for key in ("wrong cell flagged", "right cell agrees"):
        lines.append(f"| {key} | {_pct(*fake['broad'][key])} | {_pct(*fake['grid'][key])} |")
    lines += ["", "| family | broad | grid |", "|---|---:|---:|"]
    for family, d in sorted(per_family.items()):
        name = f"{family} (held out)" if family in held else family
        lines.append(f"| {name} | {_pct(*d['broad']) if 'broad' in d else 'n/a'} | {_pct(*d['grid'])} |")
    if coords:
        lines += ["", "Coordinate corpus (issue 17), grid strictness: right = correct answers pass / other kinds get their "
                  "failure (contradicts, \"words and coordinates disagree\", ambiguous, says-no-target).", "",
                  "| family | development | held out |", "|---|---:|---:|"]
        for family, d in sorted(coords.items(), key=lambda kv: (kv[0].startswith("all"), kv[0])):
            lines.append(f"| {family} | {_pct(*d.get('dev', [0, 0]))} | {_pct(*d['held-out']) if 'held-out' in d else 'not scored'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        from langir.data.atomic import write_text_atomic

        write_text_atomic(args.record, text)
        print(f"wrote {args.record}")


if __name__ == "__main__":
    main()
