"""Reading description files for curation: each id gets its text or the reason it has none."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from langir.data.dataset import LangIRDataset
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
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return DescriptionFile(sample_id, path, None, "missing", f"{path}: description not found")
    except (IsADirectoryError, PermissionError, OSError) as error:
        return DescriptionFile(sample_id, path, None, "unreadable", f"{path}: {error.strerror or error}")
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as error:
        return DescriptionFile(sample_id, path, None, "not-utf8", f"{path}: not UTF-8 (byte {error.start})")
    if not text:
        return DescriptionFile(sample_id, path, None, "empty", f"{path}: description is empty")
    return DescriptionFile(sample_id, path, text)
