"""The distributed context of a run: one process (world 1) or a torchrun process group (DDP)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch


@dataclass
class Dist:
    """Distributed context (world 1 when not launched by torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes the run folder and prints."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def init_distributed(device: str) -> Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        # Long timeout: ranks wait at barriers while the shared embedding cache is filled.
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo", timeout=timedelta(hours=2))
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def is_main_process() -> bool:
    """Rank 0 before the process group is joined (torchrun sets RANK)."""
    return int(os.environ.get("RANK", "0")) == 0
