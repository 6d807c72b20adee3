"""`describe --structured`: each provider's native JSON mechanism through the real SDKs against the fake server.

The fake VLM here really looks at the image it is sent (the brightest pixels) and answers on the
0..1000 grid of that image, so the stored pixel targets can be checked against the ORIGINAL image's
target after the provider's downscale.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langir.data.answer_targets import read_targets, targets_path
from langir.data.dataset import LangIRDataset
from langir.describe.providers import REGISTRY
from tests.describe.describe_helpers import set_provider_keys
from tests.describe.fake_server import FakeServer, image_bytes

FAST = ["--backoff", "0.01", "--timeout", "20"]
TEXT = "The small target lies in the lower right of the image, a bright square against a dark sky."
FLAVOURS = ("openai", "anthropic", "gemini")


@pytest.fixture
def fake():
    with FakeServer() as server:
        server.api.keep_bodies = True
        yield server


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    set_provider_keys(monkeypatch)


def big_dataset(root: Path, width: int, height: int = 600, n: int = 1) -> tuple[Path, tuple[int, int, int, int]]:
    """`n` dark images wider than a provider's limit, one bright 40×40 target low on the right (its x0, y0, x1, y1)."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    x0, y0 = int(width * 0.8), int(height * 0.7)
    box = (x0, y0, x0 + 40, y0 + 40)
    for i in range(n):
        image = np.full((height, width), 25 + i, np.uint8)
        mask = np.zeros((height, width), np.uint8)
        image[y0 : y0 + 40, x0 : x0 + 40] = 240
        mask[y0 : y0 + 40, x0 : x0 + 40] = 255
        Image.fromarray(image).save(root / "images" / f"ir_{i:05d}.png")
        Image.fromarray(mask).save(root / "masks" / f"ir_{i:05d}.png")
    return root, box


def look(info: dict) -> dict:
    """A VLM that finds the bright target in the image it was sent and answers on 0..1000 of that image."""
    image = np.asarray(Image.open(io.BytesIO(image_bytes(info))).convert("L"))
    h, w = image.shape
    ys, xs = np.nonzero(image > 128)
    point = [round((xs.mean() + 0.5) / w * 1000), round((ys.mean() + 0.5) / h * 1000)]
    box = [round(xs.min() / w * 1000), round(ys.min() / h * 1000), round((xs.max() + 1) / w * 1000),
           round((ys.max() + 1) / h * 1000)]
    return {"description": TEXT, "targets": [{"point": point, "box": box}]}


def _args(fake, flavour: str) -> list[str]:
    url = fake.openai_url if flavour == "openai" else fake.url
    return ["--provider", flavour, "--base-url", url, "--json", *FAST]


def _sent_sizes(fake) -> list[tuple[int, int]]:
    return [Image.open(io.BytesIO(image_bytes({"body": body}))).size for _, body in fake.api.bodies]


def _strict(schema: dict) -> bool:
    """OpenAI strict mode: every object lists all its properties as required and allows no others."""
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False or set(schema["required"]) != set(schema["properties"]):
            return False
        return all(_strict(s) for s in schema["properties"].values())
    if schema.get("type") == "array":
        return _strict(schema["items"])
    return True


def _text(root: Path, sample_id: str) -> str | None:
    return LangIRDataset.open(root).read_description(sample_id)


def _ledger(root: Path) -> list[tuple[str, str | None, str | None, str | None]]:
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    rows = con.execute("SELECT status, text, error, raw_reply FROM requests WHERE provider != 'template' "
                       "AND status IN ('done', 'invalid') ORDER BY attempt").fetchall()
    con.close()
    return rows


