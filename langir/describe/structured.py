"""Structured answers (`describe --structured`): the JSON schema, the prompt note, reading and checking replies.

A structured answer is one JSON object

    {"description": str, "targets": [{"point": [x, y], "box": [x_min, y_min, x_max, y_max]}]}

with integers on 0..1000 of the SENT image's width and height, x first, ``targets: []`` when no target
is visible. Each provider asks for it through its own mechanism (built from `answer_schema` in its
class: OpenAI/compatible ``response_format`` json_schema strict, Anthropic a forced tool, Gemini
``response_schema``); this module holds what they share:

- `answer_schema` / `gemini_schema`: the one schema, and Gemini's OpenAPI-subset form of it;
- `prompt_note`: what the prompt tells the model (the JSON shape, the 0..1000 convention), generated
  from the schema's own descriptions through ``prompts/structured.txt`` so the two never disagree;
- `parse_answer`: JSON text → `Answer` (description, targets on 0..1000, or why it breaks the schema);
- `structured_raw` / `answer_from_raw`: the ledger's raw reply of a structured answer and back;
- `answer_problem` / `stored_problem`: the reply check (schema + `checks.reply_problem` on the text +
  the targets agreeing with the text and the mask's emptiness);
- `sync_targets`: after a description file is written, store its answer's targets in pixels of the
  ORIGINAL image (`langir.data.answer_targets`), or drop stale ones when the text came from a plain answer.

0..1000 of the sent image is the same fraction of the original (the downscale before sending keeps
the whole frame), so pixels of the original are simply ``v / 1000 × W`` (or ``H``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langir.data.answer_targets import MAX_TARGETS, SCALE, from_scale, remove_targets, write_targets
from langir.data.text_rules import final_answer
from langir.describe.checks import reply_problem

if TYPE_CHECKING:
    import numpy as np

    from langir.data.dataset import LangIRDataset

SCHEMA_NAME = "langir_answer"  # OpenAI json_schema name and Anthropic tool name
MAX_ANSWER_CHARS = 200_000  # a longer JSON answer is broken (the description is ≤ max_words words)
NOTE_FILE = "structured.txt"


def answer_schema(max_words: int = 50) -> dict[str, Any]:
    """The JSON schema of one structured answer (strict-mode ready: every property required, no extras)."""
    def coords(n: int, what: str) -> dict[str, Any]:
        return {"type": "array", "description": what, "minItems": n, "maxItems": n,
                "items": {"type": "integer", "minimum": 0, "maximum": SCALE}}

    target = {
        "type": "object",
        "properties": {
            "point": coords(2, "[x, y]: the target's centre"),
            "box": coords(4, "[x_min, y_min, x_max, y_max]: the box around the target"),
        },
        "required": ["point", "box"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "description": {"type": "string",
                            "description": f"where the small target is, in words, at most {max_words} words"},
            "targets": {"type": "array", "items": target,
                        "description": "one entry per visible small target; [] when no target is visible"},
        },
        "required": ["description", "targets"],
        "additionalProperties": False,
    }


def gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema in Gemini's OpenAPI subset (upper-case types, no additionalProperties, snake_case)."""
    keys = {"minItems": "min_items", "maxItems": "max_items"}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "additionalProperties":
            continue
        if key == "type":
            out[key] = str(value).upper()
        elif key == "properties":
            out[key] = {name: gemini_schema(sub) for name, sub in value.items()}
            out["property_ordering"] = list(value)
        elif key == "items":
            out[key] = gemini_schema(value)
        else:
            out[keys.get(key, key)] = value
    return out


def _shape(schema: dict[str, Any]) -> str:
    """A one-line example of the schema: strings as "…", arrays of integers by their description's names."""
    kind = schema.get("type")
    if kind == "object":
        return "{" + ", ".join(f'"{k}": {_shape(v)}' for k, v in schema["properties"].items()) + "}"
    if kind == "array":
        item = schema["items"]
        if item.get("type") == "integer":
            return str(schema.get("description", "[…]")).split(":")[0]
        return f"[{_shape(item)}]"
    return '"…"'


def _fields(schema: dict[str, Any], prefix: str = "") -> list[str]:
    lines = []
    for name, sub in schema.get("properties", {}).items():
        if sub.get("description"):
            lines.append(f"- {prefix}{name}: {sub['description']}")
        if sub.get("type") == "array" and sub["items"].get("type") == "object":
            lines += _fields(sub["items"], prefix=f"{name}[].")
    return lines


