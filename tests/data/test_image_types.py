"""Sets stored as BMP, JPEG or TIFF (frames or masks) work without flags, and a cut frame of any type is found
by `langir info` (Pillow verifies PNGs only) with one line naming it, none of Pillow's warnings on the way."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langir.data import LangIRDataset
from langir.data.imageio import image_info, read_image
from langir.data.layout import resolve_layout
from langir.errors import DataError
from tests.data.helpers import make_tree

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("suffix", [".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".BMP"])
def test_a_set_of_one_image_type_is_found_without_flags(tmp_path, suffix):
    root = make_tree(tmp_path, ["a", "b", "c"], "images/{id}" + suffix, "masks/{id}.png")
    layout = resolve_layout(root)
    assert layout.images == "images/{id}" + suffix and layout.masks == "masks/{id}.png"
    ds = LangIRDataset.open(root)
    assert ds.all_ids() == ["a", "b", "c"]
    assert ds.read_image(ds.all_ids()[0]).shape == (24, 32)


def test_bmp_masks_and_mixed_frames_are_found(tmp_path):
    root = make_tree(tmp_path, ["a", "b"], "images/{id}.bmp", "masks/{id}.bmp")
    make_tree(tmp_path, ["c"], "images/{id}.jpg", "masks/{id}.bmp")
    layout = resolve_layout(root)
    assert layout.images == "images/{id}.*" and layout.masks == "masks/{id}.bmp"
    ds = LangIRDataset.open(root)
    assert ds.all_ids() == ["a", "b", "c"]
    assert ds.image_path("c").name == "c.jpg" and ds.image_path("a").name == "a.bmp"
    assert ds.read_mask("c").sum() == 4


def test_mixed_mask_types_resolve_per_id(tmp_path):
    root = make_tree(tmp_path, ["a"], "images/{id}.png", "masks/{id}.bmp")
    make_tree(tmp_path, ["b"], "images/{id}.png", "masks/{id}.tif")
    ds = LangIRDataset.open(root)
    assert ds.layout.masks == "masks/{id}.*"
    assert ds.mask_path("a").name == "a.bmp" and ds.mask_path("b").name == "b.tif"
    assert all(ds.read_mask(i).sum() == 4 for i in ("a", "b"))


def test_png_sets_and_explicit_patterns_are_left_as_they_are(tmp_path):
    png = make_tree(tmp_path / "png", ["a"], "images/{id}.png", "masks/{id}.png")
    make_tree(tmp_path / "png", ["z"], "images/{id}.bmp", "masks/{id}.png")  # a stray BMP beside PNGs
    assert resolve_layout(png).images == "images/{id}.png"
    bmp = make_tree(tmp_path / "bmp", ["a"], "images/{id}.bmp", "masks/{id}.png")
    assert resolve_layout(bmp, images="images/{id}.png").images == "images/{id}.png"  # the user's word
    sirst = make_tree(tmp_path / "sirst", ["Misc_1"], "images/{id}.png", "masks/{id}_pixels0.png")
    layout = resolve_layout(sirst)
    assert (layout.name, layout.masks) == ("sirst", "masks/{id}_pixels0.png")


def test_describe_a_bmp_set_offline_end_to_end(tmp_path, cli):
    root = make_tree(tmp_path, ["a", "b"], "images/{id}.bmp", "masks/{id}.bmp")
    result = cli("describe", root, "--provider", "template")
    assert result.code == 0, result.stderr
    assert sorted(p.name for p in (root / "descriptions").iterdir()) == ["a.description.txt", "b.description.txt"]


def _cut(data: bytes, keep: float) -> bytes:
    return data[:int(len(data) * keep)]


def _encoded(fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (24, 32), dtype=np.uint8)).save(buf, fmt, **save)
    return buf.getvalue()


CUT_FILES = {
    ".bmp": lambda: _cut(_encoded("BMP"), 0.6),
    ".jpg": lambda: _cut(_encoded("JPEG", quality=90), 0.6),
    ".tif": lambda: _cut(_encoded("TIFF"), 0.6),
    ".tiff": lambda: _cut(_encoded("TIFF", compression="tiff_deflate"), 0.98),
}


@pytest.mark.parametrize("suffix", list(CUT_FILES))
def test_a_cut_frame_of_any_type_is_a_problem_langir_info_names(tmp_path, cli, suffix):
    root = make_tree(tmp_path, ["a", "b", "c"], "images/{id}" + suffix, "masks/{id}.png")
    cut = root / "images" / ("b" + suffix)
    cut.write_bytes(CUT_FILES[suffix]())
    with pytest.raises(DataError) as err:
        image_info(cut)
    assert str(cut) in str(err.value)
    assert image_info(cut, verify=False)[:2] == (32, 24)  # its header alone is fine
    with pytest.raises(DataError):
        read_image(cut)
    result = cli("info", root, "--json", "--strict")
    assert result.code == 1, result.stderr
    problems = {p["id"]: p["error"] for p in json.loads(result.stdout)["problems"]}
    assert set(problems) == {"b"} and problems["b"].startswith(f"{cut}: ")
    assert "corrupt" in problems["b"] or "not a readable image" in problems["b"]
    assert "Warning" not in result.stderr and "Traceback" not in result.stderr
    assert "decoder error" not in problems["b"] or "broken or cut short" in problems["b"]


def test_whole_frames_of_every_type_pass_the_check(tmp_path):
    for fmt, suffix in (("BMP", ".bmp"), ("JPEG", ".jpg"), ("TIFF", ".tif"), ("WEBP", ".webp"), ("PNG", ".png")):
        path = Path(tmp_path / ("x" + suffix))
        path.write_bytes(_encoded(fmt))
        assert image_info(path)[:2] == (32, 24)
