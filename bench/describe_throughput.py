"""Describe throughput against the local fake API (tests/describe/fake_server.py).

Measures images/s at several concurrencies with a fixed server latency (default 200 ms) against
the ideal concurrency/latency, the client's CPU per image at each level (process CPU time of
the describing process / images, all its threads, user + system; the system part is shown too),
the fake server's CPU per image (it runs in its own process), the client's own overhead per image
(latency 0, concurrency 1), and a full-cache re-run of 1,000 images (files kept, and --overwrite
served from the ledger). The machine (cores, load before and after) is printed with the figures.
`--profile` prints where the client CPU goes at the highest level (cProfile, top 25 by own time);
`--floor` also measures the provider call alone at each level (the SDK's request on the provider's
client and transport, with one request built up front: no image reads, no ledger, no files).
`--workdir` puts the datasets elsewhere than the system temp folder: creating a file (one a
description) costs ≈ 0.01 ms of kernel CPU on tmpfs (/dev/shm), ≈ 0.025 ms on an ext4 with a journal, and
0.3–0.9 ms on an ext4 without one (this VM's root) after many files were deleted nearby
(`bench/fs_create_after_delete.py`); the file system and its journal are printed with the figures.

    python bench/describe_throughput.py [--latency 0.2] [--levels 1 8 32 64] [--cache-images 1000] [--profile]
                                        [--workdir DIR] [--size H W | --frames DATASET]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import openai  # noqa: E402,F401  (import once up front: its ~1 s import is not per-image overhead)
from fs_create_after_delete import journal_of  # noqa: E402  (bench/, this script's folder)

from langir.data.dataset import LangIRDataset  # noqa: E402
from langir.describe.ledger import Ledger  # noqa: E402
from langir.describe.prompts import load_prompt  # noqa: E402
from langir.describe.providers import OpenAIProvider  # noqa: E402
from langir.describe.runner import DescribeOptions, RetryPolicy, describe_dataset  # noqa: E402
from tests.describe.describe_helpers import make_dataset  # noqa: E402


class FakeServer:
    """The fake API in its own process, so its threads do not share the client's GIL."""

    def __init__(self, latency: float):
        self.latency = latency

    def __enter__(self) -> FakeServer:
        self.proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "describe" / "fake_server.py"),
                                      "--latency", str(self.latency)], stdout=subprocess.PIPE, text=True, cwd=REPO)
        self.openai_url = self.proc.stdout.readline().strip() + "/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()

    def cpu_s(self) -> float:
        """CPU seconds the server process has used (user + system), from /proc; 0 where there is none."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(root: Path, url: str, concurrency: int, overwrite: bool = False, profile: bool = False) -> tuple[float, dict]:
    """One describe run; the summary gains `cpu_s` (this process's CPU time during the run)."""
    ds = LangIRDataset.open(root)
    provider = OpenAIProvider("gpt-4o", "bench-key", url, timeout=30)
    ledger = Ledger.for_dataset(root)
    opts = DescribeOptions(concurrency=concurrency, overwrite=overwrite, retry=RetryPolicy(initial=0.01))
    profiler = cProfile.Profile() if profile else None
    cpu0, t0, sys0 = time.process_time(), time.perf_counter(), os.times().system
    if profiler:
        profiler.enable()
    summary = describe_dataset(ds, ds.all_ids(), provider, load_prompt("system"), opts, ledger)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - t0
    summary["cpu_s"] = time.process_time() - cpu0
    summary["sys_s"] = os.times().system - sys0
    ledger.close()
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    return elapsed, summary


def provider_floor(root: Path, url: str, concurrency: int, n: int) -> tuple[float, float]:
    """(seconds, client CPU seconds) of `n` provider calls at `concurrency`, the request built once."""
    import asyncio

    from langir.describe.build import RequestBuilder

    ds = LangIRDataset.open(root)
    provider = OpenAIProvider("gpt-4o", "bench-key", url, timeout=30)
    request, _ = RequestBuilder(ds, provider, load_prompt("system"), DescribeOptions()).build(ds.all_ids()[0])

    async def go() -> tuple[float, float]:
        todo = iter(range(n))

        async def worker() -> None:
            for _ in todo:
                await provider.describe(request)

        await asyncio.gather(*[worker() for _ in range(min(concurrency, 8))])  # first connections
        todo = iter(range(n))
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        took = time.perf_counter() - t0, time.process_time() - cpu0
        await provider.aclose()
        return took

    return asyncio.run(go())


def real_dataset(root: Path, n: int, source: Path) -> Path:
    """`n` frames cycled from `source` (images/*.png, masks/ of the same name or SIRST's NAME_pixels0.png),
    each made distinct by its first pixels."""
    import numpy as np
    from PIL import Image

    images = sorted((source / "images").glob("*.png"))
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        path = images[i % len(images)]
        frame = np.array(Image.open(path).convert("L"))
        frame[0, :2] = (i % 256, i // 256)
        Image.fromarray(frame).save(root / "images" / f"f{i:05d}.png")
        mask = next(m for m in (source / "masks" / path.name, source / "masks" / f"{path.stem}_pixels0.png") if m.is_file())
        (root / "masks" / f"f{i:05d}.png").write_bytes(mask.read_bytes())
    return root


def file_create_ms(folder: Path, n: int = 500) -> float:
    """CPU ms to create (and close) one new file in `folder`: every new description is one, and its kernel
    cost differs by file system (0.3–0.7 ms on this VM's ext4, ≈ 0.01 ms on tmpfs)."""
    probe = folder / "create-probe"
    probe.mkdir()
    t0 = time.process_time()
    for i in range(n):
        os.close(os.open(probe / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    took = time.process_time() - t0
    return round(1000 * took / n, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--per-slot", type=int, default=6, help="images per concurrency slot (min 16 images)")
    parser.add_argument("--cache-images", type=int, default=1000)
    parser.add_argument("--floor", action="store_true", help="also time the provider call alone at each level")
    parser.add_argument("--profile", action="store_true", help="cProfile the client at the highest level (stderr)")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the datasets (default: the system temp)")
    parser.add_argument("--size", type=int, nargs=2, default=[64, 64], metavar=("H", "W"),
                        help="frame size at the concurrency levels (synthetic noise frames)")
    parser.add_argument("--frames", type=Path, default=None,
                        help="a dataset (images/, masks/) whose real frames the concurrency levels use instead, "
                             "cycled, each copy made distinct by one pixel (e.g. SIRST)")
    args = parser.parse_args()
    results: dict = {"latency_s": args.latency, "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg(),
                                                            "python": sys.version.split()[0]}, "levels": []}
    print(json.dumps(results["machine"]), flush=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp_path = Path(tmp)
        results["machine"]["file_system"] = journal_of(tmp_path)
        results["machine"]["file_create_ms"] = file_create_ms(tmp_path)
        print(json.dumps({key: results["machine"][key] for key in ("file_system", "file_create_ms")}), flush=True)
        with FakeServer(latency=args.latency) as fake:
            run(make_dataset(tmp_path / "warm", 16, size=(64, 64)), fake.openai_url, 8)  # imports, first connections
            for level in args.levels:
                n = max(16, args.per_slot * level)
                root = (real_dataset(tmp_path / f"c{level}", n, args.frames) if args.frames
                        else make_dataset(tmp_path / f"c{level}", n, size=tuple(args.size)))
                server0 = fake.cpu_s()
                elapsed, summary = run(root, fake.openai_url, level, profile=args.profile and level == max(args.levels))
                server = fake.cpu_s() - server0
                assert summary["described"] == n, summary
                rate, ideal = n / elapsed, level / args.latency
                row = {"concurrency": level, "images": n, "seconds": round(elapsed, 3), "images_per_s": round(rate, 2),
                       "ideal_per_s": round(ideal, 2), "efficiency": round(rate / ideal, 3),
                       "client_cpu_ms_per_image": round(1000 * summary["cpu_s"] / n, 2),
                       "of_which_system_ms": round(1000 * summary["sys_s"] / n, 2),
                       "server_cpu_ms_per_image": round(1000 * server / n, 2)}
                if args.floor:
                    took, cpu = provider_floor(root, fake.openai_url, level, n)
                    row["provider_call_alone"] = {"efficiency": round(n / took / ideal, 3),
                                                  "client_cpu_ms_per_image": round(1000 * cpu / n, 2)}
                results["levels"].append(row)
                print(json.dumps(row), flush=True)
        with FakeServer(latency=0.0) as fake:
            n = 100
            root = make_dataset(tmp_path / "overhead", n, size=(64, 64))
            elapsed, summary = run(root, fake.openai_url, 1)
            results["overhead_ms_per_image_c1_latency0"] = round(1000 * elapsed / n, 2)
            results["client_cpu_ms_per_image_c1_latency0"] = round(1000 * summary["cpu_s"] / n, 2)
            print(json.dumps({"overhead_ms_per_image": results["overhead_ms_per_image_c1_latency0"],
                              "client_cpu_ms_per_image": results["client_cpu_ms_per_image_c1_latency0"]}), flush=True)
            n = args.cache_images
            root = make_dataset(tmp_path / "cache", n, size=(64, 64))
            first, summary = run(root, fake.openai_url, 64)
            assert summary["described"] == n
            kept, s_kept = run(root, fake.openai_url, 64)
            from_ledger, s_ledger = run(root, fake.openai_url, 64, overwrite=True)
            assert s_kept["kept_existing"] == n and s_ledger["from_ledger"] == n and s_ledger["api_attempts"] == 0
            env = {**os.environ, "OPENAI_API_KEY": "bench-key", "PYTHONPATH": str(REPO)}
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "langir", "describe", str(root), "--provider", "openai", "--base-url",
                            fake.openai_url, "--overwrite", "--json"], env=env, check=True, capture_output=True)
            cli = time.perf_counter() - t0
            results["cache_rerun"] = {"images": n, "first_run_s": round(first, 3), "rerun_files_kept_s": round(kept, 3),
                                      "rerun_overwrite_from_ledger_s": round(from_ledger, 3),
                                      "cli_subprocess_overwrite_from_ledger_s": round(cli, 3)}
            print(json.dumps(results["cache_rerun"]), flush=True)
    results["machine"]["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
