from __future__ import annotations

from pathlib import Path

import pytest

from langir.data import LangIRDataset
from langir.errors import ConfigError, DataError
from tests.data.helpers import make_tree


def test_sirst_preset_detected_with_splits_in_subfolder(tmp_path: Path) -> None:
    make_tree(tmp_path, ["Misc_1", "Misc_2", "Misc_10"], "images/{id}.png", "masks/{id}_pixels0.png",
              splits={"idx_427/trainval.txt": ["Misc_1", "Misc_10"], "idx_427/test.txt": ["Misc_2"]})
    ds = LangIRDataset.open(tmp_path)
    assert ds.layout.name == "sirst"
    assert ds.ids() == ["Misc_1", "Misc_2", "Misc_10"]  # natural order
    assert ds.ids("test") == ["Misc_2"]
    assert ds.mask_path("Misc_2").name == "Misc_2_pixels0.png"
    assert ds.description_write_path("Misc_2").name == "Misc_2-description.txt"


def test_sirst_reads_underscore_description_but_writes_paper_form(tmp_path: Path) -> None:
    make_tree(tmp_path, ["Misc_1", "Misc_2"], "images/{id}.png", "masks/{id}_pixels0.png")
    (tmp_path / "descriptions").mkdir()
    (tmp_path / "descriptions" / "Misc_1_description.txt").write_text("The small target is in the upper left.\n")
    ds = LangIRDataset.open(tmp_path)
    assert ds.read_description("Misc_1") == "The small target is in the upper left."
    assert ds.read_description("Misc_2") is None
    ds.write_description("Misc_2", "The small target is at the center.")
    assert (tmp_path / "descriptions" / "Misc_2-description.txt").is_file()
    # an existing file is kept unless overwrite is asked for, and rewritten in place
    assert ds.write_description("Misc_1", "new") is None
    assert ds.write_description("Misc_1", "new text", overwrite=True).name == "Misc_1_description.txt"


@pytest.mark.parametrize(("ids", "preset"), [(["XDU0", "XDU1"], "irstd1k"), (["000001", "000002"], "nudt"), (["a", "b"], "generic")])
def test_presets_detected_from_ids(tmp_path: Path, ids: list[str], preset: str) -> None:
    make_tree(tmp_path, ids, "images/{id}.png", "masks/{id}.png")
    ds = LangIRDataset.open(tmp_path)
    assert ds.layout.name == preset
    assert ds.description_write_path(ids[0]).name == f"{ids[0]}.description.txt"


def test_nudt_splits_under_50_50(tmp_path: Path) -> None:
    make_tree(tmp_path, ["000001", "000002"], "images/{id}.png", "masks/{id}.png",
              splits={"50_50/train.txt": ["000001"], "50_50/test.txt": ["000002"]})
    ds = LangIRDataset.open(tmp_path)
    assert ds.split_names == ["train", "test"]
    assert ds.layout.splits["train"] == "50_50/train.txt"


def test_explicit_patterns_for_custom_layout(tmp_path: Path) -> None:
    make_tree(tmp_path, ["s1", "s2", "s3"], "mixed/{id}.png", "annotations/masks/{id}_pixels0.png",
              splits={"splits/train.txt": ["s1", "s2"], "splits/test.txt": ["s3"]})
    ds = LangIRDataset.open(tmp_path, images="mixed/{id}.png", masks="annotations/masks/{id}_pixels0.png",
                            splits={"train": "splits/train.txt", "test": "splits/test.txt"})
    assert ds.layout.name == "custom"
    assert ds.ids() == ["s1", "s2", "s3"]
    assert ds.ids("train") == ["s1", "s2"]
    assert ds.load("s3").mask.sum() == 4


def test_langir_toml_beside_the_data(tmp_path: Path) -> None:
    make_tree(tmp_path, ["s1", "s2", "s3"], "mixed/{id}.png", "annotations/masks/{id}_pixels0.png",
              splits={"splits/train.txt": ["s1", "s2"], "splits/test.txt": ["s3"]})
    (tmp_path / "langir.toml").write_text(
        '[layout]\nimages = "mixed/{id}.png"\nmasks = "annotations/masks/{id}_pixels0.png"\n'
        'descriptions = "text/{id}.txt"\nsplits = "splits/*.txt"\n'
    )
    ds = LangIRDataset.open(tmp_path)
    assert set(ds.split_names) == {"train", "test"}
    assert ds.ids("test") == ["s3"]
    assert ds.description_write_path("s1") == tmp_path / "text" / "s1.txt"
    # explicit options win over the file
    ds2 = LangIRDataset.open(tmp_path, descriptions="other/{id}.md")
    assert ds2.description_write_path("s1") == tmp_path / "other" / "s1.md"


def test_any_image_suffix_pattern(tmp_path: Path) -> None:
    make_tree(tmp_path, ["a"], "imgs/{id}.png", "masks/{id}.png")
    make_tree(tmp_path, ["b"], "imgs/{id}.bmp", "masks/{id}.png")
    ds = LangIRDataset.open(tmp_path, images="imgs/{id}.*")
    assert ds.ids() == ["a", "b"]
    assert ds.image_path("b").suffix == ".bmp"
    assert ds.load("b").image.shape == (24, 32)


@pytest.mark.parametrize("pattern", ["images/x.png", "/abs/{id}.png", "../{id}.png", "images/{id}_{n}.png"])
def test_bad_patterns_are_config_errors(tmp_path: Path, pattern: str) -> None:
    make_tree(tmp_path, ["a"], "images/{id}.png", "masks/{id}.png")
    with pytest.raises(ConfigError):
        LangIRDataset.open(tmp_path, images=pattern)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    make_tree(tmp_path, ["a"], "images/{id}.png", "masks/{id}.png")
    (tmp_path / "langir.toml").write_text("[layout]\nimagez = 'x/{id}.png'\n")
    with pytest.raises(DataError, match="langir.toml.*imagez"):
        LangIRDataset.open(tmp_path)
    (tmp_path / "langir.toml").write_text("[layout\n")
    with pytest.raises(DataError, match="invalid TOML"):
        LangIRDataset.open(tmp_path)


def test_missing_folder_and_unknown_preset(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        LangIRDataset.open(tmp_path / "nope")
    with pytest.raises(ConfigError, match="unknown layout"):
        LangIRDataset.open(tmp_path, layout="voc")
