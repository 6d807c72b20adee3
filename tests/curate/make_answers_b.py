"""Write tests/curate/corpus/answers_b.jsonl: a second labelled corpus of VLM answers that say where the
infrared target is, in each model family's own convention, with positions computed from the SIRST masks.

    python tests/curate/make_answers_b.py [--out PATH]

Seeded: re-running reproduces the file byte for byte. SIRST is read from $LANGIR_SIRST or
../shared/datasets/sirst beside the repo.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from tests.curate import answers_b_styles as s1  # noqa: E402
from tests.curate import answers_b_styles2 as s2  # noqa: E402
from tests.curate.answers_b_context import Ctx, Reject  # noqa: E402
from tests.curate.answers_b_geometry import Frame, load_frames, sirst_root  # noqa: E402

SEED = 20261204
OUT = Path(__file__).parent / "corpus" / "answers_b.jsonl"
OC = "openai-compatible"
PIX = [("gpt-4o-2024-08-06", "openai"), ("gpt-4o-mini-2024-07-18", "openai"), ("gpt-4.1-2025-04-14", "openai"),
       ("claude-sonnet-4-5", "anthropic"), ("claude-3-5-sonnet-20241022", "anthropic"), ("claude-opus-4-1-20250805", "anthropic")]
GEMINI = [("gemini-2.5-pro", "gemini"), ("gemini-2.5-flash", "gemini"), ("gemini-2.0-flash", "gemini")]
QWEN25 = [("Qwen/Qwen2.5-VL-72B-Instruct", OC), ("Qwen/Qwen2.5-VL-7B-Instruct", OC), ("Qwen/Qwen2.5-VL-32B-Instruct", OC)]
GRID = [("Qwen/Qwen2-VL-7B-Instruct", OC), ("Qwen/Qwen2-VL-72B-Instruct", OC), ("Qwen/Qwen3-VL-235B-A22B-Instruct", OC),
        ("Qwen/Qwen3-VL-8B-Instruct", OC), ("OpenGVLab/InternVL3-8B", OC), ("OpenGVLab/InternVL2_5-26B", OC),
        ("THUDM/cogvlm-grounding-generalist-hf", OC), ("THUDM/cogvlm2-llama3-chat-19B", OC)]
MOLMO = [("allenai/Molmo-7B-D-0924", OC), ("allenai/Molmo-72B-0924", OC)]
LLAVA = [("llava-hf/llava-onevision-qwen2-7b-ov-hf", OC), ("llava-hf/llava-onevision-qwen2-72b-ov-hf", OC)]
NULL = [(None, None)]


@dataclass(frozen=True)
class Family:
    name: str
    write: Callable[[Ctx], str]
    models: list
    words: str  # "always" | "optional" | "never"
    targets: str  # "one" | "several" | "any"
    kinds: dict[str, int]
    sent: str  # "pix": sometimes rescaled; "any": sometimes a size that must not matter; "none"


FAMILIES = [
    Family("md_report", s1.md_report, PIX, "optional", "one", {"correct": 8, "wrong": 5, "disagree": 4}, "pix"),
    Family("json_objects", s1.json_objects, PIX, "never", "any", {"correct": 9, "wrong": 7}, "pix"),
    Family("json_target_xy", s1.json_target_xy, PIX, "never", "one", {"correct": 9, "wrong": 6}, "pix"),
    Family("json_center_size", s1.json_center_size, PIX, "never", "one", {"correct": 9, "wrong": 6}, "pix"),
    Family("yaml_kv", s1.yaml_kv, PIX, "optional", "any", {"correct": 8, "wrong": 5, "disagree": 3}, "pix"),
    Family("md_table", s1.md_table, PIX, "never", "any", {"correct": 9, "wrong": 7}, "pix"),
    Family("xy_decimals", s1.xy_decimals, PIX, "never", "one", {"correct": 9, "wrong": 7}, "pix"),
    Family("box_formats", s1.box_formats, PIX, "never", "one", {"correct": 9, "wrong": 7}, "pix"),
    Family("prose_paren", s1.prose_paren, PIX, "optional", "one", {"correct": 8, "wrong": 4, "disagree": 5}, "pix"),
    Family("words_and_box", s1.words_and_box, PIX, "always", "one", {"correct": 7, "wrong": 4, "disagree": 5}, "pix"),
    Family("chatty_prose", s1.chatty_prose, PIX, "optional", "one", {"correct": 9, "wrong": 5, "disagree": 4}, "pix"),
    Family("multi_words", s1.multi_words, PIX, "always", "several", {"correct": 9, "wrong": 4, "disagree": 3}, "pix"),
    Family("llava_norm", s1.llava_norm, LLAVA, "never", "one", {"correct": 9, "wrong": 7}, "any"),
    Family("multi_enum", s1.multi_enum, PIX, "never", "several", {"correct": 10, "wrong": 6}, "pix"),
    Family("self_sized", s2.self_sized, PIX + NULL + NULL, "never", "one", {"correct": 9, "wrong": 7}, "pix"),
    Family("distractors", s2.distractors, PIX, "never", "one", {"correct": 9, "wrong": 7}, "pix"),
    Family("molmo_points", s2.molmo_points, MOLMO, "never", "any", {"correct": 9, "wrong": 7}, "any"),
    Family("gemini_json", s2.gemini_json, GEMINI, "never", "any", {"correct": 10, "wrong": 7}, "any"),
    Family("qwen25_json", s2.qwen25_json, QWEN25, "never", "any", {"correct": 10, "wrong": 7}, "pix"),
    Family("grid_tags", s2.grid_tags, GRID, "never", "any", {"correct": 11, "wrong": 7}, "any"),
    Family("native_mixed", s2.native_mixed, GEMINI + MOLMO + QWEN25 + GRID[:2] + GRID[4:6], "always", "one",
           {"correct": 8, "wrong": 4, "disagree": 6}, "any"),
    Family("stated_scale", s2.stated_scale, NULL + PIX, "never", "one", {"correct": 9, "wrong": 7}, "none"),
    Family("tricky_prose", s2.tricky_prose, PIX + GEMINI + NULL, "always", "one", {"correct": 9, "wrong": 8}, "none"),
    Family("no_target_forms", s2.no_target, PIX + GEMINI + QWEN25 + MOLMO + NULL, "never", "any", {"no-target": 20}, "none"),
    Family("says_no_target", s2.says_no_target, PIX + GEMINI + GRID + NULL, "never", "any", {"says-no-target": 16}, "none"),
    Family("ambiguous_units", s2.ambiguous_units, NULL, "never", "one", {"ambiguous": 18}, "none"),
]


def _sent(rng: random.Random, mode: str, frame: Frame) -> tuple[int, int] | None:
    """The size the deployment sent: the original (None), a downscale, or an upscale for the long side."""
    r = rng.random()
    if mode == "none" or r < 0.65:
        return None
    if r < 0.85 or mode == "any":
        k = rng.choice([0.5, 0.75])
    else:
        k = rng.choice([768, 1024]) / max(frame.w, frame.h)
    return round(frame.w * k), round(frame.h * k)


def _fits(fam: Family, frame: Frame) -> bool:
    n = len(frame.targets)
    return {"one": n == 1, "several": n >= 2, "any": n <= 4}[fam.targets]


def _one(fam: Family, kind: str, k: int, frames: list[Frame], used: set[str]) -> tuple[dict, dict]:
    rng = random.Random(f"{SEED}:{fam.name}:{k}")
    order = frames[:]
    rng.shuffle(order)
    for allow_reuse in (False, True):
        for frame in order:
            if (frame.name in used and not allow_reuse) or not _fits(fam, frame):
                continue
            model, provider = rng.choice(fam.models)
            sent = _sent(rng, fam.sent if model else "none", frame)
            try:
                ctx = Ctx(rng, frame, "correct" if kind in ("no-target", "says-no-target", "ambiguous") else kind, fam.words, sent)
                ctx.model = model
                text = fam.write(ctx)
            except Reject:
                continue
            used.add(frame.name)
            rec = {"id": frame.name, "family": fam.name, "kind": kind, "text": text, "empty_mask": kind == "no-target",
                   "held_out": False, "model": model, "provider": provider, "sent_size": list(sent) if sent else None}
            return rec, ctx.truth()
    raise SystemExit(f"make_answers_b: no frame fits {fam.name}/{kind}")


def build(root: Path) -> list[tuple[dict, dict]]:
    """Every record with its truth (frame, stated claims with their scale, word regions, stated count)."""
    frames = load_frames(root)
    used: set[str] = set()
    out = []
    for fam in FAMILIES:
        rows = []
        for kind, n in fam.kinds.items():
            rows += [_one(fam, kind, len(rows) + j, frames, used) for j in range(n)]
        rng = random.Random(f"{SEED}:{fam.name}:held_out")
        for i in rng.sample(range(len(rows)), round(len(rows) / 3)):
            rows[i][0]["held_out"] = True
        out += rows
    return out


def render(records: list[tuple[dict, dict]]) -> str:
    return "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec, _ in records)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    root = sirst_root(REPO)
    if root is None:
        print("make_answers_b: SIRST masks not found (set LANGIR_SIRST or put it at ../shared/datasets/sirst)", file=sys.stderr)
        return 2
    text = render(build(root))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} records to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
