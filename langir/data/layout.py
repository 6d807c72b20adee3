"""Dataset layouts: where images, masks, descriptions and split files live, as `{id}` patterns.

Presets cover the public IRSTD sets (LangIR paper, App. D); anything else is described by
patterns given as flags or in a `langir.toml` beside the data:

    [layout]
    preset = "sirst"                        # optional starting point
    images = "mixed/{id}.png"               # ".*" as suffix: any image type
    masks = "annotations/masks/{id}_pixels0.png"
    descriptions = "descriptions/{id}.txt"
    splits = "splits/*.txt"                 # a glob (split name = file stem) or a table:
    # [layout.splits]
    # train = "splits/train.txt"
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from langir.errors import ConfigError, DataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILE = "langir.toml"
SPLIT_STEMS = ("trainval", "train", "val", "test", "trainvaltest")


@dataclass(frozen=True)
class Layout:
    """Naming convention of one dataset; every path is relative to the dataset root."""

    name: str
    images: str
    masks: str
    descriptions: str
    # Extra patterns tried when reading descriptions (e.g. SIRST copies with `_description`).
    description_alternatives: tuple[str, ...] = ()
    # Split name -> split file (relative). Empty: found by `discover_splits`.
    splits: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict:
        return {
            "layout": self.name,
            "images": self.images,
            "masks": self.masks,
            "descriptions": self.descriptions,
            "splits": dict(self.splits),
        }


PRESETS: dict[str, Layout] = {
    "generic": Layout("generic", "images/{id}.png", "masks/{id}.png", "descriptions/{id}.description.txt"),
    "irstd1k": Layout("irstd1k", "images/{id}.png", "masks/{id}.png", "descriptions/{id}.description.txt"),
    "sirst": Layout(
        "sirst",
        "images/{id}.png",
        "masks/{id}_pixels0.png",
        "descriptions/{id}-description.txt",
        description_alternatives=("descriptions/{id}_description.txt",),
    ),
    "nudt": Layout("nudt", "images/{id}.png", "masks/{id}.png", "descriptions/{id}.description.txt"),
}
LAYOUT_CHOICES = ("auto", *PRESETS)


def check_pattern(pattern: str, what: str) -> str:
    """A pattern must be relative, contain `{id}` in its file name and no other placeholder."""
    if "{id}" not in Path(pattern).name:
        raise ConfigError(f"{what} pattern {pattern!r} needs an {{id}} placeholder in its file name")
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise ConfigError(f"{what} pattern {pattern!r} must be a path inside the dataset folder")
    if re.search(r"\{(?!id\})", pattern):
        raise ConfigError(f"{what} pattern {pattern!r}: only the {{id}} placeholder is known")
    return pattern


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Regex matching the file name part of `pattern`, capturing the id."""
    name = Path(pattern).name
    head, tail = name.split("{id}", 1)
    tail_re = re.escape(tail[:-2]) + r"\.(?:png|bmp|jpe?g|tiff?)" if tail.endswith(".*") else re.escape(tail)
    return re.compile("^" + re.escape(head) + r"(?P<id>.+?)" + tail_re + "$", re.IGNORECASE)


def discover_ids(root: Path, pattern: str) -> list[str]:
    """Ids of the files that match `pattern`, naturally sorted."""
    folder = root / Path(pattern).parent
    if not folder.is_dir():
        return []
    rx = pattern_regex(pattern)
    ids = {m.group("id") for p in folder.iterdir() if p.is_file() and (m := rx.match(p.name))}
    return natural_sorted(ids)


def natural_sorted(ids) -> list[str]:
    """Sort ids so that Misc_2 comes before Misc_10."""
    return sorted(ids, key=lambda s: [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)])