def assert_structured_body(flavour: str, body: dict) -> None:
    """The request asks for one JSON answer through the provider's own mechanism (names as the APIs spell them)."""
    if flavour == "openai":
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True and fmt["json_schema"]["name"]
        schema = fmt["json_schema"]["schema"]
        assert _strict(schema) and set(schema["properties"]) == {"description", "targets"}
        prompt = json.dumps(body["messages"])
    elif flavour == "anthropic":
        tool = body["tools"][0]
        assert body["tool_choice"] == {"type": "tool", "name": tool["name"]}
        assert set(tool["input_schema"]["required"]) == {"description", "targets"}
        prompt = json.dumps(body["messages"])
    else:
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        schema = config["responseSchema"]
        assert schema["type"] == "OBJECT" and set(schema["required"]) == {"description", "targets"}
        assert schema["properties"]["targets"]["items"]["properties"]["point"]["items"]["type"] == "INTEGER"
        prompt = json.dumps(body["contents"])
    assert "0 to 1000" in prompt and "x first" in prompt  # the prompt says the convention the schema enforces


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_structured_answer_stores_text_and_pixel_targets_of_the_original(tmp_path, fake, cli, flavour):
    limit = REGISTRY[flavour].max_side
    width = limit + 400  # wider than the provider takes: the image is downscaled before sending
    root, (x0, y0, x1, y1) = big_dataset(tmp_path / "ds", width)
    fake.api.answer_fn = look
    res = cli("describe", root, "--structured", "--max-side", "0", *_args(fake, flavour))
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["described"] == 1
    assert len(fake.api.bodies) == 1
    assert_structured_body(flavour, fake.api.bodies[0][1])
    sent_w, sent_h = _sent_sizes(fake)[0]
    assert sent_w == limit < width  # really downscaled
    # the description file holds only the text; the targets lie beside it in pixels of the original
    text = _text(root, "ir_00000")
    assert text == TEXT
    record = json.loads(targets_path(root, "ir_00000").read_text())
    assert record["image_size"] == [width, 600]
    (target,) = read_targets(root, "ir_00000")
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    step_x, step_y = width / 1000, 600 / 1000  # one unit of the 0..1000 grid, in original pixels
    assert abs(target["point"][0] - cx) <= step_x + 2 and abs(target["point"][1] - cy) <= step_y + 2
    bx0, by0, bx1, by1 = target["box"]
    for got, want, step in ((bx0, x0, step_x), (by0, y0, step_y), (bx1, x1, step_x), (by1, y1, step_y)):
        assert abs(got - want) <= step + 2, target
    # the ledger keeps the description as its text and the whole answer as the raw reply
    ((status, ledger_text, error, raw),) = _ledger(root)
    assert status == "done" and ledger_text == TEXT and error is None
    assert json.loads(raw)["structured"] is True


BROKEN = {
    "bad-json": ('{"description": "The small target lies in the lower right.", "targets": [{"point": [80', "not valid JSON"),
    "missing-targets": ({"description": TEXT}, "no 'targets' list"),
    "outside": ({"description": TEXT, "targets": [{"point": [1200, 700], "box": [790, 690, 810, 710]}]}, "outside the image"),
    "nan": (json.dumps({"description": TEXT, "targets": [{"point": [float("nan"), 700], "box": [790, 690, 810, 710]}]}),
            "two finite numbers"),  # json.dumps writes NaN, as a careless server would
    "10^5-targets": ({"description": TEXT, "targets": [{"point": [800, 700], "box": [790, 690, 810, 710]}] * 100_000},
                     "more than"),
    "too-long": ({"description": "The small target lies in the lower right of the frame. " * 6,
                  "targets": [{"point": [800, 700], "box": [790, 690, 810, 710]}]}, "too long"),
    "words-without-target": ({"description": TEXT, "targets": []}, "targets is []"),
}
CASES = [("openai", kind) for kind in BROKEN] + [("anthropic", "missing-targets"), ("anthropic", "outside"),
                                                 ("gemini", "bad-json"), ("gemini", "nan")]


