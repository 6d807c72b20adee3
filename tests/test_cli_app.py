"""The CLI skeleton: help, version, user errors as one line with exit 2, info on real data."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from langir import __version__
from langir.cli import COMMAND_MODULES, app
from tests.conftest import REPO, run_langir
from tests.data.helpers import make_tree


def test_help_lists_every_command_and_each_has_an_example(cli) -> None:
    names = sorted(c.name for c in app.registered_commands)
    assert len(names) >= len(COMMAND_MODULES)
    top = cli("--help")
    assert top.code == 0
    for name in names:
        assert re.search(rf"\b{name}\b", top.stdout), name
        sub = cli(name, "--help")
        assert sub.code == 0, name
        assert "Example" in sub.stdout and f"langir {name}" in sub.stdout, f"{name} --help has no example"


def test_version(cli) -> None:
    result = cli("--version")
    assert result.code == 0 and result.stdout.strip() == f"langir {__version__}"


def test_user_error_is_one_red_line_exit_2(tmp_path: Path) -> None:
    result = run_langir("info", tmp_path / "missing")
    assert result.code == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "dataset folder not found" in lines[0] and "missing" in lines[0]
    verbose = run_langir("--verbose", "info", tmp_path / "missing")
    assert verbose.code == 2 and "Traceback" in verbose.stderr


def test_info_json_on_made_up_tree(tmp_path: Path, cli) -> None:
    make_tree(tmp_path, ["a", "b", "c"], "images/{id}.png", "masks/{id}.png",
              splits={"trainval.txt": ["a", "b"], "test.txt": ["c"]})
    (tmp_path / "masks" / "b.png").unlink()
    result = cli("info", tmp_path, "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["split_counts"] == {"trainval": 2, "test": 1}
    assert report["images_without_mask"] == ["b"]
    assert report["targets"] == 2 and report["target_area_px"]["max"] == 4
    # selecting one split, and --strict turning a bad sample into exit 1 (finished, problems listed)
    (tmp_path / "images" / "c.png").write_bytes(b"")
    only = json.loads(cli("info", tmp_path, "--split", "trainval", "--json").stdout)
    assert only["checked"] == 2
    strict = cli("info", tmp_path, "--strict")
    assert strict.code == 1 and "c.png" in strict.stderr


def test_info_on_real_sirst_needs_no_flags(sirst_root: Path, cli) -> None:
    result = cli("info", sirst_root, "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["layout"] == "sirst"
    assert report["image_count"] == 427
    assert report["split_counts"]["trainval"] + report["split_counts"]["test"] == 427
    assert set(report["image_modes"]) >= {"RGB", "L", "RGBA", "P"}
    # The public release's Misc_111 mask belongs to a larger copy of the image: reported, not fatal.
    assert [p["id"] for p in report["skipped"]] == ["Misc_111"]
    assert report["targets"] > 426
    assert report["target_area_percent"]["median"] < 0.15


def test_help_has_no_bool_placeholder_and_lists_commands_in_workflow_order(cli) -> None:
    from langir.cli import COMMAND_ORDER

    top = cli("--help")
    assert "<bool>" not in top.stdout and "--verbose" in top.stdout
    listed = [m.group(1) for m in re.finditer(r"^│ (\w+) ", top.stdout, re.M) if m.group(1) in COMMAND_ORDER]
    assert listed == sorted(listed, key=COMMAND_ORDER.index) and len(listed) >= 12, listed
    for name in ("stats", "report", "pack", "describe", "eval"):
        sub = cli(name, "--help")
        assert "<bool>" not in sub.stdout and "--help" in sub.stdout, name


def test_error_text_is_printed_literally(tmp_path: Path, cli) -> None:
    # issue 13: rich markup swallowed "[layout]"; the user's text must reach the terminal as written
    make_tree(tmp_path, ["a"], "images/{id}.png", "masks/{id}.png")
    (tmp_path / "langir.toml").write_text('[layout]\nimagez = "x/{id}.png"\n')
    result = cli("info", tmp_path)
    assert result.code == 2
    assert "unknown key(s) in [layout]: imagez" in result.stderr


def test_declared_python_matches_the_code() -> None:
    """requires-python, ruff's target and the code agree: the grammar parses and the stdlib used exists."""
    import ast
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = meta["project"]["requires-python"]
    match = re.fullmatch(r">=(\d+)\.(\d+)", declared)
    assert match, declared
    minimum = (int(match.group(1)), int(match.group(2)))
    assert meta["tool"]["ruff"]["target-version"] == f"py{minimum[0]}{minimum[1]}"
    # stdlib modules newer than 3.10; importing one unguarded needs that Python
    added = {"tomllib": (3, 11), "wsgiref.types": (3, 11)}
    needs = (3, 10)
    for path in [*REPO.glob("langir/**/*.py"), *REPO.glob("tests/**/*.py"), *REPO.glob("bench/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=minimum)
        guarded = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try) for b in t.body for n in ast.walk(b)}
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                if name in added and id(node) not in guarded:
                    needs = max(needs, added[name])
    assert needs <= minimum, f"code needs Python {needs}, pyproject declares {declared}"
    assert sys.version_info[:2] >= minimum
