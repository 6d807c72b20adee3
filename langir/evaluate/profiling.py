"""Model cost as the IRSTD papers report it: params, FLOPs / MACs, latency, throughput, peak memory.

FLOPs come from torch's own `torch.utils.flop_counter.FlopCounterMode` (counts matmul/conv/attention ops;
BatchNorm, activations and resizing are not counted). The papers' "FLOPs" are usually thop MACs, so both
GFLOPs and GMACs (= FLOPs / 2) are reported.

Timing definitions: **latency** = median wall time of one forward pass at batch 1; **throughput** =
batch / median wall time of one forward pass at batch N (images/s). At batch 1 they are one measurement,
so throughput = 1000 / latency_ms exactly; at batch N the ratio ``batching_gain`` = throughput ×
latency is what batching buys (below 1 on a CPU whose caches a large batch overflows). Medians keep a
pass slowed by another process from moving the figure.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from langir.errors import ConfigError


def resolve_device(device: str) -> torch.device:
    """`auto` → CUDA / MPS when present, else CPU; an absent accelerator is a ConfigError."""
    from langir.evaluate.inference import resolve_device as resolve

    return torch.device(resolve(device))


def available_bytes(device: torch.device) -> int:
    """Free memory on ``device``: the GPU's free memory, else MemAvailable from /proc/meminfo (8 GiB if unknown)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def check_size(size: int, batch: int, device: torch.device) -> None:
    """Refuse a profile that could not allocate its activations (estimated from LGNet's bytes per pixel)."""
    from langir.evaluate.inference import ACTIVATION_BYTES_PER_PIXEL

    if size < 1 or batch < 1:
        raise ConfigError(f"--size and --batch must be at least 1 (got {size} and {batch})")
    need = size * size * max(batch, 1) * ACTIVATION_BYTES_PER_PIXEL
    have = available_bytes(device)
    if need > 0.8 * have:
        raise ConfigError(f"--size {size} --batch {batch} needs about {need / 2**30:.1f} GiB of activations, but "
                          f"{device} has {have / 2**30:.1f} GiB free; use a smaller --size or --batch")


def clip_image_cost(name: str = "ViT-B-16") -> dict[str, Any]:
    """Params and GMACs of the CLIP image tower (built by open_clip without weights) for one image.

    A `train-only` or `train+test` checkpoint needs this tower at inference to turn each image into its
    target descriptor (embeddings are cached per image content, so it runs once per new image).
    """
    import logging

    from langir.language.clip import load_clip

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # open_clip warns that no weights were loaded: that is the point here
    try:
        clip, _, _ = load_clip(name, None, "cpu")
    finally:
        root.setLevel(level)
    visual = clip.visual
    side = getattr(visual, "image_size", 224)
    side = side[0] if isinstance(side, (tuple, list)) else int(side)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        clip.encode_image(torch.zeros(1, 3, side, side))
    flops = counter.get_total_flops()
    params = sum(p.numel() for p in visual.parameters())
    return {"clip_model": name, "input": side, "params": params, "params_m": params / 1e6,
            "gflops": flops / 1e9, "gmacs": flops / 2e9}


