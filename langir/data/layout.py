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

Every value is checked by type with the key named, and every path must stay inside the dataset
folder (split files given as `--split NAME=FILE` flags may point anywhere).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from langir.data.detect import any_id, fit_patterns, split_lists
from langir.data.patterns import SPLIT_WORD
from langir.errors import ConfigError, DataError

CONFIG_FILE = "langir.toml"
# Top-level tables of a dataset's langir.toml: [layout] here, [describe] read by `describe`/`curate`.
CONFIG_SECTIONS = ("layout", "describe")
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
    # Where this layout keeps its split lists, when not as `train.txt` etc. at the root or in a
    # sub-folder: `{split}` is the split name, `*` any text (BasicIRSTD: `img_idx/train_NUAA-SIRST.txt`).
    split_pattern: str = ""

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
    # BasicIRSTD (github.com/XinyiYing/BasicIRSTD): images/, masks/ with the same names (PNG or BMP
    # images), split lists img_idx/train_NAME.txt and img_idx/test_NAME.txt.
    "basicirstd": Layout("basicirstd", "images/{id}.*", "masks/{id}.png", "descriptions/{id}.description.txt",
                         split_pattern="img_idx/{split}_*.txt"),
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


def no_images_problem(root: Path, layout: Layout) -> str:
    """Why a folder has no images under `layout`: the pattern looked for, and the likely fix."""
    from langir.data.imageio import IMAGE_SUFFIXES

    where = f"no images found: looked for {layout.images} (layout {layout.name})"
    own = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES] if root.is_dir() else []
    if own:  # e.g. `langir info datasets/demo/images`: the images folder itself, not the dataset folder
        return (f"{where}; this folder holds {len(own)} image(s) itself: pass the dataset folder "
                f"{root.resolve().parent} (the one that holds {Path(layout.images).parent}/), or --images '{{id}}.*'")
    inner = sets_below(root)
    if inner:  # e.g. train/images + train/masks, test/images + test/masks: each sub-folder is a set
        shown = ", ".join(f"{name}/" for name in inner[:4]) + (", …" if len(inner) > 4 else "")
        return (f"{where}; this folder holds {len(inner)} dataset folder(s): {shown} — pass one of them "
                f"(e.g. {root / inner[0]}), or --images PATTERN")
    return f"{where}; pass the dataset folder (the one that holds {Path(layout.images).parent}/), or --images PATTERN"


def sets_below(root: Path) -> list[str]:
    """Sub-folders of `root` that open as datasets themselves (their own images found by a preset)."""
    found = []
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []
    for folder in folders[:64]:
        images, _ = fit_patterns(folder, PRESETS[detect_preset(folder)].images, "", keep=("masks",))
        if any_id(folder, images):
            found.append(folder.name)
    return found


def _split_pattern_files(root: Path, pattern: str) -> dict[str, str]:
    """Split files matching a layout's `split_pattern`, by split name."""
    folder = root / Path(pattern).parent
    if not folder.is_dir():
        return {}
    name_rx = re.escape(Path(pattern).name).replace(r"\{split\}", "(?P<split>trainval|train|val|test)")
    rx = re.compile("^" + name_rx.replace(r"\*", ".+") + "$", re.IGNORECASE)
    found: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and (m := rx.match(p.name)):
            found.setdefault(m.group("split").lower(), []).append(p)
    out: dict[str, str] = {}
    for split, paths in found.items():
        for p in paths:  # one list per split: named by the split; several (merged sets): by file stem
            out[split if len(paths) == 1 else p.stem] = str(p.relative_to(root))
    return out


