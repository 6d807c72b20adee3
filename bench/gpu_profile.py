"""Where a model's GPU time goes: torch.profiler over training steps and a batched forward.

    python bench/gpu_profile.py                       # lgnet 512×512: train batch 8, infer batch 64, bf16 + channels_last
    python bench/gpu_profile.py --model sgem_unet --size 256

Prints, per phase, the operators with the most self device time (the rest is launch gaps and the host)
and the phase's wall time per step; runs on the CPU too (self CPU time then), for trying the script.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _table(prof: profile, on_gpu: bool, rows: int) -> str:
    key = "self_cuda_time_total" if on_gpu else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows, max_name_column_width=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lgnet")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--infer-batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()
    from timm.optim import Adan

    from langir.models import create_model, model_info
    from langir.train.losses import compute_loss

    on_gpu = torch.cuda.is_available()
    device = "cuda" if on_gpu else "cpu"
    info = model_info(args.model)
    model = create_model(args.model, **info.profile_kwargs).to(device).to(memory_format=torch.channels_last)
    opt = Adan(model.parameters(), lr=1e-3, weight_decay=1e-4)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = torch.rand(n, 1, args.size, args.size, device=device).contiguous(memory_format=torch.channels_last)
        td = torch.randn(n, model.td_dim, device=device) if getattr(model, "uses_language", False) else None
        return x, td

    x, td = batch(args.train_batch)
    y = (torch.rand(args.train_batch, 1, args.size, args.size, device=device) > 0.99).float()

    def train_step() -> None:
        with torch.autocast(device, dtype=torch.bfloat16, enabled=on_gpu):
            out = model(x, td=td, return_aux=info.default_loss == "bce_deep")
            loss = compute_loss(info.default_loss, out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    xi, tdi = batch(args.infer_batch)

    def infer_step() -> None:
        with torch.inference_mode(), torch.autocast(device, dtype=torch.bfloat16, enabled=on_gpu):
            model(xi, td=tdi)

    for name, step, n in (("train", train_step, args.train_batch), ("infer", infer_step, args.infer_batch)):
        model.train(name == "train")
        for _ in range(3):
            step()
        if on_gpu:
            torch.cuda.synchronize()
        with profile(activities=activities) as prof:
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step()
            if on_gpu:
                torch.cuda.synchronize()
            wall = (time.perf_counter() - t0) / args.steps
        print(f"## {args.model} {name}: batch {n}, {args.size}², {wall * 1e3:.1f} ms/step, {n / wall:.1f} images/s "
              f"({'bf16 autocast, channels_last, ' + torch.cuda.get_device_name() if on_gpu else 'CPU fp32'})")
        print(_table(prof, on_gpu, args.rows), flush=True)


if __name__ == "__main__":
    main()