@pytest.mark.parametrize(("flavour", "kind"), CASES)
def test_schema_breaking_answer_is_recorded_never_written_and_asked_again(tmp_path, fake, cli, flavour, kind):
    root, _ = big_dataset(tmp_path / "ds", 300, 200)
    broken, reason = BROKEN[kind]
    fake.api.answer_fn = lambda info: broken if info["n"] == 0 else look(info)
    # no re-ask allowed: the broken answer is paid for and recorded, and nothing is written
    res = cli("describe", root, "--structured", "--invalid-retries", "0", *_args(fake, flavour))
    assert res.code == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert reason in json.loads(res.stdout)["failures"][0]["reason"]
    assert not (root / "descriptions").exists() or not any((root / "descriptions").iterdir())
    assert not targets_path(root, "ir_00000").exists()
    ((status, _, error, raw),) = _ledger(root)
    assert status == "invalid" and reason in error and json.loads(raw)["structured"] is True
    # a later run re-asks within the bound (one broken answer counts against it) and writes the good one
    res = cli("describe", root, "--structured", "--invalid-retries", "1", *_args(fake, flavour))
    assert res.code == 0, res.stderr
    assert [r[0] for r in _ledger(root)] == ["invalid", "done"] and fake.api.model_requests == 2
    assert _text(root, "ir_00000") == TEXT
    assert len(read_targets(root, "ir_00000")) == 1


def test_revalidate_keeps_a_broken_structured_answer_invalid(tmp_path, fake, cli):
    root, _ = big_dataset(tmp_path / "ds", 300, 200)
    fake.api.answer_fn = lambda info: BROKEN["outside"][0]
    assert cli("describe", root, "--structured", "--invalid-retries", "0", *_args(fake, "openai")).code == 1
    res = cli("describe", root, "--revalidate", "--max-words", "200", "--json")
    assert res.code == 0 and json.loads(res.stdout)["now_valid"] == 0  # the schema is re-read from the raw reply
    assert not (root / "descriptions").exists() or not any((root / "descriptions").iterdir())


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_batch_requests_carry_the_structured_body(tmp_path, fake, cli, flavour):
    root, (x0, y0, x1, y1) = big_dataset(tmp_path / "ds", 900, 300, n=3)
    fake.api.answer_fn = look
    res = cli("describe", root, "--structured", "--batch", "--poll", "0.01", *_args(fake, flavour))
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["described"] == 3
    assert len(fake.api.bodies) == 3
    for _, body in fake.api.bodies:
        assert_structured_body(flavour, body)
    for i in range(3):
        assert _text(root, f"ir_{i:05d}") == TEXT
        (target,) = read_targets(root, f"ir_{i:05d}")
        assert x0 <= target["point"][0] <= x1 and y0 <= target["point"][1] <= y1


def test_plain_answer_replacing_a_structured_one_drops_its_targets(tmp_path, fake, cli):
    root, _ = big_dataset(tmp_path / "ds", 300, 200)
    fake.api.answer_fn = look
    assert cli("describe", root, "--structured", *_args(fake, "openai")).code == 0
    assert read_targets(root, "ir_00000")
    (tmp_path / "ids.txt").write_text("ir_00000\n")
    fake.api.reply = lambda sha: "A faint small target sits in the lower right corner of the frame."
    res = cli("describe", root, "--redo", tmp_path / "ids.txt", "--plain", *_args(fake, "openai"))
    assert res.code == 0, res.stderr
    assert "response_format" not in fake.api.bodies[-1][1]
    assert _text(root, "ir_00000").startswith("A faint small target")
    assert read_targets(root, "ir_00000") is None and not targets_path(root, "ir_00000").exists()


