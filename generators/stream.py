"""Samples generated on the fly as a torch IterableDataset: the machinery every task's stream shares.

A stream of a task (``generators/<task>/stream.py``) is the dataset ``benchgen <task>``
would write with the same parameters, split and seed, made on demand instead of read:
sample ``i`` of the stream is byte-identical to stored sample ``i``, because both come from
one ``engine.Plan`` (same per-sample seeds, same ``task.generate``).

Which samples: ``start``, ``start + 1``, ... (``count`` of them, or endlessly if ``count``
is None). They are cut into blocks of consecutive indices and block ``b`` goes to
DataLoader worker ``b mod W``, so no two workers make the same sample and the set of
samples does not depend on the number of workers. In batched mode a DataLoader hands the
batches back in block order, so the whole stream comes in index order; in per-sample mode
its batches are cut from one worker's blocks, so with workers the order is mixed.

Two modes:

* per sample (default): yields ``(image, target)``, image float32 [C,H,W] in [0,1],
  target int64 (label scalar, or mask [H,W] of 0/1), as ``benchmark.data.ShardDataset``
  does; batch with an ordinary ``DataLoader(stream, batch_size=32, num_workers=W)``.
* batched (``batch_size=B``): each worker makes a whole batch of ``B`` consecutive samples
  and yields it as one ``(images uint8 [B,C,H,W], target)`` (labels int64 [B] or masks
  uint8 [B,H,W], the stored dtypes). Use it with ``DataLoader(stream, batch_size=None,
  num_workers=W)``: a batch then crosses the process boundary as a few large tensors
  (a quarter of the bytes of float images) instead of ``B`` small ones, which is what
  limits the per-sample mode with workers. Convert on the consumer's side, e.g.
  ``x = images.to(device).float().div_(255)``. The last batch is shorter if ``count`` is
  not a multiple of ``B``; ``len(stream)`` is then the number of batches. Where making a
  batch costs less than passing it between processes (mazes of size 9: about 0.8 ms
  against 2-3 ms per 256), ``num_workers=0`` is fastest (``perf/streams.py``).

``with_meta=True`` yields dicts instead: every stored array (``meta/...`` included, except
``meta/seed``: ``stream.seeds(index)`` gives it) and ``index``; image arrays are float in
[0,1] and targets int64 per sample, stored dtypes in batched mode.
"""
import itertools

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .engine import SPLITS, Plan, default_shard_size

DEFAULT_BLOCK = 64
# Index count of an endless stream's plan: every shard is full.
ENDLESS = 1 << 62
TARGETS = ("labels", "masks")


def _check(ok, message):
    if not ok:
        raise ValueError(message)


