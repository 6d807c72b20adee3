"""The one inference and evaluation path: checkpoint or model → probability maps → metrics / files.

Used by `langir eval`, `langir predict`, validation during training and the benchmarks. Images run at
their native size; same-size images are batched; a pixel budget keeps one huge frame from exhausting
memory (it becomes a per-image error naming the file instead).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from langir.data import guarded
from langir.data.user_cache import user_cache_dir
from langir.errors import ConfigError, DataError

# 4 Mpx (2048×2048) per forward pass: LGNet inference peaks at ≈2.7 KB of activations per pixel on CPU
# (measured at 256² and 512²), so ≈11 GB at the budget; a 9000×9000 frame (81 Mpx → ≈220 GB) is refused
# with a clear per-image line instead of being killed by the kernel. Batches are capped to the same budget.
DEFAULT_MAX_PIXELS = 4 * 2**20
ACTIVATION_BYTES_PER_PIXEL = 2800


def resolve_device(device: str = "auto") -> str:
    """'auto' → cuda, else mps, else cpu; asking for an accelerator that is absent is a ConfigError."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for, but no CUDA device is available (use --device cpu or auto)")
        return device
    if device == "mps":
        if not has_mps:
            raise ConfigError("--device mps was asked for, but this torch has no usable Apple MPS device")
        return device
    if device != "cpu":
        raise ConfigError(f"unknown device {device!r} (auto, cpu, cuda, cuda:N or mps)")
    return device


def eval_descriptor(entry: dict[str, np.ndarray] | None, language_prior: str) -> np.ndarray | None:
    """TD at evaluation: train+test → text+image, train-only → image alone, never → None."""
    from langir.language.cache import descriptor

    if language_prior == "never" or entry is None:
        return None
    return descriptor(entry, use_text=language_prior == "train+test")


