"""Every bad-input case of the foundation issue gives a DataError naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langir.data import LangIRDataset
from langir.errors import DataError
from tests.data.helpers import make_tree, write_png


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path, ["a", "b", "c"], "images/{id}.png", "masks/{id}.png",
                     splits={"trainval.txt": ["a", "b"], "test.txt": ["c"]})


def test_size_mismatch_names_the_mask(tree: Path) -> None:
    write_png(tree / "masks" / "b.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(DataError, match=r"masks/b\.png: mask size 10×10 does not match image size 32×24") as info:
        LangIRDataset.open(tree).load("b")
    assert info.value.sample_id == "b"


def test_missing_mask(tree: Path) -> None:
    (tree / "masks" / "c.png").unlink()
    ds = LangIRDataset.open(tree)
    with pytest.raises(DataError, match=r"masks/c\.png: mask not found"):
        ds.load("c")
    assert ds.load("c", need_mask=False).mask is None


@pytest.mark.parametrize(("content", "message"), [(b"", "empty"), (b"\x89PNG\r\n\x1a\nbroken", "corrupt|not a readable")])
def test_corrupt_and_zero_byte_images(tree: Path, content: bytes, message: str) -> None:
    (tree / "images" / "a.png").write_bytes(content)
    with pytest.raises(DataError, match=rf"images/a\.png: .*({message})"):
        LangIRDataset.open(tree).load("a")


def test_truncated_png(tree: Path) -> None:
    data = (tree / "images" / "a.png").read_bytes()
    (tree / "images" / "a.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"images/a\.png"):
        LangIRDataset.open(tree).load("a")


@pytest.mark.parametrize("entry", ["../etc/passwd", "sub/a", "a\\b", ".."])
def test_split_entry_with_path_is_rejected(tree: Path, entry: str) -> None:
    (tree / "test.txt").write_text(f"c\n{entry}\n")
    with pytest.raises(DataError, match=r"test\.txt: line 2: bad id"):
        LangIRDataset.open(tree).ids("test")


def test_duplicate_ids_in_split(tree: Path) -> None:
    (tree / "trainval.txt").write_text("a\nb\n\n# comment\na\n")
    with pytest.raises(DataError, match=r"trainval\.txt: line 5: duplicate id 'a' \(first on line 1\)"):
        LangIRDataset.open(tree).ids("trainval")


def test_split_entries_with_image_suffix_and_comments(tree: Path) -> None:
    (tree / "test.txt").write_text("# held out\nc.png\n\n")
    assert LangIRDataset.open(tree).ids("test") == ["c"]


def test_unknown_split(tree: Path) -> None:
    with pytest.raises(DataError, match="unknown split 'val'"):
        LangIRDataset.open(tree).ids("val")


def test_skip_bad_reports_and_continues(tree: Path) -> None:
    (tree / "images" / "b.png").write_bytes(b"")
    skipped: list[str] = []
    ds = LangIRDataset.open(tree)
    loaded = [s.id for s in ds.iter_samples(ds.ids(), skip_bad=True, on_skip=lambda i, e: skipped.append(i))]
    assert loaded == ["a", "c"]
    assert skipped == ["b"]
    with pytest.raises(DataError):
        list(ds.iter_samples(ds.ids()))


def test_non_utf8_description(tree: Path) -> None:
    (tree / "descriptions").mkdir()
    (tree / "descriptions" / "a.description.txt").write_bytes(b"\xff\xfe bad \xff")
    with pytest.raises(DataError, match="not valid UTF-8"):
        LangIRDataset.open(tree).read_description("a")


def test_decompression_bomb_guard_stays_on(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 24×32 = 768 px > 2 × 100 → error
    with pytest.raises(DataError, match="decompression-bomb"):
        LangIRDataset.open(tree).load("a")


def test_atomic_writes_get_normal_permissions(tree: Path) -> None:
    import os
    import stat

    path = LangIRDataset.open(tree).write_description("a", "The small target is in the upper left.")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
