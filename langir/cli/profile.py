"""`langir profile`: params, FLOPs/MACs, latency, throughput and peak memory of a registered model."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from langir.cli.common import JsonOpt, out, print_json


def profile(
    model: Annotated[str, typer.Option("--model", help="Registered model name (lgnet, sgem_unet, unet, …).")] = "lgnet",
    size: Annotated[int, typer.Option("--size", help="Square input side in pixels.")] = 512,
    batch: Annotated[int, typer.Option("--batch", help="Batch size for the throughput figure.")] = 8,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda.")] = "auto",
    warmup: Annotated[int, typer.Option("--warmup", help="Untimed forward passes before timing.")] = 3,
    iters: Annotated[int, typer.Option("--iters", help="Timed forward passes.")] = 10,
    bf16: Annotated[bool, typer.Option("--bf16", help="Time under bf16 autocast (GPU).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Params, FLOPs/MACs, latency, throughput and peak memory of a model.

    GMACs = GFLOPs / 2 (the papers' "FLOPs" are usually thop MACs); latency at batch 1, throughput at batch
    N after warm-up with device sync. Language models are profiled with a zero target descriptor.

    [bold]Example:[/] langir profile --model lgnet --size 512 --batch 8 --json
    """
    import torch

    from langir.evaluate.profile import profile_model
    from langir.models import create_model

    # Cost does not depend on weight values: DGSPNet's frozen CLIP text encoder may stay untrained here.
    kwargs = {"allow_random_clip": True} if model == "dgspnet" else {}
    result = profile_model(create_model(model, **kwargs), size, batch, device,
                           torch.bfloat16 if bf16 else None, warmup=warmup, iters=iters)
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
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("profile")(profile)
