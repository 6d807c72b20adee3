"""A LangIR dataset: images + masks + descriptions + split files, read through a `Layout`."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langir.data import guarded
from langir.data.atomic import write_text_atomic
from langir.data.imageio import Grey8, image_info, read_frame, read_image, read_mask
from langir.data.layout import Layout, no_images_problem, resolve_layout
from langir.data.patterns import any_type, discover_ids, split_entry
from langir.data.text_rules import final_answer
from langir.errors import DataError


@dataclass
class Sample:
    """One loaded sample. `mask` is None when the dataset has no mask for it."""

    id: str
    image: np.ndarray  # float32 H×W in [0, 1]
    mask: np.ndarray | None  # bool H×W
    description: str | None


MAX_ID_LENGTH = 200
# `validate --quarantine` moves rejected description files into this folder beside them; `describe`
# reads it to never write a rejected answer back
QUARANTINE_DIR = ".quarantine"
MAX_SPLIT_FILE_BYTES = guarded.LIMITS["split file"]


def _shown(text: str, limit: int = 60) -> str:
    """`text` quoted for a message, cut short: a stray file's content is never echoed whole."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # NUL and control characters


_PATHS_KEPT = 100_000  # remembered (pattern, id) → path entries per dataset object


def check_id(sample_id: str, where: Path | None = None, line: int | None = None) -> str:
    """An id is a file stem: not empty, no path separator, no `..`, no NUL or control character."""
    loc = f"line {line}: " if line is not None else ""
    if not sample_id:
        raise DataError(where, f"{loc}empty id")
    if _CONTROL.search(sample_id):
        raise DataError(where, f"{loc}bad id {_shown(sample_id)}: an id may not contain NUL or control characters")
    if "/" in sample_id or "\\" in sample_id or ".." in sample_id or sample_id.startswith("."):
        raise DataError(where, f"{loc}bad id {_shown(sample_id)}: an id is a file name stem, without '/', '\\' or '..'")
    if len(sample_id) > MAX_ID_LENGTH:
        raise DataError(where, f"{loc}bad id {_shown(sample_id)}: longer than {MAX_ID_LENGTH} characters")
    return sample_id


def read_text_file(path: Path, what: str, max_bytes: int | None = None, root: Path | None = None) -> str:
    """A small UTF-8 text file (BOM allowed) through the guarded reader; anything else is one DataError naming `path`."""
    return guarded.read_text(path, what, max_bytes, root)


def read_split_file(path: Path, what: str = "split file", root: Path | None = None) -> list[str]:
    """Ids listed in a split file (or an ids file: `what` names it in errors), one a line;
    blank lines and `#` comments ignored. `root`: the dataset folder, for the symlink rule."""
    lines = read_text_file(path, what, root=root).splitlines()
    ids: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        entry = split_entry(raw)
        if entry is None:
            continue
        check_id(entry, path, number)
        if entry in seen:
            raise DataError(path, f"line {number}: duplicate id {entry!r} (first on line {seen[entry]})")
        seen[entry] = number
        ids.append(entry)
    return ids



