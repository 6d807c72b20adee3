"""`langir curate` on SIRST with a fake VLM that names the wrong 3×3 cell ~30 % of the time.

The real `openai` SDK talks to the local fake server (tests/describe/fake_server.py, scripted by
tests/describe/vlm_helpers.py): at temperature 0 an image's answer is fixed (wrong for ~30 % of
images), a re-ask at temperature ≥ 0.7 is a fresh draw (wrong 30 % of the time, any other cell),
and a `grounded` prompt's hint is followed. Per round: validate's agreement, the true share of
descriptions naming a cell that holds a target (the fake knows the truth), calls and cost (the
fake reports 300 input + 20 output tokens a call, at gpt-4o list prices). Goal: ≥ 99 %
agreement within 3 rounds at ≤ 1.5× the cost of a single pass.

    python bench/curate_loop.py [--p-wrong 0.3] [--seeds 0 1 2] [--redo-styles same,grounded]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from langir.cli import app, main  # noqa: E402
from langir.cli.curate import register  # noqa: E402
from langir.curate.validate import validate_dataset  # noqa: E402
from langir.data.dataset import LangIRDataset  # noqa: E402
from langir.data.positions import cell_phrase  # noqa: E402
from tests.describe.vlm_helpers import FakeVLM, VLMServer, image_sha, truth_cells  # noqa: E402

SIRST = Path(os.environ.get("LANGIR_SIRST", REPO.parent / "shared" / "datasets" / "sirst"))
_CLAIM = re.compile(r"lies in the (.+?) of the image")
PHRASE_TO_CELL = {cell_phrase((r, c)): (r, c) for r in range(3) for c in range(3)}
PHRASE_TO_CELL["center"] = (1, 1)


def true_share(ds: LangIRDataset, truth_by_id: dict[str, list[tuple[int, int]]]) -> float:
    """Share of descriptions whose named cell holds a target (ground truth, not validate's opinion)."""
    good = total = 0
    for image_id, cells in truth_by_id.items():
        total += 1
        m = _CLAIM.search(ds.read_description(image_id) or "")
        good += bool(m and PHRASE_TO_CELL.get(m.group(1).replace("center of the image", "center")) in cells)
    return good / total if total else 0.0


def one_run(seed: int, p_wrong: float, redo_styles: str, rounds: int, concurrency: int, strictness: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sirst"
        for part in ("images", "masks", "idx_427"):
            shutil.copytree(SIRST / part, root / part)
        truth = truth_cells(root / "images", root / "masks", mask_pattern="{id}_pixels0")
        sha_of = {p.stem: image_sha(p) for p in (root / "images").glob("*.png")}
        truth_by_id = {i: truth[s] for i, s in sha_of.items()}
        vlm = FakeVLM(truth, p_wrong=p_wrong, seed=seed, random_wrong=True)
        t0 = time.perf_counter()
        with VLMServer(vlm) as server:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
                main(["curate", str(root), "--layout", "sirst", "--provider", "openai", "--base-url", server.openai_url,
                      "--rounds", str(rounds), "--redo-styles", redo_styles, "--concurrency", str(concurrency),
                      "--backoff", "0.01", "--json", *(["--strictness", strictness] if strictness else [])])
            posts = server.api.paths["POST /v1/chat/completions"]
        elapsed = time.perf_counter() - t0
        data = json.loads(buf.getvalue())
        ds = LangIRDataset.open(root, "sirst")
        final = validate_dataset(ds, ds.all_ids(), **({"strictness": strictness} if strictness else {})).summary()
        data.update(seed=seed, posts=posts, elapsed_s=round(elapsed, 1), final_true_share=round(true_share(ds, truth_by_id), 4),
                    final_agreement=final["agreement"])
        first = data["rounds"][0]["cost_usd"]
        data["cost_vs_single_pass"] = round(data["cost_usd"] / first, 3) if first else None
        return data


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p-wrong", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--redo-styles", default="same,grounded")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--strictness", default=None, help="passed to validate (broad | grid) when given")
    args = parser.parse_args()
    if not (SIRST / "images").is_dir():
        sys.exit(f"SIRST not found at {SIRST} (set LANGIR_SIRST)")
    if not any(c.name == "curate" for c in app.registered_commands):
        register(app)
    runs = []
    for seed in args.seeds:
        data = one_run(seed, args.p_wrong, args.redo_styles, args.rounds, args.concurrency, args.strictness)
        runs.append(data)
        for r in data["rounds"]:
            print(f"seed {seed} round {r['round']} {r['strategy']:<9} asked {r['asked']:>3} calls {r['calls']:>3} "
                  f"cost ${r['cost_usd']:.4f} agreement {100 * (r['agreement'] or 0):.2f} %", flush=True)
        print(f"seed {seed}: stopped {data['stopped']}, total ${data['cost_usd']:.4f} = {data['cost_vs_single_pass']}× a single "
              f"pass, true share naming a target cell {100 * data['final_true_share']:.2f} %, {data['elapsed_s']} s", flush=True)
    summary = {
        "p_wrong": args.p_wrong, "redo_styles": args.redo_styles, "rounds": args.rounds, "strictness": args.strictness,
        "agreement_after_round": [[r["agreement"] for r in d["rounds"]] for d in runs],
        "cost_vs_single_pass": [d["cost_vs_single_pass"] for d in runs],
        "final_true_share": [d["final_true_share"] for d in runs],
        "goal_met": all((d["agreement"] or 0) >= 0.99 and len(d["rounds"]) <= 3 and d["cost_vs_single_pass"] <= 1.5 for d in runs),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main_bench()
