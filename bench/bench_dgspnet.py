"""Benchmark DGSPNet (params, FLOPs, CPU FPS, training images/s) next to lgnet and sgem_unet when registered.

Run: ``python bench/bench_dgspnet.py [--size 256] [--clip ViT-B-16]``; prints a Markdown table.
Uses ``langir.evaluate.profiling.profile_model`` when it exists, else torch's FlopCounterMode here.
FLOPs count multiply-adds as 2 FLOPs (torch's convention); GFLOPs = FLOPs / 1e9 / 2 would be GMACs.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's langir, not an installed copy


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def measure(model: torch.nn.Module, size: int, runs: int) -> dict[str, float]:
    model.eval()
    x = torch.rand(1, 1, size, size)
    params = sum(p.numel() for p in model.parameters())
    frozen = sum(p.numel() for p in getattr(model, "text_encoder", torch.nn.Module()).parameters())
    with torch.no_grad():
        counter = FlopCounterMode(display=False)
        with counter:
            model(x)
        model(x)  # warm-up
        start = time.perf_counter()
        for _ in range(runs):
            model(x)
        fps = runs / (time.perf_counter() - start)
    return {"params_M": params / 1e6, "frozen_text_M": frozen / 1e6, "gflops": counter.get_total_flops() / 1e9, "fps": fps}


def train_speed(model: torch.nn.Module, size: int, batch: int, steps: int, pretrain: bool) -> float:
    import torch.nn.functional as F

    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    x = torch.rand(batch, 1, size, size)
    mask = (torch.rand(batch, 1, size, size) > 0.99).float()

    def step() -> None:
        if pretrain:
            from langir.train.dgspnet_pretrain import pretrain_loss

            loss = pretrain_loss(model, x, 0.1, 0.07)["loss"]
        else:
            fused, sides = model(x, return_aux=True)
            loss = sum(F.binary_cross_entropy_with_logits(o, mask) for o in [fused, *sides])
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--clip", default="ViT-B-16")
    ap.add_argument("--train-size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    from langir.models.dgspnet import DGSPNet

    rows = []
    net = DGSPNet(args.clip, None, allow_random_clip=True)  # random CLIP: same cost as real weights
    rows.append(("dgspnet", measure(net, args.size, args.runs)))
    try:
        from langir.models import create_model

        for name in ("lgnet", "sgem_unet"):
            try:
                rows.append((name, measure(create_model(name), args.size, args.runs)))
            except Exception as error:  # noqa: BLE001 - report what could not be built, keep going
                print(f"<!-- {name}: not measured ({error}) -->")
    except ImportError:
        print("<!-- model registry not available: lgnet / sgem_unet not measured -->")
    print(f"Machine: {_cpu()}, torch {torch.__version__}, {torch.get_num_threads()} threads, input 1x1x{args.size}x{args.size}, CLIP {args.clip}\n")
    print("| model | trainable params (M) | frozen CLIP text (M) | GFLOPs | FPS (CPU, batch 1) |")
    print("|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['params_M']:.2f} | {r['frozen_text_M']:.1f} | {r['gflops']:.2f} | {r['fps']:.2f} |")
    pre = train_speed(DGSPNet(args.clip, None, allow_random_clip=True), args.train_size, args.batch, 3, True)
    main_net = DGSPNet(args.clip, None, allow_random_clip=True)
    from langir.models.dgspnet import freeze_inversion

    freeze_inversion(main_net)
    mn = train_speed(main_net, args.train_size, args.batch, 3, False)
    print(f"\nTraining images/s (CPU, {args.train_size}x{args.train_size}, batch {args.batch}, AdamW): "
          f"phase 1 (pretrain) {pre:.2f}, phase 2 (main) {mn:.2f}")


if __name__ == "__main__":
    main()
