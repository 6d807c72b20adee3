"""`stats`: the paper's Table 1 and description statistics, per split and per dataset (pandas).

Table 1 counts the words Left, Right, Center, Lower, Upper over all descriptions of a split with
`positions.count_position_words` (whole words, case-insensitive, hyphenated parts count; with
`synonyms` top→Upper, bottom→Lower, middle/centre/central→Center). Word counts per description
use `text_rules.word_count` (a hyphenated word is one word), the same count the 50-word limit of
`describe` and `validate` uses.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from langir.curate.texts import read_description_file
from langir.data.dataset import LangIRDataset
from langir.data.positions import TABLE1_WORDS, count_position_words, words
from langir.data.text_rules import is_refusal, says_no_target, word_count

TABLE1_COLUMNS = tuple(w.capitalize() for w in TABLE1_WORDS)  # Left, Right, Center, Lower, Upper
ALL_SPLIT = "all"
# Hand-written because no stop-word list ships with our dependencies (no nltk/scikit-learn); only
# function words, so "small", "target", "bright" stay visible in the top-words list.
_STOP_TEXT = """a an the and or but of in on at to from by with for as is are was were be been being it its this that
    these those there here which who whom whose what where when how than then so such into onto over under
    near about around within without between among through can could may might will would should do does
    did has have had not no nor very also just only more most some any each other another one image s"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

STATS_COLUMNS = (
    "dataset", "split", "images", "descriptions", "missing", "unreadable", *TABLE1_COLUMNS,
    "words_mean", "words_median", "words_p95", "words_max", "over_limit", "over_limit_share",
    "refusals", "no_target_texts",
)


@dataclass
class DatasetStats:
    """Statistics of one or more datasets: one row per (dataset, split) plus top words per dataset."""

    table: pd.DataFrame  # STATS_COLUMNS
    top_words: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    synonyms: bool = False
    max_words: int = 50
    unreadable: dict[str, str] = field(default_factory=dict)  # "dataset/id" → why its description was not read

    @property
    def table1(self) -> pd.DataFrame:
        return self.table[["dataset", "split", *TABLE1_COLUMNS]]

    def to_dict(self) -> dict:
        records = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {
            "synonyms": self.synonyms,
            "max_words": self.max_words,
            "table1": [{k: r[k] for k in ("dataset", "split", *TABLE1_COLUMNS)} for r in records],
            "rows": records,
            "top_words": {name: [[w, c] for w, c in pairs] for name, pairs in self.top_words.items()},
            "unreadable": dict(self.unreadable),
        }


def read_texts(
    ds: LangIRDataset, ids: Iterable[str], synonyms: bool = False, on_item: Callable[[str], None] | None = None
) -> pd.DataFrame:
    """One row per id: status ('ok' or the problem), text (for a problem: why), word count, refusal, no-target, Table-1 counts."""
    rows = []
    for sample_id in ids:
        desc = read_description_file(ds, sample_id)
        text = desc.text
        if text is None:
            rows.append((sample_id, desc.problem, desc.detail, 0, False, False, *([0] * len(TABLE1_WORDS))))
        else:
            counts = count_position_words(text, synonyms)
            rows.append((sample_id, "ok", text, word_count(text), is_refusal(text), says_no_target(text),
                         *(counts.get(w, 0) for w in TABLE1_WORDS)))
        if on_item is not None:
            on_item(sample_id)
    return pd.DataFrame(rows, columns=["id", "status", "text", "words", "refusal", "no_target", *TABLE1_COLUMNS])


def split_row(frame: pd.DataFrame, dataset: str, split: str, max_words: int) -> dict:
    """The statistics row of one split (`frame`: rows of `read_texts` for its ids)."""
    ok = frame[frame["status"] == "ok"]
    lengths = ok["words"].to_numpy()
    over = int((lengths > max_words).sum())
    has = len(lengths) > 0
    return {
        "dataset": dataset,
        "split": split,
        "images": int(len(frame)),
        "descriptions": int(len(ok)),
        "missing": int((frame["status"] == "missing").sum()),
        "unreadable": int(((frame["status"] != "ok") & (frame["status"] != "missing")).sum()),
        **{c: int(ok[c].sum()) for c in TABLE1_COLUMNS},
        "words_mean": round(float(lengths.mean()), 2) if has else np.nan,
        "words_median": float(np.median(lengths)) if has else np.nan,
        "words_p95": round(float(np.percentile(lengths, 95)), 2) if has else np.nan,
        "words_max": int(lengths.max()) if has else np.nan,
        "over_limit": over,
        "over_limit_share": round(over / len(lengths), 6) if has else np.nan,
        "refusals": int(ok["refusal"].sum()),
        "no_target_texts": int(ok["no_target"].sum()),
    }