class LangIRDataset:
    """Paths and safe loading for one dataset folder.

    >>> ds = LangIRDataset.open("datasets/demo")
    >>> sample = ds.load(ds.ids("test")[0])
    """

    def __init__(self, root: str | Path, layout: Layout):
        self.root = Path(root)
        self.layout = layout
        self._split_cache: dict[str, list[str]] = {}
        self._all_ids: list[str] | None = None
        self._paths: dict[tuple[str, str], Path] = {}

    @classmethod
    def open(
        cls,
        root: str | Path,
        layout: str = "auto",
        images: str | None = None,
        masks: str | None = None,
        descriptions: str | None = None,
        splits: dict[str, str] | None = None,
    ) -> LangIRDataset:
        """Open a dataset, detecting its layout unless told."""
        return cls(root, resolve_layout(root, layout, images, masks, descriptions, splits))

    # ---- ids and splits -------------------------------------------------------------------
    @property
    def split_names(self) -> list[str]:
        return list(self.layout.splits)

    def split_ids(self, split: str) -> list[str]:
        if split not in self.layout.splits:
            known = ", ".join(self.layout.splits) or "none found"
            raise DataError(self.root, f"unknown split {split!r} (splits: {known})")
        if split not in self._split_cache:
            self._split_cache[split] = read_split_file(self.root / self.layout.splits[split], root=self.root)
        return list(self._split_cache[split])

    def all_ids(self) -> list[str]:
        """Every id whose image file exists, discovered from the image folder."""
        if self._all_ids is None:
            self._all_ids = discover_ids(self.root, self.layout.images)
        return list(self._all_ids)

    def require_images(self) -> list[str]:
        """Every id; a folder without images is one DataError naming the pattern looked for (nothing is written)."""
        ids = self.all_ids()
        if not ids:
            raise DataError(self.root, no_images_problem(self.root, self.layout))
        return ids

    def ids(self, split: str | None = None) -> list[str]:
        """Ids of one split, or of the whole image folder when `split` is None."""
        return self.split_ids(split) if split else self.all_ids()

    def split_of(self) -> dict[str, list[str]]:
        """Id → names of the splits that list it."""
        out: dict[str, list[str]] = {}
        for name in self.split_names:
            for sample_id in self.split_ids(name):
                out.setdefault(sample_id, []).append(name)
        return out

    # ---- paths ---------------------------------------------------------------------------
    def _path(self, pattern: str, sample_id: str) -> Path:
        # remembered: a describe run asks for each id's paths about ten times, and building a Path
        # (parsing it) cost ≈ 8 µs each time; the bound keeps a huge set's walk from growing the dict
        path = self._paths.get((pattern, sample_id))
        if path is None:
            check_id(sample_id)
            path = self.root / pattern.replace("{id}", sample_id)
            if len(self._paths) >= _PATHS_KEPT:
                self._paths.clear()
            self._paths[(pattern, sample_id)] = path
        return path

    def image_path(self, sample_id: str) -> Path:
        return any_type(self._path(self.layout.images, sample_id))

    def mask_path(self, sample_id: str) -> Path:
        return any_type(self._path(self.layout.masks, sample_id))

    def description_write_path(self, sample_id: str) -> Path:
        """Where a new description is written (the layout's own naming)."""
        return self._path(self.layout.descriptions, sample_id)

    def description_path(self, sample_id: str) -> Path:
        """The existing description file (any accepted naming), else the write path."""
        return self._existing_description(sample_id) or self.description_write_path(sample_id)

    def _existing_description(self, sample_id: str) -> Path | None:
        primary = self.description_write_path(sample_id)
        if os.path.exists(primary):
            return primary
        for pattern in self.layout.description_alternatives:
            alt = self._path(pattern, sample_id)
            if os.path.exists(alt):
                return alt
        return None

    def has_mask(self, sample_id: str) -> bool:
        """Whether something is at the mask path (a folder or FIFO there is then reported by the reader)."""
        return os.path.lexists(self.mask_path(sample_id))

    def has_description(self, sample_id: str) -> bool:
        return self.description_path(sample_id).is_file()

    # ---- reading -------------------------------------------------------------------------
    # Every image and mask read goes through these (the symlink rule of the guarded reader included):
    # a caller holding only `image_path` and calling imageio itself would read a link out of the set.
    def read_image(self, sample_id: str) -> np.ndarray:
        return read_image(guarded.check_inside(self.image_path(sample_id), self.root, "image"))

    def read_image_u8(self, sample_id: str) -> np.ndarray:
        """The image as 8-bit grey (`to_uint8(read_image(id))`, faster for 8-bit files)."""
        return self.read_frame(sample_id).pixels

    def read_frame(self, sample_id: str) -> Grey8:
        """The image as a request carries it (`imageio.read_frame`): size, plain PNG bytes, pixels on demand."""
        return read_frame(guarded.check_inside(self.image_path(sample_id), self.root, "image"))

    def image_info(self, sample_id: str, verify: bool = True) -> tuple[int, int, str]:
        """Width, height and mode from the image's header (`imageio.image_info`), under the symlink rule."""
        return image_info(guarded.check_inside(self.image_path(sample_id), self.root, "image"), verify)

    def read_mask(self, sample_id: str, shape: tuple[int, int] | None = None) -> np.ndarray:
        path = self.mask_path(sample_id)
        if not os.path.lexists(path):
            raise DataError(path, f"mask not found for id {sample_id!r}", sample_id)
        return read_mask(guarded.check_inside(path, self.root, "mask"), shape)

    def read_description(self, sample_id: str) -> str | None:
        """The description text (`final_answer`: a thinking model's reasoning left out), or None when there is
        no description file."""
        path = self.description_path(sample_id)
        if not os.path.lexists(path):
            return None
        try:  # a folder, FIFO, huge or binary file or a symlink out of the set is reported, not skipped
            return final_answer(guarded.read_text(path, "description", root=self.root).strip())
        except DataError as err:
            err.sample_id = sample_id
            raise

    def load(self, sample_id: str, need_mask: bool = True, need_description: bool = False) -> Sample:
        """Image, mask (size-checked) and description of one id; a DataError names the bad file."""
        try:
            image = self.read_image(sample_id)
            mask = None
            if need_mask or self.has_mask(sample_id):
                mask = self.read_mask(sample_id, image.shape)
            description = self.read_description(sample_id)
            if need_description and description is None:
                raise DataError(self.description_path(sample_id), "description not found", sample_id)
        except DataError as err:
            err.sample_id = sample_id
            raise
        return Sample(sample_id, image, mask, description)

    def iter_samples(
        self,
        ids: list[str],
        skip_bad: bool = False,
        on_skip: Callable[[str, DataError], None] | None = None,
        **load_kwargs,
    ) -> Iterator[Sample]:
        """Load `ids` in order; with `skip_bad`, report bad ones to `on_skip` instead of raising."""
        for sample_id in ids:
            try:
                yield self.load(sample_id, **load_kwargs)
            except DataError as err:
                if not skip_bad:
                    raise
                if on_skip is not None:
                    on_skip(sample_id, err)

    # ---- writing -------------------------------------------------------------------------
    def write_description(self, sample_id: str, text: str, overwrite: bool = False, durable: bool = True) -> Path | None:
        """Write a description atomically; keep an existing one unless `overwrite`. Returns the path written.

        `durable=False`: no fsync (the describe ledger is the durable record; see `atomic_path`)."""
        existing = self._existing_description(sample_id)
        if existing is not None and not overwrite:
            return None
        path = existing or self.description_write_path(sample_id)
        write_text_atomic(path, text.strip() + "\n", durable=durable)
        return path

    def __repr__(self) -> str:
        return f"LangIRDataset({str(self.root)!r}, layout={self.layout.name!r})"
