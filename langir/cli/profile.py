"""`langir profile`: params, FLOPs/MACs, latency, throughput and peak memory of a registered model."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from langir.cli.common import JsonOpt, out, print_json


def profile(
    model: Annotated[str, typer.Option("--model", help="Registered model name (lgnet, sgem_unet, unet, …).")] = "lgnet",
    size: Annotated[int, typer.Option("--size", min=1, max=16384, help="Square input side in pixels (refused when the activations would not fit in memory).")] = 512,
    batch: Annotated[int, typer.Option("--batch", min=1, max=4096, help="Batch size for the throughput figure.")] = 8,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | mps.")] = "auto",
    warmup: Annotated[int, typer.Option("--warmup", min=0, max=1000, help="Untimed forward passes before timing.")] = 3,
    iters: Annotated[int, typer.Option("--iters", min=1, max=10000, help="Timed forward passes.")] = 10,
    bf16: Annotated[bool, typer.Option("--bf16", help="Time under bf16 autocast (GPU).")] = False,
    clip: Annotated[str, typer.Option("--clip", help="For language-prior models: also count the CLIP image tower that inference needs ('none' to skip).")] = "ViT-B-16",
    as_json: JsonOpt = False,
) -> None:
    """Params, FLOPs/MACs, latency, throughput and peak memory of a model.

    GMACs = GFLOPs / 2 (the papers' "FLOPs" are usually thop MACs); latency at batch 1, throughput at batch
    N after warm-up with device sync. Language models are profiled with a zero target descriptor; their
    inference (train-only / train+test checkpoints) also runs CLIP's image tower once per image, reported
    separately (built by open_clip without weights; --clip NAME for the checkpoint's CLIP model).

    [bold]Example:[/] langir profile --model lgnet --size 512 --batch 8 --json
    """
    import torch

    from langir.evaluate.profile import check_size, clip_image_cost, profile_model, resolve_device
    from langir.models import create_model, model_info

    info = model_info(model)
    check_size(size, batch, resolve_device(device))
    # Cost does not depend on weight values: the registry names the options that avoid downloading weights.
    net = create_model(model, **info.profile_kwargs)
    result = profile_model(net, size, batch, device, torch.bfloat16 if bf16 else None, warmup=warmup, iters=iters)
    if info.uses_language and getattr(net, "uses_language", False) and clip.lower() != "none":
        result["clip_image"] = clip_image_cost(clip)
    if as_json:
        print_json(result)
        return
    table = Table(title=f"{model} at {size}×{size} on {result['device']}", show_header=False, title_justify="left")
    table.add_row("params", f"{result['params_m']:.3f} M")
    table.add_row("FLOPs", f"{result['gflops']:.2f} G")
    table.add_row("MACs", f"{result['gmacs']:.2f} G")
    table.add_row("latency (batch 1)", f"{result['latency_ms']:.1f} ms")
    table.add_row(f"throughput (batch {batch})", f"{result['throughput_ips']:.1f} images/s")
    if result["peak_memory_mb"] is not None:
        table.add_row("peak memory", f"{result['peak_memory_mb']:.0f} MiB")
    if "clip_image" in result:
        c = result["clip_image"]
        table.add_row(f"+ CLIP image tower ({c['clip_model']}, {c['input']}², per image)",
                      f"{c['params_m']:.1f} M params, {c['gmacs']:.2f} GMACs")
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("profile")(profile)