def discover_splits(root: Path, layout: Layout) -> dict[str, str]:
    """Split files at the root, or else in the first sub-folder holding train/val/test lists."""
    skip = {Path(p).parts[0] for p in (layout.images, layout.masks, layout.descriptions)}
    folders = [root] + sorted(p for p in root.iterdir() if p.is_dir() and p.name not in skip and not p.name.startswith("."))
    for folder in folders:
        found = {stem: folder / f"{stem}.txt" for stem in SPLIT_STEMS if (folder / f"{stem}.txt").is_file()}
        if found:
            return {name: str(path.relative_to(root)) for name, path in found.items()}
    return {}


def _splits_from_config(root: Path, value) -> dict[str, str]:
    if isinstance(value, str):
        files = sorted(root.glob(value))
        if not files:
            raise ConfigError(f"{CONFIG_FILE}: splits glob {value!r} matches no file under {root}")
        return {p.stem: str(p.relative_to(root)) for p in files}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    raise ConfigError(f"{CONFIG_FILE}: 'splits' must be a glob string or a table of name = file")


def read_config(root: Path) -> dict:
    """The `[layout]` table of `langir.toml` in `root`, or {}."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise DataError(path, f"invalid TOML: {err}") from None
    layout = data.get("layout", {})
    if not isinstance(layout, dict):
        raise DataError(path, "[layout] must be a table")
    unknown = set(layout) - {"preset", "images", "masks", "descriptions", "splits"}
    if unknown:
        raise DataError(path, f"unknown key(s) in [layout]: {', '.join(sorted(unknown))}")
    return layout


def detect_preset(root: Path) -> str:
    """Guess the preset from file names: `_pixels0` masks → sirst, XDU ids → irstd1k, numeric ids → nudt."""
    images = root / "images"
    masks = root / "masks"
    if masks.is_dir() and any(p.name.endswith("_pixels0.png") for p in masks.iterdir()):
        return "sirst"
    stems = [p.stem for p in images.iterdir() if p.is_file()] if images.is_dir() else []
    if stems and all(s.upper().startswith("XDU") for s in stems):
        return "irstd1k"
    if stems and all(s.isdigit() for s in stems):
        return "nudt"
    return "generic"


def parse_split_options(items: list[str] | None) -> dict[str, str]:
    """`--split NAME=FILE` options → {name: file}."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, file = item.partition("=")
        if not sep or not name.strip() or not file.strip():
            raise ConfigError(f"--split expects NAME=FILE, got {item!r}")
        out[name.strip()] = file.strip()
    return out


def resolve_layout(
    root: str | Path,
    preset: str = "auto",
    images: str | None = None,
    masks: str | None = None,
    descriptions: str | None = None,
    splits: dict[str, str] | None = None,
) -> Layout:
    """Combine a preset (or auto-detection), `langir.toml` and explicit options (which win)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "dataset folder not found")
    if preset not in LAYOUT_CHOICES:
        raise ConfigError(f"unknown layout {preset!r}; choose one of {', '.join(LAYOUT_CHOICES)}")
    config = read_config(root)
    name = preset if preset != "auto" else config.get("preset", "auto")
    if name == "auto":
        name = detect_preset(root)
    if name not in PRESETS:
        raise DataError(root / CONFIG_FILE, f"unknown preset {name!r}")
    layout = PRESETS[name]
    custom = {k: config[k] for k in ("images", "masks", "descriptions") if k in config}
    for key, value in (("images", images), ("masks", masks), ("descriptions", descriptions)):
        if value:
            custom[key] = value
    for key, value in custom.items():
        check_pattern(value, key)
    if custom:
        alternatives = () if "descriptions" in custom else layout.description_alternatives
        layout = replace(layout, name="custom" if set(custom) - {"descriptions"} else layout.name,
                         description_alternatives=alternatives, **custom)
    split_map = _splits_from_config(root, config["splits"]) if "splits" in config else {}
    split_map.update(splits or {})
    if not split_map:
        split_map = discover_splits(root, layout)
    return replace(layout, splits=split_map)
