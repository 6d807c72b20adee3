"""I/O throughput: images/s for loading SIRST (decode + convert + mask) and for `langir synth`.

    python bench/io_throughput.py [SIRST_DIR]
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from langir.data import LangIRDataset
from langir.data.synth import make_sample, synthesize


def machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name"))
    except (StopIteration, OSError):
        cpu = platform.processor() or "unknown CPU"
    import os

    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def bench_load(root: Path, repeats: int = 3) -> tuple[float, int]:
    ds = LangIRDataset.open(root)
    ids = ds.ids()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        loaded = sum(1 for _ in ds.iter_samples(ids, skip_bad=True))
        best = min(best, time.perf_counter() - start)
    return loaded / best, loaded


def bench_synth(size: int, count: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(count):
        make_sample(rng, (size, size))
    generate = count / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        synthesize(Path(tmp) / "s", count, (size, size), seed=0)
        full = count / (time.perf_counter() - start)
    return generate, full


def main() -> None:
    sirst = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sirst"
    print(f"machine: {machine()}\n")
    print("| workload | images/s |\n|---|---|")
    if (sirst / "images").is_dir():
        rate, n = bench_load(sirst)
        print(f"| load SIRST ({n} images: decode + grey + mask + size check) | {rate:.0f} |")
    for size, count in ((256, 100), (512, 40)):
        generate, full = bench_synth(size, count)
        print(f"| synth {size}×{size}: generate in memory | {generate:.0f} |")
        print(f"| synth {size}×{size}: generate + write PNGs + splits | {full:.0f} |")


if __name__ == "__main__":
    main()
