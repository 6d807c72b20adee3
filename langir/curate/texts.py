"""Reading description files for curation: each id gets its text or the reason it has none."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from langir.data import guarded
from langir.data.dataset import LangIRDataset
from langir.data.text_rules import ONLY_REASONING, final_answer
from langir.errors import DataError


@dataclass(frozen=True)
class DescriptionFile:
    """The description of one id: `text` is None when `problem` says why ('missing', 'not-utf8', 'empty', 'unreadable')."""

    id: str
    path: Path
    text: str | None
    problem: str | None = None
    detail: str = ""


def read_description_file(ds: LangIRDataset, sample_id: str) -> DescriptionFile:
    """Read one description without raising: missing, non-UTF-8, empty and unreadable files become a `problem`."""
    try:
        path = ds.description_path(sample_id)
    except DataError as error:  # a bad id from a split file
        return DescriptionFile(sample_id, Path(ds.root), None, "unreadable", str(error))
    if not os.path.lexists(path):
        return DescriptionFile(sample_id, path, None, "missing", f"{path}: description not found")
    try:
        raw = guarded.read_bytes(path, "description", guarded.MAX_DESCRIPTION_BYTES, root=ds.root)
    except DataError as error:  # a folder, FIFO, device, huge file or a symlink out of the dataset
        return DescriptionFile(sample_id, path, None, "unreadable", str(error))
    except OSError as error:
        return DescriptionFile(sample_id, path, None, "unreadable", f"{path}: {error.strerror or error}")
    try:
        text = guarded.decode_text(raw, path, "description").strip()
    except DataError as error:
        return DescriptionFile(sample_id, path, None, "not-utf8", str(error))
    if not text:
        return DescriptionFile(sample_id, path, None, "empty", f"{path}: description is empty")
    answer = final_answer(text)
    if not answer:
        return DescriptionFile(sample_id, path, None, "empty",
                               f"{path}: description holds {ONLY_REASONING} (<think>…)")
    return DescriptionFile(sample_id, path, answer)
