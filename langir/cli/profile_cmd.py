"""`langir profile`: params, FLOPs/MACs, latency, throughput and peak memory of a registered model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from langir.cli.common import JsonOpt, out, print_json


def profile(
    model: Annotated[str, typer.Option("--model", help="Registered model name (lgnet, sgem_unet, unet, …).")] = "lgnet",
    size: Annotated[int, typer.Option("--size", min=1, max=16384, help="Square input side in pixels (refused when the activations would not fit in memory).")] = 512,
    batch: Annotated[int | None, typer.Option("--batch", min=1, max=4096, help="Batch size for the throughput figure (default 8 on a GPU, 1 on CPU).", show_default=False)] = None,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | mps.")] = "auto",
    warmup: Annotated[int | None, typer.Option("--warmup", min=0, max=1000, help="Untimed forward passes before timing (default 3 on a GPU, 0 on CPU: the FLOP-counting pass warms up).", show_default=False)] = None,
    iters: Annotated[int | None, typer.Option("--iters", min=1, max=10000, help="Timed forward passes; the median is reported (default 10 on a GPU, 3 on CPU).", show_default=False)] = None,
    bf16: Annotated[bool, typer.Option("--bf16", help="Time under bf16 autocast (GPU).")] = False,
    clip: Annotated[str, typer.Option("--clip", help="For language-prior models: also count the CLIP image tower that inference needs ('none' to skip).")] = "ViT-B-16",
    finetune_text: Annotated[bool, typer.Option("--finetune-text", help="Also report the CLIP text path that `train --finetune-text` trains (trainable params, FLOPs per description) for --clip.")] = False,
    text_layers: Annotated[int, typer.Option("--text-layers", min=0, help="With --finetune-text: as train's --text-layers (0 = every block).")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Params, FLOPs/MACs, latency, throughput and peak memory of a model.

    GMACs = GFLOPs / 2 (the papers' "FLOPs" are usually thop MACs). Latency: median time of one batch-1
    pass; throughput: N / median time of one batch-N pass (at batch 1, exactly 1000 / latency), after
    warm-up with device sync; progress goes to stderr. Language models are profiled with a zero target descriptor; their
    inference (train-only / train+test checkpoints) also runs CLIP's image tower once per image, reported
    separately (built by open_clip without weights; --clip NAME for the checkpoint's CLIP model).

    [bold]Example:[/] langir profile --model lgnet --size 512 --batch 8 --json
    """
    import torch

    from langir.errors import ConfigError
    from langir.evaluate.profiling import (
        check_size,
        clip_image_cost,
        profile_model,
        resolve_device,
        text_path_cost,
    )
    from langir.models import create_model, model_info

    info = model_info(model)
    dev = resolve_device(device)
    batch = batch or (1 if dev.type == "cpu" else 8)
    check_size(size, batch, dev)
    if finetune_text and (clip.lower() == "none" or not info.uses_language):
        raise ConfigError("--finetune-text needs a language model and a --clip model (the text encoder it trains)")
    # Cost does not depend on weight values: the registry names the options that avoid downloading weights.
    net = create_model(model, **info.profile_kwargs)
    with progress_bar() as bar:
        result = profile_model(net, size, batch, dev, torch.bfloat16 if bf16 else None, warmup=warmup, iters=iters,
                               progress=bar)
    if info.uses_language and getattr(net, "uses_language", False) and clip.lower() != "none":
        result["clip_image"] = clip_image_cost(clip)
    if finetune_text:
        result["text_path"] = text_path_cost(clip, text_layers)
    if as_json:
        print_json(result)
        return
    table = Table(title=f"{model} at {size}×{size} on {result['device']}", show_header=False, title_justify="left")
    table.add_row("params", f"{result['params_m']:.3f} M")
    table.add_row("FLOPs", f"{result['gflops']:.2f} G")
    table.add_row("MACs", f"{result['gmacs']:.2f} G")
    table.add_row("latency (batch 1, median)", f"{result['latency_ms']:.1f} ms")
    gain = f" (×{result['batching_gain']:.2f} vs batch 1)" if batch > 1 else " (= 1000 / latency)"
    table.add_row(f"throughput (batch {batch})", f"{result['throughput_ips']:.2f} images/s{gain}")
    if result["peak_memory_mb"] is not None:
        table.add_row("peak memory", f"{result['peak_memory_mb']:.0f} MiB")
    if "clip_image" in result:
        c = result["clip_image"]
        table.add_row(f"+ CLIP image tower ({c['clip_model']}, {c['input']}², per image)",
                      f"{c['params_m']:.1f} M params, {c['gmacs']:.2f} GMACs")
    if "text_path" in result:
        t = result["text_path"]
        table.add_row(f"+ fine-tuned text path ({t['clip_model']}, {t['tokens']} tokens, per description)",
                      f"{t['trainable_params_m']:.2f} M of {t['params'] / 1e6:.2f} M params train, {t['gmacs']:.3f} GMACs "
                      f"forward, ≈{t['train_gflops']:.3f} GFLOPs per training step")
    out.print(table)


@contextmanager
def progress_bar() -> Iterator[Any]:
    """A stderr progress bar per timing phase (a plain line per phase when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:

        def phase(label: str, passes: int) -> Any:
            if not console.is_terminal:
                console.print(f"profile: {label} …", highlight=False, markup=False)
            task = bar.add_task(label, total=passes)
            return lambda: bar.advance(task)

        yield phase


def register(app: typer.Typer) -> None:
    app.command("profile")(profile)
