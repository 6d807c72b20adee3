"""channels_last against the default layout on the CPU: one training step and one inference pass per model.

Usage: python bench/cpu_memory_format.py [--threads N] [--rounds R]

Interleaved A/B (contiguous, channels_last, contiguous, …) so load on the machine hits both alike; the
figure is the median of R rounds. Training: batch 8 of 64² crops (the learning tests' and demo's size),
forward + backward of the mean output. Inference: one 256² frame (SIRST-like), no grad.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from langir.models import create_model

MODELS = {
    "lgnet": {"use_language": False},
    "unet": {},
    "sgem_unet": {},
    "dgspnet": {"base": 8, "clip_model": "langir-tiny", "clip_pretrained": None},
}


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def _time(fn, rounds: int) -> float:
    fn()  # warm-up (oneDNN builds its kernels on the first call)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, kwargs in MODELS.items():
        model = create_model(name, **kwargs)
        batch, frame = torch.randn(8, 1, 64, 64), torch.randn(1, 1, 256, 256)
        result: dict[str, float] = {}
        for layout in ("contiguous", "channels_last", "contiguous", "channels_last"):
            fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
            model.to(memory_format=fmt).train()

            train_s = _time(lambda m=model, x=batch: _first(m(x)).mean().backward(), args.rounds)
            model.eval()
            with torch.inference_mode():
                infer_s = _time(lambda m=model, x=frame: m(x), args.rounds)
            result[f"{layout}_train_s"] = min(result.get(f"{layout}_train_s", 1e9), train_s)
            result[f"{layout}_infer_s"] = min(result.get(f"{layout}_infer_s", 1e9), infer_s)
        rows.append({"model": name, **{k: round(v, 4) for k, v in result.items()},
                     "train_speedup": round(result["contiguous_train_s"] / result["channels_last_train_s"], 2),
                     "infer_speedup": round(result["contiguous_infer_s"] / result["channels_last_infer_s"], 2)})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"threads": args.threads, "torch": torch.__version__, "cpu": platform.processor() or platform.machine()}))


if __name__ == "__main__":
    main()
