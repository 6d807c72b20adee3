"""`pack`: a LangIR set as files the usual tools load (Hugging Face `datasets`, Parquet, JSONL).

Formats (every one carries a dataset card README.md with YAML front matter, so
`datasets.load_dataset(OUT)` works on the folder):

- ``hf``: one imagefolder per split: ``SPLIT/images/…``, ``SPLIT/masks/…`` (the original bytes) and
  ``SPLIT/metadata.jsonl``, whose ``file_name`` / ``mask_file_name`` columns `datasets` decodes into
  ``image`` and ``mask`` images (``metadata.parquet`` instead when only some splits carry structured
  ``targets``: JSON cannot type an all-null column, and `datasets` refuses splits of differing types);
- ``parquet``: ``data/SPLIT-00000-of-00001.parquet`` with the image and mask bytes inline (needs
  pyarrow, extra ``pack``); the schema tells `datasets` both are images;
- ``jsonl``: ``data/SPLIT.jsonl`` with relative ``image`` / ``mask`` paths to ``images/`` and ``masks/``
  (for tools that are not `datasets`).

Per image: id, split, splits (the layout's splits holding it, ';'-joined), description (and word
count), targets (count, centroids in pixels as [row, col], areas in pixels), the positions a
structured answer gave (``targets``: [{"point": [x, y], "box": [x_min, y_min, x_max, y_max]}] in pixels
of the image, x first; null when the text came from a plain answer), the validate verdict,
failures (';'-joined) and ok flag, and provenance from the describe ledger (provider, model, prompt
style, prompt text hash, attempt, cost, date, edited-after-describe; '' and 0 where the ledger has no
entry). The output folder is built beside OUT and renamed into place: a failed
run (full disk, read-only folder: one `OutputError` naming OUT) leaves nothing half-written.

A sample with a missing or unreadable image, mask or description (`validate.broken_samples`: the same
rule as `langir report`) is left out of the pack and listed in `PackResult.broken`; a file `datasets`
cannot decode must not reach the people who load the pack.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from langir.curate.provenance import FIELDS as PROVENANCE_FIELDS
from langir.curate.provenance import provenance_lines, read_provenance, summarize_provenance
from langir.curate.stats import disjoint_splits
from langir.curate.validate import broken_samples, validate_dataset
from langir.data import guarded
from langir.data.atomic import ensure_dir, write_text_atomic
from langir.data.dataset import LangIRDataset
from langir.data.imageio import image_info
from langir.errors import ConfigError, LangirError, OutputError

FORMATS = ("hf", "jsonl", "parquet")
UNSPLIT = "full"  # split name when the layout defines none ('all' is reserved by `datasets`)
# Hugging Face `source_datasets` names of the public layouts `langir` detects.
SOURCE_NAMES = {"sirst": "NUAA-SIRST", "irstd1k": "IRSTD-1k", "nudt": "NUDT-SIRST"}
SOURCE_CITATIONS = {
    "sirst": "Dai et al., Asymmetric Contextual Modulation for Infrared Small Target Detection, WACV 2021",
    "irstd1k": "Zhang et al., ISNet: Shape Matters for Infrared Small Target Detection, CVPR 2022",
    "nudt": "Li et al., Dense Nested Attention Network for Infrared Small Target Detection, IEEE TIP 2022",
}


@dataclass
class PackResult:
    """What `pack_dataset` wrote."""

    out: Path
    format: str
    splits: dict[str, int]  # split -> images
    skipped: list[str]  # ids left out: a missing or unreadable file
    records: list[dict]
    broken: dict[str, str] = field(default_factory=dict)  # id -> the problem, naming the file
    ledger_problems: list[str] = field(default_factory=list)  # the describe ledger, there but not (fully) readable

    def to_dict(self) -> dict:
        return {"out": str(self.out), "format": self.format, "splits": self.splits, "skipped": self.skipped,
                "broken": self.broken, "images": len(self.records), "ledger_problems": self.ledger_problems}


def pack_splits(ds: LangIRDataset, selected: Sequence[str] = ()) -> dict[str, list[str]]:
    """Split name -> ids to pack: the selected splits, else the layout's non-overlapping ones, else one split."""
    if selected:
        return {name: ds.split_ids(name) for name in selected}
    splits = {name: ds.split_ids(name) for name in ds.split_names}
    names = disjoint_splits(splits)
    if not names:
        return {UNSPLIT: ds.all_ids()}
    return {name: splits[name] for name in names}


