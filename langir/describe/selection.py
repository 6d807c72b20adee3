"""Which images a describe run asks about: split and id-file selection, `--redo` ids, few-shot examples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langir.data.dataset import LangIRDataset
from langir.describe.prompts import Shot
from langir.errors import ConfigError, LangirError


def read_ids(path: Path) -> list[str]:
    """Image ids from a file, one a line (the guarded split-file reader)."""
    from langir.data.dataset import read_split_file

    return read_split_file(path, "ids file")


def split_ids(ds: LangIRDataset, splits: list[str]) -> list[str]:
    """Ids of the named splits in order without repeats, or every image when none is named."""
    if not splits:
        return ds.all_ids()
    seen: dict[str, None] = {}
    for name in splits:
        seen.update(dict.fromkeys(ds.split_ids(name)))
    return list(seen)


def choose_ids(ds: LangIRDataset, splits: list[str], ids_file: Path | None = None, limit: int | None = None) -> list[str]:
    """`--ids FILE` (kept to the named splits when some are named) or the splits' ids; at most `limit`."""
    ids = read_ids(ids_file) if ids_file else split_ids(ds, splits)
    if ids_file and splits:
        keep = set(split_ids(ds, splits))
        ids = [i for i in ids if i in keep]
    return ids[:limit] if limit else ids


@dataclass
class Selection:
    """The ids a describe run covers and, with `--redo`, the ones it asks anew (then the same list)."""

    ids: list[str]
    redo: list[str] | None = None
    redo_source: str | None = None  # FILE | failing | review


def select(ds: LangIRDataset, splits: list[str], ids_file: Path | None = None, redo: str | None = None,
           limit: int | None = None, failing: Callable[[list[str]], list[str]] | None = None) -> Selection:
    """The ids of a describe run.

    `redo`: ``review`` (the ids queued in `langir review`), ``failing`` (`failing(ids)`: the ids
    `langir validate` flags, computed by the caller: validation lives a layer up) or a FILE of ids;
    kept to the selection when `--ids` or splits narrow it. `limit` applies last.
    """
    ids = choose_ids(ds, splits, ids_file)
    redo_ids = None
    if redo is not None:
        if redo == "review":
            from langir.describe.human import queued_ids

            redo_ids = queued_ids(ds.root)
        elif redo == "failing":
            if failing is None:
                raise ConfigError("--redo failing needs validation (run it through `langir describe`)")
            redo_ids = failing(ids)
        else:
            redo_ids = read_ids(Path(redo))
        if ids_file or splits:
            keep = set(ids)
            redo_ids = [i for i in redo_ids if i in keep]
        ids = redo_ids
    if limit:
        ids = ids[:limit]
    return Selection(ids, redo_ids, redo)


def select_shots(ds: LangIRDataset, shots_from: str | None, shots_file: Path | None, k: int, max_side: int | None,
                 provider: Any = None) -> tuple[Shot, ...]:
    """Few-shot examples: (image, description) pairs from a described split or an id file, encoded
    within `provider`'s image limits like the image they accompany."""
    from langir.describe.images import encode_array

    if not shots_from and not shots_file:
        return ()
    ids = ds.split_ids(shots_from) if shots_from else read_ids(shots_file)  # type: ignore[arg-type]
    shots = []
    for sid in ids:
        text = ds.read_description(sid)
        if text:
            shots.append(Shot(encode_array(ds.read_image(sid), max_side, provider).png, text, shot_targets(ds, sid)))
        if len(shots) >= k:
            break
    if not shots:
        raise ConfigError(f"no described images for few-shot examples in {shots_from or shots_file}")
    return tuple(shots)


def shot_targets(ds: LangIRDataset, sample_id: str) -> list | None:
    """A few-shot example's targets on 0..1000 from its mask (its answer in structured mode); None without one."""
    from langir.describe.structured import mask_targets

    try:
        return mask_targets(ds.read_mask(sample_id)) if ds.has_mask(sample_id) else None
    except LangirError:
        return None
