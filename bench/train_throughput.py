"""Training throughput: images/s for a forward+backward+Adan step (default LGNet, 512×512, batch 8).

    python bench/train_throughput.py                      # CPU fp32 (+ GPU bf16 / channels_last / compile when present)
    python bench/train_throughput.py --model unet --size 256 --steps 3

Prints one JSON line per setting; the figures go to BENCHMARKS.md with the machine named.
`bench/reproduce.py --smoke` gives the end-to-end figures (four SIRST trainings, table beside the paper's).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch


def measure(model_name: str, size: int, batch: int, steps: int, device: str, bf16: bool, channels_last: bool, compile_: bool) -> dict:
    from langir.extras import import_open_clip

    import_open_clip()  # timm imports torchvision: one clear line on a mismatched pair
    from timm.optim import Adan

    from langir.models import create_model, model_info
    from langir.train.losses import compute_loss

    info = model_info(model_name)
    loss_name = info.default_loss
    model = create_model(model_name, **info.profile_kwargs).to(device)
    td = torch.randn(batch, model.td_dim, device=device) if getattr(model, "uses_language", False) else None
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if compile_ else model
    opt = Adan(model.parameters(), lr=1e-3, weight_decay=1e-4)
    x = torch.rand(batch, 1, size, size, device=device)
    y = (torch.rand(batch, 1, size, size, device=device) > 0.99).float()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)

    def step() -> None:
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            out = net(x, td=td, return_aux=loss_name == "bce_deep")
            loss = compute_loss(loss_name, out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2 if compile_ else 1):  # warm-up (and compilation)
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"model": model_name, "size": size, "batch": batch, "device": device, "bf16": bf16, "channels_last": channels_last,
            "compile": compile_, "steps": steps, "images_per_s": round(batch * steps / dt, 2),
            "s_per_800_images": round(800 / (batch * steps / dt), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lgnet")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--gpu-steps", type=int, default=50)
    parser.add_argument("--settings", default="cpu,fp32,bf16,bf16+cl,compile",
                        help="comma list of cpu, fp32, bf16, bf16+cl, compile (bf16 + channels_last + torch.compile); "
                             "the GPU ones run only where CUDA is present")
    args = parser.parse_args()
    print(json.dumps({"machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))
    known = {"cpu": ("cpu", False, False, False, args.steps), "fp32": ("cuda", False, False, False, args.gpu_steps),
             "bf16": ("cuda", True, False, False, args.gpu_steps), "bf16+cl": ("cuda", True, True, False, args.gpu_steps),
             "compile": ("cuda", True, True, True, args.gpu_steps)}
    wanted = [name.strip() for name in args.settings.split(",") if name.strip()]
    if unknown := [name for name in wanted if name not in known]:
        parser.error(f"unknown setting(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    settings = [known[name] for name in wanted if name == "cpu" or torch.cuda.is_available()]
    for device, bf16, cl, comp, steps in settings:
        print(json.dumps(measure(args.model, args.size, args.batch, steps, device, bf16, cl, comp)), flush=True)


if __name__ == "__main__":
    main()
