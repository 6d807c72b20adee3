"""Public sets as they ship (their own folder and mask names) open without flags; where the folders leave a
doubt nothing is guessed; patterns the user gave are kept."""

from __future__ import annotations

import json

import pytest

from langir.data import LangIRDataset
from langir.data.layout import resolve_layout
from tests.data.helpers import make_tree

IDS = ["a1", "b2", "c3"]

# (what ships, image pattern, mask pattern, ids): each is found as it is.
SHIPPED = [
    ("IRSTD-1k", "IRSTD1k_Img/{id}.png", "IRSTD1k_Label/{id}.png", ["XDU0", "XDU1", "XDU10"]),
    ("SIRST v2", "mixed/{id}.png", "annotations/masks/{id}_pixels0.png", ["Misc_1", "Misc_2", "Misc_10"]),
    ("imgs + labels", "imgs/{id}.png", "labels/{id}.png", IDS),
    ("Images + Masks", "Images/{id}.png", "Masks/{id}.png", IDS),
    ("images + GT", "images/{id}.png", "GT/{id}.png", IDS),
    ("img + gt, BMP", "img/{id}.bmp", "gt/{id}.bmp", IDS),
    ("JPEGImages + SegmentationClass", "JPEGImages/{id}.jpg", "SegmentationClass/{id}.png", IDS),
    ("masks named _mask", "images/{id}.png", "masks/{id}_mask.png", IDS),
    ("masks named mask_", "images/{id}.png", "masks/mask_{id}.png", IDS),
    ("numeric ids, masks -gt", "images/{id}.png", "masks/{id}-gt.png", ["1", "10", "100"]),
    ("ids with underscores, mask tail", "images/{id}.png", "masks/{id}_label.tif", ["seq_1_f_0", "seq_1_f_1", "seq_2_f_0"]),
]


@pytest.mark.parametrize(("what", "images", "masks", "ids"), SHIPPED, ids=[s[0] for s in SHIPPED])
def test_a_set_as_it_ships_opens_without_flags(tmp_path, what, images, masks, ids):
    root = make_tree(tmp_path, ids, images, masks, splits={"trainval.txt": ids[:2], "test.txt": ids[2:]})
    layout = resolve_layout(root)
    assert (layout.images, layout.masks) == (images, masks), what
    ds = LangIRDataset.open(root)
    assert sorted(ds.all_ids()) == sorted(ids)
    assert ds.ids("test") == ids[2:]
    for sample_id in ids:
        assert ds.read_mask(sample_id, ds.read_image(sample_id).shape).sum() == 4


def test_info_and_describe_work_on_irstd1k_as_it_ships(tmp_path, cli):
    root = make_tree(tmp_path, ["XDU0", "XDU1"], "IRSTD1k_Img/{id}.png", "IRSTD1k_Label/{id}.png")
    info = cli("info", root, "--json", "--strict")
    assert info.code == 0, info.stderr
    summary = json.loads(info.stdout)
    assert (summary["images"], summary["masks"], summary["problems"]) == ("IRSTD1k_Img/{id}.png", "IRSTD1k_Label/{id}.png", [])
    result = cli("describe", root, "--provider", "template")
    assert result.code == 0, result.stderr
    assert len(list((root / "descriptions").iterdir())) == 2


def test_two_image_folders_and_no_masks_to_tell_them_apart_are_not_guessed(tmp_path, cli):
    make_tree(tmp_path, IDS, "imgs/{id}.png", "elsewhere/{id}.png")
    make_tree(tmp_path, IDS, "frames/{id}.png", "elsewhere/{id}.png")
    assert resolve_layout(tmp_path).images == "images/{id}.png"
    result = cli("info", tmp_path)
    assert result.code == 2 and "no images found: looked for images/{id}.png" in result.stderr


def test_of_two_image_folders_the_one_a_mask_folder_pairs_with_is_taken(tmp_path):
    make_tree(tmp_path, IDS, "train_img/{id}.png", "train_label/{id}.png")
    make_tree(tmp_path, ["zz1", "zz2"], "preview/{id}.png", "nothing/{id}.png")
    layout = resolve_layout(tmp_path)
    assert (layout.images, layout.masks) == ("train_img/{id}.png", "train_label/{id}.png")


