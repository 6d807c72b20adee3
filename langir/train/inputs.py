"""What a run reads: its dataset(s) and splits, every sample checked before epoch 1, the CLIP embeddings,
and the DataLoader.

Image sizes are checked from their headers before any pixel is decoded: validation runs whole images at
native size (``--input crop``), which one forward pass can only do up to the evaluation pixel budget, and
training holds every training image in memory as float32 image + mask (8 bytes a pixel). A set that
cannot fit is one line naming the size and the flags that make it fit, not a MemoryError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from langir.errors import ConfigError, DataError
from langir.evaluate.inference import DEFAULT_MAX_PIXELS
from langir.train.config import TrainConfig
from langir.train.data import DatasetUnion, ResizedView, TrainSamples, check_samples, resize_pair
from langir.train.distributed import Dist
from langir.train.setup import RunSetup

console = Console(stderr=True)
BYTES_PER_TRAIN_PIXEL = 8  # float32 image + float32 mask, held for the whole run with --input crop


@dataclass
class RunData:
    ds: Any  # what training reads (a DatasetUnion for several datasets)
    val_ds: Any  # what validation reads (resized with --input resize)
    train_ids: list[str]
    val_ids: list[str]
    samples: TrainSamples
    train_desc: dict[str, dict[str, np.ndarray]] | None = None
    val_desc: dict[str, dict[str, np.ndarray]] | None = None
    embeddings_computed: int = 0
    skipped: list[str] = field(default_factory=list)
    foreground: float = 0.0
    texts: list[str] | None = None  # --finetune-text: every description variant of the training set
    val_texts: dict[str, str] | None = None  # --finetune-text with train+test: id → description


def pick_splits(names: list[str], train_given: str, val_given: str, root: Any) -> tuple[str | None, str | None]:
    """Split names: the community protocol (trainval → test) when the layout has both, else train → val."""
    for given in (train_given, val_given):
        if given and given not in names:
            raise ConfigError(f"unknown split {given!r} in {root} (splits: {', '.join(names) or 'none'})")
    community = "trainval" in names and "test" in names
    train = train_given or ("trainval" if community else next((n for n in ("train", "trainval") if n in names), None))
    if val_given:
        return train, val_given
    order = ("test", "val") if train == "trainval" else ("val", "test")
    return train, next((n for n in order if n in names), None)


def resolve_splits(ds: Any, config: TrainConfig) -> tuple[list[str], list[str]]:
    """Training and validation ids of one dataset (every image / the training ids when a split is absent)."""
    train_name, val_name = pick_splits(ds.split_names, config.train_split, config.val_split, ds.root)
    train_ids = ds.ids(train_name) if train_name else ds.all_ids()
    val_ids = ds.ids(val_name) if val_name else list(train_ids)
    if not train_ids:
        raise ConfigError(f"no training images in {ds.root}")
    return train_ids, val_ids


def open_datasets(config: TrainConfig) -> tuple[Any, list[str], list[str]]:
    """The dataset(s) of the run and their training / validation ids (a union for several datasets)."""
    from langir.data.dataset import LangIRDataset

    first = LangIRDataset.open(config.dataset, config.layout, config.images or None, config.masks or None,
                               config.descriptions or None, dict(config.split_files) or None)
    if not config.more_datasets:
        return (first, *resolve_splits(first, config))
    parts = [first] + [LangIRDataset.open(path) for path in config.more_datasets]  # each detects its own layout
    union = DatasetUnion(parts)
    train_ids: list[str] = []
    val_ids: list[str] = []
    for k, part in enumerate(parts):
        t, v = resolve_splits(part, config)
        train_ids += union.qualify(k, t)
        val_ids += union.qualify(k, v)
    return union, train_ids, val_ids


# ---- sizes, from the headers ------------------------------------------------------------------------
def _pixels(ds: Any, sample_id: str) -> tuple[int, int]:
    from langir.data.imageio import image_info

    width, height, _ = image_info(ds.image_path(sample_id), verify=False)
    return width, height


def validation_size_check(ds: Any, val_ids: list[str], config: TrainConfig) -> Callable[[str], None] | None:
    """With --input crop: refuse (per sample, before decoding) a validation image over the evaluation budget."""
    if config.input != "crop":
        return None
    val = set(val_ids)

    def check(sample_id: str) -> None:
        if sample_id not in val:
            return
        width, height = _pixels(ds, sample_id)
        if width * height > DEFAULT_MAX_PIXELS:
            raise DataError(ds.image_path(sample_id), f"{width}×{height} image ({width * height / 1e6:.1f} Mpx) is over the "
                            f"{DEFAULT_MAX_PIXELS / 1e6:.1f} Mpx one forward pass may take, and validation runs whole "
                            f"images at native size: pass --input resize (whole images resized to --size {config.size}), "
                            "or validate on smaller images (--val-split)", sample_id)
    return check


def _read_number(path: str, key: str | None = None) -> int | None:
    """An integer from a /proc or /sys file (the value after ``key:`` when given); None when absent."""
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                if key is None:
                    return int(line.split()[0])
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> int | None:
    """Bytes this process may still allocate: the least of the kernel's MemAvailable, the cgroup's
    memory.max headroom (containers) and the address-space limit (``ulimit -v``); None when unknown."""
    import resource

    found = []
    if (kib := _read_number("/proc/meminfo", "MemAvailable")) is not None:
        found.append(kib * 1024)
    limit, used = _read_number("/sys/fs/cgroup/memory.max"), _read_number("/sys/fs/cgroup/memory.current")
    if limit is not None and used is not None:
        found.append(max(limit - used, 0))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and (vm := _read_number("/proc/self/status", "VmSize")) is not None:
        found.append(max(soft - vm * 1024, 0))
    return min(found) if found else None


def check_training_memory(ds: Any, train_ids: list[str], config: TrainConfig, available: int | None = None) -> None:
    """With --input crop every training image is held at native size: refuse a set that cannot fit in memory."""
    if config.input != "crop":
        return
    available = available_memory() if available is None else available
    if available is None:
        return
    sizes = []
    for sample_id in train_ids:
        try:
            sizes.append(_pixels(ds, sample_id))
        except DataError:
            continue  # check_samples lists it
    need = sum(w * h for w, h in sizes) * BYTES_PER_TRAIN_PIXEL
    if need > 0.8 * available:
        big = max(sizes, key=lambda s: s[0] * s[1])
        raise ConfigError(_memory_line(len(sizes), sum(w * h for w, h in sizes), need, big, config,
                                       f"more than the {available / 2**30:.1f} GiB of memory available"))


def _memory_line(n: int, pixels: int, need: float, big: tuple[int, int], config: TrainConfig, why: str) -> str:
    return (f"the {n} training image(s) hold {pixels / 1e6:.1f} Mpx (largest {big[0]}×{big[1]}): ≈{need / 2**30:.1f} GiB "
            f"as float32 image + mask with --input crop, {why}; pass --input resize --size {config.size} "
            "(each image resized once, on reading), or train on smaller images")


def load_samples(ds: Any, train_ids: list[str], val_ids: list[str], setup: RunSetup) -> tuple[dict[str, Any], list]:
    """check_samples with the size checks; running out of memory anyway is the same one line."""
    config = setup.config

    def skipped(sample_id: str, error: DataError) -> None:
        if not setup.quiet:
            console.print(f"[yellow]skipped[/] {escape(str(error))}", highlight=False)

    check_training_memory(ds, train_ids, config)
    prepare = (lambda image, mask: resize_pair(image, mask, config.size)) if config.input == "resize" else None
    try:
        return check_samples(ds, train_ids + val_ids, config.skip_bad, skipped, keep=set(train_ids),
                             before=validation_size_check(ds, val_ids, config), prepare=prepare)
    except MemoryError:
        sizes = [_pixels(ds, i) for i in train_ids]
        pixels = sum(w * h for w, h in sizes)
        raise ConfigError(_memory_line(len(sizes), pixels, pixels * BYTES_PER_TRAIN_PIXEL,
                                       max(sizes, key=lambda s: s[0] * s[1]), config, "and memory ran out")) from None


# ---- embeddings ---------------------------------------------------------------------------------------
def embedding_cache(ds: Any, config: TrainConfig, device: str) -> Any:
    from langir.language.cache import EmbeddingCache

    return EmbeddingCache(ds.root, config.clip_model, config.clip_pretrained or None, device=device,
                          cache_dir=config.cache_dir or None)


def build_descriptors(ds: Any, ids: list[str], cache: Any, with_text: bool, quiet: bool = False, *, transpose: bool = False,
                      dist: Dist | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Read (or compute once, in batches, with progress) the CLIP embeddings the run needs.

    Under DDP every rank computes its share of the missing entries, then all read the full set
    after a barrier: no rank waits for one process to embed the whole dataset.
    """
    from langir.language.cache import compute_descriptors

    dist = dist or Dist()

    def wrap(items: Any) -> Any:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=quiet or not console.is_terminal) as bar:
            yield from bar.track(items, description="CLIP embeddings")

    if dist.world > 1:
        compute_descriptors(ds, ids, cache, with_text=with_text, wrap=wrap, transpose=transpose, shard=(dist.rank, dist.world))
        dist.barrier()
    return compute_descriptors(ds, ids, cache, with_text=with_text, wrap=wrap, transpose=transpose)


