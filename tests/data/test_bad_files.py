"""Guarded reads, typed and confined langir.toml, the basicirstd preset, and `info`'s problems."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from langir.data import LangIRDataset
from langir.data.imageio import image_info, read_file_bytes, read_image
from langir.data.layout import unused_split_files
from langir.errors import ConfigError, DataError
from tests.data.helpers import make_tree, write_png
from tests.test_bad_inputs import png_header_only


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path, ["a", "b", "c"], "images/{id}.png", "masks/{id}.png",
                     splits={"trainval.txt": ["a", "b"], "test.txt": ["c"]})


# ---- images ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "words"), [("fifo", "is a FIFO"), ("folder", "is a folder"),
                                             ("loop", "symlink loop"), ("broken", "broken symlink")])
def test_special_files_are_one_clear_error_and_never_hang(tmp_path: Path, kind: str, words: str) -> None:
    path = tmp_path / "x.png"
    {"fifo": lambda: os.mkfifo(path), "folder": path.mkdir, "loop": lambda: path.symlink_to("x.png"),
     "broken": lambda: path.symlink_to("nowhere.png")}[kind]()
    errors: list[Exception] = []

    def read() -> None:
        for reader in (read_image, image_info, read_file_bytes):
            try:
                reader(path)
            except DataError as err:
                errors.append(err)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading a special file hung"
    assert len(errors) == 3 and all(str(e).startswith(f"{path}: ") and words in str(e) for e in errors)


def test_bomb_header_is_refused_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(50_000, 50_000))
    for reader in (read_image, image_info):
        with pytest.raises(DataError, match=r"bomb\.png: image too large \(decompression-bomb guard\)"):
            reader(path)


def test_pixel_budget_from_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(9000, 9000, 16))  # 81 Mpx: under Pillow's own limit
    with pytest.raises(DataError, match=r"9000×9000 = 81\.0 Mpx, over the pixel budget of 67\.1 Mpx"):
        image_info(path)
    small = write_png(tmp_path / "s.png", np.zeros((20, 30), np.uint8))
    monkeypatch.setenv("LANGIR_MAX_PIXELS", "500")
    with pytest.raises(DataError, match="over the pixel budget of 0.0 Mpx"):
        read_image(small)
    assert read_image(small, max_pixels=600).shape == (20, 30)
    monkeypatch.setenv("LANGIR_MAX_PIXELS", "lots")
    with pytest.raises(ConfigError, match="LANGIR_MAX_PIXELS"):
        read_image(small)


def test_info_verifies_integrity_without_decoding(tree: Path) -> None:
    data = (tree / "images" / "a.png").read_bytes()
    (tree / "images" / "a.png").write_bytes(data[:-20])  # the last chunk cut off: the header still reads
    assert image_info(tree / "images" / "a.png", verify=False) == (32, 24, "L")
    with pytest.raises(DataError, match=r"a\.png: corrupt image"):
        image_info(tree / "images" / "a.png")


# ---- ids and split files -----------------------------------------------------------------------
@pytest.mark.parametrize("entry", ["a\0b", "a\tb", "a\x1b[31mb"])
def test_control_characters_in_split_entries(tree: Path, entry: str) -> None:
    (tree / "test.txt").write_text(f"c\n{entry}\n")
    with pytest.raises(DataError, match=r"test\.txt: (line 2: bad id .*control characters|split file holds binary data)"):
        LangIRDataset.open(tree).ids("test")


def test_split_file_that_is_a_fifo(tree: Path) -> None:
    (tree / "test.txt").unlink()
    os.mkfifo(tree / "test.txt")
    (tree / "langir.toml").write_text('[layout.splits]\ntest = "test.txt"\n')
    with pytest.raises(DataError, match=r"test\.txt: split file is a FIFO"):
        LangIRDataset.open(tree).ids("test")


def test_non_regular_images_are_ids_so_they_get_reported(tree: Path) -> None:
    (tree / "images" / "d.png").mkdir()
    ds = LangIRDataset.open(tree)
    assert ds.all_ids() == ["a", "b", "c", "d"]
    with pytest.raises(DataError, match=r"images/d\.png: image is a folder"):
        ds.load("d")


# ---- langir.toml --------------------------------------------------------------------------------
@pytest.mark.parametrize(("toml", "message"), [
    ("[layout]\nimages = 3\n", r"\[layout\] images must be a string \(a path pattern with \{id\}\), not an integer 3"),
    ('[layout]\npreset = ["a"]\n', r"\[layout\] preset must be a string \(a preset name\), not an array"),
    ("[layout]\nmasks = true\n", r"\[layout\] masks must be a string .*not a boolean"),
    ('[layout]\nsplits = "/etc/*.txt"\n', r"\[layout\] splits: '/etc/\*\.txt' must be a relative path"),
    ('[layout]\nsplits = 5\n', r"splits must be a glob string or a table of name = file, not an integer"),
    ('[layout.splits]\ntest = "/etc/passwd"\n', r"splits\.test: '/etc/passwd' must be a relative path inside"),
    ('[layout.splits]\ntest = "../outside.txt"\n', r"splits\.test: '\.\./outside\.txt' must be a relative path"),
    ("[layout.splits]\ntest = 7\n", r"\[layout\.splits\] test must be a string"),
    ('[layout]\nsplits = "a/**b"\n', r"splits glob"),
    ("layout = 3\n", r"\[layout\] must be a table, not an integer"),
    ('[layout]\npreset = "nope"\n', r"unknown preset 'nope' \(known: auto, generic"),
])
def test_langir_toml_values_checked_with_key_named(tree: Path, toml: str, message: str) -> None:
    (tree / "langir.toml").write_text(toml)
    with pytest.raises(DataError, match=rf"langir\.toml: .*{message}") as info:
        LangIRDataset.open(tree)
    assert "root:" not in str(info.value)


def test_split_file_may_not_leave_the_folder_through_a_symlink(tree: Path, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "list.txt"
    outside.write_text("a\n")
    (tree / "sneaky.txt").symlink_to(outside)
    (tree / "langir.toml").write_text('[layout.splits]\ntest = "sneaky.txt"\n')
    with pytest.raises(DataError, match="leads outside the dataset folder"):
        LangIRDataset.open(tree)


def test_split_flags_may_point_anywhere(tree: Path, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "mine.txt"
    outside.write_text("b\n")
    ds = LangIRDataset.open(tree, splits={"mine": str(outside)})
    assert ds.ids("mine") == ["b"]


# ---- basicirstd -----------------------------------------------------------------------------------
def _basicirstd(root: Path) -> Path:
    make_tree(root, ["XDU0", "XDU1", "XDU2"], "images/{id}.png", "masks/{id}.png",
              splits={"img_idx/train_IRSTD-1K.txt": ["XDU0", "XDU1"], "img_idx/test_IRSTD-1K.txt": ["XDU2"]})
    return root


def test_basicirstd_preset_detected_with_its_splits(tmp_path: Path) -> None:
    ds = LangIRDataset.open(_basicirstd(tmp_path))
    assert ds.layout.name == "basicirstd"
    assert ds.layout.splits == {"test": "img_idx/test_IRSTD-1K.txt", "train": "img_idx/train_IRSTD-1K.txt"}
    assert ds.ids("train") == ["XDU0", "XDU1"] and ds.ids("test") == ["XDU2"]
    assert ds.load("XDU2").mask.sum() == 4
    assert unused_split_files(ds.root, ds.layout) == []


def test_basicirstd_bmp_images_and_several_lists(tmp_path: Path) -> None:
    make_tree(tmp_path, ["1", "2"], "images/{id}.bmp", "masks/{id}.png",
              splits={"img_idx/train_NUDT.txt": ["1"], "img_idx/train_SIRST.txt": ["2"], "img_idx/test_NUDT.txt": ["2"]})
    ds = LangIRDataset.open(tmp_path, layout="basicirstd")
    assert set(ds.layout.splits) == {"train_NUDT", "train_SIRST", "test"}
    assert ds.image_path("1").name == "1.bmp" and ds.read_image("1").shape == (24, 32)


def test_unused_split_like_files_are_reported(tmp_path: Path) -> None:
    _basicirstd(tmp_path)
    ds = LangIRDataset.open(tmp_path, layout="irstd1k")  # a preset that does not know img_idx/: found by content
    assert ds.layout.splits == {"test": "img_idx/test_IRSTD-1K.txt", "train": "img_idx/train_IRSTD-1K.txt"}
    assert unused_split_files(ds.root, ds.layout) == []
    _paths_not_ids(tmp_path)  # lines that are not ids: named like splits, yet no split
    ds = LangIRDataset.open(tmp_path, layout="irstd1k")
    assert ds.layout.splits == {}
    assert unused_split_files(ds.root, ds.layout) == ["img_idx/test_IRSTD-1K.txt", "img_idx/train_IRSTD-1K.txt"]


def _paths_not_ids(root: Path) -> None:
    for name in ("train_IRSTD-1K.txt", "test_IRSTD-1K.txt"):
        path = root / "img_idx" / name
        path.write_text("".join(f"images/{line}.png\n" for line in path.read_text().split()))


# ---- info ---------------------------------------------------------------------------------------
def test_info_lists_every_problem_and_strict_exits_1(tree: Path, cli) -> None:
    (tree / "masks" / "b.png").unlink()
    (tree / "images" / "c.png").unlink()
    os.mkfifo(tree / "images" / "a.png.fifo")  # not matching the pattern: ignored
    (tree / "images" / "a.png").unlink()
    os.mkfifo(tree / "images" / "a.png")
    result = cli("info", tree, "--json")
    assert result.code == 0, result.stderr
    problems = {p["id"]: p["error"] for p in json.loads(result.stdout)["problems"]}
    assert set(problems) == {"a", "b", "c"}
    assert "a.png: image is a FIFO" in problems["a"]
    assert "masks/b.png: mask not found" in problems["b"]
    assert "images/c.png: image not found (listed in split test)" in problems["c"]
    for sample_id in "abc":
        assert f"problem with {sample_id}: " in result.stderr
    strict = cli("info", tree, "--strict")
    assert strict.code == 1 and "problems" in strict.stdout
    # the table says what each problem is, not just its id (issue 22)
    for line in ("a: image is a FIFO", "b: mask not found (masks/b.png)", "c: image not found (listed in split test) (images/c.png)"):
        assert line in strict.stdout, strict.stdout


def test_info_clean_dataset_strict_is_0(tree: Path, cli) -> None:
    result = cli("info", tree, "--strict")
    assert result.code == 0 and "problems" in result.stdout and "none" in result.stdout
    assert "warning" not in result.stderr


def test_info_warns_about_unused_split_files(tmp_path: Path, cli) -> None:
    _basicirstd(tmp_path)
    _paths_not_ids(tmp_path)
    result = cli("info", tmp_path, "--layout", "irstd1k")
    assert result.code == 0
    assert "split-like files found but none is used: img_idx/test_IRSTD-1K.txt" in result.stderr
    assert "--layout (e.g. basicirstd)" in result.stderr
    assert "split-like" not in cli("info", tmp_path).stderr


def test_warnings_print_markup_and_emoji_codes_literally(tree: Path, cli) -> None:
    weird = "runs[red]set[1]:x:"
    for folder in ("images", "masks"):
        (tree / folder / "a.png").rename(tree / folder / f"{weird}.png")
    (tree / "images" / f"{weird}.png").write_bytes(b"junk")
    (tree / "trainval.txt").write_text(f"{weird}\nb\n")
    result = cli("info", tree)
    assert f"problem with {weird}: {tree}/images/{weird}.png: not a readable image" in result.stderr
    assert "❌" not in result.stderr + result.stdout
