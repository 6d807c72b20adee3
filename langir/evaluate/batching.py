"""Which frames share a forward pass, and how each goes into it and comes back out (for `predict_arrays`).

* a checkpoint trained with ``--input resize`` sees every frame at size×size: frames of any size share a batch;
* a model that pads its input bottom/right to a multiple (its ``pad_multiple``, replicate mode, as every
  langir model does) and crops back: frames that pad to the same size, each padded here exactly as the
  model would pad it alone, so every frame (and every global-pooling layer, LGNet's fusion) sees what it
  sees in a batch of one — SIRST's 381 sizes become 39 padded ones for LGNet;
* any other model, or with ``pad_batches`` off: frames of the same size (a larger canvas would change what
  it sees).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

Frame = tuple[str, np.ndarray]


@dataclass(frozen=True)
class FrameLayout:
    """How frames are shaped for the model: resampled to ``resize_to``², padded to a multiple of
    ``multiple``, or as they are; ``exact``: only frames of one exact size share a batch."""

    resize_to: int | None
    multiple: int | None
    exact: bool

    @classmethod
    def for_model(cls, model: Any, meta: dict[str, Any], pad_batches: bool) -> FrameLayout:
        # A model trained with `--input resize` sees every frame at size×size, as in training (the paper's
        # §5.2 protocol, same bilinear resampling as langir.train.data.resize_pair); probabilities are
        # resampled back, so scores and outputs stay at each image's native size.
        resize_to = int(meta["size"]) if meta.get("input") == "resize" and meta.get("size") else None
        multiple = getattr(model, "pad_multiple", None) if resize_to is None and pad_batches else None
        return cls(resize_to, multiple, not pad_batches)

    def canvas(self, image: np.ndarray) -> tuple[int, ...]:
        """The size the model gets for ``image``."""
        if self.resize_to is not None:
            return (self.resize_to, self.resize_to)
        if self.multiple is not None:
            from langir.models.padding import padded_size

            return padded_size(*image.shape, self.multiple)
        return image.shape

    def key(self, image: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
        """Frames with equal keys share a batch: (canvas, the exact size when only one size may)."""
        return self.canvas(image), image.shape if self.exact else None

    def model_input(self, batch: list[Frame], shape: tuple[int, ...], device: str) -> Any:
        """The batch as one N×1×H×W float tensor on ``device``."""
        import torch
        import torch.nn.functional as F

        if self.resize_to is not None:  # resampled on the device, one frame at a time (their sizes differ)
            return torch.cat([F.interpolate(torch.from_numpy(img).float()[None, None].to(device), size=shape,
                                            mode="bilinear", align_corners=False) for _, img in batch])
        from langir.models.padding import pad_to_multiple

        # the model's own padding rule, applied before it would (a no-op for frames already at `shape`)
        frames = [pad_to_multiple(torch.from_numpy(img).float()[None, None], self.multiple or 1)[0] for _, img in batch]
        return torch.cat(frames).to(device)

    def probabilities(self, logits: Any, batch: list[Frame]) -> list[np.ndarray]:
        """Each frame's probability map (H×W float32, its native size) from the batch's N×1×H'×W' logits."""
        import torch
        import torch.nn.functional as F

        logits = logits.float()
        if self.resize_to is not None:  # back to each frame's own size, on the device
            probs = [torch.sigmoid(F.interpolate(one[None], size=image.shape, mode="bilinear", align_corners=False))
                     [0, 0].cpu().numpy() for one, (_, image) in zip(logits, batch, strict=True)]
        else:  # one copy from the device for the batch, then each frame's own corner
            whole = torch.sigmoid(logits[:, 0]).cpu().numpy()
            probs = [p[: image.shape[0], : image.shape[1]] for p, (_, image) in zip(whole, batch, strict=True)]
        return [np.ascontiguousarray(p, dtype=np.float32) for p in probs]


def group_frames(frames: Iterable[Frame], key: Callable[[np.ndarray], tuple[tuple[int, ...], Hashable]],
                 batch_size: int, max_pixels: int | None) -> Iterator[tuple[list[Frame], tuple[int, ...]]]:
    """(batch, canvas) from frames with equal ``key``: at most ``batch_size`` a batch and, with ``max_pixels``,
    at most that many canvas pixels (never fewer than one frame); a batch leaves as soon as it is full."""
    buckets: dict[tuple[tuple[int, ...], Hashable], list[Frame]] = {}
    held = 0
    for sample_id, image in frames:
        k = key(image)
        pixels = int(np.prod(k[0]))
        cap = batch_size if not max_pixels else max(1, min(batch_size, max_pixels // max(pixels, 1)))
        bucket = buckets.setdefault(k, [])
        bucket.append((sample_id, image))
        held += 1
        if len(bucket) >= cap:
            held -= len(bucket)
            yield buckets.pop(k), k[0]
        elif held > 4 * batch_size:  # many sizes: flush the fullest bucket rather than hold every image
            fullest = max(buckets, key=lambda b: len(buckets[b]))
            held -= len(buckets[fullest])
            yield buckets.pop(fullest), fullest[0]
    for k, bucket in buckets.items():
        yield bucket, k[0]