def top_words(texts: Iterable[str], n: int = 20) -> list[tuple[str, int]]:
    """Most frequent words (lower-case, stop words and numbers left out)."""
    counter: Counter = Counter()
    for text in texts:
        counter.update(w for w in words(text) if w not in STOP_WORDS and len(w) > 1)
    return counter.most_common(n)


def dataset_name(ds: LangIRDataset, taken: Sequence[str] = ()) -> str:
    """Short display name of a dataset (its folder), made unique against `taken`."""
    name = ds.root.resolve().name or str(ds.root)
    return str(ds.root) if name in taken else name


def compute_stats(
    datasets: Sequence[LangIRDataset],
    selected: Sequence[str] = (),
    synonyms: bool = False,
    max_words: int = 50,
    top: int = 20,
    on_item: Callable[[str], None] | None = None,
) -> DatasetStats:
    """Rows per (dataset, split) — the selected splits, else every split of the layout — and an 'all' row.

    Each description is read once per dataset; splits select rows of that one table.
    """
    rows: list[dict] = []
    tops: dict[str, list[tuple[str, int]]] = {}
    unreadable: dict[str, str] = {}
    names: list[str] = []
    for ds in datasets:
        name = dataset_name(ds, names)
        names.append(name)
        splits = [s for s in selected if s in ds.split_names] if selected else ds.split_names
        split_ids = {s: ds.split_ids(s) for s in splits}
        every = list(dict.fromkeys(i for ids in split_ids.values() for i in ids)) if selected else ds.all_ids()
        texts = read_texts(ds, every, synonyms, on_item).set_index("id", drop=False)
        bad = texts[(texts["status"] != "ok") & (texts["status"] != "missing")]
        unreadable.update({f"{name}/{i}": detail for i, detail in zip(bad["id"], bad["text"], strict=True)})
        for split, ids in split_ids.items():
            present = [i for i in ids if i in texts.index]
            # split ids without an image file are still images the split expects: count them missing
            frame = texts.loc[present]
            absent = len(ids) - len(present)
            row = split_row(frame, name, split, max_words)
            row["images"] += absent
            row["missing"] += absent
            rows.append(row)
        if not selected or len(splits) > 1:
            rows.append(split_row(texts, name, ALL_SPLIT, max_words))
        tops[name] = top_words(texts.loc[texts["status"] == "ok", "text"], top)
    table = pd.DataFrame(rows, columns=list(STATS_COLUMNS))
    return DatasetStats(table, tops, synonyms, max_words, unreadable)


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".3g") -> str:
    """A GitHub Markdown table (written here because pandas' to_markdown needs `tabulate`, not a dependency)."""

    def cell(value) -> str:
        if isinstance(value, float):
            return "" if np.isnan(value) else format(value, floatfmt)
        return re.sub(r"([|\\])", r"\\\1", str(value)).replace("\n", " ")

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---" for c in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def stats_markdown(stats: DatasetStats) -> str:
    """Table 1, description statistics and top words as Markdown sections."""
    rule = "with synonyms (top→Upper, bottom→Lower, middle/centre/central→Center)" if stats.synonyms else "exact words"
    parts = [
        f"### Table 1: position words ({rule})",
        "",
        markdown_table(stats.table1),
        "",
        f"### Descriptions (limit {stats.max_words} words)",
        "",
        markdown_table(stats.table.drop(columns=list(TABLE1_COLUMNS))),
        "",
    ]
    for name, pairs in stats.top_words.items():
        parts += [f"### Most frequent words: {name}", "", ", ".join(f"{w} ({c})" for w, c in pairs) or "none", ""]
    return "\n".join(parts)


def disjoint_splits(splits: dict[str, Sequence[str]]) -> list[str]:
    """Split names, in the layout's order, that share no image: the first of overlapping ones wins.

    SIRST's idx_427 lists trainval, train, val, test and trainvaltest; this keeps trainval and
    test, the paper's train/test, so plots and packed sets count each image once. A split holding
    every image (trainvaltest, 'all') is skipped while other splits exist.
    """
    everything = set().union(*map(set, splits.values())) if splits else set()
    taken: set[str] = set()
    chosen: list[str] = []
    for name, ids in splits.items():
        members = set(ids)
        if not members or (len(splits) > 1 and members == everything):
            continue
        if members & taken:
            continue
        chosen.append(name)
        taken |= members
    if not chosen and splits:  # only whole-set splits: keep the first
        chosen.append(next(iter(splits)))
    return chosen
