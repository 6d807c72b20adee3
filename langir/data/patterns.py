"""`{id}` patterns: the regex of a pattern's file name, the ids a folder holds, the natural order of ids, a `.*`
pattern's file, what a line of a split list names, a split word in a file name."""

from __future__ import annotations

import os
import re
from pathlib import Path

from langir.data.imageio import IMAGE_SUFFIXES


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Regex matching the file name part of `pattern`, capturing the id (`.*` as suffix: any image type)."""
    name = Path(pattern).name
    head, tail = name.split("{id}", 1)
    tail_re = re.escape(tail[:-2]) + r"\.(?:png|bmp|jpe?g|tiff?)" if tail.endswith(".*") else re.escape(tail)
    return re.compile("^" + re.escape(head) + r"(?P<id>.+?)" + tail_re + "$", re.IGNORECASE)


def discover_ids(root: Path, pattern: str) -> list[str]:
    """Ids of the files that match `pattern`, naturally sorted."""
    folder = root / Path(pattern).parent
    if not folder.is_dir():
        return []
    rx = pattern_regex(pattern)
    # Folders, FIFOs and broken links that match are ids too: reading them then says what is wrong,
    # instead of the file silently not being there.
    ids = {m.group("id") for p in folder.iterdir() if not p.name.startswith(".") and (m := rx.match(p.name))}
    return natural_sorted(ids)


def natural_sorted(ids) -> list[str]:
    """Sort ids so that Misc_2 comes before Misc_10."""
    return sorted(ids, key=lambda s: [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)])


def any_type(path: Path) -> Path:
    """A `….*` pattern's file: the first image type found there (else the `.png` name, for the reader to say
    what is missing); any other path as it is."""
    if not path.name.endswith(".*"):
        return path
    stem = path.name[:-2]
    for suffix in IMAGE_SUFFIXES:
        for cand in (path.with_name(stem + suffix), path.with_name(stem + suffix.upper())):
            if os.path.lexists(cand):  # a folder or broken link is found, then reported by the reader
                return cand
    return path.with_name(stem + ".png")


def split_entry(line: str) -> str | None:
    """What a line of a split list names: its id (an image file name's suffix dropped), None for a blank line
    or a `#` comment. The id is not checked here."""
    entry = line.strip()
    if not entry or entry.startswith("#"):
        return None
    return entry.rsplit(".", 1)[0] if entry.lower().endswith(IMAGE_SUFFIXES) else entry


# a split's word in a file name: "train_NUDT.txt", "trainval_full.txt", "validation_v2.txt"
SPLIT_WORD = re.compile(r"(?:^|[^a-z])(trainval|train|test|val|valid|validation)(?:[^a-z]|$)", re.IGNORECASE)
