"""ONNX export with a dynamic batch axis, checked against PyTorch with onnxruntime.

Inputs: ``image`` (N, 1, H, W) float32 in [0, 1]; language-prior models (``uses_language`` with
``td_dim > 0``) also take ``td`` (N, td_dim), the target-descriptor vector (CLIP image embedding, or
text + image). Output: ``logits`` (N, 1, H, W) of the main head (sigmoid → probability). H and W are
dynamic too but must suit the network (multiples of 32 for the U-shaped models).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from langir.data.atomic import atomic_path
from langir.errors import LangirError


class ExportError(LangirError):
    """The exported graph failed its check against PyTorch."""


def _wrap(model: Any, with_td: bool) -> Any:
    import torch

    class ImagePath(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, image: torch.Tensor, td: torch.Tensor | None = None) -> torch.Tensor:
            out = self.inner(image, td=td) if with_td else self.inner(image)
            return out[0] if isinstance(out, (tuple, list)) else out  # main head only

    return ImagePath(model).eval()


def export_onnx(model: Any, path: str | Path, size: int = 256, opset: int = 17, atol: float = 1e-4, check_batch: int = 2) -> dict[str, Any]:
    """Export ``model`` to ``path`` (atomically) and verify onnxruntime ≈ PyTorch within ``atol``; returns a summary."""
    import onnxruntime as ort
    import torch

    path = Path(path)
    model = model.float().cpu().eval()
    td_dim = int(getattr(model, "td_dim", 0) or 0)
    with_td = bool(getattr(model, "uses_language", False)) and td_dim > 0
    wrapper = _wrap(model, with_td)
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(check_batch, 1, size, size, generator=gen)
    args: tuple[Any, ...] = (image,)
    names = ["image"]
    axes: dict[str, dict[int, str]] = {"image": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch", 2: "height", 3: "width"}}
    if with_td:
        args = (image, torch.randn(check_batch, td_dim, generator=gen))
        names.append("td")
        axes["td"] = {0: "batch"}
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        expected = wrapper(*args).numpy()
    with atomic_path(path) as tmp:
        torch.onnx.export(
            wrapper, args, str(tmp), input_names=names, output_names=["logits"],
            dynamic_axes=axes, opset_version=opset, dynamo=False,
        )
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        got = session.run(["logits"], {n: a.numpy() for n, a in zip(names, args, strict=True)})[0]
        diff = float(np.max(np.abs(got - expected)))
        if not diff <= atol:  # also catches NaN; the temp file is removed, nothing half-written stays
            raise ExportError(f"{path}: onnxruntime differs from PyTorch by {diff:.2e} (> {atol:.0e})")
    return {"onnx": str(path), "inputs": names, "td_dim": td_dim if with_td else 0, "opset": opset, "max_abs_diff": diff, "check_size": size, "check_batch": check_batch}
