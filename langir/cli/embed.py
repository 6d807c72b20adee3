"""`langir embed`: precompute the CLIP embeddings (image, description and its flip-swapped variants)."""

from __future__ import annotations

from typing import Annotated

import typer

from langir.cli.common import (
    DatasetArg,
    DescriptionsOpt,
    ImagesOpt,
    JsonOpt,
    LayoutOpt,
    MasksOpt,
    SplitOpt,
    notice,
    open_dataset,
    print_json,
    selected_ids,
    track,
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
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda.")] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Compute and cache CLIP embeddings under DATASET/.langir/embeddings/ for `langir train`.

    Entries are keyed by CLIP model + weights + the hash of each image file / description text,
    so a second run computes nothing new.

    [bold]Example:[/] langir embed datasets/demo --clip-model ViT-B-16 --clip-pretrained openai
    """
    from langir.language.cache import EmbeddingCache, compute_descriptors
    from langir.train.predict import resolve_device

    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    ids = selected_ids(ds, selected)
    pretrained = None if clip_pretrained.lower() in ("none", "") else clip_pretrained
    cache = EmbeddingCache(ds.root, clip_model, pretrained, device=resolve_device(device))
    compute_descriptors(ds, ids, cache, with_text=not images_only, wrap=lambda it: track(it, "embedding"))
    result = {"images": len(ids), "computed": cache.computed, "cache": str(cache.dir)}
    if as_json:
        print_json(result)
    else:
        notice(f"{len(ids)} image(s): {cache.computed} new embedding(s) in {cache.dir}")


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
