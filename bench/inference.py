"""Inference FPS: lgnet at 512×512 and sgem_unet at 256×256 (plus params / GMACs), via `profile_model`,
and `langir predict` throughput end to end on real SIRST-sized frames.

    python bench/inference.py                       # CPU fp32; on a GPU also bf16 (+ channels_last)
    python bench/inference.py --batch 64 --iters 20 # bigger GPU batches
    python bench/inference.py --predict datasets/sirst/images --predict-n 32 --skip-profile

Prints one JSON line per setting; the figures go to BENCHMARKS.md with the machine named. The predict
line times the library path `langir predict` uses (decode → batched forward → prob/mask/overlay PNGs
and targets.csv) with an untrained `never` checkpoint (cost does not depend on the weights), split into
model time and everything else.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from langir.evaluate.profiling import profile_model
from langir.models import create_model

CASES = (("lgnet", 512), ("sgem_unet", 256))


def _cpu_name() -> str:
    """CPU model as lscpu names it (platform.processor() is often just the architecture)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bench_predict(folder: Path, n: int, model_name: str, batch: int, device: str, resize: int | None = None,
                  writers: int | None = None) -> dict:
    """Seconds and images/s of the predict path on the first ``n`` images of ``folder``."""
    from langir.evaluate.inference import list_images, predict_files
    from langir.evaluate.outputs import PredictionWriter

    items = list_images([folder])[:n]
    model = create_model(model_name).eval()
    meta = {"model": model_name, "language_prior": "never"}
    if resize:  # a checkpoint trained with --input resize: every frame runs at resize×resize
        meta.update(input="resize", size=resize)
    forward_s = 0.0
    inner = model.forward

    def timed(*a, **k):  # model time only (sync'd on GPU), to split it from decode + writing
        nonlocal forward_s
        t = time.perf_counter()
        y = inner(*a, **k)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        forward_s += time.perf_counter() - t
        return y

    model.forward = timed
    shapes = {}
    with tempfile.TemporaryDirectory() as out:
        writer = PredictionWriter(Path(out), workers=writers)
        start = time.perf_counter()
        for pred in predict_files(model.to(device), meta, items, device=device, batch_size=batch):
            writer.write(pred.id, pred.image, pred.prob)
            shapes[pred.prob.shape] = shapes.get(pred.prob.shape, 0) + 1
        writer.finish()
        total = time.perf_counter() - start
    return {"bench": "predict", "model": model_name, "resize": resize, "writer_threads": writer.workers, "images": len(items), "distinct_sizes": len(shapes),
            "batch": batch, "device": device, "seconds": total, "images_per_s": len(items) / total,
            "model_seconds": forward_s, "io_and_writing_seconds": total - forward_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=None, help="throughput batch (default 4 on CPU, 64 on GPU)")
    parser.add_argument("--iters", type=int, default=None, help="timed passes (default 3 on CPU, 30 on GPU)")
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--predict", type=Path, default=None, help="folder of frames for the predict benchmark")
    parser.add_argument("--predict-n", type=int, default=32, help="frames used from --predict")
    parser.add_argument("--predict-models", default="lgnet_no_language,unet", help="comma list for --predict")
    parser.add_argument("--predict-writers", default="", help="comma list of writer thread counts to compare "
                        "(default: the writer's own choice)")
    parser.add_argument("--predict-resize", type=int, default=None,
                        help="as a checkpoint trained with --input resize at this size (the paper's protocol: 512)")
    parser.add_argument("--skip-profile", action="store_true", help="only the predict benchmark")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU setting when a GPU is present")
    args = parser.parse_args()
    if args.predict is not None:
        machine = torch.cuda.get_device_name() if torch.cuda.is_available() else _cpu_name()
        dev = "cuda" if torch.cuda.is_available() else "cpu"
        writers = [int(w) for w in args.predict_writers.split(",") if w.strip()] or [None]
        for name in args.predict_models.split(","):
            for count in writers:
                result = bench_predict(args.predict, args.predict_n, name, args.batch or 8, dev, args.predict_resize, count)
                print(json.dumps({**result, "machine": machine, "torch_threads": torch.get_num_threads()}), flush=True)
    if args.skip_profile:
        return
    settings = [] if args.no_cpu and torch.cuda.is_available() else [("cpu", None)]
    if torch.cuda.is_available():
        settings += [("cuda", None), ("cuda", torch.bfloat16)]
    machine = torch.cuda.get_device_name() if torch.cuda.is_available() else _cpu_name()
    for device, dtype in settings:
        gpu = device == "cuda"
        batch = args.batch or (64 if gpu else 4)
        iters = args.iters or (30 if gpu else 3)
        warmup = args.warmup if args.warmup is not None else (10 if gpu else 1)
        for name, size in CASES:
            model = create_model(name)
            if gpu:
                model = model.to(memory_format=torch.channels_last)
            result = profile_model(model, size, batch, device, dtype, warmup=warmup, iters=iters)
            result["fps_batch1"] = 1e3 / result["latency_ms"]
            result["machine"] = machine
            result["torch_threads"] = torch.get_num_threads()
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
