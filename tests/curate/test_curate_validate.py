"""`langir validate` on hand-made datasets: every failure kind, outputs, exit codes, quarantine."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.curate.curate_helpers import make_dataset, square

SHAPE = (60, 90)
UPPER_LEFT = square(SHAPE, [(8, 10)])
LOWER_RIGHT = square(SHAPE, [(50, 80)])
TWO = square(SHAPE, [(8, 10), (50, 80)])
EMPTY = np.zeros(SHAPE, dtype=bool)
GOOD = "The small target lies in the upper left of the image."


def _build(root: Path) -> Path:
    items = {
        "good": (UPPER_LEFT, GOOD),
        "good_two": (TWO, "One small target lies in the upper left. Another small target lies in the lower right."),
        "good_none": (EMPTY, "No small target is visible in the infrared image."),
        "missing": (UPPER_LEFT, None),
        "latin1": (UPPER_LEFT, "The target lies in the upper left, caf\xe9".encode("latin-1")),
        "empty": (UPPER_LEFT, "  \n"),
        "long": (UPPER_LEFT, GOOD + " It is a bright warm spot" + " very" * 50 + "."),
        "refusal": (UPPER_LEFT, "As an AI assistant, I am unable to do this task."),
        "vague": (UPPER_LEFT, "A bright warm spot stands out against the cloudy sky."),
        "plural": (UPPER_LEFT, "Two small targets are in the upper left."),
        "wrong": (LOWER_RIGHT, "The small target lies in the upper left of the image."),
        "says_none": (LOWER_RIGHT, "No small target is visible in the infrared image."),
        "claims": (EMPTY, "The small target lies in the lower right."),
        "sizes": (UPPER_LEFT, GOOD),
        "nomask": (UPPER_LEFT, GOOD),
    }
    make_dataset(root, items, {"trainval": ["good", "good_two", "good_none", "wrong", "sizes"], "test": ["missing", "vague"]})
    # a mask of the wrong size (like Misc_111 in the real SIRST) and a missing mask
    Image.fromarray(np.zeros((10, 10), dtype=np.uint8)).save(root / "masks" / "sizes.png")
    (root / "masks" / "nomask.png").unlink()
    return root


EXPECTED = {
    "good": ("agrees", ""),
    "good_two": ("agrees", ""),
    "good_none": ("no-target", ""),
    "missing": ("n/a", "missing"),
    "latin1": ("n/a", "not-utf8"),
    "empty": ("n/a", "empty"),
    "long": ("agrees", "too-long"),
    "refusal": ("vague", "refusal;no-position"),
    "vague": ("vague", "no-position"),
    "plural": ("agrees", "plural-mismatch"),
    "wrong": ("contradicts", "contradicts"),
    "says_none": ("contradicts", "says-no-target"),
    "claims": ("no-target", "claims-target"),
    "sizes": ("n/a", "unreadable"),
    "nomask": ("n/a", "missing-mask"),
}


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["id"]: row for row in csv.DictReader(fh)}


def test_every_failure_kind_per_id(tmp_path, cli):
    root = _build(tmp_path / "ds")
    out_csv, ids_file = tmp_path / "v.csv", tmp_path / "redo.txt"
    res = cli("validate", root, "--json", "--out", out_csv, "--write-ids", ids_file, "--max-errors", "100")
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    rows = _rows(out_csv)
    assert {i: (r["verdict"], r["failures"]) for i, r in rows.items()} == EXPECTED
    assert "does not match image size" in rows["sizes"]["error"]
    failing = sorted(i for i, (_, f) in EXPECTED.items() if f)
    assert sorted(summary["failing_ids"]) == failing
    # graded = verdict not n/a; agreeing = agrees + no-target with a 'none' text
    graded = [i for i, (v, _) in EXPECTED.items() if v != "n/a"]
    agreeing = ["good", "good_two", "good_none", "long", "plural"]
    assert summary["graded"] == len(graded) and summary["agreeing"] == len(agreeing)
    assert summary["agreement"] == round(len(agreeing) / len(graded), 6)
    assert summary["failures"]["contradicts"] == 1 and summary["failures"]["no-position"] == 2
    # per split: trainval has good, good_two, good_none agreeing, wrong contradicting, sizes ungraded
    assert summary["per_split"]["trainval"] == {"images": 5, "graded": 4, "agreeing": 3, "agreement": 0.75, "failing": 2}
    # ids a new description can fix: not the mask-only problems
    redo = ids_file.read_text().split()
    assert sorted(redo) == sorted(set(failing) - {"sizes", "nomask"})


def test_max_errors_exit_code_and_ignore(tmp_path, cli):
    root = _build(tmp_path / "ds")
    n_failing = sum(1 for _, f in EXPECTED.values() if f)
    assert cli("validate", root, "--max-errors", n_failing).code == 0
    res = cli("validate", root, "--max-errors", n_failing - 1)
    assert res.code == 1 and "failed" in res.stderr
    # ignoring the two length/plural kinds lets exactly those two images pass
    res = cli("validate", root, "--json", "--max-errors", "100", "--ignore", "too-long", "--ignore", "plural-mismatch")
    assert json.loads(res.stdout)["failing"] == n_failing - 2
    res = cli("validate", root, "--ignore", "nonsense")
    assert res.code == 2 and "nonsense" in res.stderr


def test_split_selection_and_quarantine(tmp_path, cli):
    root = _build(tmp_path / "ds")
    res = cli("validate", root, "--split", "trainval", "--json", "--quarantine", "--max-errors", "10")
    summary = json.loads(res.stdout)
    assert summary["images"] == 5
    # 'wrong' is moved aside (kept, not deleted); 'sizes' fails only for its mask and stays
    moved = root / "descriptions" / ".quarantine" / "wrong.description.txt"
    assert moved.read_text(encoding="utf-8").startswith("The small target lies in the upper left")
    assert not (root / "descriptions" / "wrong.description.txt").exists()
    assert (root / "descriptions" / "sizes.description.txt").exists()
    assert [Path(b).name for _, b in summary["quarantined"]] == ["wrong.description.txt"]
    # a second quarantine of a new bad description keeps the first one
    (root / "descriptions" / "wrong.description.txt").write_text("It is on the left side, at the top.")
    cli("validate", root, "--split", "trainval", "--quarantine", "--max-errors", "10")
    assert moved.exists() and (moved.parent / "wrong.description.txt.1").read_text().startswith("It is on the left")
    # without descriptions the images now count as missing
    res = cli("validate", root, "--split", "trainval", "--json", "--max-errors", "10")
    assert json.loads(res.stdout)["failures"]["missing"] == 1


def test_text_output_and_bad_dataset(tmp_path, cli):
    root = _build(tmp_path / "ds")
    res = cli("validate", root, "--max-errors", "100")
    assert res.code == 0
    assert "Grounding agreement" in res.stdout and "sizes" in res.stdout and "unreadable" in res.stdout
    res = cli("validate", tmp_path / "nope")
    assert res.code == 2 and "Traceback" not in res.stderr


def test_descriptions_from_elsewhere(tmp_path, cli):
    # a plain folder of .txt files from another tool, named by --descriptions
    root = _build(tmp_path / "ds")
    other = root / "vlm_out"
    other.mkdir()
    (other / "good.txt").write_text("Bottom right corner.")
    (other / "wrong.txt").write_text("Bottom right corner.")
    res = cli("validate", root, "--descriptions", "vlm_out/{id}.txt", "--split", "trainval", "--json", "--max-errors", "100",
              "--out", tmp_path / "o.csv")
    rows = _rows(tmp_path / "o.csv")
    assert rows["good"]["verdict"] == "contradicts" and rows["wrong"]["verdict"] == "agrees"
    assert rows["good_two"]["failures"] == "missing"
    assert json.loads(res.stdout)["verdicts"]["agrees"] == 1


def test_quarantine_folder_linked_out_of_the_set_is_refused(tmp_path, cli, monkeypatch):
    """`descriptions/.quarantine` linked elsewhere would carry descriptions out of the set: one line, nothing moved."""
    monkeypatch.setenv("LANGIR_FOLLOW_SYMLINKS", "")
    root = _build(tmp_path / "ds")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "descriptions" / ".quarantine").symlink_to(outside)
    before = sorted(p.name for p in (root / "descriptions").glob("*.txt"))
    res = cli("validate", root, "--split", "trainval", "--quarantine", "--max-errors", "10")
    assert res.code == 2, res.stderr
    assert "quarantine folder is a symlink" in res.stderr and "--follow-symlinks" in res.stderr, res.stderr
    assert list(outside.iterdir()) == [] and sorted(p.name for p in (root / "descriptions").glob("*.txt")) == before