def prompt_note(max_words: int, template: str) -> str:
    """The text added to the task in structured mode: `template` (``prompts/structured.txt``, found by
    `prompts.structured_note`) filled from the schema."""
    schema = answer_schema(max_words)
    return (template.replace("{shape}", _shape(schema)).replace("{fields}", "\n".join(_fields(schema)))
            .replace("{scale}", str(SCALE)).replace("{max_words}", str(max_words)).strip())


def example_answer(description: str, targets: list[dict[str, Any]]) -> str:
    """A few-shot example's answer in the structured form (its assistant turn)."""
    return json.dumps({"description": description, "targets": targets})


# -- reading answers ---------------------------------------------------------------------------
@dataclass
class Answer:
    """One structured answer: its description, its targets on 0..1000 (None when unreadable), and why it is broken."""

    description: str
    targets: list[dict[str, Any]] | None
    problem: str | None = None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_target(i: int, item: Any) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(item, dict):
        return None, f"targets[{i}] is not an object"
    point, box = item.get("point"), item.get("box")
    if not isinstance(point, list) or len(point) != 2 or not all(_number(v) for v in point):
        return None, f"targets[{i}].point is not [x, y] (two finite numbers)"
    if any(not 0 <= v <= SCALE for v in point):
        return None, f"targets[{i}].point {point} is outside the image (0..{SCALE})"
    out: dict[str, Any] = {"point": [float(v) for v in point]}
    if box is not None:
        if not isinstance(box, list) or len(box) != 4 or not all(_number(v) for v in box):
            return None, f"targets[{i}].box is not [x_min, y_min, x_max, y_max] (four finite numbers)"
        x0, y0, x1, y1 = box
        if any(not 0 <= v <= SCALE for v in box):
            return None, f"targets[{i}].box {box} is outside the image (0..{SCALE})"
        if x0 > x1 or y0 > y1:
            return None, f"targets[{i}].box {box} has x_min > x_max or y_min > y_max"
        out["box"] = [float(v) for v in box]
    return out, None


_FENCED = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def parse_answer(text: str | None) -> Answer:
    """JSON text of a structured answer → `Answer` (a broken one has `problem` set, never raises)."""
    if text is None or not str(text).strip():
        return Answer("", None, "empty structured answer (no JSON)")
    if len(text) > MAX_ANSWER_CHARS:
        return Answer("", None, f"structured answer of {len(text)} characters (more than {MAX_ANSWER_CHARS})")
    body = final_answer(text).strip()  # a thinking model's reasoning before the JSON is no part of it
    fenced = _FENCED.search(body)
    if fenced:  # a fenced answer from a server that ignores the JSON mode, perhaps after a sentence
        body = fenced.group(1).strip()
    try:  # "Here is the JSON: {…} Hope this helps.": the object, whatever a chatty server puts around it
        data = json.JSONDecoder().raw_decode(body, body.index("{"))[0] if "{" in body else json.loads(body)
    except (ValueError, RecursionError) as error:
        return Answer("", None, f"structured answer is not valid JSON ({str(error)[:80]})")
    if not isinstance(data, dict):
        return Answer("", None, "structured answer is not a JSON object")
    description = data.get("description")
    if not isinstance(description, str):
        return Answer("", None, "structured answer has no 'description' string")
    targets = data.get("targets")
    if not isinstance(targets, list):
        return Answer(description, None, "structured answer has no 'targets' list")
    if len(targets) > MAX_TARGETS:
        return Answer(description, None, f"structured answer lists {len(targets)} targets (more than {MAX_TARGETS})")
    checked = []
    for i, item in enumerate(targets):
        target, problem = _check_target(i, item)
        if problem:
            return Answer(description, None, problem)
        checked.append(target)
    return Answer(description.strip(), checked)


def structured_raw(answer_text: str | None, **extra: Any) -> str:
    """The ledger's raw reply of a structured answer: the answer as the model gave it, marked structured."""
    return json.dumps({"structured": True, "answer": answer_text, **extra})


def answer_from_raw(raw: str | None) -> Answer | None:
    """The structured answer kept in a ledger raw reply, or None when the reply was a plain one."""
    if not raw or not raw.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("structured") is not True:
        return None
    return parse_answer(data.get("answer"))


