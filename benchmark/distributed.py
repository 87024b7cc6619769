"""Several processes, one result: the process group of torchrun, and work split so that a run
over N ranks gives what one process gives.

``torchrun --nproc_per_node N $(which bench) train ...`` starts N copies; each finds its rank
in the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) and joins one process group
(NCCL on CUDA, gloo on CPU). Without those variables everything here is a no-op, so the
same code runs in one process.
"""
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from .errors import HarnessError


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local: int = 0

    @property
    def main(self):
        """Rank 0 alone writes logs, checkpoints, weights and results."""
        return self.rank == 0

    def barrier(self):
        if self.world > 1:
            dist.barrier()

    def agree(self, flag):
        """True on every rank when ``flag`` is true on any (so all ranks take the same branch)."""
        if self.world == 1:
            return bool(flag)
        t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=_collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def mean(self, value):
        """The mean of a float over ranks."""
        if self.world == 1:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64, device=_collective_device())
        dist.all_reduce(t)
        return float(t.item()) / self.world

    def gather(self, obj):
        """Every rank's ``obj``, in rank order (on every rank)."""
        if self.world == 1:
            return [obj]
        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def blocks(self, n, block):
        """Indices 0..n-1 in blocks of ``block``; block k goes to rank k mod world. The blocks
        are those one process would form, so per-block results are the same."""
        starts = range(self.rank * block, n, self.world * block)
        return np.concatenate([np.arange(s, min(s + block, n)) for s in starts]) if len(starts) else \
            np.zeros(0, np.int64)

    def unblock(self, parts, n, block):
        """Reassemble per-rank arrays (last axis = the rank's samples from ``blocks``) in order."""
        order = np.concatenate([Ranks(r, self.world).blocks(n, block) for r in range(self.world)])
        joined = np.concatenate(parts, axis=-1)
        out = np.empty_like(joined)
        out[..., order] = joined
        return out


def _collective_device():
    backend = dist.get_backend()
    return torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")


def current():
    """The ranks of the process group this process is in (one rank when there is none)."""
    if not (dist.is_available() and dist.is_initialized()):
        return Ranks()
    return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def from_environment(cuda):
    """Join the process group torchrun describes (no-op when started as one process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or current().world > 1:
        return current()
    if not dist.is_available():
        raise HarnessError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return current()


def leave():
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