def discover_splits(root: Path, layout: Layout) -> dict[str, str]:
    """The layout's split lists, else split files at the root, else in the first sub-folder holding them,
    else `.txt` files named like split lists whose lines are the set's ids (`detect.split_lists`)."""
    if layout.split_pattern:
        found = _split_pattern_files(root, layout.split_pattern)
        if found:
            return found
    skip = {Path(p).parts[0] for p in (layout.images, layout.masks, layout.descriptions)}
    folders = [root] + sorted(p for p in root.iterdir() if p.is_dir() and p.name not in skip and not p.name.startswith("."))
    for folder in folders:
        found = {stem: folder / f"{stem}.txt" for stem in SPLIT_STEMS if (folder / f"{stem}.txt").is_file()}
        if found:
            return {name: str(path.relative_to(root)) for name, path in found.items()}
    return split_lists(root, layout.images, split_like_files(root, layout))




def split_like_files(root: Path, layout: Layout) -> list[str]:
    """`.txt` files at the root or one folder down whose names look like split lists (train, test, val)."""
    skip = {Path(p).parts[0] for p in (layout.images, layout.masks, layout.descriptions)}
    found: list[str] = []
    try:
        folders = [root] + sorted(p for p in root.iterdir()
                                  if p.is_dir() and p.name not in skip and not p.name.startswith("."))
        for folder in folders:
            found += [str(p.relative_to(root)) for p in sorted(folder.iterdir())
                      if p.suffix.lower() == ".txt" and p.is_file() and SPLIT_WORD.search(p.stem)]
    except OSError:
        return found
    return found


def unused_split_files(root: Path, layout: Layout) -> list[str]:
    """Split-like files when none of them is used by `layout` (a hint that splits were missed)."""
    candidates = split_like_files(Path(root), layout)
    used = {str(Path(p)) for p in layout.splits.values()}
    return [] if any(c in used for c in candidates) else candidates


_TOML_TYPES = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array", dict: "a table"}


def _toml_type(value) -> str:
    for kind, words in _TOML_TYPES.items():
        if type(value) is kind:
            return words
    return "a date/time" if value is not None else "empty"


