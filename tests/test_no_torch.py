"""The base install: without torch, torchvision, open_clip and timm every base command runs, and every
command that needs `langir[train]` says so in one red line and exits 2 (no traceback).

One subprocess (so the blocker cannot leak into this test process) runs all commands in turn through
`langir.cli.main`; a sitecustomize on PYTHONPATH makes the train-only packages unimportable, as in a
fresh `pip install -e .`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

BLOCKED = ("torch", "torchvision", "open_clip", "timm")

SITECUSTOMIZE = f"""
import sys
from importlib.abc import MetaPathFinder

class _Blocker(MetaPathFinder):
    blocked = {BLOCKED!r}

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _Blocker())
"""

DRIVER = """
import contextlib, io, json, sys
from langir.cli import main

results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        except BaseException as error:  # a raw crash is what this test exists to catch
            import traceback
            traceback.print_exc(file=err)
            code = 99
    results.append({"argv": argv, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED_NAMES)
print(json.dumps({"results": results, "leaked": leaked}))
""".replace("BLOCKED_NAMES", repr(BLOCKED))


# torch imports, torchvision does not: what a CUDA torchvision wheel beside another torch build does
MISMATCH = """
import sys
from importlib.abc import MetaPathFinder

class _Mismatch(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torchvision", "open_clip"):
            raise RuntimeError("operator torchvision::nms does not exist")
        return None

sys.meta_path.insert(0, _Mismatch())
"""


def _run(commands: list[list[str]], tmp_path: Path, site_code: str = SITECUSTOMIZE) -> tuple[list[dict], list[str]]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(textwrap.dedent(site_code))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "MPLBACKEND": "Agg", "COLUMNS": "200"}
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        env.pop(key, None)
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(commands)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return data["results"], data["leaked"]


def test_blocker_really_blocks(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "No module named 'torch'" in proc.stderr


def test_base_commands_run_and_train_commands_name_the_extra(demo_copy: Path, tmp_path: Path) -> None:
    from langir.cli import app

    data = demo_copy
    preds = data / "masks"  # the ground truth as predictions: a perfect score
    names = {c.name for c in app.registered_commands}
    ckpt = tmp_path / "model.pt"  # a checkpoint is at hand; torch is what is missing
    ckpt.write_bytes(b"not read without torch")
    base = [
        ["info", str(data), "--json"],
        ["synth", str(tmp_path / "synth"), "--count", "2", "--size", "64"],
        ["describe", str(data), "--provider", "openai", "--dry-run"],
        ["describe", str(data), "--provider", "template"],
        ["validate", str(data), "--json"],
        ["stats", str(data), "--format", "json"],
        ["report", str(data), "--out", str(tmp_path / "card"), "--gallery", "2"],
        ["eval", "--preds", str(preds), "--dataset", str(data), "--json"],
        ["pack", str(data), str(tmp_path / "packed"), "--format", "hf"],
        ["pack", str(data), str(tmp_path / "packed-jsonl"), "--format", "jsonl"],
    ]
    train_side = [
        ["embed", str(data)],
        ["train", str(data), "--model", "unet", "--epochs", "1", "--out", str(tmp_path / "run")],
        ["profile", "--model", "unet", "--size", "64"],
        ["eval", "--checkpoint", str(ckpt), "--dataset", str(data)],
        ["export", "--checkpoint", str(ckpt), "--onnx", str(tmp_path / "m.onnx")],
    ]
    if "predict" in names:
        train_side.append(["predict", "--checkpoint", str(ckpt), str(data / "images"), "--out", str(data.parent / "predicted")])
    results, leaked = _run(base + train_side, tmp_path)
    assert not leaked, leaked
    for result in results[: len(base)]:
        assert result["code"] == 0, (result["argv"], result["stderr"][-2000:])
    by_cmd = {" ".join(r["argv"][:2]): r for r in results}
    assert json.loads(by_cmd["eval --preds"]["stdout"])["iou"] == pytest.approx(1.0)
    assert (tmp_path / "card" / "card.html").is_file() and (tmp_path / "packed" / "README.md").is_file()
    for result in results[len(base):]:
        lines = [line for line in result["stderr"].splitlines() if line.strip()]
        assert result["code"] == 2, (result["argv"], result["stderr"][-2000:])
        # run from this checkout (cwd elsewhere): the hint installs the checkout, not PyPI's langir (issue 22)
        assert len(lines) == 1 and f'pip install -e "{REPO}[train]"' in lines[0], (result["argv"], lines)
        assert "Traceback" not in result["stderr"]


def test_mismatched_torchvision_is_one_line_naming_both_versions(demo_copy: Path, tmp_path: Path) -> None:
    from importlib.metadata import version

    results, _ = _run([["describe", str(demo_copy)], ["embed", str(demo_copy)]], tmp_path, MISMATCH)
    embed = results[1]
    lines = [line for line in embed["stderr"].splitlines() if line.strip()]
    assert embed["code"] == 2 and len(lines) == 1, embed["stderr"][-2000:]
    assert f"torchvision {version('torchvision')} does not match torch {version('torch')}" in lines[0]
    assert "download.pytorch.org/whl/cpu" in lines[0]


def test_each_optional_module_names_its_extra_and_others_are_not_swallowed() -> None:
    from langir.extras import friendly_import_error, install_command, require

    cases = {"torch.nn": "train", "torchvision": "train", "open_clip": "train", "timm.optim": "train",
             "onnx": "export", "onnxruntime": "export", "tensorboard": "tensorboard", "pyarrow.parquet": "pack",
             "datasets": "test"}
    for module, extra in cases.items():
        error = friendly_import_error(ModuleNotFoundError(f"No module named {module!r}", name=module))
        assert error is not None and install_command(extra, REPO) in str(error) and error.exit_code == 2, module
    genai = friendly_import_error(ModuleNotFoundError("No module named 'google.genai'", name="google.genai"))
    assert genai is not None and str(genai).endswith("pip install google-genai")
    # a bug (a module we never depend on, any other RuntimeError) still surfaces as itself
    assert friendly_import_error(ModuleNotFoundError("No module named 'yaml'", name="yaml")) is None
    assert friendly_import_error(RuntimeError("CUDA out of memory")) is None
    with pytest.raises(ModuleNotFoundError):
        require("surely_not_a_module_langir_uses")
    from langir.extras import MissingExtraError

    with pytest.raises(MissingExtraError, match=r'pip install -e ".*\[train\]"'):
        require("surely_not_a_module_langir_uses", "train")


def test_install_hint_matches_how_langir_was_installed(tmp_path: Path) -> None:
    """From a source checkout `pip install -e ".[train]"` (PyPI's langir would replace the checkout's code);
    from an installed package `pip install "langir[train]"`."""
    from langir.extras import install_command, source_checkout

    assert source_checkout() == REPO
    assert install_command("train", REPO, cwd=REPO) == 'pip install -e ".[train]"'
    assert install_command("export", REPO, cwd=tmp_path) == f'pip install -e "{REPO}[export]"'
    assert install_command("train", None) == 'pip install "langir[train]"'