# -- checking ------------------------------------------------------------------------------------
def _agreement_problem(text: str, targets: list[dict[str, Any]], mask_empty: bool | None) -> str | None:
    from langir.data.text_rules import says_no_target

    n = len(targets)
    if says_no_target(text) and n:
        return f"description says no target but targets lists {n}"
    if not says_no_target(text) and not n:
        return "description places a target but targets is []"
    if mask_empty and n:
        return f"mask is empty but the answer lists {n} target(s)"
    return None


def answer_problem(reply: Any, max_words: int = 50, mask_empty: bool | None = None) -> str | None:
    """Why a reply is not usable (schema, text rules, targets against the text and the mask), or None."""
    if getattr(reply, "problem", None):
        return reply.problem
    problem = reply_problem(reply.text, max_words, mask_empty)
    targets = getattr(reply, "targets", None)
    if problem is None and targets is not None:
        problem = _agreement_problem(reply.text, targets, mask_empty)
    return problem


def stored_problem(text: str | None, raw: str | None, max_words: int = 50, mask_empty: bool | None = None) -> str | None:
    """`answer_problem` for a ledger row (`describe --revalidate`): a structured raw reply is re-read."""
    answer = answer_from_raw(raw)
    if answer is None:
        return reply_problem(text, max_words, mask_empty)
    if answer.problem:
        return answer.problem
    problem = reply_problem(answer.description, max_words, mask_empty)
    return problem or _agreement_problem(answer.description, answer.targets or [], mask_empty)


# -- configuration -------------------------------------------------------------------------------
DESCRIBE_KEYS = {"structured": "true or false"}  # the keys `[describe]` of langir.toml may hold


def structured_default(root: str | Path, flag: bool | None = None) -> bool:
    """`--structured` / `--plain` when given, else `structured = true|false` in langir.toml's `[describe]`, else False."""
    if flag is not None:
        return flag
    from langir.data.guarded import read_toml
    from langir.data.layout import CONFIG_FILE
    from langir.errors import DataError

    path = Path(root) / CONFIG_FILE
    if not path.exists():
        return False
    # opening the dataset already read this file through the same guard (a regular file, ≤ 1 MiB, valid TOML)
    table = read_toml(path, "config file").get("describe", {})
    if not isinstance(table, dict):
        raise DataError(path, f"[describe] must be a table, not {type(table).__name__}")
    unknown = sorted(set(table) - set(DESCRIBE_KEYS))
    if unknown:
        raise DataError(path, f"unknown key(s) in [describe]: {', '.join(unknown)} (known: {', '.join(DESCRIBE_KEYS)})")
    value = table.get("structured", False)
    if not isinstance(value, bool):
        raise DataError(path, f"[describe] structured must be {DESCRIBE_KEYS['structured']}, not {value!r}")
    return value


# -- storing -------------------------------------------------------------------------------------
def mask_targets(mask: np.ndarray) -> list[dict[str, Any]]:
    """The mask's own targets as a structured answer gives them (integers on 0..1000, pixel-corner boxes)."""
    from langir.data.positions import find_targets

    h, w = mask.shape[:2]
    out = []
    for t in find_targets(mask):
        r, c = t.centroid
        r0, c0, r1, c1 = t.bbox
        out.append({"point": [round((c + 0.5) / w * SCALE), round((r + 0.5) / h * SCALE)],
                    "box": [round(c0 / w * SCALE), round(r0 / h * SCALE), round(c1 / w * SCALE), round(r1 / h * SCALE)]})
    return out


def sync_targets(ds: LangIRDataset, image_id: str, raw: str | None, request: str | None = None) -> Path | None:
    """After writing a description file: store its answer's targets in pixels of the original image.

    A plain answer (or a broken structured one, which is never written) removes targets left by
    an earlier structured answer, so text and targets always come from the same answer.
    Returns the targets file written, or None.
    """
    answer = answer_from_raw(raw)
    if answer is None or answer.problem or answer.targets is None:
        remove_targets(ds.root, image_id)
        return None
    width, height, _ = ds.image_info(image_id, verify=False)
    pixels = from_scale(answer.targets, width, height)
    return write_targets(ds.root, image_id, pixels, (width, height), request)


__all__ = ["SCHEMA_NAME", "Answer", "answer_from_raw", "answer_problem", "answer_schema", "example_answer", "gemini_schema",
           "mask_targets", "parse_answer", "prompt_note", "stored_problem", "structured_default", "structured_raw",
           "sync_targets"]
