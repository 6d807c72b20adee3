"""`langir review` in a real browser (Playwright driving Debian's Chromium): load, filter, fix, accept, re-ask, keys."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from tests.review.review_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CONTRADICTS,
    langir,
    make_review_set,
    need_browser,
    serve,
)


@pytest.fixture(scope="module")
def browser():
    sync_playwright = need_browser()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # the page forbids eval; the test needs it
    yield context.new_page()
    context.close()


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "ds"
    return root, make_review_set(root)


@pytest.fixture
def served(dataset, tmp_path):
    root, _ = dataset
    server = serve(root, tmp_path / "cache")
    yield server
    code, err = server.stop()
    assert code == 0, err  # Ctrl-C stops it cleanly
    assert "Traceback" not in err


@contextlib.contextmanager
def _foreign_site(html: str):
    """Another origin (another port) serving one page."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def _validate(root: Path) -> dict:
    done = langir("validate", root, "--json")
    return json.loads(done.stdout)


def _cards(page) -> dict[str, str]:
    page.wait_for_selector(".card")
    return {el.get_attribute("data-id"): el.get_attribute("data-verdict") for el in page.query_selector_all(".card")}


def _rows(root: Path, image_id: str) -> list[dict]:
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM requests WHERE image_id=? ORDER BY updated", (image_id,))]
    finally:
        con.close()


def test_grid_shows_every_sample_with_validates_verdict(page, served, dataset):
    root, planted = dataset
    page.goto(served.url)
    cards = _cards(page)
    from langir.curate.validate import validate_dataset
    from langir.data.dataset import LangIRDataset

    table = validate_dataset(LangIRDataset.open(root), sorted(cards)).table
    assert cards == dict(zip(table["id"], table["verdict"], strict=True))  # every sample, the same judge
    assert cards[planted["contradicts"]] == "contradicts" and cards[planted["vague"]] == "vague"
    card = page.locator(f'.card[data-id="{planted["contradicts"]}"]')
    assert "contradicts" in card.locator(".reason").inner_text()
    assert "changed outside langir" in card.locator(".meta").inner_text()  # the planted text is no ledger answer
    assert "written by template" in page.locator(f'.card[data-id="{planted["agrees"]}"] .meta').inner_text()
    assert card.locator("svg .claim").count() >= 1  # the claimed region is drawn over the frame
    assert card.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")


def test_filter_failing_shows_exactly_what_validate_fails(page, served, dataset):
    root, planted = dataset
    page.goto(served.url + "&filter=failing")
    shown = set(_cards(page))
    assert shown == set(_validate(root)["failing_ids"])
    assert {planted["contradicts"], planted["vague"]} <= shown
    page.select_option('select[name="filter"]', "all")
    page.wait_for_function("document.querySelectorAll('.card').length > 2")
    page.select_option('select[name="verdict"]', "vague")
    page.wait_for_function("[...document.querySelectorAll('.card')].every(c => c.dataset.verdict === 'vague')")
    assert set(_cards(page)) == {planted["vague"]}


def test_fix_a_text_writes_file_and_ledger_and_rejudges(page, served, dataset):
    root, planted = dataset
    sample = planted["contradicts"]
    page.goto(served.url + "&filter=failing")
    card = page.locator(f'.card[data-id="{sample}"]')
    regions = card.locator(".meta").inner_text().split("mask: ")[1].split(",")[0]
    fixed = f"A small target lies in the {regions} of the image."
    before = _rows(root, sample)
    card.locator("textarea").fill(fixed)
    card.locator("textarea").press("Control+Enter")
    page.wait_for_selector(f'.card[data-id="{sample}"][data-verdict="agrees"]')
    path = root / "descriptions" / f"{sample}.description.txt"
    assert path.read_text().strip() == fixed
    rows = _rows(root, sample)
    person = [r for r in rows if r["provider"] == "person"]
    assert len(person) == 1 and person[0]["current"] == 1 and person[0]["text"] == fixed
    assert person[0]["prompt_style"] == "human" and person[0]["updated"] > 0
    # the earlier answers stay in the ledger, no longer current (the planted text had no row: kept as restored)
    assert {r["key"] for r in before} < {r["key"] for r in rows}
    assert [r["text"] for r in rows if r["provider"] == "restored"] == [CONTRADICTS]
    assert all(r["current"] == 0 for r in rows if r["provider"] != "person")
    assert "written by person" in page.locator(f'.card[data-id="{sample}"] .meta').inner_text()
    assert sample not in _validate(root)["failing_ids"]


