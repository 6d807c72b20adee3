"""Module names and what the wheel ships (issue 19): no module shadows the standard library, and the
package does not import test-only libraries (the BasicIRSTD reference metrics live under tests/)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "langir"
TEST_ONLY = ("skimage", "pytest")


def test_no_module_shadows_the_standard_library() -> None:
    shadows = [str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py")
               if p.stem in sys.stdlib_module_names and p.stem != "__init__"]
    assert shadows == [], f"rename these (a stdlib module of the same name is what `import` may find): {shadows}"


def test_the_package_imports_no_test_only_library() -> None:
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.relative_to(PACKAGE.parent)}: {n}" for n in names if n.split(".")[0] in TEST_ONLY]
    assert found == [], found


def test_guarded_modules_have_short_functions() -> None:
    """The modules of this issue's guarded path and the report: no function over 100 lines."""
    long = []
    for path in [*(PACKAGE / "data").glob("*.py"), PACKAGE / "curate" / "report.py", PACKAGE / "curate" / "provenance.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 100:
                long.append(f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert long == [], long
