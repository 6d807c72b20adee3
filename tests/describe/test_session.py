"""The describe library without the CLI: selection, settings and a run, as a script would call them."""

from __future__ import annotations

import pytest

from langir.data.dataset import LangIRDataset
from langir.describe.selection import choose_ids, select
from langir.describe.session import Display, describe_selection, ledger_status, price_run
from langir.describe.settings import RunSettings, build_run
from langir.errors import ConfigError
from tests.describe.describe_helpers import make_dataset


@pytest.fixture
def ds(tmp_path):
    root = make_dataset(tmp_path / "ds", 6, empty=(2,))
    (root / "test.txt").write_text("ir_00001\nir_00003\nir_00005\n")
    return LangIRDataset.open(root)


def test_ids_file_is_kept_to_the_named_split_and_limited(ds, tmp_path):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("ir_00000\nir_00003\nir_00005\n")
    assert choose_ids(ds, [], ids_file) == ["ir_00000", "ir_00003", "ir_00005"]
    assert choose_ids(ds, ["test"], ids_file) == ["ir_00003", "ir_00005"]
    assert choose_ids(ds, ["test"], None, limit=2) == ["ir_00001", "ir_00003"]


def test_redo_failing_asks_the_callers_validation_and_stays_in_the_selection(ds):
    seen = []

    def failing(ids):
        seen.append(list(ids))
        return ["ir_00000", "ir_00005"]

    chosen = select(ds, ["test"], redo="failing", failing=failing)
    assert seen == [["ir_00001", "ir_00003", "ir_00005"]]
    assert chosen.ids == chosen.redo == ["ir_00005"]  # ir_00000 is not in the test split
    with pytest.raises(ConfigError, match="--redo failing"):
        select(ds, [], redo="failing")


def test_settings_refuse_bad_choices_in_one_line():
    with pytest.raises(ConfigError, match="--detail must be low, high or auto, not 'huge'"):
        RunSettings(detail="huge").check()
    with pytest.raises(ConfigError, match="--template-style must be rich or quadrant"):
        RunSettings(template_style="fancy").check()


def test_a_template_run_writes_a_description_per_image_and_books_it(ds):
    notices: list[str] = []
    events: list[str] = []

    class Watch:
        def __init__(self, total, label):
            assert (total, label) == (6, "describing")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def on_plan(self, plan):
            events.append(f"plan {len(plan.jobs)}")

        def on_event(self, kind, job):
            events.append(kind)

    settings = RunSettings(provider="template", prompt_style="few-shot")  # few-shot: no examples offline
    summary = describe_selection(ds, select(ds, []), settings, display=Display(notice=notices.append, watch=Watch))
    assert summary["described"] == 6 and summary["failed"] == 0
    assert all(ds.read_description(i) for i in ds.all_ids())
    assert "No small target" in ds.read_description("ir_00002")
    assert notices and "template" in notices[0]
    assert events[0] == "plan 6" and events.count("done") == 6
    assert ledger_status(ds)["current"] == 6
    # a dry run after it: everything is on disk, nothing to ask
    assert price_run(ds, select(ds, []), settings)["requests"] == 0


def test_build_run_takes_its_settings_by_name(ds):
    prov, prompt, opts = build_run(ds, RunSettings(provider="template", max_words=20, max_side=0, retries=3))
    assert prov.name == "template" and not prov.remote
    assert opts.max_words == 20 and opts.max_side is None and opts.retry.attempts == 3
