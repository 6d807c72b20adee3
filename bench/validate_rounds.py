"""Validate a dataset several times in one process, as `curate` does each round: CPU ms an image per round.

    python bench/validate_rounds.py DATASET [--rounds 3]

The dataset needs descriptions (e.g. `langir describe DATASET --provider template` on a copy). Round 1 reads
every image header (with its integrity check) and decodes every mask; later rounds take each id's targets from
one `TargetsMemory` while its files are unchanged, as `curate` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from langir.curate.validate import TargetsMemory, validate_dataset  # noqa: E402
from langir.data.dataset import LangIRDataset  # noqa: E402
from langir.errors import DataError  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ds = LangIRDataset.open(args.dataset)
    ids = []
    for sample_id in ds.all_ids():  # ids whose files read (SIRST's Misc_111 has a mask of the wrong size)
        try:
            ds.load(sample_id)
            ids.append(sample_id)
        except DataError:
            pass
    validate_dataset(ds, ids[:8], 50, 0.05)  # imports and first-call set-up out of the figures
    rounds, kept = [], TargetsMemory()  # as `curate` keeps one across its rounds
    for _ in range(args.rounds):
        t0 = time.process_time()
        result = validate_dataset(ds, ids, 50, 0.05, kept=kept)
        rounds.append(round(1000 * (time.process_time() - t0) / len(ids), 3))
    print(json.dumps({"images": len(ids), "ms_per_image_by_round": rounds,
                      "agreement": result.summary()["agreement"]}))


if __name__ == "__main__":
    main()