def load_model(checkpoint: str | Path | tuple[Any, dict[str, Any]], device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """(model in eval mode on ``device``, meta) from a checkpoint path or an already built (model, meta).

    A checkpoint's model is put in channels_last memory format (not on Apple MPS), as training runs it: a
    256² frame ran ×1.1–1.5 faster on this project's CPU, depending on the model (BENCHMARKS.md). An already
    built model is left as its caller keeps it."""
    if isinstance(checkpoint, (str, Path)):
        import torch

        from langir.models.checkpoint import load_checkpoint

        model, meta = load_checkpoint(checkpoint, device)
        if not device.startswith("mps"):
            model = model.to(memory_format=torch.channels_last)
        return model, meta
    model, meta = checkpoint
    model.to(device).eval()
    return model, meta


def needs_descriptor(model: Any, meta: dict[str, Any]) -> bool:
    """Whether inference feeds a target descriptor (and so needs CLIP's image encoder, maybe its text one)."""
    return meta.get("language_prior", "never") != "never" and bool(getattr(model, "uses_language", False))


def embedding_cache(root: Path | None, meta: dict[str, Any], device: str, cache_dir: str | Path | None = None) -> Any:
    """The CLIP embedding cache: ``cache_dir`` if given, else the dataset's own (the user cache when the dataset is
    read-only, still reading what the dataset holds), else (loose files) the user cache."""
    from langir.language.cache import EmbeddingCache

    if cache_dir is None and root is None:
        cache_dir = user_cache_dir("embeddings")
    return EmbeddingCache(root or Path("."), meta.get("clip_model", "ViT-B-16"), meta.get("clip_pretrained"),
                          device=device, cache_dir=cache_dir)


def check_pixels(path: Path, max_pixels: int | None, sample_id: str | None = None) -> None:
    """Refuse (DataError naming the file) an image above the pixel budget, reading only its header."""
    if not max_pixels:
        return
    from langir.data.imageio import image_info

    width, height, _ = image_info(path)
    if width * height > max_pixels:
        raise DataError(path, f"{width}×{height} image ({width * height / 1e6:.1f} Mpx) exceeds the pixel budget of "
                              f"{max_pixels / 1e6:.1f} Mpx (--max-pixels; raise it if this machine has the memory)", sample_id)


@dataclass
class Prediction:
    """One image's result: its id, the grey input (H×W float32) and the probability map (H×W float32)."""

    id: str
    image: np.ndarray
    prob: np.ndarray


def predict_arrays(
    model: Any,
    meta: dict[str, Any],
    images: Iterable[tuple[str, np.ndarray]],
    descriptors: dict[str, np.ndarray] | None = None,
    *,
    device: str = "cpu",
    batch_size: int = 8,
    amp: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    pad_batches: bool | None = None,
) -> Iterator[Prediction]:
    """Run ``model`` over (id, image) pairs; ``descriptors`` maps id → TD vector (None: no TD).

    Images run together in batches of ``batch_size`` (capped so a batch stays within ``max_pixels``);
    results come grouped by batch, not in input order. Which images share a batch, and how each is padded
    or resampled for it: `langir.evaluate.batching`.

    ``pad_batches`` (default: on CUDA only) lets frames of different sizes share a batch; off, frames of one
    exact size batch together. On a GPU each new input shape costs cuDNN set-up and a batch of one leaves it
    idle (H200, SIRST at native size: 40 ms per frame against 13 ms for a 512² frame); on a CPU, batches of
    several large frames ran 17–25 % slower than one at a time (LGNet, 2-core container). Results are the same.
    """
    import torch

    from langir.evaluate.batching import FrameLayout, group_frames

    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    use_amp = amp and device.startswith("cuda")
    uses_td = needs_descriptor(model, meta) and descriptors is not None
    layout = FrameLayout.for_model(model, meta, device.startswith("cuda") if pad_batches is None else pad_batches)
    for batch, shape in group_frames(images, layout.key, batch_size, max_pixels):
        x = layout.model_input(batch, shape, device)
        td = torch.from_numpy(np.stack([descriptors[i] for i, _ in batch])).float().to(device) if uses_td else None
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            logits = model(x, td=td)
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        for (sample_id, image), prob in zip(batch, layout.probabilities(logits, batch), strict=True):
            yield Prediction(sample_id, image, prob)


def dataset_descriptors(model: Any, meta: dict[str, Any], ds: Any, ids: list[str], device: str,
                        cache_dir: str | Path | None = None) -> dict[str, np.ndarray] | None:
    """id → TD for a dataset per the checkpoint's prior (CLIP runs only for embeddings not cached yet)."""
    if not needs_descriptor(model, meta):
        return None
    from langir.language.cache import compute_descriptors

    prior = meta.get("language_prior", "never")
    cache = embedding_cache(ds.root, meta, device, cache_dir)
    tuned = text_tower(model, meta, device) if prior == "train+test" else None
    if tuned is not None:
        from langir.language.cache import check_descriptions

        check_descriptions(ds, ids)
    entries = compute_descriptors(ds, ids, cache, with_text=prior == "train+test" and tuned is None)
    if tuned is not None:  # the checkpoint's fine-tuned text encoder embeds the descriptions (image: cache)
        from langir.language.text_tower import encode

        kept = list(entries)
        texts = encode(*tuned, [ds.read_description(i) or "" for i in kept], device)
        entries = {i: {"image": entries[i]["image"], "text_00": t} for i, t in zip(kept, texts, strict=True)}
    return {i: eval_descriptor(e, prior) for i, e in entries.items()}


def text_tower(model: Any, meta: dict[str, Any], device: str) -> tuple[Any, Any] | None:
    """(fine-tuned text tower, tokenizer) when the loaded checkpoint carries one (``--finetune-text``), else None."""
    if not getattr(model, "text_state", None):
        return None
    from langir.language.text_tower import tower_for

    return tower_for(model, meta, device)


def predict_dataset(
    checkpoint: str | Path | tuple[Any, dict[str, Any]],
    ds: Any,
    ids: list[str],
    device: str = "auto",
    batch_size: int = 8,
    amp: bool = True,
    descriptors: dict[str, dict[str, np.ndarray]] | None = None,
    *,
    cache_dir: str | Path | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (id, probability H×W float32) at each image's native size (grouped by size).

    TD comes from the embedding cache per the checkpoint's language prior unless ``descriptors``
    (id → cache entry with ``image`` / ``text_00``) are given.
    """
    dev = resolve_device(device)
    model, meta = load_model(checkpoint, dev)
    for p in _predict_ids(model, meta, ds, ids, descriptors, dev, batch_size, amp, cache_dir, max_pixels):
        yield p.id, p.prob


def _predict_ids(model: Any, meta: dict[str, Any], ds: Any, ids: list[str], descriptors: dict | None, device: str,
                 batch_size: int, amp: bool, cache_dir: str | Path | None, max_pixels: int | None) -> Iterator[Prediction]:
    prior = meta.get("language_prior", "never")
    td = None
    if needs_descriptor(model, meta):
        given = descriptors or {}
        td = {i: eval_descriptor(given[i], prior) for i in ids if i in given}
        missing = [i for i in ids if i not in td]
        if missing:  # ids the caller had no embeddings for come from the cache (CLIP only if not cached)
            td.update(dataset_descriptors(model, meta, ds, missing, device, cache_dir) or {})

    def images() -> Iterator[tuple[str, np.ndarray]]:
        for sample_id in ids:
            check_pixels(ds.image_path(sample_id), max_pixels, sample_id)
            yield sample_id, ds.read_image(sample_id)

    yield from predict_arrays(model, meta, images(), td, device=device, batch_size=batch_size, amp=amp,
                              max_pixels=max_pixels)


def evaluate_dataset(
    model: Any,
    meta: dict[str, Any],
    ds: Any,
    ids: list[str],
    *,
    descriptors: dict[str, dict[str, np.ndarray]] | None = None,
    device: str = "cpu",
    batch_size: int = 8,
    amp: bool = True,
    threshold: float = 0.5,
    thresholds: list[float] | None = None,
    niou_empty: str = "zero",
    pd_matching: str = "greedy",
    skip_bad: bool = False,
    on_skip: Callable[[str, DataError], None] | None = None,
    on_result: Callable[[Prediction, np.ndarray], None] | None = None,
    cache_dir: str | Path | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> dict[str, Any]:
    """Score ``model`` on ``ids`` of ``ds`` at native resolution.

    Returns the metrics at ``threshold`` as plain fractions (``iou``, ``niou``, ``pd``, ``fa``, ``f1``,
    ``precision``, ``recall``; pooled Pd/Fa plus ``pd_per_image`` / ``fa_per_image``), ``images``,
    ``counts``, ``skipped`` and, with ``thresholds``, a ``sweep`` list. ``on_result(prediction, mask)``
    sees every scored image (e.g. a PredictionWriter). The model's train/eval mode is restored.
    """
    from langir.evaluate.sweep import ThresholdSweep

    skipped: list[dict[str, str]] = []

    def skip(sample_id: str, error: DataError) -> None:
        skipped.append({"id": sample_id, "error": str(error)})
        if on_skip is not None:
            on_skip(sample_id, error)

    good = list(ids)
    if skip_bad:  # screen first: a bad sample must not stop the batched inference stream half-way
        good = []
        for sample_id in ids:
            try:
                check_pixels(ds.image_path(sample_id), max_pixels, sample_id)
                ds.load(sample_id, need_mask=True)
            except DataError as error:
                skip(sample_id, error)
                continue
            good.append(sample_id)
    sweep_values = sorted(set(thresholds or []))
    sweep = ThresholdSweep(sorted({threshold, *sweep_values}), niou_empty=niou_empty, pd_matching=pd_matching)
    was_training = bool(getattr(model, "training", False))
    model.eval()
    n = 0
    try:
        for pred in _predict_ids(model, meta, ds, good, descriptors, device, batch_size, amp, cache_dir, max_pixels):
            mask = ds.read_mask(pred.id, pred.image.shape)
            sweep.update(pred.prob, mask)
            n += 1
            if on_result is not None:
                on_result(pred, mask)
    finally:
        model.train(was_training)
    return sweep_result(sweep, threshold, sweep_values, n, skipped)


def sweep_result(sweep: Any, threshold: float, sweep_values: list[float], n: int, skipped: list[dict[str, str]]) -> dict[str, Any]:
    """The result dict of :func:`evaluate_dataset` from a filled ThresholdSweep."""
    rows = sweep.compute()
    main = next(r for r in rows if r["threshold"] == threshold)
    keys = ("iou", "niou", "pd", "fa", "pd_per_image", "fa_per_image", "f1", "precision", "recall")
    result: dict[str, Any] = {k: main[k] for k in keys}
    result.update({
        "threshold": threshold,
        "images": n,
        "counts": {k: main[k] for k in ("targets", "detected", "false_alarm_pixels", "pixels", "inter", "union", "tp", "fp", "fn")},
        "skipped": skipped,
    })
    if sweep_values:
        result["sweep"] = [{k: r[k] for k in ("threshold", *keys)} for r in rows if r["threshold"] in sweep_values]
    return result


def read_prediction(path: Path, shape: tuple[int, int], max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A prediction PNG as probabilities in [0, 1] (8-bit: v/255, 16-bit: v/65535; binary 0/255 works)."""
    from langir.data.imageio import read_image

    if not path.is_file():
        raise DataError(path, "prediction PNG not found" if not path.exists() else "prediction is not a regular file")
    check_pixels(path, max_pixels)
    prob = read_image(path)
    if prob.shape != shape:
        raise DataError(path, f"prediction size {prob.shape[1]}×{prob.shape[0]} does not match mask size {shape[1]}×{shape[0]}")
    return prob


def evaluate_folder(
    preds: Path,
    ds: Any,
    ids: list[str],
    *,
    threshold: float = 0.5,
    thresholds: list[float] | None = None,
    niou_empty: str = "zero",
    pd_matching: str = "greedy",
    skip_bad: bool = False,
    on_skip: Callable[[str, DataError], None] | None = None,
    on_result: Callable[[Prediction, np.ndarray], None] | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> dict[str, Any]:
    """Score another tool's prediction PNGs ``preds/{id}.png`` (e.g. BasicIRSTD's results/DATASET/METHOD)."""
    from langir.evaluate.sweep import ThresholdSweep

    skipped: list[dict[str, str]] = []
    sweep_values = sorted(set(thresholds or []))
    sweep = ThresholdSweep(sorted({threshold, *sweep_values}), niou_empty=niou_empty, pd_matching=pd_matching)
    n = 0
    for sample_id in ids:
        try:
            check_pixels(ds.image_path(sample_id), max_pixels, sample_id)
            sample = ds.load(sample_id, need_mask=True)
            prob = read_prediction(Path(preds) / f"{sample_id}.png", sample.mask.shape, max_pixels)
        except DataError as error:
            if not skip_bad:
                raise
            skipped.append({"id": sample_id, "error": str(error)})
            if on_skip is not None:
                on_skip(sample_id, error)
            continue
        sweep.update(prob, sample.mask)
        n += 1
        if on_result is not None:
            on_result(Prediction(sample_id, sample.image, prob), sample.mask)
    return sweep_result(sweep, threshold, sweep_values, n, skipped)


def list_images(inputs: list[Path]) -> list[tuple[str, Path]]:
    """(id, path) of image files given directly or found (non-recursively) in folders; id = file stem."""
    from langir.data.imageio import IMAGE_SUFFIXES

    found: dict[str, Path] = {}
    for given in inputs:
        given = Path(given)
        if given.is_dir():
            files = sorted(p for p in given.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
            if not files:
                raise ConfigError(f"{given}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        elif given.exists():
            files = [given]
        else:
            raise ConfigError(f"{given}: no such file or folder")
        for path in files:
            if path.stem in found and found[path.stem] != path:
                raise ConfigError(f"two inputs share the name {path.stem!r}: {found[path.stem]} and {path}")
            found[path.stem] = path
    return list(found.items())


def file_descriptors(model: Any, meta: dict[str, Any], items: list[tuple[str, Path]], device: str, *,
                     cache_dir: str | Path | None = None, descriptions: Path | None = None,
                     on_error: Callable[[str, DataError], None] | None = None) -> dict[str, np.ndarray] | None:
    """id → TD for loose image files per the checkpoint's prior; train+test needs ``descriptions/{id}.txt``."""
    if not needs_descriptor(model, meta):
        return None
    from langir.data.imageio import read_image

    prior = meta.get("language_prior", "never")
    if prior == "train+test" and descriptions is None:
        raise ConfigError("this checkpoint was trained with --language-prior train+test: give --descriptions DIR "
                          "holding {id}.txt for each image (or use a train-only checkpoint)")
    cache = embedding_cache(None, meta, device, cache_dir)
    tuned = text_tower(model, meta, device) if prior == "train+test" else None
    result: dict[str, np.ndarray] = {}
    for sample_id, path in items:
        try:
            td = cache.image(path, lambda p=path: read_image(p))
            if prior == "train+test":
                text_path = next((p for p in (descriptions / f"{sample_id}.txt", descriptions / f"{sample_id}.description.txt")
                                  if os.path.lexists(p)), None)
                if text_path is None:
                    raise DataError(descriptions / f"{sample_id}.txt", "description not found", sample_id)
                # the guarded reader: a FIFO, a huge, binary or non-UTF-8 file, a link out of the folder is one line
                text = guarded.read_text(text_path, "description", root=descriptions).strip()
                if tuned is not None:
                    from langir.language.text_tower import encode

                    td = td + encode(*tuned, [text], device)[0]
                else:
                    td = td + cache.text(text)
        except DataError as error:
            if on_error is None:
                raise
            on_error(sample_id, error)
            continue
        result[sample_id] = td.astype(np.float32)
    return result


def predict_files(
    model: Any,
    meta: dict[str, Any],
    items: list[tuple[str, Path]],
    *,
    device: str = "cpu",
    batch_size: int = 8,
    amp: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    descriptors: dict[str, np.ndarray] | None = None,
    on_error: Callable[[str, DataError], None] | None = None,
) -> Iterator[Prediction]:
    """Predict loose image files (any size and mode, no masks); a bad file goes to ``on_error`` and is skipped."""
    from langir.data.imageio import read_image

    def images() -> Iterator[tuple[str, np.ndarray]]:
        for sample_id, path in items:
            if descriptors is not None and sample_id not in descriptors:
                continue  # its descriptor failed: already reported
            try:
                check_pixels(path, max_pixels, sample_id)
                image = read_image(path)
            except DataError as error:
                if on_error is None:
                    raise
                on_error(sample_id, error)
                continue
            yield sample_id, image

    yield from predict_arrays(model, meta, images(), descriptors, device=device, batch_size=batch_size, amp=amp,
                              max_pixels=max_pixels)
