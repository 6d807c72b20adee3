"""The package's imports run one way (issue 19): a layer never imports one above it, and no modules import each other in a loop.

Layers, bottom up: errors/extras · data · text · describe and language · curate and models · review and
evaluate · train · cli. `models` and `evaluate` never import `train` (open_clip keeps its trainer apart);
`curate` never imports the torch side. Lazy imports inside functions count: they are imports all the same.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "langir"
LAYER = {"errors": 0, "extras": 0, "__init__": 0, "__main__": 9, "data": 1, "text": 2, "describe": 3,
         "language": 3, "curate": 4, "models": 4, "review": 5, "evaluate": 5, "train": 6, "cli": 9}
FORBIDDEN = {("curate", "models"), ("curate", "evaluate"), ("curate", "train"), ("curate", "language"),
             ("describe", "language"), ("language", "describe"), ("models", "curate"), ("evaluate", "review"),
             ("review", "evaluate")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from langir.data import guarded` imports the module langir.data.guarded, not the package's names
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES]
            found += [(name, node.lineno) for name in subs or [node.module]]
    return [(name, line) for name, line in found if name.startswith("langir")]


def _part(module: str) -> str:
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else "__init__"


def test_no_import_runs_up_a_layer() -> None:
    bad = []
    for module, path in MODULES.items():
        mine = _part(module)
        for name, line in _imports(path):
            theirs = _part(name)
            if theirs == mine or theirs not in LAYER:
                continue
            if LAYER[theirs] > LAYER[mine] or (mine, theirs) in FORBIDDEN:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} {mine} → {name}")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_no_import_circle() -> None:
    """Lazy and TYPE_CHECKING imports count: a loop hidden in a function is still two modules that need each other."""
    modules = MODULES
    graph = {m: {n for n, _ in _imports(p) if n in modules and n != m} for m, p in modules.items()}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        raise AssertionError(f"import circle: {' → '.join(error.args[1])}") from None


def test_every_layer_is_known() -> None:
    """A new top-level part of the package must be placed in the order above."""
    assert {_part(m) for m in MODULES} <= set(LAYER)
