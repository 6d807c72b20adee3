"""Replies of thinking models (their reasoning in the reply, in tags, before the answer): the description is
the answer alone, the raw reply keeps the reasoning, a reply cut off inside its thoughts is asked again, and
validate judges description files by their answer, never by a guess in the thoughts."""

from __future__ import annotations

import json
import sqlite3

import pytest

from langir.data.text_rules import final_answer
from tests.describe.describe_helpers import describe_at, make_dataset, set_provider_keys
from tests.describe.fake_server import FakeServer

ANSWER = "The small target is in the upper left of the image."
THOUGHTS = "Maybe it is at (3, 3)? " * 20 + "No, that is noise; the bright dot is elsewhere."


@pytest.mark.parametrize(("reply", "answer"), [
    (f"<think>{THOUGHTS}</think>\n\n{ANSWER}", ANSWER),  # Qwen3-VL-Thinking, QVQ, R1-style
    (f"{THOUGHTS}</think>{ANSWER}", ANSWER),  # the chat template opened the thoughts in the prompt
    (f"<thinking>{THOUGHTS}</thinking>{ANSWER}", ANSWER),
    (f"◁think▷{THOUGHTS}◁/think▷{ANSWER}", ANSWER),  # Kimi-VL-Thinking
    (f"[THINK]{THOUGHTS}[/THINK]{ANSWER}", ANSWER),  # Magistral
    (f"<think>{THOUGHTS}</think><answer>{ANSWER}</answer>", ANSWER),  # R1-style VLMs
    (f"<think>{THOUGHTS}</think><|begin_of_box|>{ANSWER}<|end_of_box|>", ANSWER),  # GLM-4.5V
    (f"<think>{THOUGHTS}", ""),  # cut off at the token limit inside its thoughts: no answer
    (f"{ANSWER}</s>", ANSWER),  # end-of-turn tokens a misconfigured local server leaves in the text
    (f"{ANSWER}<|im_end|>", ANSWER),
    (f"{ANSWER}<|eot_id|>", ANSWER),
    (f"{ANSWER}<end_of_turn>\n", ANSWER),
])
def test_final_answer_leaves_the_reasoning_out(reply, answer):
    assert final_answer(reply) == answer


@pytest.mark.parametrize("text", [ANSWER, "The target is at [120, 40].", "<|box_start|>(1,2),(3,4)<|box_end|>",
                                  '```json\n{"point_2d": [120, 40]}\n```', "x ∈ [118, 124], y ∈ [38, 44]", ""])
def test_any_other_text_is_returned_as_it_is(text):
    assert final_answer(text) is text


def _describe(root, reply_fn):
    with FakeServer() as fake:
        fake.api.reply_fn = reply_fn
        return describe_at(fake, root), fake.api.model_requests


def _rows(root):
    with sqlite3.connect(root / ".langir" / "describe.sqlite") as db:
        return db.execute("SELECT image_id, status, text, raw_reply FROM requests ORDER BY image_id, attempt").fetchall()


def test_describe_writes_the_answer_and_keeps_the_reasoning_in_the_raw_reply(tmp_path, monkeypatch):
    set_provider_keys(monkeypatch)
    root = make_dataset(tmp_path / "ds", 4)
    summary, requests = _describe(root, lambda info: f"<think>{THOUGHTS}</think>\n\n{ANSWER}")
    assert summary["answers"] == 4 and requests == 4  # > 50 words with the thoughts, yet no re-ask
    texts = {p.name: p.read_text().strip() for p in (root / "descriptions").iterdir()}
    assert len(texts) == 4 and set(texts.values()) == {ANSWER}
    rows = _rows(root)
    assert [status for _, status, _, _ in rows] == ["done"] * 4
    assert all(text == ANSWER and "<think>" in json.loads(raw)["content"] for _, _, text, raw in rows)


def test_a_reply_cut_off_inside_its_thoughts_is_asked_again(tmp_path, monkeypatch):
    set_provider_keys(monkeypatch)
    root = make_dataset(tmp_path / "ds", 3)
    asked: dict[str, int] = {}

    def reply_fn(info):
        asked[info["sha"]] = asked.get(info["sha"], 0) + 1
        return f"<think>{THOUGHTS}" if asked[info["sha"]] == 1 else ANSWER

    summary, requests = _describe(root, reply_fn)
    assert summary["answers"] == 6 and requests == 6  # each image: one cut-off answer (paid), one good
    statuses = [status for _, status, _, _ in _rows(root)]
    assert statuses.count("invalid") == 3 and statuses.count("done") == 3
    assert {p.read_text().strip() for p in (root / "descriptions").iterdir()} == {ANSWER}
    with sqlite3.connect(root / ".langir" / "describe.sqlite") as db:
        errors = {e for (e,) in db.execute("SELECT error FROM requests WHERE status = 'invalid'")}
    assert errors == {"the reply holds only the model's reasoning, no answer (it may have stopped at the token "
                      "limit: raise --max-tokens)"}


def test_reasoning_parsed_out_by_the_server_with_no_answer_left_says_so(tmp_path, monkeypatch):
    """vLLM and DeepSeek put a thinking model's thoughts in `reasoning_content`: cut off, the content is null."""
    set_provider_keys(monkeypatch)
    root = make_dataset(tmp_path / "ds", 2)
    with FakeServer() as fake:
        fake.api.faults = ["reasoning-only", "reasoning-only"]
        summary = describe_at(fake, root, concurrency=1)
        requests = fake.api.model_requests
    assert summary["answers"] == 4 and requests == 4 and summary["described"] == 2
    with sqlite3.connect(root / ".langir" / "describe.sqlite") as db:
        errors = {e for (e,) in db.execute("SELECT error FROM requests WHERE status = 'invalid'")}
    assert errors == {"the reply holds only the model's reasoning, no answer (it stopped at the token limit: "
                      "raise --max-tokens)"}


def test_validate_judges_description_files_by_their_answer(tmp_path, cli):
    root = make_dataset(tmp_path / "ds", 4)
    assert cli("describe", root, "--provider", "template").code == 0
    files = sorted((root / "descriptions").iterdir())
    for path in files[:3]:  # thoughts with guesses on empty sky, then the right answer
        path.write_text(f"<think>Is it at (1, 1)? Or near (47, 39)? {THOUGHTS}</think>\n{path.read_text()}")
    files[3].write_text("<think>the target could be at (1, 1) or")  # thoughts only, cut off
    report = json.loads(cli("validate", root, "--json").stdout)
    assert (report["graded"], report["agreeing"], report["failing_ids"]) == (3, 3, [files[3].name.split(".")[0]])
    assert report["verdicts"].get("contradicts", 0) == 0
    shown = cli("validate", root)
    assert shown.code == 1 and "description holds only the model's reasoning, no answer (<think>…)" in shown.stdout
