"""Fitting a preset's patterns to the folders and names a set really has.

Public IRSTD sets keep their own names: IRSTD-1k ships `IRSTD1k_Img/` and `IRSTD1k_Label/`, SIRST v2
`mixed/` and `annotations/masks/{id}_pixels0.png`; others use `imgs/` + `labels/`, `images/` + `GT/`, masks
named `{id}_mask.png`, frames stored as BMP, JPEG or TIFF. Where a preset's pattern matches nothing,
`fit_patterns` fits it to what is on disk; where the folders leave a doubt (two candidate image folders,
masks that match too few ids) nothing is guessed and the usual "no images found" / "mask not found" lines
say what to pass. Patterns the user gave are never changed.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Collection
from pathlib import Path

from langir.data import guarded
from langir.data.imageio import IMAGE_SUFFIXES
from langir.data.patterns import SPLIT_WORD, any_type, discover_ids, pattern_regex, split_entry
from langir.errors import DataError

_IMAGE_WORDS = frozenset({"image", "images", "img", "imgs", "mixed", "frame", "frames", "jpegimages", "ir",
                          "infrared", "input", "inputs", "org", "raw"})
_MASK_WORDS = frozenset({"mask", "masks", "label", "labels", "gt", "gts", "groundtruth", "truth", "annotation",
                         "annotations", "anno", "annos", "seg", "segmentation", "segmentationclass"})
_NOT_DATA = frozenset({"descriptions", "__pycache__"})
_SEPARATORS = "_-. "
_MAX_HEAD = 16  # a mask name's text before the id ("mask_", "gt-"): no longer than this


def fit_patterns(root: Path, images: str, masks: str, keep: Collection[str] = ()) -> tuple[str, str]:
    """(images, masks) patterns fitted to `root`'s files where they match nothing; a name in `keep`
    ("images", "masks") is the user's and stays as it is."""
    if "images" not in keep:
        images = _fit_images(root, images)
    if "masks" not in keep:
        masks = _fit_masks(root, images, masks)
    return images, masks


def fit_suffix(root: Path, pattern: str) -> str:
    """A `….png` pattern fitted to the image type its folder holds when no PNG there matches: that one
    type (`images/{id}.bmp`), or `.*` for several."""
    if not pattern.lower().endswith(".png") or _some_ids(root, pattern, 1):
        return pattern
    rx = pattern_regex(pattern[:-len(".png")] + ".*")
    suffixes = {suffix for stem, suffix in _image_files(root / Path(pattern).parent) if rx.match(stem + suffix)}
    if not suffixes:
        return pattern
    return pattern[:-len(".png")] + (suffixes.pop() if len(suffixes) == 1 else ".*")


def _fit_images(root: Path, pattern: str) -> str:
    fitted = fit_suffix(root, pattern)
    if fitted != pattern or _some_ids(root, pattern, 1) or _image_files(root / Path(pattern).parent):
        return fitted  # found, or a folder of images named otherwise: not ours to guess
    folders = [rel for rel in _folders(root, 1) if not _named(rel, _MASK_WORDS) and _image_files(root / rel)]
    named = [rel for rel in folders if _named(rel, _IMAGE_WORDS)]
    if len(named) != 1:  # none or several with an image-like name: the one a mask folder pairs with
        named = [rel for rel in (named or folders) if _mask_form_for(root, rel) is not None]
    if len(named) != 1:
        return pattern
    files = _image_files(root / named[0])
    return f"{named[0]}/{{id}}{_one_suffix(suffix for _, suffix in files)}"


def _fit_masks(root: Path, images: str, masks: str) -> str:
    first = _some_ids(root, images, 16)  # the common case, masks where the pattern says: a few lookups
    if not first or any(_has_file(root, masks, sample_id) for sample_id in first):
        return masks
    ids = set(discover_ids(root, images))
    if _matches(root, masks, ids):
        return masks
    fitted = fit_suffix(root, masks)
    if _matches(root, fitted, ids):
        return fitted
    image_folder = str(Path(images).parent)
    found = _mask_form(root, [str(Path(masks).parent)] + [rel for rel in _folders(root, 2)
                                                          if rel != image_folder and _named(rel, _MASK_WORDS)], ids)
    return found if found is not None else masks


def split_lists(root: Path, images: str, candidates: list[str]) -> dict[str, str]:
    """Split name → file among `candidates` (`.txt` files named like split lists: `trainval_full.txt`,
    `test_list.txt`) whose lines are ids of the set's images (9 in 10 at least), all in one folder — the first
    holding any. A split word found once names its list (`train`, `test`); several lists of one word (merged
    sets) are named by their stems. A file of other lines (`test_results.txt`) is no split."""
    if not candidates:  # the common case: no file named like a split list, no listing of the images
        return {}
    ids = set(discover_ids(root, images))
    if not ids:
        return {}
    by_folder: dict[str, list[str]] = {}
    for rel in candidates:
        if _lists_ids(root / rel, ids, root):
            by_folder.setdefault(str(Path(rel).parent), []).append(rel)
    if not by_folder:
        return {}
    files = next(iter(by_folder.values()))
    words = {rel: _split_word(Path(rel).stem) for rel in files}
    counts = Counter(words.values())
    return {(word if counts[word] == 1 else Path(rel).stem): rel for rel, word in words.items()}


