"""`langir report`: what the plots and the card say (judged like validate, standalone HTML, no masks)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from langir.data.dataset import LangIRDataset
from tests.curate.curate_helpers import make_dataset, square


def _confusion(root: Path, strictness: str = "broad"):
    from langir.curate.report import region_confusion
    from langir.curate.validate import validate_dataset

    ds = LangIRDataset.open(root)
    result = validate_dataset(ds, ds.all_ids(), strictness=strictness)
    return region_confusion(result.claims, result.targets, result.tolerance, strictness)


def _off_diagonal(table) -> int:
    values = table.to_numpy()
    return int(values.sum() - np.trace(values))


def test_confusion_of_a_correct_set_is_diagonal_and_a_wrong_claim_lands_off_it(tmp_path: Path) -> None:
    shape = (90, 90)
    # a target in the middle third but the upper half: "upper" is right (half-plane), so is "center"
    items = {
        "a": (square(shape, [(40, 10)]), "The small target is in the upper left of the image."),
        "b": (square(shape, [(40, 80)]), "The small target is near the center right."),
        "c": (square(shape, [(80, 45)]), "The small target is at the bottom center."),
    }
    right = _confusion(make_dataset(tmp_path / "right", items))
    for axis, table in right.items():
        assert _off_diagonal(table) == 0 and int(np.trace(table.to_numpy())) == 3, (axis, table)
    # under the grid rule (validate's default) a plain "upper" is the upper third: "a" is judged as the verdicts are
    grid = _confusion(tmp_path / "right", "grid")
    assert grid["vertical"].loc["center", "upper"] == 1 and _off_diagonal(grid["horizontal"]) == 0
    items["c"] = (items["c"][0], "The small target is at the top center.")  # vertical wrong, horizontal right
    wrong = _confusion(make_dataset(tmp_path / "wrong", items))
    assert wrong["vertical"].loc["lower", "upper"] == 1 and _off_diagonal(wrong["vertical"]) == 1
    assert _off_diagonal(wrong["horizontal"]) == 0


def test_card_is_standalone_with_metadata_provenance_and_disjoint_table1(tmp_path: Path, cli) -> None:
    shape = (40, 40)
    items = {i: (square(shape, [(5, 5)]), "The small target is in the upper left.") for i in "abcd"}
    items["e"] = (np.zeros(shape, dtype=bool), "The small target is in the lower right.")  # claims a target on an empty frame
    root = make_dataset(tmp_path / "ds", items, {"trainval": ["a", "b", "c"], "train": ["a", "b"], "val": ["c"],
                                                 "test": ["d", "e"]})
    out = tmp_path / "rep"
    res = cli("report", root, "--out", out, "--license", "cc-by-4.0", "--json")
    assert res.code == 0, res.stderr
    html = (out / "card.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert base64.b64decode(sources[0].split(",", 1)[1]) == (out / "table1.png").read_bytes()
    card = (out / "README.md").read_text()
    front = card.split("---\n")[1]
    assert "license: cc-by-4.0" in front and "annotations_creators:\n- machine-generated" in front
    assert "task_categories:" in front and "source_datasets:" in front
    assert "## Provenance" in card and "No describe ledger" in card
    # table1.png draws trainval and test only (train and val overlap trainval)
    assert "plotted: trainval, test" in card
    # the claims-target failure on the empty frame is a grounding failure, drawn red
    from langir.curate.report import outcome_colour

    assert outcome_colour(["claims-target"]) == outcome_colour(["contradicts"]) != outcome_colour([])
    assert json.loads(res.stdout)["validation"]["failures"]["claims-target"] == 1


def test_dataset_without_masks_gets_no_blank_plots_and_says_what_it_skipped(tmp_path: Path, cli) -> None:
    shape = (40, 40)
    root = make_dataset(tmp_path / "ds", {i: (square(shape, [(5, 5)]), "The target is in the upper left.") for i in "abc"})
    for mask in (root / "masks").iterdir():
        mask.unlink()
    out = tmp_path / "rep"
    res = cli("report", root, "--out", out, "--json")
    assert res.code == 0, res.stderr
    done = json.loads(res.stdout)
    names = sorted(Path(p).name for p in done["files"])
    assert names == ["README.md", "card.html", "failures.png", "table1.png", "word_counts.png"]
    assert done["skipped"] == {"no mask": ["a", "b", "c"]}
    assert "not graded, no mask: a, b, c" in res.stderr
    for name in names:
        if name.endswith(".png"):
            pixels = np.asarray(Image.open(out / name).convert("L"))
            assert (pixels < 128).mean() > 0.003, name  # something is drawn, not an empty frame
    assert "No masks were found" in (out / "README.md").read_text()


def test_stats_json_flag_matches_format_json(tmp_path: Path, cli) -> None:
    root = make_dataset(tmp_path / "ds", {"a": (square((20, 20), [(3, 3)]), "Upper left target.")})
    flag = cli("stats", root, "--json")
    fmt = cli("stats", root, "--format", "json")
    assert flag.code == fmt.code == 0
    assert json.loads(flag.stdout) == json.loads(fmt.stdout)
    assert json.loads(flag.stdout)["table1"][0]["Upper"] == 1
