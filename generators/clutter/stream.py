"""Cluttered scenes generated on the fly, as a torch IterableDataset (no storage).

Sample ``i`` of a stream is exactly sample ``i`` of the dataset that ``benchgen clutter``
writes with the same parameters, split and seed (same per-sample seed), so training on
fresh scenes and evaluating on stored ones use one definition. Indices are dealt to
DataLoader workers in blocks (block b goes to worker b mod W), so no two workers make
the same scene and the set of scenes does not depend on the number of workers.
"""
import itertools

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..engine import SPLITS
from ..seeds import sample_seeds
from . import sources
from .task import TASK, ClutterTask, generate_arrays, validate


class ClutterStream(IterableDataset):
    """Scenes ``start``, ``start + 1``, ... (``count`` of them, or endlessly if None).

    Yields ``(image, label)``: float32 [1, 100, 100] in [0, 1] and int64; with
    ``with_meta=True`` a dict of every array of the stored format (images as float).
    """

    def __init__(self, split="train", seed=0, clutter=7, count=None, start=0, scales=(0.9, 1.5), scale_jitter=0.1,
                 angle=30.0, angle_jitter=5.0, with_target_only=False, with_meta=False, block=64,
                 sources_dir=None):
        if split not in SPLITS:
            raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
        problem = validate(clutter, scales, scale_jitter, angle, angle_jitter)
        if problem:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        if (count is not None and count < 0) or start < 0 or block < 1:
            raise ValueError("count and start must be >= 0 and block >= 1")
        self.source_set = sources.load(sources_dir)
        self.source_set.stacked()  # once here, so forked DataLoader workers share it
        self.params = ClutterTask.params(self.source_set, clutter, scales, scale_jitter, angle, angle_jitter,
                                         with_target_only)
        self.split, self.seed, self.count, self.start = split, int(seed), count, int(start)
        self.with_meta, self.block = with_meta, int(block)
        self.variant = TASK.variant(self.params)

    def __len__(self):
        if self.count is None:
            raise TypeError("an endless stream has no length")
        return self.count

    def seeds(self, indices):
        return sample_seeds(self.seed, TASK.name, self.variant, self.split, indices)

    def generate(self, indices):
        """Arrays of the scenes at ``indices`` (as the stored dataset holds them)."""
        indices = np.asarray(indices, dtype=np.int64)
        arrays = generate_arrays(self.source_set, self.params, self.split, self.seeds(indices))
        arrays["meta/seed"] = self.seeds(indices)
        return arrays

    def _blocks(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        end = None if self.count is None else self.start + self.count
        for b in itertools.count(worker, workers):
            first = self.start + b * self.block
            if end is not None and first >= end:
                return
            last = first + self.block if end is None else min(first + self.block, end)
            yield np.arange(first, last)

    def __iter__(self):
        for indices in self._blocks():
            arrays = self.generate(indices)
            # numpy's conversion is several times faster than torch's for these small arrays
            images = torch.from_numpy(np.divide(arrays["images"], np.float32(255), dtype=np.float32))
            labels = torch.from_numpy(arrays["labels"])
            if not self.with_meta:
                yield from zip(images, labels)
                continue
            # meta/seed is uint64, which torch cannot batch; the index names the sample
            extra = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()
                     if k not in ("images", "labels", "meta/seed")}
            if "target_only" in extra:
                extra["target_only"] = torch.from_numpy(np.divide(arrays["target_only"], np.float32(255),
                                                                  dtype=np.float32))
            for k in range(len(indices)):
                sample = {"images": images[k], "labels": labels[k], "index": int(indices[k])}
                sample.update({name: value[k] for name, value in extra.items()})
                yield sample
