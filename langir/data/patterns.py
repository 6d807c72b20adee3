"""`{id}` patterns: the regex of a pattern's file name, the ids a folder holds, the natural order of ids."""

from __future__ import annotations

import re
from pathlib import Path


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
