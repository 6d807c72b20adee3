"""Redo really re-asks (new paid request, every answer kept), grounded hints, empty frames, the cost cap."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pytest
from PIL import Image

from langir.data.text_rules import NO_TARGET_SENTENCE
from tests.describe.describe_helpers import SECRET, make_dataset
from tests.describe.vlm_helpers import (
    FakeVLM,
    VLMServer,
    assert_every_paid_answer_recorded_once,
    counts_by_sha,
    image_sha,
    truth_cells,
)

FAST = ["--backoff", "0.01", "--timeout", "5"]


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


def _rows(root, image_id=None):
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    con.row_factory = sqlite3.Row
    sql = "SELECT * FROM requests" + (" WHERE image_id=?" if image_id else "") + " ORDER BY image_id, attempt"
    return [dict(r) for r in con.execute(sql, (image_id,) if image_id else ())]


def _setup(tmp_path, n=8, **vlm_kwargs):
    root = make_dataset(tmp_path / "ds", n, size=(48, 48), empty=vlm_kwargs.pop("empty", ()))
    truth = truth_cells(root / "images", root / "masks")
    return root, truth, FakeVLM(truth, **vlm_kwargs)


def vlm_text_is_wrong(truth, request) -> bool:
    from tests.describe.vlm_helpers import sentence

    return request["text"] != sentence(truth[request["sha"]][0])


def _posts(server):
    return server.api.paths["POST /v1/chat/completions"]


def test_validate_then_redo_file_reasks_exactly_the_failing(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 8, p_wrong=0.4, seed=3)
    with VLMServer(vlm) as server:
        url = ["--provider", "openai", "--base-url", server.openai_url, *FAST]
        assert cli("describe", root, *url).code == 0
        assert _posts(server) == 8
        wrong_shas = {r["sha"] for r in server.requests if vlm_text_is_wrong(truth, r)}
        assert 0 < len(wrong_shas) < 8
        # the README chain: validate exits 1 (failures) and writes the ids; describe --redo re-asks them
        res = cli("validate", root, "--write-ids", tmp_path / "redo.txt")
        assert res.code == 1
        redo = (tmp_path / "redo.txt").read_text().split()
        sha_of = {p.stem: image_sha(p) for p in (root / "images").glob("*.png")}
        assert {sha_of[i] for i in redo} == wrong_shas
        res = cli("describe", root, "--redo", tmp_path / "redo.txt", "--json", *url)
        assert res.code == 0, res.stderr
        summary = json.loads(res.stdout)
        # exactly one new paid request per listed id (p_wrong applies again at temperature 0.7)
        assert _posts(server) == 8 + len(redo) == 8 + summary["answers"]
        redo_requests = server.requests[8:]
        assert all(r["temperature"] >= 0.7 for r in redo_requests)
        for image_id in redo:
            rows = _rows(root, image_id)
            assert [r["attempt"] for r in rows] == [0, 1]  # both paid answers kept
            assert [r["current"] for r in rows] == [0, 1]
            assert (root / "descriptions" / f"{image_id}.description.txt").read_text().strip() == rows[1]["text"]
        # a plain re-run buys nothing: every image has a current answer
        before = _posts(server)
        assert cli("describe", root, "--overwrite", *url).code == 0
        assert _posts(server) == before
        # `--redo failing` computes validate's verdict in process and asks only those still wrong
        still = cli("validate", root, "--json")
        failing = json.loads(still.stdout)["failing_ids"]
        res = cli("describe", root, "--redo", "failing", "--json", *url)
        assert _posts(server) == before + len(failing)
        assert json.loads(res.stdout)["answers"] == len(failing)
        assert_every_paid_answer_recorded_once(root, server)


def test_quarantined_answer_is_not_restored(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 6, p_wrong=0.5, seed=1)
    with VLMServer(vlm) as server:
        url = ["--provider", "openai", "--base-url", server.openai_url, *FAST]
        assert cli("describe", root, *url).code == 0
        res = cli("validate", root, "--quarantine", "--json")
        moved = json.loads(res.stdout)["quarantined"]
        assert moved
        before = _posts(server)
        assert cli("describe", root, *url).code == 0
        assert _posts(server) == before + len(moved)  # rejected answers are bought anew, not restored


def test_grounded_prompt_gives_the_mask_regions_as_a_hint(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 6, p_wrong=1.0)  # wrong every time, unless given the hint
    with VLMServer(vlm) as server:
        res = cli("describe", root, "--provider", "openai", "--base-url", server.openai_url, "--prompt-style",
                  "grounded", "--json", *FAST)
        assert res.code == 0, res.stderr
        for req in server.requests:
            cell = truth[req["sha"]][0]
            from langir.data.positions import cell_phrase

            phrase = cell_phrase(cell)
            expected = "the center of the image" if phrase == "center" else f"the {phrase.replace(' ', '-')} part"
            assert expected in req["prompt"], req["prompt"]
            assert "{hint}" not in req["prompt"]
    res = cli("validate", root, "--json")
    assert res.code == 0 and json.loads(res.stdout)["agreement"] == 1.0
    assert {r["prompt_style"] for r in _rows(root)} == {"grounded"}


def test_empty_frame_bounded_reasks_then_no_target_sentence(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 4, empty=(1,), insist=True, p_wrong=0.0)
    empty_sha = image_sha(root / "images" / "ir_00001.png")
    with VLMServer(vlm) as server:
        url = ["--provider", "openai", "--base-url", server.openai_url, "--concurrency", "1", *FAST]
        dry = cli("describe", root, "--dry-run", "--json", *url)
        report = json.loads(dry.stdout)
        assert report["empty_masks"] == 1 and report["expected_reasks"] == 2 and report["requests"] == 4
        assert not (root / ".langir").exists()  # a dry run writes nothing
        res = cli("describe", root, "--json", *url)
        assert res.code == 0, res.stderr
        summary = json.loads(res.stdout)
        assert summary["no_target_fallback"] == 1 and summary["described"] == 3
        temps = [r["temperature"] for r in server.requests if r["sha"] == empty_sha]
        assert temps == [0.0, 0.7, 0.7]  # 1 + --invalid-retries 2, never twice at temperature 0
        text = (root / "descriptions" / "ir_00001.description.txt").read_text().strip()
        assert text == NO_TARGET_SENTENCE
        rows = _rows(root, "ir_00001")
        assert [r["status"] for r in rows] == ["invalid", "invalid", "invalid", "done"]
        assert rows[-1]["prompt_style"] == "no-target-fallback" and rows[-1]["current"] == 1
        before = _posts(server)
        assert cli("describe", root, "--overwrite", *url).code == 0
        assert _posts(server) == before  # the fallback is an answer: nothing bought again
        assert_every_paid_answer_recorded_once(root, server)
    res = cli("validate", root, "--json")
    assert json.loads(res.stdout)["agreement"] == 1.0


def test_empty_frame_left_undescribed_on_request(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 2, empty=(0,), insist=True, p_wrong=0.0)
    with VLMServer(vlm) as server:
        url = ["--provider", "openai", "--base-url", server.openai_url, *FAST]
        res = cli("describe", root, "--leave-undescribed", "--json", *url)
        assert res.code == 1
        assert not (root / "descriptions" / "ir_00000.description.txt").exists()
        assert json.loads(res.stdout)["failures"][0]["status"] == "invalid"
        # a plain re-run does not buy the same refusal again; --redo does (a fresh bound)
        before = _posts(server)
        assert cli("describe", root, "--leave-undescribed", *url).code == 1
        assert _posts(server) == before
        (tmp_path / "one.txt").write_text("ir_00000\n")
        cli("describe", root, "--leave-undescribed", "--redo", tmp_path / "one.txt", *url)
        assert _posts(server) == before + 3


@pytest.mark.parametrize("concurrency", [1, 6])
def test_max_cost_is_never_exceeded(tmp_path, keys, cli, concurrency):
    root, truth, vlm = _setup(tmp_path, 16, p_wrong=0.0)
    per_call = (300 * 2.5 + 20 * 10.0) / 1e6  # the fake's usage at gpt-4o prices
    cap = 0.012
    with VLMServer(vlm, latency=0.05) as server:
        res = cli("describe", root, "--provider", "openai", "--base-url", server.openai_url, "--max-cost", str(cap),
                  "--concurrency", str(concurrency), "--json", *FAST)
        served = _posts(server)
    summary = json.loads(res.stdout)
    assert res.code == 1  # over-budget images are listed failures
    assert served * per_call <= cap and summary["cost_usd"] <= cap
    assert summary["counts"]["unaffordable"] == 16 - served
    assert served >= 2  # the cap is used, not refused outright
    assert sum(counts_by_sha(server).values()) == served


def test_mismatched_mask_does_not_block_a_remote_request(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 3, p_wrong=0.0)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "masks" / "ir_00002.png")  # another size
    with VLMServer(vlm) as server:
        res = cli("describe", root, "--provider", "openai", "--base-url", server.openai_url, "--json", *FAST)
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["described"] == 3
    warnings = [line for line in res.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "ir_00002" in warnings[0] and "no-target check" in warnings[0]


def test_quota_exhausted_is_one_line_and_unsent_images_are_not_failures(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 8, p_wrong=0.0)
    with VLMServer(vlm) as server:
        server.api.faults = ["quota"] * 20
        res = cli("describe", root, "--provider", "openai", "--base-url", server.openai_url, "--concurrency", "1", *FAST)
    assert res.code == 2
    stopped = [line for line in res.stderr.splitlines() if "quota" in line]
    assert len(stopped) == 1, res.stderr
    assert "1 request(s) refused, 7 image(s) not sent" in stopped[0]


@pytest.mark.parametrize("flag", [("--rpm", "-1"), ("--max-side", "-5"), ("--concurrency", "0"), ("--tpm", "0"),
                                  ("--max-tokens", "0"), ("--max-cost", "-1"), ("--timeout", "0"), ("--limit", "0"),
                                  ("--retries", "0"), ("--invalid-retries", "-1"), ("--temperature", "-0.5")])
def test_bad_numbers_are_one_line_exit_2(tmp_path, cli, flag):
    root = make_dataset(tmp_path / "ds", 1)
    res = cli("describe", root, "--provider", "template", *flag)
    assert res.code == 2
    assert len(res.stderr.strip().splitlines()) == 1 and flag[0] in res.stderr and "Traceback" not in res.stderr
    assert not (root / ".langir").exists() and not (root / "descriptions").exists()


def test_answer_superseded_by_a_grounded_redo_is_not_restored(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 5, p_wrong=1.0)
    with VLMServer(vlm) as server:
        url = ["--provider", "openai", "--base-url", server.openai_url, *FAST]
        assert cli("describe", root, *url).code == 0
        assert cli("validate", root).code == 1
        res = cli("describe", root, "--redo", "failing", "--prompt-style", "grounded", "--json", *url)
        assert json.loads(res.stdout)["answers"] == 5
        assert cli("validate", root).code == 0
        before = _posts(server)
        for path in (root / "descriptions").iterdir():
            path.unlink()
        assert cli("describe", root, *url).code == 0  # the system-style answers are in the ledger…
        assert _posts(server) == before
    assert cli("validate", root).code == 0  # …but the file gets the current (grounded) one back


def test_unknown_price_with_a_cap_is_exit_2_naming_the_model(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 2, p_wrong=0.0)
    with VLMServer(vlm) as server:
        url = ["--provider", "openai", "--base-url", server.openai_url, "--model", "llava-next-13b", *FAST]
        for extra in ([], ["--dry-run"]):
            res = cli("describe", root, "--max-cost", "1", *extra, *url)
            assert res.code == 2 and "llava-next-13b" in res.stderr and "--prices" in res.stderr
        assert _posts(server) == 0
        prices = tmp_path / "prices.json"
        prices.write_text('{"llava-next-13b": [0.5, 1.5]}')
        res = cli("describe", root, "--max-cost", "1", "--prices", prices, "--json", *url)
        assert res.code == 0 and json.loads(res.stdout)["cost_usd"] == pytest.approx(2 * (300 * 0.5 + 20 * 1.5) / 1e6)


def test_kill_between_ledger_and_file_of_a_redo_is_healed(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 3, p_wrong=0.0)
    with VLMServer(vlm) as server:
        url = ["--provider", "openai", "--base-url", server.openai_url, *FAST]
        assert cli("describe", root, *url).code == 0
        path = root / "descriptions" / "ir_00001.description.txt"
        old = path.read_text()
        (tmp_path / "one.txt").write_text("ir_00001\n")
        assert cli("describe", root, "--redo", tmp_path / "one.txt", *url).code == 0
        new = path.read_text()
        # simulate the kill: the ledger holds the new answer, the file still the old one (written earlier)
        path.write_text(old.replace("faint", "dim"))
        os.utime(path, (1, 1))
        before = _posts(server)
        assert cli("describe", root, *url).code == 0
        assert path.read_text() == new and _posts(server) == before
        path.write_text("Edited by hand: the small target is in the lower right.\n")  # newer than the ledger: kept
        assert cli("describe", root, *url).code == 0
        assert path.read_text().startswith("Edited by hand")


def test_batch_answer_after_an_invalid_direct_one_is_found_again(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 2, p_wrong=0.0)
    with VLMServer(vlm) as server:
        url = ["--provider", "openai", "--base-url", server.openai_url, *FAST]
        server.api.faults = ["refusal"]
        assert cli("describe", root, "--concurrency", "1", "--invalid-retries", "0", *url).code == 1
        assert cli("describe", root, "--batch", "--poll", "0.01", *url).code == 0
        rows = [r for r in _rows(root) if r["status"] == "done"]
        assert len(rows) == 2 and all(r["request"] and r["prompt_style"] == "system" for r in rows)
        assert sorted(r["attempt"] for r in rows) == [0, 1]
        files = sorted(p.read_text() for p in (root / "descriptions").iterdir())
        for path in (root / "descriptions").iterdir():
            path.unlink()
        before = dict(server.api.paths)
        assert cli("describe", root, *url).code == 0  # both answers restored from the ledger
        assert dict(server.api.paths) == before
        assert sorted(p.read_text() for p in (root / "descriptions").iterdir()) == files


def test_description_path_that_is_a_folder_is_that_ids_failure(tmp_path, keys, cli):
    root, truth, vlm = _setup(tmp_path, 3, p_wrong=0.0)
    (root / "descriptions" / "ir_00001.description.txt").mkdir(parents=True)
    with VLMServer(vlm) as server:
        url = ["--provider", "openai", "--base-url", server.openai_url, "--overwrite", "--json", *FAST]
        res = cli("describe", root, *url)
        assert res.code == 1 and "Traceback" not in res.stderr
        summary = json.loads(res.stdout)
        assert summary["described"] == 2 and [f["id"] for f in summary["failures"]] == ["ir_00001"]
        (root / "descriptions" / "ir_00001.description.txt").rmdir()
        res = cli("describe", root, *url)
        assert res.code == 0 and json.loads(res.stdout)["from_ledger"] == 3
        assert _posts(server) == 3  # the paid answer was kept and written without a new call
