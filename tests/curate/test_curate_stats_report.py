"""`langir stats` (Table 1, lengths, formats, several datasets) and `langir report` (plots, card, HTML)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
from PIL import Image

from tests.curate.curate_helpers import make_dataset, square

SHAPE = (48, 64)
TEXTS = {
    # Left Right Center Lower Upper counted by hand (exact words; hyphen parts count; no 'leftmost')
    "a": "The target is in the Upper-Left corner, left of a tree.",          # L2 U1
    "b": "A target near the center, slightly to the RIGHT; top of frame.",  # R1 C1 (top only with synonyms)
    "c": "Lower right quadrant; the leftmost edge is empty. Bottom middle too.",  # L0 R1 Lo1 (+bottom, middle)
    "d": "As an AI assistant, I am unable to do this task.",               # refusal, no words
    "e": None,                                                              # missing
}
EXACT = {"a": (2, 0, 0, 0, 1), "b": (0, 1, 1, 0, 0), "c": (0, 1, 0, 1, 0), "d": (0,) * 5}
SYN = {"a": (2, 0, 0, 0, 1), "b": (0, 1, 1, 0, 1), "c": (0, 1, 1, 2, 0), "d": (0,) * 5}
WORDS = {"a": 11, "b": 12, "c": 11, "d": 11}  # 'Upper-Left' is one word


def _ds(tmp_path, name="one"):
    mask = square(SHAPE, [(5, 5)])
    items = {k: (mask, v) for k, v in TEXTS.items()}
    return make_dataset(tmp_path / name, items, {"trainval": ["a", "b", "e"], "test": ["c", "d"]})


def _sum(counts: dict, ids) -> list[int]:
    return [int(v) for v in np.sum([counts[i] for i in ids], axis=0)]


def test_table1_and_lengths_json(tmp_path, cli):
    root = _ds(tmp_path)
    res = cli("stats", root, "--format", "json", "--max-words", "11")
    assert res.code == 0, res.stderr
    data = json.loads(res.stdout)
    t1 = {r["split"]: [r[w] for w in ("Left", "Right", "Center", "Lower", "Upper")] for r in data["table1"]}
    assert t1 == {"trainval": _sum(EXACT, "ab"), "test": _sum(EXACT, "cd"), "all": _sum(EXACT, "abcd")}
    rows = {r["split"]: r for r in data["rows"]}
    assert rows["trainval"]["images"] == 3 and rows["trainval"]["missing"] == 1 and rows["trainval"]["descriptions"] == 2
    assert rows["test"]["refusals"] == 1
    assert rows["all"]["words_max"] == max(WORDS.values())
    assert rows["all"]["words_median"] == float(np.median(list(WORDS.values())))
    assert rows["all"]["over_limit"] == sum(v > 11 for v in WORDS.values())
    assert rows["all"]["over_limit_share"] == round(1 / 4, 6)
    top = dict(data["top_words"]["one"])
    assert top["target"] == 2 and "the" not in top
    res = cli("stats", root, "--format", "json", "--synonyms")
    t1 = {r["split"]: [r[w] for w in ("Left", "Right", "Center", "Lower", "Upper")] for r in json.loads(res.stdout)["table1"]}
    assert t1["all"] == _sum(SYN, "abcd")


def test_formats_out_and_several_datasets(tmp_path, cli):
    one, two = _ds(tmp_path, "one"), _ds(tmp_path, "two")
    (two / "descriptions" / "a.description.txt").write_text("Right, right, right.")
    res = cli("stats", one, two, "--split", "test", "--format", "csv")
    assert res.code == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [(r["dataset"], r["split"]) for r in rows] == [("one", "test"), ("two", "test")]
    out = tmp_path / "s.md"
    assert cli("stats", one, two, "--format", "markdown", "--out", out).code == 0
    md = out.read_text()
    assert "| Left | Right | Center | Lower | Upper |" in md and "| two | all |" in md
    # 'two' has three more Right and loses a's two Left and one Upper
    res = json.loads(cli("stats", one, two, "--format", "json").stdout)
    alls = {r["dataset"]: r for r in res["table1"] if r["split"] == "all"}
    assert alls["two"]["Right"] - alls["one"]["Right"] == 3 and alls["one"]["Left"] - alls["two"]["Left"] == 2
    res = cli("stats", one)
    assert res.code == 0 and "Table 1" in res.stdout and "trainval" in res.stdout
    assert cli("stats", one, "--format", "xml").code == 2
    assert cli("stats", one, "--split", "nope").code == 2


def test_report_files(tmp_path, cli):
    shape = (40, 60)
    items = {
        "ok": (square(shape, [(5, 5)]), "The small target is in the upper left."),
        "bad": (square(shape, [(35, 55)]), "The small target is in the upper left."),
        "vague": (square(shape, [(20, 30)]), "A faint warm dot."),
        "none": (np.zeros(shape, dtype=bool), "No small target is visible in the infrared image."),
        "gone": (square(shape, [(5, 5)]), None),
    }
    root = make_dataset(tmp_path / "ds", items, {"trainval": ["ok", "bad", "vague"], "test": ["none", "gone"]})
    Image.fromarray(np.zeros((3, 3), dtype=np.uint8)).save(root / "masks" / "gone.png")  # size mismatch
    out = tmp_path / "rep"
    res = cli("report", root, "--out", out, "--json", "--gallery", "3")
    assert res.code == 1, res.stderr  # finished, with a per-item failure: gone's mask does not fit its image
    assert "skipped gone: " in res.stderr and "masks/gone.png" in res.stderr
    done = json.loads(res.stdout)
    names = sorted(p.split("/")[-1] for p in done["files"])
    assert names == sorted(["table1.png", "word_counts.png", "failures.png", "target_heatmap.png", "region_confusion.png",
                            "gallery.png", "README.md", "card.html"])
    for name in names:
        if name.endswith(".png"):
            with Image.open(out / name) as img:
                assert img.width > 300 and img.height > 200
    card = (out / "README.md").read_text()
    for name in names:
        if name.endswith(".png"):
            assert f"]({name})" in card
    html = (out / "card.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and '<img src="data:image/png;base64,' in html and "<table" in html
    assert done["skipped"] == {"unreadable image or mask": ["gone"], "no description": ["gone"]}
    assert list(done["broken"]) == ["gone"] and "masks/gone.png" in done["broken"]["gone"]
    assert "Skipped, 1 sample(s)" in card and "masks/gone.png" in card
    assert done["validation"]["verdicts"] == {"agrees": 1, "contradicts": 1, "ambiguous": 0, "vague": 1, "no-target": 1, "n/a": 1}
    # worst grounded first: the contradiction, then the vague one
    from langir.curate.report import worst_grounded
    from langir.curate.validate import validate_dataset
    from langir.data.dataset import LangIRDataset

    ds = LangIRDataset.open(root)
    order = worst_grounded(validate_dataset(ds, ds.all_ids()).table, 4)["id"].tolist()
    assert order[:2] == ["bad", "vague"]
    assert cli("report", root).code == 2  # --out is required


def test_empty_dataset_and_bad_out(tmp_path, cli):
    root = tmp_path / "empty"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for args in (("validate", root, "--json"), ("stats", root, "--format", "json"), ("report", root, "--out", tmp_path / "rep")):
        res = cli(*args)  # issue 22: a folder without images is an error naming the pattern, not "0 on disk"
        assert res.code == 2 and "no images found: looked for images/{id}.png" in res.stderr, (args, res.stderr)
    assert not (tmp_path / "rep").exists() and sorted(p.name for p in root.iterdir()) == ["images", "masks"]
    root = _ds(tmp_path)
    (tmp_path / "file").write_text("x")
    res = cli("report", root, "--out", tmp_path / "file")
    assert res.code == 2 and f"{tmp_path / 'file'}: exists and is not a folder" in res.stderr
    assert (tmp_path / "file").read_text() == "x"