def test_accept_counts_as_accepted_by_a_person(page, served, dataset, tmp_path):
    root, planted = dataset
    sample = planted["vague"]
    page.goto(served.url)
    page.locator(f'.card[data-id="{sample}"] [data-action="accept"]').click()
    page.wait_for_selector(f'.card[data-id="{sample}"] .badge:text("accepted by a person")')
    report = _validate(root)
    assert sample in report["accepted_by_person"] and sample not in report["failing_ids"]
    assert planted["contradicts"] in report["failing_ids"]
    assert "accepted by a person" in langir("validate", root).stdout
    from langir.curate.provenance import read_provenance

    texts = {sample: (root / "descriptions" / f"{sample}.description.txt").read_text()}
    assert read_provenance(root, texts)[sample]["accepted_by"] == "person"
    # a new text is not accepted until a person accepts it again
    (root / "descriptions" / f"{sample}.description.txt").write_text("A dim target somewhere.\n")
    assert sample not in _validate(root)["accepted_by_person"]


def test_queue_reasks_then_describe_redo_review_asks_exactly_those(page, served, dataset, monkeypatch):
    from tests.describe.describe_helpers import SECRET
    from tests.describe.vlm_helpers import FakeVLM, VLMServer, image_sha, truth_cells

    root, planted = dataset
    page.goto(served.url)
    _cards(page)
    queued = [planted["contradicts"], planted["vague"]]
    for sample in queued:
        page.locator(f'.card[data-id="{sample}"] .id').click()  # not the text box: keys typed there are text
        page.keyboard.press("r")
        page.wait_for_selector(f'.card[data-id="{sample}"] .badge:text("re-ask queued")')
    code, err = served.stop()
    assert code == 0, err
    truth = truth_cells(root / "images", root / "masks")
    with VLMServer(FakeVLM(truth)) as vlm:
        done = langir("describe", root, "--redo", "review", "--provider", "openai", "--base-url", vlm.openai_url,
                      "--timeout", "5", env={"OPENAI_API_KEY": SECRET})
        assert done.returncode == 0, done.stderr
        asked = sorted(r["sha"] for r in vlm.requests)
    assert asked == sorted(image_sha(root / "images" / f"{i}.png") for i in queued)
    again = langir("describe", root, "--redo", "review", "--provider", "template", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["images"] == 0  # answered: the queue is empty


def test_keyboard_navigation_and_help(page, served, dataset):
    page.goto(served.url)
    ids = list(_cards(page))
    current = "document.querySelector('.card.current').dataset.id"
    assert page.evaluate(current) == ids[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate(current) == ids[2]
    page.keyboard.press("k")
    assert page.evaluate(current) == ids[1]
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
    assert page.evaluate("document.activeElement.closest('.card').dataset.id") == ids[1]
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("?")
    assert not page.locator("#help").is_visible()


def test_writes_without_token_or_from_another_origin_change_nothing(page, served, dataset):
    root, planted = dataset
    sample = planted["contradicts"]
    path = root / "descriptions" / f"{sample}.description.txt"
    before_file, before_rows = path.read_bytes(), _rows(root, sample)
    url = f"{served.base}/api/card/{sample}/save"
    body = {"text": "A small target lies in the upper left of the image."}
    same = {"Origin": served.base, "Content-Type": "application/json"}
    replay = httpx.post(url, json=body, headers=same)  # a replayed write without the token
    foreign = httpx.post(url, json=body, headers={**same, "Origin": "http://evil.example", "X-Review-Token": served.token})
    no_origin = httpx.post(url, json=body, headers={"X-Review-Token": served.token})
    # a page of another origin in the browser posts a form to the review server (classic CSRF)
    form = (f'<form method="post" action="{url}" enctype="text/plain"><input name="{{&quot;text&quot;:&quot;x&quot;,&quot;a'
            '" value="&quot;}"></form><script>document.forms[0].submit()</script>')
    with _foreign_site(form) as other:
        with page.expect_response(url) as response:
            page.goto(other)
        status = response.value.status
    for reply in (replay, foreign, no_origin):
        assert reply.status_code == 403, reply.text
    assert status == 403
    for name in ("accept", "redo"):
        assert httpx.post(f"{served.base}/api/card/{sample}/{name}", headers=same).status_code == 403
    assert httpx.get(f"{served.base}/api/cards").status_code == 403
    assert httpx.get(f"{served.base}/api/card/..%2F..%2Fetc%2Fpasswd",
                     headers={"X-Review-Token": served.token}).status_code in (403, 404, 405)
    assert path.read_bytes() == before_file and _rows(root, sample) == before_rows
    code, _ = served.stop()
    from langir.describe.human import queued_ids

    assert code == 0 and queued_ids(root) == []


def test_bad_images_and_missing_descriptions_still_open(page, dataset, tmp_path):
    root, planted = dataset
    broken, missing = planted["agrees"], planted["vague"]
    (root / "images" / f"{broken}.png").write_bytes(b"not a png at all")
    (root / "descriptions" / f"{missing}.description.txt").unlink()
    server = serve(root, tmp_path / "cache2")
    try:
        page.goto(server.url)
        cards = _cards(page)
        assert broken in cards and missing in cards
        page.wait_for_selector(f'.card[data-id="{broken}"] .noimage')
        assert "image could not be read" in page.locator(f'.card[data-id="{broken}"] .noimage').inner_text()
        reason = page.locator(f'.card[data-id="{missing}"] .reason').inner_text()
        assert "missing" in reason and "description not found" in reason
    finally:
        code, err = server.stop()
    assert code == 0, err


def test_screenshots_of_grid_and_edited_card(browser, dataset, tmp_path):
    """Grid and an edited card at 100 % and 200 %; LANGIR_REVIEW_SHOTS=docs/img keeps them."""
    root, planted = dataset
    server = serve(root, tmp_path / "cache3")
    keep = os.environ.get("LANGIR_REVIEW_SHOTS")
    out = Path(keep) if keep else tmp_path
    try:
        for scale in (1, 2):
            context = browser.new_context(viewport={"width": 1100, "height": 720}, device_scale_factor=scale,
                                          bypass_csp=True)
            page = context.new_page()
            page.goto(server.url)
            page.wait_for_function("[...document.querySelectorAll('.card img')].slice(0, 6).every(i => i.complete)")
            grid = out / f"review-grid-{scale}x.png"
            page.screenshot(path=str(grid))
            card = page.locator(f'.card[data-id="{planted["contradicts"]}"]')
            regions = card.locator(".meta").inner_text().split("mask: ")[1].split(",")[0]
            card.locator("textarea").fill(f"A small target lies in the {regions} of the image.")
            with page.expect_response(lambda r: r.url.endswith("/save")):
                card.locator("textarea").press("Control+Enter")
            edited = page.locator(f'.card.current[data-id="{planted["contradicts"]}"]')
            edited.wait_for()
            edited.screenshot(path=str(out / f"review-card-{scale}x.png"))
            context.close()
            assert grid.stat().st_size > 10_000
    finally:
        server.stop()