def build_records(
    ds: LangIRDataset,
    splits: dict[str, list[str]],
    on_item: Callable[[str], None] | None = None,
    broken: dict[str, str] | None = None,
    ledger_problems: list[str] | None = None,
    **validate_options,
) -> list[dict]:
    """One JSON-ready record per (split, image): files, text, targets, verdict, provenance.

    Samples with a missing or unreadable file get no record; `broken` (when given) receives them;
    `ledger_problems` a line when the describe ledger is there but cannot be read in full.
    """
    ids = list(dict.fromkeys(i for members in splits.values() for i in members))
    result = validate_dataset(ds, ids, on_item=on_item, **validate_options)
    bad = broken_samples(result.table)
    if broken is not None:
        broken.update(bad)
    strictness = getattr(result, "strictness", None)
    table = result.table.set_index("id")
    targets = {k: g for k, g in result.targets.groupby("id")} if len(result.targets) else {}
    texts = {i: table.at[i, "description"] for i in ids if table.at[i, "description"]}
    provenance = read_provenance(ds.root, texts, ledger_problems)
    split_of = ds.split_of()
    records = []
    for split, members in splits.items():
        for sample_id in members:
            if sample_id in bad:
                continue
            row = table.loc[sample_id]
            image_path = ds.image_path(sample_id)
            try:
                width, height, _ = image_info(guarded.check_inside(image_path, ds.root, "image"))
            except LangirError as error:  # validate read only the header of masked samples' images
                bad[sample_id] = str(error)
                if broken is not None:
                    broken[sample_id] = str(error)
                continue
            found = targets.get(sample_id)
            cents = [] if found is None else np.round(found[["row", "col"]].to_numpy() * [height, width], 3).tolist()
            areas = [] if found is None else [int(a) for a in found["area"]]
            mask_path = ds.mask_path(sample_id)
            prov = provenance.get(sample_id, {})
            # Every field keeps one JSON type in every split (no nulls, no lists that may be empty
            # in one split only): `datasets` infers each split file's schema and refuses a mismatch.
            records.append({
                "id": sample_id,
                "split": split,
                "splits": ";".join(split_of.get(sample_id, [])),
                "image_file": image_path.name,
                "mask_file": mask_path.name if mask_path.is_file() else None,
                "width": width,
                "height": height,
                "text": str(row["description"]),
                "words": int(row["words"]),
                "target_count": int(row["targets"]),  # -1: no readable mask
                "centroids": cents,
                "areas": areas,
                "targets": answer_targets(ds, sample_id),
                "verdict": str(row["verdict"]),
                "ok": bool(row["ok"]),
                "failures": str(row["failures"]),
                "strictness": str(strictness or ""),
                **{f"provenance_{k}": _typed(k, prov.get(k)) for k in PROVENANCE_FIELDS},
            })
    return records


def answer_targets(ds: LangIRDataset, sample_id: str) -> list[dict] | None:
    """A structured answer's stored targets (pixels, x first), every item with both keys; None: none stored."""
    from langir.data.answer_targets import read_targets

    stored = read_targets(ds.root, sample_id)
    if stored is None:
        return None
    return [{"point": [float(v) for v in t["point"]],
             "box": [float(v) for v in t["box"]] if t.get("box") is not None else None} for t in stored]