def test_langir_toml_turns_structured_on_and_is_checked(tmp_path, fake, cli):
    root, _ = big_dataset(tmp_path / "ds", 300, 200)
    fake.api.answer_fn = look
    (root / "langir.toml").write_text("[describe]\nstructured = true\n")
    assert cli("describe", root, *_args(fake, "openai")).code == 0
    assert "response_format" in fake.api.bodies[-1][1] and read_targets(root, "ir_00000")
    (root / "langir.toml").write_text('[describe]\nstructured = "yes"\n')
    res = cli("describe", root, "--overwrite", *_args(fake, "openai"))
    assert res.code == 2 and "Traceback" not in res.stderr
    assert "langir.toml" in res.stderr and "structured" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_template_provider_gives_the_masks_own_targets(tmp_path, cli):
    root, (x0, y0, x1, y1) = big_dataset(tmp_path / "ds", 640, 480)
    res = cli("describe", root, "--provider", "template", "--structured", "--json")
    assert res.code == 0, res.stderr
    (target,) = read_targets(root, "ir_00000")
    assert target["box"] == pytest.approx([x0, y0, x1, y1], abs=1)
    assert target["point"] == pytest.approx([(x0 + x1) / 2, (y0 + y1) / 2], abs=1)


def test_few_shot_examples_answer_in_json_with_their_masks_targets(tmp_path, fake, cli):
    root, (x0, y0, x1, y1) = big_dataset(tmp_path / "ds", 500, 300, n=2)
    ds = LangIRDataset.open(root)
    ds.write_description("ir_00000", "A small bright target lies in the lower right of the image.")
    (tmp_path / "shots.txt").write_text("ir_00000\n")
    fake.api.answer_fn = look
    res = cli("describe", root, "--structured", "--prompt-style", "few-shot", "--shots", tmp_path / "shots.txt",
              "--num-shots", "1", *_args(fake, "openai"))
    assert res.code == 0, res.stderr
    (_, body), = fake.api.bodies
    example = json.loads(next(m["content"] for m in body["messages"] if m["role"] == "assistant"))
    assert example["description"] == "A small bright target lies in the lower right of the image."
    (target,) = example["targets"]
    assert x0 / 500 * 1000 <= target["point"][0] <= x1 / 500 * 1000
    assert y0 / 300 * 1000 <= target["point"][1] <= y1 / 300 * 1000
    assert read_targets(root, "ir_00001")


def test_curate_structured_stores_targets(tmp_path, cli):
    root, _ = big_dataset(tmp_path / "ds", 320, 240, n=2)
    res = cli("curate", root, "--provider", "template", "--structured", "--json")
    assert res.code == 0, res.stderr
    assert all(read_targets(root, f"ir_{i:05d}") for i in range(2))


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_answer_cut_off_at_the_token_limit_says_so(tmp_path, fake, cli, flavour):
    root, _ = big_dataset(tmp_path / "ds", 300, 200)
    fake.api.answer_fn = look
    fake.api.faults = ["cut"]
    res = cli("describe", root, "--structured", "--invalid-retries", "0", *_args(fake, flavour))
    assert res.code == 1, res.stderr
    assert "cut off at --max-tokens" in json.loads(res.stdout)["failures"][0]["reason"]
    assert read_targets(root, "ir_00000") is None and _text(root, "ir_00000") is None


WRAPPED = {  # how servers that ignore the JSON mode, or think aloud first, wrap the same answer (JSON goes at @)
    "thoughts first": '<think>Is the target at {"point": [10, 10]}? No, that is noise.</think>\n@',
    "prose and a fence": "Sure! Here is the JSON you asked for:\n```json\n@\n```",
    "a trailing remark": "@\nHope this helps!",
}


@pytest.mark.parametrize("flavour", ["openai", "gemini"])
@pytest.mark.parametrize("kind", list(WRAPPED))
def test_a_wrapped_structured_answer_is_read_as_its_object(tmp_path, fake, cli, flavour, kind):
    root, (x0, y0, x1, y1) = big_dataset(tmp_path / "ds", 300, 200)
    fake.api.answer_fn = lambda info: WRAPPED[kind].replace("@", json.dumps(look(info)))
    res = cli("describe", root, "--structured", "--invalid-retries", "0", *_args(fake, flavour))
    assert res.code == 0, res.stderr
    assert fake.api.model_requests == 1 and _text(root, "ir_00000") == TEXT
    (target,) = read_targets(root, "ir_00000")
    assert x0 - 2 <= target["point"][0] <= x1 + 2 and y0 - 2 <= target["point"][1] <= y1 + 2
