"""`langir embed`: precompute the CLIP embeddings (image, description and its flip-swapped variants)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from langir.cli.common import (
    DatasetArg,
    DescriptionsOpt,
    ImagesOpt,
    JsonOpt,
    LayoutOpt,
    MasksOpt,
    SkipBadOpt,
    SplitOpt,
    notice,
    open_dataset,
    print_json,
    selected_ids,
    track,
    warn,
)


def embed(
    dataset: DatasetArg,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    clip_model: Annotated[str, typer.Option("--clip-model", help="open_clip model name.")] = "ViT-B-16",
    clip_pretrained: Annotated[str, typer.Option("--clip-pretrained", help="Weights tag (downloaded) or local checkpoint path; 'none' = untrained.")] = "openai",
    images_only: Annotated[bool, typer.Option("--images-only", help="Only image embeddings (no descriptions needed).")] = False,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | mps.")] = "auto",
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Cache folder (default DATASET/.langir/embeddings; the user cache when the dataset is read-only).", show_default=False)] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images / texts per CLIP batch.")] = 64,
    transpose: Annotated[bool, typer.Option("--transpose/--no-transpose", help="Also the transposed descriptions `langir train` uses with --transpose (its default).")] = True,
    skip_bad: SkipBadOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Compute and cache CLIP embeddings under DATASET/.langir/embeddings/ for `langir train`.

    Entries are keyed by CLIP model + weights + the hash of each image file / description text,
    so a second run computes nothing new. CLIP runs in batches; masks are not needed or read.

    [bold]Example:[/] langir embed datasets/demo --clip-model ViT-B-16 --clip-pretrained openai
    """
    from langir.evaluate.inference import resolve_device
    from langir.language.cache import EmbeddingCache, compute_descriptors

    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    ids = selected_ids(ds, selected)
    pretrained = None if clip_pretrained.lower() in ("none", "") else clip_pretrained
    cache = EmbeddingCache(ds.root, clip_model, pretrained, device=resolve_device(device), cache_dir=cache_dir,
                           batch_size=batch_size)
    skipped: list[dict[str, str]] = []

    def on_skip(sample_id: str, error: Exception) -> None:
        skipped.append({"id": sample_id, "error": str(error)})
        if not as_json:
            warn(f"skipped {escape(str(error))}")

    done = compute_descriptors(ds, ids, cache, with_text=not images_only, wrap=lambda it: track(it, "embedding batches"),
                               transpose=transpose, skip_bad=skip_bad, on_skip=on_skip)
    result = {"images": len(done), "computed": cache.computed, "cache": str(cache.dir), "skipped": skipped}
    if as_json:
        print_json(result)
    else:
        notice(f"{len(done)} image(s): {cache.computed} new embedding(s) in {cache.dir}"
               + (f"; {len(skipped)} bad image(s) skipped" if skipped else ""))
    if skipped:
        raise typer.Exit(1)  # finished, with per-item failures (listed)


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
