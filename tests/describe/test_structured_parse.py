"""Bad structured answers get one clear reason each, quickly, never an exception (issue #17 bad input)."""

from __future__ import annotations

import json
import time

import pytest

from langir.describe.prompts import load_prompt, structured_note
from langir.describe.structured import answer_schema, parse_answer

GOOD = {"description": "The small target lies in the upper left.", "targets": [{"point": [120, 80], "box": [100, 60, 140, 100]}]}
BAD = {
    "not JSON": ("upper left, I think", "not valid JSON"),
    "a list": ("[]", "not a JSON object"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "not"),
    "1 MB answer": (json.dumps({**GOOD, "description": "x " * 500_000}), "characters"),
    "10^5 targets": (json.dumps({**GOOD, "targets": [{"point": [1, 2], "box": [0, 0, 3, 3]}] * 100_000}), "characters"),
    "1001 targets": (json.dumps({**GOOD, "targets": [{"point": [1, 2], "box": [0, 0, 3, 3]}] * 1001}), "more than 1000"),
    "NaN": (json.dumps({**GOOD, "targets": [{"point": [float("nan"), 2], "box": [0, 0, 3, 3]}]}), "finite"),
    "Infinity": (json.dumps({**GOOD, "targets": [{"point": [float("inf"), 2], "box": [0, 0, 3, 3]}]}), "finite"),
    "negative": (json.dumps({**GOOD, "targets": [{"point": [-5, 2], "box": [0, 0, 3, 3]}]}), "outside the image"),
    "huge": (json.dumps({**GOOD, "targets": [{"point": [1e300, 2], "box": [0, 0, 3, 3]}]}), "outside the image"),
    "inverted box": (json.dumps({**GOOD, "targets": [{"point": [5, 5], "box": [9, 0, 3, 3]}]}), "x_min > x_max"),
    "three-number point": (json.dumps({**GOOD, "targets": [{"point": [1, 2, 3], "box": [0, 0, 3, 3]}]}), "[x, y]"),
    "boolean point": (json.dumps({**GOOD, "targets": [{"point": [True, 2], "box": [0, 0, 3, 3]}]}), "[x, y]"),
    "no description": (json.dumps({"targets": []}), "'description'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_answer_gets_one_clear_reason(case):
    text, reason = BAD[case]
    t0 = time.perf_counter()
    answer = parse_answer(text)
    assert time.perf_counter() - t0 < 2.0
    assert answer.problem and reason in answer.problem and len(answer.problem) < 200
    assert answer.targets is None


def test_good_answer_and_a_fenced_one_read_alike():
    plain = parse_answer(json.dumps(GOOD))
    fenced = parse_answer("```json\n" + json.dumps(GOOD) + "\n```")
    assert plain.problem is None and plain == fenced
    assert plain.description == GOOD["description"] and plain.targets == [{"point": [120.0, 80.0], "box": [100.0, 60.0, 140.0, 100.0]}]
    assert parse_answer(json.dumps({"description": "No small target is visible.", "targets": []})).targets == []


def test_prompt_note_says_what_the_schema_enforces():
    schema = answer_schema(40)
    note = structured_note(40)
    for name in ("description", "targets", "point", "box"):
        assert f'"{name}"' in note
    assert "[x_min, y_min, x_max, y_max]" in note and "0 to 1000" in note and "at most 40 words" in note
    box = schema["properties"]["targets"]["items"]["properties"]["box"]
    assert box["minItems"] == box["maxItems"] == 4 and box["items"]["maximum"] == 1000
    # a structured prompt is another request than a plain one (its own ledger key)
    assert load_prompt("system", structured=True).digest() != load_prompt("system").digest()