def _inputs(model: nn.Module, batch: int, size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    image = torch.zeros(batch, 1, size, size, device=device)
    td = None
    if getattr(model, "uses_language", False):  # a zero target descriptor: same cost as a real one
        td = torch.zeros(batch, int(model.td_dim), device=device)
    return image, td


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def default_iters(device: torch.device) -> tuple[int, int]:
    """(warm-up, timed) passes: 3/10 on a GPU; 0/3 on a CPU, where one 512² LGNet pass takes 0.2 s to
    several seconds and the FLOP-counting pass that runs first already warms the allocator up."""
    return (3, 10) if device.type != "cpu" else (0, 3)


def _timed(model: nn.Module, image: torch.Tensor, td: torch.Tensor | None, warmup: int, iters: int,
           device: torch.device, step: Callable[[], None] | None = None) -> float:
    """Median seconds per forward after `warmup` untimed ones (device synchronised around each pass)."""
    for _ in range(warmup):
        model(image, td)
        if step:
            step()
    times = []
    for _ in range(iters):
        _sync(device)
        start = time.perf_counter()
        model(image, td)
        _sync(device)
        times.append(time.perf_counter() - start)
        if step:
            step()
    return statistics.median(times)


def profile_model(model: nn.Module, size: int = 512, batch: int = 8, device: str | torch.device = "cpu",
                  dtype: torch.dtype | None = None, *, warmup: int | None = None, iters: int | None = None,
                  progress: Callable[[str, int], Callable[[], None]] | None = None) -> dict[str, Any]:
    """Params, GFLOPs/GMACs at batch 1, latency (batch 1), throughput (batch `batch`), peak CUDA memory.

    `dtype=torch.bfloat16` runs the timed passes under autocast (GPU mixed precision). Peak memory is the
    CUDA allocator's peak over the timed passes (MiB); None on CPU, where no per-model figure exists.
    `warmup` / `iters` default per device (:func:`default_iters`); ``progress(label, passes)`` returns a
    callback called after each forward pass (the CLI's progress bar).
    """
    device = resolve_device(device) if isinstance(device, str) else device
    dw, di = default_iters(device)
    warmup, iters = dw if warmup is None else warmup, di if iters is None else iters
    if size < 1 or batch < 1 or iters < 1 or warmup < 0:
        raise ConfigError("size, batch and iters must be ≥ 1 and warmup ≥ 0")
    check_size(size, batch, device)
    model = model.to(device).eval()
    params = sum(p.numel() for p in model.parameters())
    autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else torch.autocast(device.type,
                                                                                                enabled=False)
    def step(label: str, passes: int) -> Callable[[], None] | None:
        return progress(label, passes) if progress else None

    with torch.inference_mode():
        image, td = _inputs(model, 1, size, device)
        counter = FlopCounterMode(display=False)
        tick = step("counting FLOPs (1 pass)", 1)
        with counter:
            model(image, td)
        if tick:
            tick()
        flops = counter.get_total_flops()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        with autocast:
            latency = _timed(model, image, td, warmup, iters, device, step(f"batch 1: {warmup} warm-up + {iters} timed", warmup + iters))
            if batch == 1:  # one measurement: throughput and latency agree by definition
                per_batch = latency
            else:
                image_b, td_b = _inputs(model, batch, size, device)
                per_batch = _timed(model, image_b, td_b, warmup, iters, device,
                                   step(f"batch {batch}: {warmup} warm-up + {iters} timed", warmup + iters))
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
        "batching_gain": (batch / per_batch) * latency,
        "warmup": warmup,
        "iters": iters,
        "peak_memory_mb": peak,
    }


def text_path_cost(name: str = "ViT-B-16", layers: int = 0) -> dict[str, Any]:
    """The CLIP text path that ``train --finetune-text`` adds to every training step, for one description:
    trainable / total params (``layers`` as ``--text-layers``), forward GFLOPs / GMACs (77 tokens) and
    ≈ training GFLOPs (forward + a backward of about twice the forward of the blocks that train)."""
    import logging

    from langir.language.text_tower import build_tower

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # untrained on purpose: cost does not depend on weight values
    try:
        tower, tokenizer = build_tower(name, None, layers)
    finally:
        root.setLevel(level)
    tokens = tokenizer(["the small target is in the upper left region."])
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        tower(tokens)
    flops = counter.get_total_flops()
    params = [p for n, p in tower.clip.named_parameters() if n.split(".")[0] != "visual" and n != "logit_scale"]
    trainable = sum(p.numel() for p in params if p.requires_grad)
    blocks = len(tower.clip.transformer.resblocks)
    share = (layers or blocks) / blocks  # backward runs only through the trained blocks (≈ 2× their forward)
    return {"clip_model": name, "layers": layers or blocks, "tokens": int(tokens.shape[1]),
            "params": sum(p.numel() for p in params), "trainable_params": trainable, "trainable_params_m": trainable / 1e6,
            "gflops": flops / 1e9, "gmacs": flops / 2e9, "train_gflops": (1 + 2 * share) * flops / 1e9}
