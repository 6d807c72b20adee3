"""Import shims for third-party packages."""

from __future__ import annotations

import sys
from types import ModuleType

_TORCHVISION_OP_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_torchvision_lib = None  # kept alive: dropping the Library object would undefine the ops


def import_open_clip() -> ModuleType:
    """Import open_clip, working around a torchvision whose C++ ops cannot load.

    PyPI's Linux torchvision wheels are CUDA builds; next to a CPU-only torch their `_C`
    extension fails to load, and torchvision then crashes on import because two of its fake
    (meta) registrations, `nms` and `qnms`, are not guarded by `_has_ops()`. open_clip only
    needs torchvision's transforms, so we define those two op schemas (no kernels) and retry.
    """
    global _torchvision_lib
    try:
        import open_clip
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            raise
        import torch

        for name in [m for m in sys.modules if m == "torchvision" or m.startswith(("torchvision.", "open_clip"))]:
            del sys.modules[name]
        _torchvision_lib = torch.library.Library("torchvision", "DEF")  # noqa: TOR901
        for schema in _TORCHVISION_OP_SCHEMAS.values():
            _torchvision_lib.define(schema)
        import open_clip
    return open_clip
