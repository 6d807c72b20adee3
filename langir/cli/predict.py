"""`langir predict`: run a trained checkpoint on new images (no masks needed) and list the targets found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from langir.cli.common import JsonOpt, out, print_json, progress_bar, warn
from langir.errors import ConfigError, DataError
from langir.evaluate.inference import DEFAULT_MAX_PIXELS


def predict(
    inputs: Annotated[list[Path], typer.Argument(help="Image files and/or folders of images (PNG/BMP/JPEG/TIFF, any size and mode).", show_default=False)],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="Checkpoint (.pt) written by langir train.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder: prob/, mask/, overlay/, targets.csv.", show_default=False)],
    threshold: Annotated[float, typer.Option("--threshold", help="A pixel is target when its probability is > this.")] = 0.5,
    prob_bits: Annotated[int, typer.Option("--prob-bits", help="Probability PNGs: 16-bit (p×65535) or 8-bit (p×255).")] = 16,
    overlays: Annotated[bool, typer.Option("--overlays/--no-overlays", help="Write overlay/{id}.png pictures.")] = True,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | mps.")] = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=4096, help="Same-size images per forward pass.")] = 8,
    max_pixels: Annotated[int, typer.Option("--max-pixels", min=1, help="Pixel budget per image; a larger image is a per-image error.")] = DEFAULT_MAX_PIXELS,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="CLIP embedding cache for language-prior checkpoints (default: the user cache).", show_default=False)] = None,
    descriptions: Annotated[Path | None, typer.Option("--descriptions", help="Folder of {id}.txt descriptions (needed by train+test checkpoints).", show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Detect targets in new images: probability maps, masks, overlays and one targets.csv row per target.

    Each target row: image, target, x, y (centroid, pixels), area, bbox_x/y/w/h, peak_prob, mean_prob.
    --json also writes targets.json and prints the rows. Exit 1 when some images failed (listed).

    [bold]Example:[/] langir predict --checkpoint runs/sirst/best.pt frames/ --out detections --json
    """
    from langir.evaluate.inference import (
        file_descriptors,
        list_images,
        load_model,
        predict_files,
        resolve_device,
    )
    from langir.evaluate.outputs import PredictionWriter, check_out_dir

    if not 0.0 <= threshold < 1.0:
        raise ConfigError("--threshold must lie in [0, 1)")
    if prob_bits not in (8, 16):
        raise ConfigError("--prob-bits must be 8 or 16")
    if descriptions is not None and not descriptions.is_dir():
        raise ConfigError(f"--descriptions {descriptions}: not a folder")
    writer = PredictionWriter(check_out_dir(out_dir, "--out"), threshold=threshold, prob_bits=prob_bits, overlays=overlays)
    items = list_images(inputs)
    dev = resolve_device(device)
    model, meta = load_model(checkpoint, dev)
    failed: list[dict[str, str]] = []

    def on_error(sample_id: str, error: DataError) -> None:
        failed.append({"id": sample_id, "error": str(error)})
        warn(f"{sample_id}: {error}")

    descriptors = file_descriptors(model, meta, items, dev, cache_dir=cache_dir, descriptions=descriptions, on_error=on_error)
    done = 0
    with writer, progress_bar() as bar:  # an error or Ctrl-C: the writes under way end, queued ones are dropped
        task = bar.add_task("predicting", total=len(items), status="")
        for pred in predict_files(model, meta, items, device=dev, batch_size=batch_size, max_pixels=max_pixels,
                                  descriptors=descriptors, on_error=on_error):
            writer.write(pred.id, pred.image, pred.prob)
            done += 1
            bar.advance(task)
        written = writer.finish(as_json=as_json) if done else {}
    summary: dict[str, Any] = {"out": str(out_dir), "images": done, "targets": len(writer.rows), "failed": failed,
                               "prob_bits": prob_bits, "threshold": threshold, **written}
    code = 1 if failed else 0
    if done == 0:
        raise DataError(None, f"no image could be processed ({len(failed)} failed; see the warnings above)")
    if as_json:
        print_json({**summary, "rows": writer.rows})
        raise typer.Exit(code)
    out.print(f"{done} image(s), {len(writer.rows)} target(s) → {out_dir} (prob/ {prob_bits}-bit, mask/, "
              f"{'overlay/, ' if overlays else ''}targets.csv)", highlight=False, markup=False)
    if failed:
        out.print(f"failed {len(failed)}: {', '.join(f['id'] for f in failed)}", highlight=False, markup=False)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("predict")(predict)
