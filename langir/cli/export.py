"""`langir export`: a checkpoint to ONNX (dynamic batch axis), checked with onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from langir.cli.common import JsonOpt, out, print_json
from langir.errors import ConfigError


def export(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="Checkpoint (.pt) written by langir train.", show_default=False)],
    onnx: Annotated[Path, typer.Option("--onnx", help="ONNX file to write.", show_default=False)],
    size: Annotated[int, typer.Option("--size", help="Image side used for tracing and the onnxruntime check (multiple of 32).")] = 256,
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset version.")] = 17,
    atol: Annotated[float, typer.Option("--atol", help="Largest allowed |onnxruntime − PyTorch| on the check batch.")] = 1e-4,
    as_json: JsonOpt = False,
) -> None:
    """Export a checkpoint to ONNX with a dynamic batch axis and check it against PyTorch.

    Inputs: image (N,1,H,W) in [0,1]; language-prior models also take td (N, td_dim). Output: logits.

    [bold]Example:[/] langir export --checkpoint runs/sirst/best.pt --onnx sirst.onnx
    """
    from langir.evaluate.export import export_onnx
    from langir.train.checkpoint import load_checkpoint

    if not checkpoint.is_file():
        raise ConfigError(f"--checkpoint {checkpoint}: file not found")
    if size <= 0 or size % 32:
        raise ConfigError(f"--size {size}: must be a positive multiple of 32")
    model, _meta = load_checkpoint(checkpoint)
    summary = export_onnx(model, onnx, size=size, opset=opset, atol=atol)
    if as_json:
        print_json(summary)
        return
    out.print(f"wrote {summary['onnx']} (inputs: {', '.join(summary['inputs'])}; max |ort − torch| = {summary['max_abs_diff']:.1e})")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