def test_masks_matching_too_few_ids_are_not_taken(tmp_path):
    root = make_tree(tmp_path, [f"f{i}" for i in range(10)], "images/{id}.png", "masks/{id}_mask.png")
    for i, mask in enumerate(sorted((root / "masks").iterdir())[1:]):
        mask.rename(mask.with_name(f"unrelated{i}.png"))  # one of ten left in a form that pairs
    assert resolve_layout(root).masks == "masks/{id}.png"  # the preset's, and "mask not found" says which


def test_a_parent_of_several_sets_is_not_taken_for_one(tmp_path, cli):
    for name in ("set_a", "set_b"):
        make_tree(tmp_path / name, IDS, "images/{id}.png", "masks/{id}.png")
    assert resolve_layout(tmp_path).images == "images/{id}.png"
    result = cli("info", tmp_path)
    assert result.code == 2 and result.stdout == ""
    assert f"this folder holds 2 dataset folder(s): set_a/, set_b/ — pass one of them (e.g. {tmp_path / 'set_a'})" in result.stderr


def test_patterns_the_user_gave_are_kept_and_masks_fit_to_the_users_images(tmp_path):
    root = make_tree(tmp_path, IDS, "IRSTD1k_Img/{id}.png", "IRSTD1k_Label/{id}.png")
    make_tree(tmp_path, IDS, "other/{id}.png", "unused/{id}.png")
    layout = resolve_layout(root, images="other/{id}.png")
    assert (layout.images, layout.masks) == ("other/{id}.png", "IRSTD1k_Label/{id}.png")
    layout = resolve_layout(root, masks="unused/{id}.png")
    assert (layout.images, layout.masks) == ("IRSTD1k_Img/{id}.png", "unused/{id}.png")
    (root / "langir.toml").write_text('[layout]\nmasks = "nowhere/{id}.png"\n')
    assert resolve_layout(root).masks == "nowhere/{id}.png"


def test_the_bundled_demo_and_sirst_layouts_are_unchanged(demo_root, tmp_path):
    layout = resolve_layout(demo_root)
    assert (layout.images, layout.masks) == ("images/{id}.png", "masks/{id}.png")
    root = make_tree(tmp_path, ["Misc_1", "Misc_2"], "images/{id}.png", "masks/{id}_pixels0.png")
    layout = resolve_layout(root)
    assert (layout.name, layout.images, layout.masks) == ("sirst", "images/{id}.png", "masks/{id}_pixels0.png")


def test_split_lists_named_otherwise_are_found_by_their_lines(tmp_path):
    ids = ["Misc_1", "Misc_2", "Misc_3", "Misc_4"]
    root = make_tree(tmp_path, ids, "mixed/{id}.png", "annotations/masks/{id}_pixels0.png",
                     splits={"splits/trainval_full.txt": ["Misc_1.png", "Misc_2.png"], "splits/test_full.txt": ["Misc_3"],
                             "splits/validation_v2.txt": ["# held out", "Misc_4"],
                             "splits/test_results.txt": ["IoU 0.71", "nIoU 0.69"]})
    ds = LangIRDataset.open(root)
    assert ds.layout.splits == {"trainval": "splits/trainval_full.txt", "test": "splits/test_full.txt",
                                "val": "splits/validation_v2.txt"}
    assert (ds.ids("trainval"), ds.ids("test"), ds.ids("val")) == (["Misc_1", "Misc_2"], ["Misc_3"], ["Misc_4"])


def test_several_lists_of_one_split_word_are_named_by_their_stems(tmp_path):
    root = make_tree(tmp_path, IDS, "images/{id}.png", "masks/{id}.png",
                     splits={"lists/train_part1.txt": ["a1"], "lists/train_part2.txt": ["b2"], "lists/test_list.txt": ["c3"]})
    assert resolve_layout(root).splits == {"train_part1": "lists/train_part1.txt", "train_part2": "lists/train_part2.txt",
                                           "test": "lists/test_list.txt"}


def test_a_split_named_list_out_of_the_set_or_not_a_file_is_no_split(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("a1\nb2\n")
    root = make_tree(tmp_path / "set", IDS, "images/{id}.png", "masks/{id}.png")
    (root / "train_list.txt").symlink_to(outside)
    (root / "test_list.txt").mkdir()
    assert resolve_layout(root).splits == {}