def _typed(field: str, value):
    """Provenance values without nulls: '' for unknown text, 0 for an unknown attempt or cost."""
    if field == "attempt":
        return int(value or 0)
    if field == "cost_usd":
        return float(value or 0.0)
    if field == "edited":
        return bool(value)
    return "" if value is None else str(value)


def _config_yaml(fmt: str, splits: Sequence[str]) -> list[str]:
    paths = {"hf": "{s}/**", "parquet": "data/{s}-*.parquet", "jsonl": "data/{s}.jsonl"}[fmt]
    lines = ["configs:", "- config_name: default", "  data_files:"]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: \"{paths.format(s=split)}\""]
    return lines


def card_front_matter(ds: LangIRDataset, images: int, license: str = "unknown", title: str | None = None) -> str:
    """Hugging Face dataset-card metadata (YAML, without the --- fences) for a LangIR set."""
    layout = ds.layout.describe().get("layout", "generic")
    source = SOURCE_NAMES.get(layout, "original")
    n = images
    size = "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K" if n < 100_000 else "n>100K"
    lines = [
        f"license: {license}",
        "task_categories:",
        "- image-segmentation",
        "- image-to-text",
        "language:",
        "- en",
        "annotations_creators:",
        "- machine-generated",
        "source_datasets:",
        f"- {source}",
        "size_categories:",
        f"- {size}",
        "tags:",
        "- infrared",
        "- small-target-detection",
        "- langir",
        f"pretty_name: {json.dumps(title or ds.root.resolve().name + ' (LangIR descriptions)')}",
    ]
    return "\n".join(lines) + "\n"


def dataset_card(
    ds: LangIRDataset, fmt: str, records: list[dict], license: str = "unknown", title: str | None = None,
    ledger_problems: Sequence[str] = (),
) -> str:
    """README.md with Hugging Face dataset-card metadata and a provenance section (`ledger_problems`: said first)."""
    layout = ds.layout.describe().get("layout", "generic")
    splits = list(dict.fromkeys(r["split"] for r in records))
    front = ["---", card_front_matter(ds, len(records), license, title).rstrip("\n"), *_config_yaml(fmt, splits), "---"]
    by_split = {s: sum(r["split"] == s for r in records) for s in splits}
    ids = list(dict.fromkeys(r["id"] for r in records))
    texts = {r["id"]: r["text"] for r in records if r["text"]}
    prov = summarize_provenance(read_provenance(ds.root, texts), ids)
    verdicts: dict[str, int] = {}
    for r in records:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    strictness = next((r["strictness"] for r in records if r["strictness"]), None)
    image_col = {"hf": "`image`, `mask` (decoded images)", "parquet": "`image`, `mask` (image bytes)",
                 "jsonl": "`image`, `mask` (paths relative to the folder)"}[fmt]
    body = [
        f"# {title or ds.root.resolve().name}: a LangIR description set",
        "",
        "Infrared images with small-target masks and one machine-written sentence per image saying where "
        "the target is, in the LangIR format (LangIR/LGNet paper). Packed with `langir pack`.",
        "",
        "| split | images |",
        "|---|---|",
        *[f"| {s} | {c} |" for s, c in by_split.items()],
        "",
        "```python",
        "from datasets import load_dataset",
        "ds = load_dataset(\"PATH_OR_REPO\")" + ("" if fmt != "jsonl" else "  # image/mask are paths here"),
        "```",
        "",
        "## Fields",
        "",
        f"{image_col}; `id`; `split` and `splits` (every split of the source layout holding the image); "
        "`text` (the description) and `words`; `target_count` (-1: no readable mask), `centroids` ([row, col] "
        "in pixels) and `areas` (pixels) of the mask's 8-connected components; `targets`: the positions a "
        "structured answer gave (`describe --structured`), `[{\"point\": [x, y], \"box\": [x_min, y_min, x_max, "
        "y_max]}]` in pixels of the image, x first (`[]`: the answer saw no target; null: a plain answer); `verdict` (agrees / contradicts / "
        "vague / no-target / n/a), `ok` and `failures` (';'-joined) from `langir validate`"
        + (f" (strictness `{strictness}`)" if strictness else "")
        + "; `provenance_*` (provider, model, prompt style, prompt text hash, attempt, cost in USD, date; "
        "empty or 0 where the describe ledger has no entry; `provenance_edited`: the text differs from every "
        "ledger answer). Lists and several splits are ';'-joined strings.",
        "",
        "## Validation",
        "",
        ", ".join(f"{k}: {v}" for k, v in sorted(verdicts.items())) + ".",
        "",
        "## Provenance",
        "",
        *[line for problem in ledger_problems
          for line in (f"The describe ledger could not be read in full: {_relative_to(problem, ds.root)}.", "")],
        *[line for text in (provenance_lines(prov) if prov["with_provenance"] or not ledger_problems else
                            ["Who wrote the descriptions is therefore not known: treat them as of unknown provenance."])
          for line in (text, "")],
        "The masks and images come from the source dataset"
        + (f" ({SOURCE_CITATIONS[layout]})" if layout in SOURCE_CITATIONS else "")
        + "; its license applies to them. Set `license` above accordingly before publishing.",
        "",
    ]
    return "\n".join(front + [""] + body)


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def _copy(src: Path, dst: Path) -> None:
    # inside the private staging folder: the folder's rename is the atomic step
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def _targets_type(pa):
    """The Arrow type of the `targets` field: list<struct<point: list<double>, box: list<double>>>."""
    return pa.list_(pa.struct([("point", pa.list_(pa.float64())), ("box", pa.list_(pa.float64()))]))


