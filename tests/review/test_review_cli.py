"""`langir review` without a browser: one-line refusals (port in use, locked dataset, missing extra), the store."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.review.review_helpers import CONTRADICTS, langir, make_review_set, serve

pytest.importorskip("starlette", reason="the review extra is not installed: pip install 'langir[review]'")
pytest.importorskip("uvicorn", reason="the review extra is not installed: pip install 'langir[review]'")


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "ds"
    return root, make_review_set(root, count=6)


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_port_in_use_is_one_line_exit_2(dataset, tmp_path):
    root, _ = dataset
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = langir("review", root, "--port", port, "--no-open", env={"XDG_CACHE_HOME": str(tmp_path / "c")})
    assert done.returncode == 2
    line = _one_error_line(done.stderr)
    assert f"127.0.0.1:{port}" in line and "--port 0" in line
    assert done.stdout == ""


def test_a_running_describe_keeps_review_out_and_the_other_way(dataset, tmp_path):
    from langir.describe.ledger import DatasetLock

    root, _ = dataset
    env = {"XDG_CACHE_HOME": str(tmp_path / "c")}
    with DatasetLock(root):  # what a describe run holds while it writes
        done = langir("review", root, "--port", "0", "--no-open", env=env)
    assert done.returncode == 2
    assert "langir review cannot write this dataset now" in _one_error_line(done.stderr)
    server = serve(root, tmp_path / "c")
    try:
        busy = langir("describe", root, "--provider", "template", "--overwrite")
        assert busy.returncode == 2 and "another langir" in _one_error_line(busy.stderr)
    finally:
        code, err = server.stop()
    assert code == 0, err
    assert langir("describe", root, "--provider", "template", "--overwrite").returncode == 0  # lock released


def test_missing_extra_names_it(dataset, tmp_path):
    root, _ = dataset
    blocker = tmp_path / "blocker"
    (blocker / "starlette").mkdir(parents=True)
    (blocker / "starlette" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'starlette'\", name='starlette')\n")
    repo = Path(__file__).resolve().parents[2]
    done = langir("review", root, "--no-open", env={"PYTHONPATH": f"{blocker}:{repo}"})
    assert done.returncode == 2
    assert ".[review]" in _one_error_line(done.stderr)


def test_filters_structured_targets_and_nothing_cached_in_the_dataset(dataset, tmp_path):
    import httpx

    from langir.data.answer_targets import write_targets

    root, planted = dataset
    write_targets(root, planted["agrees"], [{"point": [10.0, 20.0], "box": [5.0, 15.0, 15.0, 25.0]}], (96, 96))
    before = {p for p in root.rglob("*")}
    server = serve(root, tmp_path / "c", "--filter", "contradicts")
    try:
        assert "filter=contradicts" in server.url

        def cards(query: str) -> dict:
            reply = httpx.get(f"{server.base}/api/cards?{query}", headers={"X-Review-Token": server.token})
            assert reply.status_code == 200, reply.text
            return reply.json()

        found = {c["id"]: c for c in cards("filter=contradicts")["items"]}
        # the stored structured point (10, 20) lies on no target of the "agrees" frame: judged like Pd, it fails too
        assert set(found) == {planted["contradicts"], planted["agrees"]}
        assert found[planted["contradicts"]]["text"] == CONTRADICTS
        assert [c["id"] for c in cards(f"q={planted['vague'][-3:]}")["items"]] == [planted["vague"]]
        assert cards("who=template")["total"] == 6 - 2  # the two planted texts were changed outside langir
        assert cards("model=template/template-rich")["total"] == 6
        split = cards("")["facets"]["split"][0]
        assert all(split in c["splits"].split(";") for c in cards(f"split={split}")["items"])
        page = cards("limit=2&offset=2")
        assert page["total"] == 6 and len(page["items"]) == 2 and page["offset"] == 2
        target = cards(f"q={planted['agrees']}")["items"][0]["answer_targets"]
        assert target == [{"point": [10 / 96, 20 / 96], "box": [5 / 96, 15 / 96, 15 / 96, 25 / 96]}]
        thumb = httpx.get(f"{server.base}/thumb/{planted['agrees']}?t={server.token}")
        assert thumb.status_code == 200 and thumb.content[:4] == b"\x89PNG"
        assert httpx.get(f"{server.base}/api/cards", headers={"X-Review-Token": server.token,
                                                              "Host": "evil.example"}).status_code == 403
    finally:
        server.stop()
    added = {p.relative_to(root).as_posix() for p in root.rglob("*")} - {p.relative_to(root).as_posix() for p in before}
    assert all(name.startswith(".langir/describe.") for name in added), added  # thumbnails live in the user cache
    assert list((tmp_path / "c" / "langir" / "review" / "thumbs").glob("*.png"))


def test_beyond_loopback_warns(dataset, tmp_path):
    from langir.review.server import is_loopback, page_url

    root, _ = dataset
    server = serve(root, tmp_path / "c", "--host", "0.0.0.0")
    try:  # any Host may reach it beyond loopback; the token still guards it
        import httpx

        cards = httpx.get(f"{server.base}/api/cards", headers={"X-Review-Token": server.token, "Host": "box.lan"}, timeout=30)
        assert cards.status_code == 200 and cards.json()["total"] == 6, cards.text
        assert httpx.get(f"{server.base}/api/cards", headers={"Host": "box.lan"}, timeout=30).status_code in (401, 403)
    finally:  # Ctrl-C once the page answers (an instant Ctrl-C hung in 3 of ~8 full runs: gap in the notes)
        code, err = server.stop()
    if code != 0:  # in full: a hang's stacks (faulthandler) must not be cut by the assertion's repr
        pytest.fail(f"exit {code}\n{err}", pytrace=False)
    assert "warning: serving on 0.0.0.0" in err, err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert page_url("::1", 80, "T", "failing") == "http://[::1]:80/?token=T&filter=failing"


def test_store_keeps_every_answer_and_the_queue_empties_when_answered(dataset):
    from langir.data.dataset import LangIRDataset
    from langir.describe import human as store

    root, planted = dataset
    ds = LangIRDataset.open(root)
    sample = planted["vague"]
    ledger = store.open_ledger(root)
    try:
        store.queue_redo(ledger, sample)
        assert store.queued_ids(root) == [sample]
        store.save_text(ds, ledger, sample, "  A small target lies\n in the upper left.  ")
        assert store.queued_ids(root) == []  # a newer answer than the queueing
        rows = [r for r in ledger.rows() if r.image_id == sample]
        assert [r.provider for r in rows if r.current] == ["person"]
        assert {r.provider for r in rows} == {"template", "restored", "person"}
        with pytest.raises(Exception, match="empty"):
            store.save_text(ds, ledger, sample, "   ")
    finally:
        ledger.close()
    assert (root / "descriptions" / f"{sample}.description.txt").read_text() == "A small target lies in the upper left.\n"
    status = json.loads(langir("describe", root, "--status", "--json").stdout)
    assert status["current"] == 6  # the ledger still reads as a describe ledger


def test_report_card_links_failing_samples_to_the_review_page(dataset, tmp_path):
    root, planted = dataset
    done = langir("report", root, "--out", tmp_path / "card")
    assert done.returncode == 0, done.stderr
    card = (tmp_path / "card" / "README.md").read_text()
    assert f"[{planted['contradicts']}](http://127.0.0.1:8765/?id={planted['contradicts']})" in card
    assert f"langir review {root.name}" in card or "langir review" in card
    page = (tmp_path / "card" / "card.html").read_text()  # the standalone page links too, not raw Markdown
    assert f'<a href="http://127.0.0.1:8765/?id={planted["contradicts"]}">{planted["contradicts"]}</a>' in page




def test_an_accepted_text_passes_validate_and_travels_in_the_pack(dataset, tmp_path):
    from langir.describe import human as store

    root, planted = dataset
    sample = planted["vague"]
    ledger = store.open_ledger(root)
    try:
        store.accept(ledger, sample, (root / "descriptions" / f"{sample}.description.txt").read_text())
    finally:
        ledger.close()
    report = json.loads(langir("validate", root, "--json").stdout)
    assert report["accepted_by_person"] == [sample] and sample not in report["failing_ids"]
    assert langir("pack", root, tmp_path / "packed", "--format", "jsonl").returncode == 0
    records = [json.loads(line) for part in (tmp_path / "packed" / "data").glob("*.jsonl")
               for line in part.read_text().splitlines()]
    by_id = {r["id"]: r for r in records}
    assert by_id[sample]["provenance_accepted_by"] == "person" and by_id[sample]["ok"] is True
    assert by_id[planted["contradicts"]]["provenance_accepted_by"] == "" and by_id[planted["contradicts"]]["ok"] is False


def test_ctrl_c_stops_the_server_while_a_client_holds_a_request_open(dataset, tmp_path):
    """A client that sent a request's headers but not its body keeps the request open; Ctrl-C still stops the
    server within seconds (a bounded graceful shutdown), exit 0."""
    import time

    root, planted = dataset
    server = serve(root, tmp_path / "c")
    host, port = server.base.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall((f"POST /api/card/{planted['vague']}/save HTTP/1.1\r\nHost: {host}:{port}\r\n"
                        f"X-Review-Token: {server.token}\r\nOrigin: http://{host}:{port}\r\nContent-Type: application/json\r\n"
                        "Content-Length: 1000\r\n\r\n{\"text\": ").encode())
        time.sleep(0.5)  # the handler is now waiting for the rest of the body
        start = time.monotonic()
        code, err = server.stop()
        took = time.monotonic() - start
    assert code == 0, err
    assert took < 15, took
    assert "Traceback" not in err and "ERROR" not in err, err