class Stream(IterableDataset):
    """Samples ``start``, ``start + 1``, ... of one task's dataset (base of the task streams).

    Subclasses set ``task_name`` and ``targets`` (the targets their samples have; the first
    is the default) and pass the task's full parameter dict. Options every stream takes:

    * ``split`` ("train", "val", "test"), ``seed`` (0..2**64-1): as ``benchgen``'s;
    * ``count`` (None: endless) and ``start``: which samples;
    * ``block``: consecutive samples a worker makes at once (per-sample mode, default 64);
    * ``batch_size``: batched mode (see the module docstring); the block is then the batch,
      so give ``block`` or ``batch_size``, not both;
    * ``target``: "labels" or "masks" where the task stores both;
    * ``with_meta``: yield dicts of every stored array and the index;
    * ``shard_size``: the dataset's shard size (default: ``benchgen``'s for these
      parameters); only tasks whose samples depend on their shard (PathFinder's balanced
      labels) use it.
    """

    task_name = ""
    targets = TARGETS
    image_arrays = ("images",)

    def __init__(self, params, *, split="train", seed=0, count=None, start=0, block=None, batch_size=None,
                 target=None, with_meta=False, shard_size=None):
        _check(split in SPLITS, f"split {split!r} is not allowed; one of {', '.join(SPLITS)}")
        _check(is_int(seed) and 0 <= seed < 2 ** 64, f"seed {seed!r} is not allowed; an integer in 0..2**64-1")
        _check(count is None or (is_int(count) and count >= 0),
               f"count {count!r} is not allowed; an integer >= 0, or None for an endless stream")
        _check(is_int(start) and start >= 0, f"start {start!r} is not allowed; an integer >= 0")
        for name, value in (("block", block), ("batch_size", batch_size), ("shard_size", shard_size)):
            _check(value is None or (is_int(value) and value >= 1),
                   f"{name} {value!r} is not allowed; an integer >= 1, or None for the default")
        _check(block is None or batch_size is None,
               f"block {block} and batch_size {batch_size} given; give one: in batched mode the block is the batch")
        target = self.targets[0] if target is None else target
        _check(target in self.targets, f"target {target!r} is not allowed for {self.task_name}; "
                                       f"allowed: {', '.join(self.targets)}")
        self.params, self.split, self.seed = params, split, int(seed)
        self.count, self.start = (None if count is None else int(count)), int(start)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.block = self.batch_size or int(block or DEFAULT_BLOCK)
        self.target, self.with_meta = target, bool(with_meta)
        # The dataset these samples belong to ends where the stream ends; an endless stream
        # belongs to a dataset whose shards are all full.
        self.plan = Plan(task_name=self.task_name, params=params, split=split, seed=self.seed,
                         count=ENDLESS if count is None else self.start + self.count,
                         shard_size=int(shard_size or default_shard_size(self.task_name, params)))
        self.variant = self.plan.variant

    def __len__(self):
        """Samples (per-sample mode) or batches (batched mode) of a finite stream."""
        if self.count is None:
            raise TypeError("an endless stream has no length")
        return self.count if self.batch_size is None else -(-self.count // self.batch_size)

    def seeds(self, indices):
        """Per-sample seeds (uint64) of ``indices``, as stored in ``meta/seed``."""
        return self.plan.seeds(np.asarray(indices, dtype=np.int64))

    def generate(self, indices):
        """Arrays of the samples at ``indices`` (name -> numpy array), as the stored dataset holds them."""
        return self.plan.generate(np.asarray(indices, dtype=np.int64))

    def blocks(self):
        """Index arrays of the blocks this process makes (its DataLoader worker's share)."""
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        end = None if self.count is None else self.start + self.count
        for b in itertools.count(worker, workers):
            first = self.start + b * self.block
            if end is not None and first >= end:
                return
            last = first + self.block if end is None else min(first + self.block, end)
            yield np.arange(first, last, dtype=np.int64)

    def __iter__(self):
        for indices in self.blocks():
            arrays = self.generate(indices)
            if self.batch_size is not None:
                yield self._batch(indices, arrays)
            else:
                yield from self._samples(indices, arrays)

    def _batch(self, indices, arrays):
        if not self.with_meta:
            return torch.from_numpy(arrays["images"]), torch.from_numpy(arrays[self.target])
        out = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in arrays.items()
               if name != "meta/seed"}    # uint64: the index names the sample
        out["index"] = torch.from_numpy(indices)
        return out

    def _samples(self, indices, arrays):
        # numpy's conversion is several times faster than torch's for these small arrays
        def convert(name, value):
            if name in self.image_arrays:
                value = np.divide(value, np.float32(255), dtype=np.float32)
            elif name in TARGETS:
                value = value.astype(np.int64, copy=False)
            return torch.from_numpy(np.ascontiguousarray(value))

        if not self.with_meta:
            yield from zip(convert("images", arrays["images"]), convert(self.target, arrays[self.target]))
            return
        tensors = {name: convert(name, value) for name, value in arrays.items() if name != "meta/seed"}
        for k, index in enumerate(indices.tolist()):
            sample = {name: value[k] for name, value in tensors.items()}
            sample["index"] = index
            yield sample


def is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