def _typed_metadata(records: list[dict]) -> bool:
    """True when some split has structured targets and another has none: JSON cannot give that split
    the type, and `datasets` refuses imagefolder splits whose metadata types differ."""
    has = {}
    for r in records:
        has[r["split"]] = has.get(r["split"], False) or bool(r["targets"])
    return any(has.values()) and not all(has.values())


def _write_metadata_parquet(path: Path, rows: list[dict]) -> None:
    from langir.extras import require

    pa = require("pyarrow", "pack")
    pq = require("pyarrow.parquet", "pack")
    columns = {k: [row.get(k) for row in rows] for k in rows[0]}
    table = pa.table({k: pa.array(v, _targets_type(pa)) if k == "targets" else v for k, v in columns.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _write_hf(ds: LangIRDataset, records: list[dict], tmp: Path) -> None:
    # metadata.jsonl, unless a split without structured targets would get another type than the
    # others: then metadata.parquet, whose schema says the type (imagefolder reads either)
    typed = _typed_metadata(records)
    for split in dict.fromkeys(r["split"] for r in records):
        rows = []
        for r in (r for r in records if r["split"] == split):
            _copy(ds.image_path(r["id"]), tmp / split / "images" / r["image_file"])
            row = {"file_name": f"images/{r['image_file']}"}
            if r["mask_file"]:
                _copy(ds.mask_path(r["id"]), tmp / split / "masks" / r["mask_file"])
                row["mask_file_name"] = f"masks/{r['mask_file']}"
            rows.append(row | {k: v for k, v in r.items() if k not in ("image_file", "mask_file")})
        if any("mask_file_name" in row for row in rows):  # one schema for every row
            for row in rows:
                row.setdefault("mask_file_name", None)
        if typed:
            _write_metadata_parquet(tmp / split / "metadata.parquet", rows)
        else:
            _write_jsonl(tmp / split / "metadata.jsonl", rows)


def _write_jsonl_format(ds: LangIRDataset, records: list[dict], tmp: Path) -> None:
    for r in records:
        _copy(ds.image_path(r["id"]), tmp / "images" / r["image_file"])
        if r["mask_file"]:
            _copy(ds.mask_path(r["id"]), tmp / "masks" / r["mask_file"])
    for split in dict.fromkeys(r["split"] for r in records):
        rows = [{"image": f"images/{r['image_file']}", "mask": f"masks/{r['mask_file']}" if r["mask_file"] else None}
                | {k: v for k, v in r.items() if k not in ("image_file", "mask_file")}
                for r in records if r["split"] == split]
        _write_jsonl(tmp / "data" / f"{split}.jsonl", rows)


def _write_parquet(ds: LangIRDataset, records: list[dict], tmp: Path) -> None:
    from langir.extras import require

    pa = require("pyarrow", "pack")
    pq = require("pyarrow.parquet", "pack")
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    # `datasets` reads its feature types from this schema metadata: image and mask become Image()
    features = {"image": {"_type": "Image"}, "mask": {"_type": "Image"}}
    for split in dict.fromkeys(r["split"] for r in records):
        rows = [r for r in records if r["split"] == split]
        images = [{"bytes": guarded.read_bytes(ds.image_path(r["id"]), "image", root=ds.root), "path": r["image_file"]}
                  for r in rows]
        masks = [{"bytes": guarded.read_bytes(ds.mask_path(r["id"]), "mask", root=ds.root), "path": r["mask_file"]}
                 if r["mask_file"] else None
                 for r in rows]
        rest = {k: [r[k] for r in rows] for k in rows[0] if k not in ("image_file", "mask_file")}
        table = pa.table({"image": pa.array(images, image_type), "mask": pa.array(masks, image_type), **rest})
        # typed even in a split without structured targets (inference would give the null type)
        table = table.set_column(table.schema.get_field_index("targets"), "targets",
                                 pa.array(rest["targets"], _targets_type(pa)))
        table = table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})
        path = tmp / "data" / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)