_SPLIT_NAMES = {"valid": "val", "validation": "val"}
_SPLIT_READ_BYTES = 4 << 20


def _split_word(stem: str) -> str:
    m = SPLIT_WORD.search(stem)
    word = m.group(1).lower() if m else stem
    return _SPLIT_NAMES.get(word, word)


def _lists_ids(path: Path, ids: set[str], root: Path) -> bool:
    """Whether `path` is a list of these ids (file suffixes allowed), blank lines and `#` comments aside."""
    try:
        text = guarded.read_text(path, "split file", _SPLIT_READ_BYTES, root)
    except DataError:  # a folder, FIFO, link out of the set, binary or huge file: no list
        return False
    entries = [e for e in map(split_entry, text.splitlines()) if e is not None]
    return bool(entries) and 10 * sum(e in ids for e in entries) >= 9 * len(entries)


def _mask_form_for(root: Path, image_folder: str) -> str | None:
    """The masks pattern that pairs with the images of `image_folder`, if a mask-named folder holds one."""
    ids = {stem for stem, _ in _image_files(root / image_folder)}
    return _mask_form(root, [rel for rel in _folders(root, 2) if rel != image_folder and _named(rel, _MASK_WORDS)], ids)


def _mask_form(root: Path, folders: list[str], ids: set[str]) -> str | None:
    """The best `FOLDER/HEAD{id}TAIL.EXT` among `folders` for `ids`: the form most ids have a file of, if it
    covers at least half of them (or of the folder's files)."""
    best: tuple[int, str] | None = None
    for rel in dict.fromkeys(folders):
        files = _image_files(root / rel)
        forms: dict[tuple[str, str], set[str]] = {}
        suffixes: dict[tuple[str, str], Counter] = {}
        for stem, suffix in files:
            for head, sample_id, tail in _splits(stem):
                if sample_id in ids:
                    forms.setdefault((head, tail), set()).add(sample_id)
                    suffixes.setdefault((head, tail), Counter())[suffix] += 1
        if not forms:
            continue
        # most ids; then the plainest name (no head, no tail) first
        (head, tail), covered = max(forms.items(), key=lambda kv: (len(kv[1]), not kv[0][0], not kv[0][1]))
        if 2 * len(covered) < min(len(ids), len(files)) or (best is not None and len(covered) <= best[0]):
            continue
        best = (len(covered), f"{rel}/{head}{{id}}{tail}{_one_suffix(suffixes[(head, tail)].elements())}")
    return best[1] if best else None


def _splits(stem: str) -> list[tuple[str, str, str]]:
    """Ways to read a mask's stem as HEAD + ID + TAIL, HEAD and TAIL empty or cut at a separator."""
    heads = [""] + [stem[:i + 1] for i, c in enumerate(stem[:_MAX_HEAD]) if c in _SEPARATORS and i + 1 < len(stem)]
    out = []
    for head in heads:
        rest = stem[len(head):]
        out.append((head, rest, ""))
        out += [(head, rest[:k], rest[k:]) for k, c in enumerate(rest) if k and c in _SEPARATORS]
    return out


def any_id(root: Path, pattern: str) -> bool:
    """Whether any file matches `pattern` (stops at the first)."""
    return bool(_some_ids(root, pattern, 1))


def _some_ids(root: Path, pattern: str, n: int) -> list[str]:
    """Up to `n` ids with a file at `pattern`, in the folder's own order (no full listing when found early)."""
    rx, out = pattern_regex(pattern), []
    try:
        with os.scandir(root / Path(pattern).parent) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and (m := rx.match(entry.name)):
                    out.append(m.group("id"))
                    if len(out) >= n:
                        break
    except OSError:
        return []
    return out


def _has_file(root: Path, pattern: str, sample_id: str) -> bool:
    return os.path.lexists(any_type(root / pattern.replace("{id}", sample_id)))


def _matches(root: Path, pattern: str, ids: set[str]) -> bool:
    """Whether any of `ids` has a file at `pattern`."""
    return not ids.isdisjoint(discover_ids(root, pattern))


def _one_suffix(suffixes) -> str:
    found = set(suffixes)
    return found.pop() if len(found) == 1 else ".*"


def _image_files(folder: Path) -> list[tuple[str, str]]:
    """(stem, suffix) of the image files in `folder` (none when it is not a readable folder)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [(stem, suffix) for name in names if not name.startswith(".")
            for stem, suffix in [os.path.splitext(name)] if suffix.lower() in IMAGE_SUFFIXES and stem]


def _folders(root: Path, depth: int) -> list[str]:
    """Sub-folders of `root` down to `depth` (relative, `/`-joined), hidden ones and descriptions left out."""
    out, level = [], [""]
    for _ in range(depth):
        below = []
        for rel in level:
            try:
                entries = sorted(os.scandir(root / rel) if rel else os.scandir(root), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or entry.name in _NOT_DATA or not entry.is_dir():
                    continue
                below.append(f"{rel}/{entry.name}" if rel else entry.name)
        out += below
        level = below
    return out


def _named(rel: str, words: frozenset[str]) -> bool:
    """Whether a folder's own name (IRSTD1k_Label, JPEGImages, test_gt) says `words`."""
    name = Path(rel).name
    found = {w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)} | {name.lower()}
    return not found.isdisjoint(words)
