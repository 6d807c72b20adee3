"""ONNX export with dynamic batch, height and width, checked against PyTorch with onnxruntime.

Inputs: ``image`` (N, 1, H, W) float32 in [0, 1], any H and W; language-prior models (``uses_language``
with ``td_dim > 0``) also take ``td`` (N, td_dim), the target-descriptor vector (CLIP image embedding, or
text + image). Output: ``logits`` (N, 1, H, W) of the main head (sigmoid → probability).

Every registered model pads its input itself with the one trace-safe rule of ``langir.models.padding``
(amounts computed from the input shape, no Python ``if`` for tracing to freeze) and crops its outputs
back, so the traced graph is exact at any size. The check runs onnxruntime and the PyTorch model on
realistic synthetic IR frames (``langir.data.synth``) at the traced size and at a size that is not a
multiple of 32, and compares probabilities with ``|p_ort − p_torch| ≤ atol + rtol·p``; a graph that
differs from the model (a branch or shape frozen by tracing) is refused and nothing is written.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from langir.data.atomic import write_bytes_atomic
from langir.errors import LangirError


class ExportError(LangirError):
    """The exported graph failed its check against PyTorch."""


def _onnxruntime() -> Any:
    """onnxruntime with its telemetry off: left on, it writes a device id and an event store into
    ~/.cache/Microsoft/DeveloperTools and a `.ses` file into $TMPDIR. The switch is read at import, so
    it is set first; a user's own `ORT_DISABLE_TELEMETRY` wins."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    return onnxruntime


def _main_head(model: Any, with_td: bool) -> Any:
    """The model with one input signature and its main head as the only output."""
    import torch

    class MainHead(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, image: torch.Tensor, td: torch.Tensor | None = None) -> torch.Tensor:
            out = self.inner(image, td=td) if with_td else self.inner(image)
            return out[0] if isinstance(out, (tuple, list)) else out

    return MainHead(model).eval()


def check_frames(batch: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """(batch, 1, H, W) float32 synthetic IR frames with small targets: what the model will really see."""
    from langir.data.synth import make_sample

    rng = np.random.default_rng(seed)
    return np.stack([make_sample(rng, (height, width))[0] for _ in range(batch)])[:, None].astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def export_onnx(model: Any, path: str | Path, size: int = 256, opset: int = 17, atol: float = 1e-4, rtol: float = 1e-3,
                check_batch: int = 2) -> dict[str, Any]:
    """Export ``model`` to ``path`` (atomically) and verify onnxruntime ≈ PyTorch on probabilities; returns a summary."""
    ort = _onnxruntime()
    import torch

    path = Path(path)
    model = model.float().cpu().eval()
    td_dim = int(getattr(model, "td_dim", 0) or 0)
    with_td = bool(getattr(model, "uses_language", False)) and td_dim > 0
    graph = _main_head(model, with_td)
    gen = torch.Generator().manual_seed(0)
    names = ["image"] + (["td"] if with_td else [])
    axes: dict[str, dict[int, str]] = {"image": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch", 2: "height", 3: "width"}}
    if with_td:
        axes["td"] = {0: "batch"}

    def inputs(h: int, w: int, seed: int) -> tuple[Any, ...]:
        image = torch.from_numpy(check_frames(check_batch, h, w, seed))
        if not with_td:
            return (image,)
        td = torch.nn.functional.normalize(torch.randn(check_batch, td_dim, generator=gen), dim=1)  # CLIP-like unit vector
        return (image, td)

    trace_args = inputs(size, size, 0)
    # Checked at the traced size and at an odd size, which a graph with a frozen padding branch gets wrong.
    odd = (size - 13 if size >= 45 else size + 19, size + 7)
    checks = [trace_args, inputs(*odd, 1)]
    feeds = [{n: a.numpy() for n, a in zip(names, args, strict=True)} for args in checks]
    with torch.no_grad():
        expected = [torch.sigmoid(graph(*args)).numpy() for args in checks]

    def check(graph: Any) -> tuple[bytes, float, str | None]:
        """Export ``graph`` in memory; (model bytes, largest |Δp|, None when it matches the model else the problem)."""
        buf = io.BytesIO()
        # The tracer warns that shape arithmetic (the models' own padding) is recorded as constants; the
        # check below at a second, odd size is what proves the graph right, so the warnings only confuse.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(graph, trace_args, buf, input_names=names, output_names=["logits"],
                              dynamic_axes=axes, opset_version=opset, dynamo=False)
        data = buf.getvalue()
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        worst = 0.0
        for args, feed, want in zip(checks, feeds, expected, strict=True):
            got = _sigmoid(session.run(["logits"], feed)[0])
            h, w = args[0].shape[-2:]
            if got.shape != want.shape:
                return data, worst, f"output {got.shape} instead of {want.shape} at {w}×{h}"
            diff = np.abs(got - want)
            worst = max(worst, float(np.max(diff)))
            if not np.all(diff <= atol + rtol * np.abs(want)):  # also catches NaN
                return data, worst, f"probabilities differ from PyTorch's by up to {float(np.max(diff)):.2e} at {w}×{h} " \
                                    f"(allowed {atol:.0e} + {rtol:.0e}·p)"
        return data, worst, None

    # Exported and checked in memory: nothing reaches the disk unless it passed.
    data, worst, problem = check(graph)
    if problem is not None:
        raise ExportError(f"{path}: onnxruntime {problem}; nothing written")
    write_bytes_atomic(path, data)
    return {"onnx": str(path), "inputs": names, "td_dim": td_dim if with_td else 0, "opset": opset,
            "max_prob_diff": worst, "checked_sizes": [[size, size], [odd[1], odd[0]]], "check_batch": check_batch,
            "atol": atol, "rtol": rtol}


def text_onnx_path(onnx: str | Path) -> Path:
    """Where the fine-tuned text encoder goes next to the detector's graph: ``x.onnx`` → ``x.text.onnx``."""
    onnx = Path(onnx)
    return onnx.with_name(onnx.stem + ".text.onnx")


def export_text_onnx(tower: Any, tokenizer: Any, path: str | Path, opset: int = 17, atol: float = 1e-4) -> dict[str, Any]:
    """A fine-tuned CLIP text encoder (``--finetune-text``) to ONNX: ``tokens`` (N, context) int64 from the
    CLIP model's open_clip tokenizer → ``text`` (N, D), L2-normalised; TD = text + image embedding.
    Checked against PyTorch on texts other than the traced ones; nothing is written when they differ."""
    ort = _onnxruntime()
    import torch

    tower = tower.float().cpu().eval()
    trace = tokenizer(["the small target is in the upper left region.", "a dim point target near the bottom"])
    check = tokenizer(["a bright target", "two small targets on the right of the sky", "lower left"])
    buf = io.BytesIO()
    # Tracer warnings (attention-mask shape checks, EOS gather) are about the traced shapes; the check below
    # runs other texts through onnxruntime, so they are not shown to the user.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(tower, (trace,), buf, input_names=["tokens"], output_names=["text"], opset_version=opset,
                          dynamic_axes={"tokens": {0: "batch"}, "text": {0: "batch"}}, dynamo=False)
        want = tower(check).numpy()
    got = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"]).run(["text"], {"tokens": check.numpy()})[0]
    worst = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
    if not worst <= atol:
        raise ExportError(f"{path}: onnxruntime text embeddings differ from PyTorch's by up to {worst:.2e}; nothing written")
    write_bytes_atomic(path, buf.getvalue())
    return {"text_onnx": str(path), "text_inputs": ["tokens"], "context_length": int(trace.shape[1]),
            "text_max_diff": worst}
