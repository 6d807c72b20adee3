"""`langir pack`: the packed set loads with Hugging Face `datasets` and gives back the same texts and masks."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langir.data.dataset import LangIRDataset

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # nothing reaches the network
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def described(demo_copy: Path, cli) -> Path:
    result = cli("describe", demo_copy, "--provider", "template")
    assert result.code == 0, result.stderr
    # one hand-edited description that denies the targets of its mask: its verdict must travel with it
    ds = LangIRDataset.open(demo_copy)
    ds.description_path("ir_00000").write_text("No target is visible in this image.")
    return demo_copy


def _expected(root: Path) -> tuple[LangIRDataset, dict[str, str], dict[str, np.ndarray]]:
    ds = LangIRDataset.open(root)
    texts = {i: ds.read_description(i) or "" for i in ds.all_ids()}
    masks = {i: ds.read_mask(i) > 0 for i in ds.all_ids()}
    return ds, texts, masks


@pytest.mark.parametrize("fmt", ["hf", "parquet"])
def test_round_trip_through_datasets(described: Path, tmp_path: Path, cli, fmt: str) -> None:
    datasets = pytest.importorskip("datasets")
    out = tmp_path / f"packed-{fmt}"
    result = cli("pack", described, out, "--format", fmt, "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["splits"] == {"trainval": 26, "test": 6}
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == {"trainval", "test"}
    ds, texts, masks = _expected(described)
    seen = set()
    for split in loaded:
        assert set(loaded[split]["id"]) == set(ds.split_ids(split))
        for row in loaded[split]:
            sample_id = row["id"]
            seen.add(sample_id)
            assert row["text"] == texts[sample_id]
            mask = np.asarray(row["mask"].convert("L")) > 0
            assert mask.shape == masks[sample_id].shape and (mask == masks[sample_id]).all(), sample_id
            image = np.asarray(Image.open(ds.image_path(sample_id)))
            assert (np.asarray(row["image"]) == image).all()
            assert row["target_count"] == len(row["centroids"]) == len(row["areas"])
            assert row["provenance_provider"] == "template" and row["provenance_date"]
    assert seen == set(ds.all_ids())
    first = next(r for r in loaded["trainval"] if r["id"] == "ir_00000")
    assert first["verdict"] == "contradicts" and not first["ok"] and "says-no-target" in first["failures"].split(";")
    # the hand-edited text is not what the ledger's provider wrote, and the card says so
    edited = {r["id"] for split in loaded for r in loaded[split] if r["provenance_edited"]}
    assert edited == {"ir_00000"}
    card = (out / "README.md").read_text()
    front = card.split("---")[1]
    assert "annotations_creators:\n- machine-generated" in front and "license: unknown" in front
    assert "- split: trainval" in front and "- split: test" in front
    assert "`template`" in card.split("## Provenance")[1] and "1 description file(s) differ" in card


def test_jsonl_records_point_at_copied_files(described: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "packed"
    assert cli("pack", described, out, "--format", "jsonl").code == 0
    ds, texts, masks = _expected(described)
    rows = [json.loads(line) for split in ("trainval", "test") for line in (out / "data" / f"{split}.jsonl").open()]
    assert len(rows) == 32
    for row in rows:
        assert row["text"] == texts[row["id"]]
        assert ((np.asarray(Image.open(out / row["mask"])) > 0) == masks[row["id"]]).all()
        # centroids in pixels lie on the mask
        for r, c in row["centroids"]:
            assert masks[row["id"]][round(r), round(c)] or masks[row["id"]][int(r), int(c)]


def test_refuses_to_overwrite_and_leaves_nothing_half_written(described: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "packed"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = cli("pack", described, out)
    assert result.code == 2 and "--overwrite" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    bad = cli("pack", described, tmp_path / "x", "--format", "zip")
    assert bad.code == 2 and "hf, jsonl, parquet" in bad.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "packed"]  # no partial folder left
    assert cli("pack", described, out, "--overwrite").code == 0
    assert not (out / "keep.txt").exists() and (out / "README.md").is_file()


def test_broken_samples_are_left_out_and_listed_and_a_full_disk_leaves_nothing(
        described: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    (described / "images" / "ir_00003.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(described / "masks" / "ir_00007.png")  # wrong size
    out = tmp_path / "packed"
    result = cli("pack", described, out, "--format", "jsonl", "--json")
    assert result.code == 1, result.stderr  # finished, with per-item failures
    assert "skipped ir_00003: " in result.stderr and "images/ir_00003.png" in result.stderr
    assert "skipped ir_00007: " in result.stderr and "masks/ir_00007.png" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["skipped"] == ["ir_00003", "ir_00007"] and summary["images"] == 30
    ids = {json.loads(line)["id"] for split in ("trainval", "test") for line in (out / "data" / f"{split}.jsonl").open()}
    assert len(ids) == 30 and not ids & {"ir_00003", "ir_00007"}
    assert not (out / "images" / "ir_00003.png").exists()
    # a full disk while the pack is being written: one line naming OUT, no staging folder, no OUT
    monkeypatch.setenv("LANGIR_FAULT_INJECT", "ENOSPC@metadata.jsonl")
    full = cli("pack", described, tmp_path / "again")
    assert full.code == 2 and "Traceback" not in full.stderr
    assert f"error: cannot write {tmp_path / 'again'}: " in full.stderr and "disk full" in full.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "packed"]


def _ledger(root: Path, columns: str, rows: list[tuple]) -> None:
    (root / ".langir").mkdir(exist_ok=True)
    db = sqlite3.connect(root / ".langir" / "describe.sqlite")
    db.execute(f"CREATE TABLE requests ({columns})")
    marks = ",".join("?" * len(rows[0]))
    db.executemany(f"INSERT INTO requests VALUES ({marks})", rows)
    db.commit()
    db.close()


def test_provenance_reads_new_and_old_ledgers_read_only(tmp_path: Path) -> None:
    from langir.curate.provenance import read_provenance, summarize_provenance

    assert read_provenance(tmp_path) == {} and not (tmp_path / ".langir").exists()  # never created
    new = tmp_path / "new"
    new.mkdir()
    cols = "key, image_id, provider, model, status, text, cost_usd, updated, prompt_style, prompt_digest, attempt, current"
    _ledger(new, cols, [
        ("k1", "a", "openai", "gpt-4o", "done", "old text", 0.002, 1.7e9, "system", "d1", 1, 0),
        ("k2", "a", "anthropic", "claude", "done", "new text", 0.003, 1.6e9, "user", "d2", 2, 1),
        ("k3", "b", "openai", "gpt-4o", "failed", None, 0.001, 1.7e9, "system", "d1", 1, 0),
    ])
    got = read_provenance(new)
    # `current` wins over the newer row; cost sums every request of the image
    assert got["a"]["provider"] == "anthropic" and got["a"]["prompt_digest"] == "d2" and got["a"]["attempt"] == 2
    assert got["a"]["cost_usd"] == pytest.approx(0.005)
    assert "b" not in got  # only a failed request: no description came from the ledger
    old = tmp_path / "old"
    old.mkdir()
    _ledger(old, "key, image_id, provider, model, status, text, cost_usd, updated", [
        ("k1", "a", "openai", "gpt-4o", "done", "first", 0.001, 1.7e9),
        ("k2", "a", "openai", "gpt-4o-mini", "done", "second", 0.001, 1.8e9),
    ])
    # without `current`, the row whose text is in the description file
    assert read_provenance(old, {"a": "first"})["a"]["model"] == "gpt-4o"
    assert read_provenance(old)["a"]["model"] == "gpt-4o-mini"
    assert read_provenance(old)["a"]["prompt_style"] is None
    summary = summarize_provenance(read_provenance(new), ["a", "b"])
    assert summary["with_provenance"] == 1 and summary["providers"] == {"anthropic": 1}
    mtime = (old / ".langir" / "describe.sqlite").stat().st_mtime_ns
    assert sorted(p.name for p in (old / ".langir").iterdir()) == ["describe.sqlite"]  # no -wal/-shm left
    assert (old / ".langir" / "describe.sqlite").stat().st_mtime_ns == mtime


def test_disjoint_splits_keep_the_papers_train_test() -> None:
    from langir.curate.stats import disjoint_splits

    sirst = {"trainval": ["a", "b", "c"], "train": ["a", "b"], "val": ["c"], "test": ["d"], "trainvaltest": list("abcd")}
    assert disjoint_splits(sirst) == ["trainval", "test"]
    assert disjoint_splits({"train": ["a"], "val": ["b"], "all": ["a", "b"]}) == ["train", "val"]
    assert disjoint_splits({"only": ["a", "b"]}) == ["only"]
    assert disjoint_splits({}) == []
