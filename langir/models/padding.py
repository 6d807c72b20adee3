"""The one padding rule of every model: pad bottom/right up to a multiple, run, crop back.

U-shaped nets halve the map several times, so H and W must be multiples of 2**depth. Every model
calls :func:`pad_to_multiple` on its input and :func:`crop` on each output, so callers (training,
evaluation, prediction, export) hand over images of any size.

Trace-safe: there is no Python ``if`` on the input size. The pad amounts are computed from the size
every time (``(m - h % m) % m`` is 0 for sizes that already fit) and ``F.pad`` always runs, so a
graph traced by ``torch.onnx.export`` at one size still pads correctly at another (an ``if`` would be
frozen to whichever branch the example input took). Replicate mode: it works for any pad amount
(reflect needs the pad to be smaller than the side) and does not invent dark borders around bright
targets at the image edge the way zero padding would.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MODE = "replicate"


def padded_size(h: int, w: int, multiple: int) -> tuple[int, int]:
    """(H, W) after :func:`pad_to_multiple`: each side rounded up to a multiple of ``multiple``."""
    return h + (multiple - h % multiple) % multiple, w + (multiple - w % multiple) % multiple


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (B, C, H, W) at the bottom/right to multiples of ``multiple``; returns it and (H, W) to crop back."""
    h, w = x.shape[-2], x.shape[-1]
    ph, pw = padded_size(h, w, multiple)
    return F.pad(x, (0, pw - w, 0, ph - h), mode=MODE), (h, w)


def crop(y: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Cut a padded output back to the input's (H, W)."""
    h, w = size
    return y[..., :h, :w]