def _shown(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _inside(root: Path, value: str, key: str, config: Path) -> str:
    """A path from langir.toml, checked to stay inside the dataset folder (also through symlinks)."""
    if "\0" in value:
        raise DataError(config, f"[layout] {key}: {_shown(value)} contains a NUL byte")
    rel = Path(value)
    if rel.is_absolute() or ".." in rel.parts or not value.strip():
        raise DataError(config, f"[layout] {key}: {_shown(value)} must be a relative path inside the dataset folder")
    real_root = os.path.realpath(root)
    real = os.path.realpath(root / rel)
    if os.path.commonpath([real_root, real]) != real_root:
        raise DataError(config, f"[layout] {key}: {_shown(value)} leads outside the dataset folder (through a symlink)")
    return value


def _flag_split(root: Path, name: str, file: str) -> str:
    """A `--split NAME=FILE` path: absolute as given (the user chose it), relative ones stay inside the dataset."""
    if Path(file).is_absolute():
        return file
    real_root = os.path.realpath(root)
    if ".." in Path(file).parts or os.path.commonpath([real_root, os.path.realpath(root / file)]) != real_root:
        raise ConfigError(f"--split {name}={_shown(file)} leads outside the dataset folder {root}; "
                          "give an absolute path to use a split file kept elsewhere")
    return file


def _splits_from_config(root: Path, value, config: Path) -> dict[str, str]:
    if isinstance(value, str):
        _inside(root, value, "splits", config)
        try:
            files = [p for p in sorted(root.glob(value)) if p.is_file()]
        except (ValueError, NotImplementedError, OSError) as err:
            raise DataError(config, f"[layout] splits glob {_shown(value)}: {err}") from None
        if not files:
            raise DataError(config, f"[layout] splits glob {_shown(value)} matches no file under {root}")
        return {p.stem: _inside(root, str(p.relative_to(root)), "splits", config) for p in files}
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for name, file in value.items():
            if not isinstance(file, str):
                raise DataError(config, f"[layout.splits] {name} must be a string (a split file), not {_toml_type(file)}")
            out[str(name)] = _inside(root, file, f"splits.{name}", config)
        return out
    raise DataError(config, f"[layout] splits must be a glob string or a table of name = file, not {_toml_type(value)}")


_CONFIG_KEYS = {
    "preset": "a preset name",
    "images": "a path pattern with {id}",
    "masks": "a path pattern with {id}",
    "descriptions": "a path pattern with {id}",
    "splits": None,  # checked by _splits_from_config
}


def read_config(root: Path) -> dict:
    """The `[layout]` table of `langir.toml` in `root`, or {}; every value checked by type."""
    path = root / CONFIG_FILE
    if not os.path.lexists(path):
        return {}
    from langir.data.guarded import read_toml  # late: guarded imports nothing of layout, keep it so

    data = read_toml(path, "config file")
    sections = set(data) - set(CONFIG_SECTIONS)
    if sections:  # a typo such as [layuot] would otherwise drop the whole layout without a word
        raise DataError(path, f"unknown section(s) or key(s) {', '.join(sorted(sections))} "
                              f"(known sections: {', '.join(f'[{s}]' for s in CONFIG_SECTIONS)})")
    layout = data.get("layout", {})
    if not isinstance(layout, dict):
        raise DataError(path, f"[layout] must be a table, not {_toml_type(layout)}")
    unknown = set(layout) - set(_CONFIG_KEYS)
    if unknown:
        raise DataError(path, f"unknown key(s) in [layout]: {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(_CONFIG_KEYS)})")
    for key, words in _CONFIG_KEYS.items():
        if words and key in layout and not isinstance(layout[key], str):
            raise DataError(path, f"[layout] {key} must be a string ({words}), not {_toml_type(layout[key])} "
                                  f"{_shown(layout[key])}")
    return layout


def detect_preset(root: Path) -> str:
    """Guess the preset: BasicIRSTD split lists → basicirstd, `_pixels0` masks → sirst, XDU ids → irstd1k,
    numeric ids → nudt."""
    images = root / "images"
    masks = root / "masks"
    if _split_pattern_files(root, PRESETS["basicirstd"].split_pattern):
        return "basicirstd"
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
            raise ConfigError(f"--split expects NAME=FILE, got {_shown(item)}")
        if "\0" in item:
            raise ConfigError(f"--split {_shown(item)}: contains a NUL byte")
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
        if os.path.lexists(root):
            raise DataError(root, "is not a folder; give the dataset folder")
        raise DataError(root, "dataset folder not found")
    if preset not in LAYOUT_CHOICES:
        raise ConfigError(f"unknown layout {preset!r}; choose one of {', '.join(LAYOUT_CHOICES)}")
    config = read_config(root)
    name = preset if preset != "auto" else config.get("preset", "auto")
    if name == "auto":
        name = detect_preset(root)
    if name not in PRESETS:
        raise DataError(root / CONFIG_FILE, f"[layout] preset: unknown preset {_shown(name)} "
                                            f"(known: {', '.join(LAYOUT_CHOICES)})")
    layout = PRESETS[name]
    custom = {k: config[k] for k in ("images", "masks", "descriptions") if k in config}
    for key, value in (("images", images), ("masks", masks), ("descriptions", descriptions)):
        if value:
            custom[key] = value
    for key, value in custom.items():
        if "\0" in value:
            raise ConfigError(f"{key} pattern {_shown(value)} contains a NUL byte")
        check_pattern(value, key)
    if custom:
        alternatives = () if "descriptions" in custom else layout.description_alternatives
        layout = replace(layout, name="custom" if set(custom) - {"descriptions"} else layout.name,
                         description_alternatives=alternatives, **custom)
    images_found, masks_found = fit_patterns(root, layout.images, layout.masks, keep=set(custom))
    layout = replace(layout, images=images_found, masks=masks_found)
    split_map = _splits_from_config(root, config["splits"], root / CONFIG_FILE) if "splits" in config else {}
    for name, file in (splits or {}).items():
        split_map[name] = _flag_split(root, name, file)
    if not split_map:
        split_map = discover_splits(root, layout)
    return replace(layout, splits=split_map)
