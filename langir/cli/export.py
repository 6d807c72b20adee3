"""`langir export`: a checkpoint to ONNX (dynamic batch, height, width), checked with onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from langir.cli.common import JsonOpt, out, print_json


def export(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="Checkpoint (.pt) written by langir train.", show_default=False)],
    onnx: Annotated[Path, typer.Option("--onnx", help="ONNX file to write.", show_default=False)],
    size: Annotated[int, typer.Option("--size", min=32, max=2048, help="Image side used for tracing and the check (any size works afterwards).")] = 256,
    opset: Annotated[int, typer.Option("--opset", min=11, max=23, help="ONNX opset version.")] = 17,
    atol: Annotated[float, typer.Option("--atol", min=0.0, help="Allowed |p_ort − p_torch| on probabilities, plus --rtol·p.")] = 1e-4,
    rtol: Annotated[float, typer.Option("--rtol", min=0.0, help="Relative part of the tolerance on probabilities.")] = 1e-3,
    as_json: JsonOpt = False,
) -> None:
    """Export a checkpoint to ONNX and check onnxruntime against PyTorch on synthetic IR frames.

    Inputs: image (N,1,H,W) in [0,1], any H×W (the graph pads to a multiple of 32 and crops back);
    language-prior models also take td (N, td_dim). Output: logits. The check compares probabilities at
    the traced size and at a size that is not a multiple of 32; on failure nothing is written.
    A --finetune-text checkpoint with the train+test prior also gets X.text.onnx: its fine-tuned text encoder.

    [bold]Example:[/] langir export --checkpoint runs/sirst/best.pt --onnx sirst.onnx
    """
    from langir.evaluate.export import export_onnx, export_text_onnx, text_onnx_path
    from langir.evaluate.inference import text_tower
    from langir.evaluate.outputs import check_out_file
    from langir.models.checkpoint import load_checkpoint

    check_out_file(onnx, "--onnx")
    model, meta = load_checkpoint(checkpoint)
    summary = export_onnx(model, onnx, size=size, opset=opset, atol=atol, rtol=rtol)
    summary["language_prior"] = meta.get("language_prior", "never")
    # --finetune-text with a train+test prior: TD at inference needs the tuned text encoder, so it travels along
    tuned = text_tower(model, meta, "cpu") if summary["language_prior"] == "train+test" else None
    if tuned is not None:
        summary.update(export_text_onnx(*tuned, text_onnx_path(onnx), opset=opset))
        summary["text_clip"] = meta["text_encoder"]["clip_model"]
    if as_json:
        print_json(summary)
        return
    out.print(f"wrote {summary['onnx']} (inputs: {', '.join(summary['inputs'])}; max |p_ort − p_torch| = "
              f"{summary['max_prob_diff']:.1e} at {' and '.join(f'{w}×{h}' for w, h in summary['checked_sizes'])})",
              highlight=False, markup=False, soft_wrap=True)
    if summary["inputs"] == ["image", "td"]:
        out.print(f"td: the {summary['td_dim']}-d target descriptor ({summary['language_prior']}); it needs CLIP "
                  "at inference (see `langir profile --clip`)", highlight=False, markup=False, soft_wrap=True)
    if "text_onnx" in summary:
        out.print(f"wrote {summary['text_onnx']}: the fine-tuned text encoder (tokens from the {summary['text_clip']} "
                  f"open_clip tokenizer, (N, {summary['context_length']}) int64 → L2-normalised text embedding; "
                  f"max |Δ| = {summary['text_max_diff']:.1e})", highlight=False, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
