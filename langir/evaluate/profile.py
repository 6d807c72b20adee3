"""Model cost as the IRSTD papers report it: params, FLOPs / MACs, latency, throughput, peak memory.

FLOPs come from torch's own `torch.utils.flop_counter.FlopCounterMode` (counts matmul/conv/attention ops;
BatchNorm, activations and resizing are not counted). The papers' "FLOPs" are usually thop MACs, so both
GFLOPs and GMACs (= FLOPs / 2) are reported.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from langir.errors import ConfigError


def resolve_device(device: str) -> torch.device:
    """`auto` → CUDA when present, else CPU; `cuda` without a GPU is a ConfigError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but no CUDA GPU is available")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda")
    return torch.device(device)


def _inputs(model: nn.Module, batch: int, size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    image = torch.zeros(batch, 1, size, size, device=device)
    td = None
    if getattr(model, "uses_language", False):  # a zero target descriptor: same cost as a real one
        td = torch.zeros(batch, int(model.td_dim), device=device)
    return image, td


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(model: nn.Module, image: torch.Tensor, td: torch.Tensor | None, warmup: int, iters: int,
           device: torch.device) -> float:
    """Mean seconds per forward after `warmup` untimed ones (device synchronised around the timing)."""
    for _ in range(warmup):
        model(image, td)
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        model(image, td)
    _sync(device)
    return (time.perf_counter() - start) / max(iters, 1)


def profile_model(model: nn.Module, size: int = 512, batch: int = 8, device: str | torch.device = "cpu",
                  dtype: torch.dtype | None = None, *, warmup: int = 3, iters: int = 10) -> dict[str, Any]:
    """Params, GFLOPs/GMACs at batch 1, latency (batch 1), throughput (batch `batch`), peak CUDA memory.

    `dtype=torch.bfloat16` runs the timed passes under autocast (GPU mixed precision). Peak memory is the
    CUDA allocator's peak over the timed passes (MiB); None on CPU, where no per-model figure exists.
    """
    if size < 1 or batch < 1 or iters < 1 or warmup < 0:
        raise ConfigError("size, batch and iters must be ≥ 1 and warmup ≥ 0")
    device = resolve_device(device) if isinstance(device, str) else device
    model = model.to(device).eval()
    params = sum(p.numel() for p in model.parameters())
    autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else torch.autocast(device.type,
                                                                                                enabled=False)
    with torch.inference_mode():
        image, td = _inputs(model, 1, size, device)
        counter = FlopCounterMode(display=False)
        with counter:
            model(image, td)
        flops = counter.get_total_flops()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        with autocast:
            latency = _timed(model, image, td, warmup, iters, device)
            image_b, td_b = _inputs(model, batch, size, device)
            per_batch = _timed(model, image_b, td_b, warmup, iters, device)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {
        "model": getattr(model, "model_name", type(model).__name__),
        "size": size,
        "batch": batch,
        "device": str(device),
        "dtype": str(dtype).replace("torch.", "") if dtype is not None else "float32",
        "params": params,
        "params_m": params / 1e6,
        "gflops": flops / 1e9,
        "gmacs": flops / 2e9,
        "latency_ms": latency * 1e3,
        "throughput_ips": batch / per_batch,
        "peak_memory_mb": peak,
    }