def _embed(setup: RunSetup, data: RunData) -> None:
    """CLIP embeddings of the training (and, for train+test, validation) descriptions and images."""
    config = setup.config
    cache = embedding_cache(data.ds, config, setup.device)
    # --finetune-text: the cache serves image embeddings only; text is embedded in the loop.
    cached_text = not config.finetune_text
    data.train_desc = build_descriptors(data.ds, data.train_ids, cache, cached_text, setup.quiet, transpose=config.transpose,
                                        dist=setup.dist)
    data.val_desc = build_descriptors(data.ds, data.val_ids, cache, cached_text and setup.prior == "train+test", setup.quiet,
                                      dist=setup.dist)
    data.embeddings_computed = cache.computed
    setup.model_kwargs.setdefault("td_dim", len(next(iter(data.train_desc.values()))["image"]))


def prepare_data(setup: RunSetup) -> RunData:
    """Open the dataset(s), check every sample before epoch 1, fetch embeddings, build the training set."""
    config = setup.config
    ds, train_ids, val_ids = open_datasets(config)
    arrays, bad = load_samples(ds, train_ids, val_ids, setup)
    bad_ids = {sample_id for sample_id, _ in bad}
    train_ids = [i for i in train_ids if i not in bad_ids]
    val_ids = [i for i in val_ids if i not in bad_ids]
    if not train_ids:
        raise ConfigError(f"no readable training images in {config.dataset}")
    data = RunData(ds, ResizedView(ds, config.size) if config.input == "resize" else ds, train_ids, val_ids,
                   samples=None, skipped=sorted(bad_ids))  # type: ignore[arg-type]
    data.foreground = float(np.mean([arrays[i][1].mean() for i in train_ids]))
    if setup.prior != "never":
        _embed(setup, data)
    text_index = None
    if config.finetune_text:
        from langir.language.cache import check_descriptions, text_variants

        data.texts, text_index = text_variants(ds, train_ids, config.transpose)
        if setup.prior == "train+test":
            check_descriptions(data.val_ds, val_ids)
            data.val_texts = {i: data.val_ds.read_description(i) or "" for i in val_ids}
    data.samples = TrainSamples(arrays, train_ids, config.size, data.train_desc, config.hflip, config.vflip, config.seed,
                                transpose=config.transpose, input=config.input, target_crop=config.target_crop,
                                text_index=text_index)
    return data


def make_loader(setup: RunSetup, samples: TrainSamples) -> tuple[Any, Any]:
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    dist, config = setup.dist, setup.config
    sampler = DistributedSampler(samples, num_replicas=dist.world, rank=dist.rank, shuffle=True, seed=config.seed, drop_last=False)
    batch = max(1, config.batch_size // dist.world) if dist.world > 1 else config.batch_size
    loader = DataLoader(samples, batch_size=batch, sampler=sampler, num_workers=config.workers,
                        drop_last=len(samples) > batch and len(samples) // dist.world > batch,
                        pin_memory=setup.device.startswith("cuda"))
    return loader, sampler
