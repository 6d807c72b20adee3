"""Inference FPS: lgnet at 512×512 and sgem_unet at 256×256 (plus params / GMACs), via `profile_model`.

    python bench/inference.py                       # CPU fp32; on a GPU also bf16 (+ channels_last)
    python bench/inference.py --batch 64 --iters 20 # bigger GPU batches

Prints one JSON line per setting; the figures go to docs/bench-models.md with the machine named.
"""

from __future__ import annotations

import argparse
import json
import platform

import torch

from langir.evaluate.profile import profile_model
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=None, help="throughput batch (default 4 on CPU, 64 on GPU)")
    parser.add_argument("--iters", type=int, default=None, help="timed passes (default 3 on CPU, 30 on GPU)")
    parser.add_argument("--warmup", type=int, default=None)
    args = parser.parse_args()
    settings = [("cpu", None)]
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