def pack_dataset(
    ds: LangIRDataset,
    out: str | Path,
    fmt: str = "hf",
    selected: Sequence[str] = (),
    license: str = "unknown",
    title: str | None = None,
    overwrite: bool = False,
    on_item: Callable[[str], None] | None = None,
    **validate_options,
) -> PackResult:
    """Write `ds` (the selected splits, else its non-overlapping ones) to `out` in `fmt`; see the module docstring."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(out, "exists and is not a folder; pack writes a folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{out} exists and is not empty (use --overwrite to replace it)")
    if out.resolve() == ds.root.resolve() or ds.root.resolve() in out.resolve().parents:
        raise ConfigError(f"{out} is inside the dataset {ds.root}; pack to another folder")
    splits = pack_splits(ds, selected)
    broken: dict[str, str] = {}
    ledger_problems: list[str] = []
    records = build_records(ds, splits, on_item, broken, ledger_problems, **validate_options)
    all_ids = [i for members in splits.values() for i in members]
    packed = {(r["split"], r["id"]) for r in records}
    skipped = sorted({i for s, members in splits.items() for i in members if (s, i) not in packed})
    if not records:
        raise ConfigError(f"nothing to pack: no readable sample among {len(all_ids)} ids of {ds.root}")
    ensure_dir(out.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as error:
        raise OutputError(out, error.strerror or str(error)) from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        try:
            {"hf": _write_hf, "jsonl": _write_jsonl_format, "parquet": _write_parquet}[fmt](ds, records, tmp)
            write_text_atomic(tmp / "README.md", dataset_card(ds, fmt, records, license, title, ledger_problems))
        except OutputError as error:  # name what the user asked for, not our staging folder
            raise OutputError(out, error.problem) from None
        except OSError as error:  # copies and Parquet writes: a full disk, a read-only folder
            raise OutputError(out, error.strerror or str(error)) from None
        if out.exists():  # swap: the old folder goes only once the new one is complete
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    counts = {s: sum(r["split"] == s for r in records) for s in splits}
    return PackResult(out, fmt, counts, skipped, records, broken, ledger_problems)


def _relative_to(text: str, root: Path) -> str:
    """Paths inside the dataset relative to it: a published card does not show the local folder."""
    return text.replace(f"{root}/", "").replace(f"{root.resolve()}/", "")

