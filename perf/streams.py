"""Speed of the on-the-fly streams of every task through a DataLoader. Prints JSON.

    RVB_SOURCES=/path/to/sources python perf/streams.py [--tasks mazes,pathfinder,clutter]
        [--workers 0,1,2] [--seconds 2.5] [--repeats 2] [--loader-batch 32] [--batches 32,256]

For each task (mazes size 9, PathFinder linsley2018 length 14, clutter 7) samples/s of:

* ``generate_only``: ``stream.generate`` on blocks of 256 in this process (no torch): the ceiling;
* ``per_sample``: the stream in per-sample mode (blocks of 64) through
  ``DataLoader(stream, batch_size=--loader-batch, num_workers=W)`` (float images);
* ``batched_B``: the stream in batched mode (``batch_size=B``) through
  ``DataLoader(stream, batch_size=None, num_workers=W)`` (uint8 images);

for every W in ``--workers``. Each figure (best of ``--repeats``) iterates an endless stream for ``--seconds``
after a warm-up (worker start, the first batches of every worker), so prefetched batches
count: at most 2 x W batches, a few per cent at these durations. Clutter needs the MNIST
and Fashion-MNIST sources (RVB_SOURCES, or --sources); without them it is skipped with the
reason.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generators.errors import DatasetError  # noqa: E402


def make_stream(task, **options):
    if task == "mazes":
        from generators.mazes.stream import MazeStream

        return MazeStream(9, **options)
    if task == "pathfinder":
        from generators.pathfinder.stream import PathFinderStream

        return PathFinderStream(14, **options)
    from generators.clutter.stream import ClutterStream

    return ClutterStream(clutter=7, **options)


def generate_rate(stream, seconds, block=256):
    stream.generate(np.arange(block))          # compiles (or loads) the kernels
    n, b = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        stream.generate(np.arange(b * block, (b + 1) * block))
        n += block
        b += 1
    return n / (time.perf_counter() - start)


def loader_rate(stream, loader_batch, workers, seconds, repeats):
    """Best of ``repeats`` runs (the machine may be shared)."""
    return max(one_loader_rate(stream, loader_batch, workers, seconds) for _ in range(repeats))


def one_loader_rate(stream, loader_batch, workers, seconds):
    from torch.utils.data import DataLoader

    loader = DataLoader(stream, batch_size=loader_batch, num_workers=workers)
    it = iter(loader)
    for _ in range(2 * max(1, workers)):      # warm-up: workers started, each has made a batch
        next(it)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        images, _ = next(it)
        n += images.shape[0]
    rate = n / (time.perf_counter() - start)
    del it                                     # ends the workers
    return round(rate)


def measure(task, args):
    try:
        stream = make_stream(task, block=64)
    except DatasetError as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    out = {"params": stream.params if task != "clutter" else {k: v for k, v in stream.params.items()
                                                              if k != "sources"},
           "sample_shape": list(stream.generate([0])["images"].shape[1:]),
           "generate_only": round(generate_rate(stream, args.seconds))}
    out["per_sample"] = {f"w{w}": loader_rate(stream, args.loader_batch, w, args.seconds, args.repeats) for w in args.workers}
    for b in args.batches:
        batched = make_stream(task, batch_size=b)
        out[f"batched_{b}"] = {f"w{w}": loader_rate(batched, None, w, args.seconds, args.repeats) for w in args.workers}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="mazes,pathfinder,clutter")
    parser.add_argument("--workers", default="0,1,2")
    parser.add_argument("--seconds", type=float, default=2.5, help="measuring time per figure")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs per figure")
    parser.add_argument("--loader-batch", type=int, default=32, help="DataLoader batch size in per-sample mode")
    parser.add_argument("--batches", default="32,256", help="stream batch sizes in batched mode")
    parser.add_argument("--sources", default=None, help="folder with mnist/ and fashion-mnist/ (else RVB_SOURCES)")
    args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    args.batches = [int(b) for b in args.batches.split(",")]
    if args.sources:
        from generators.clutter import sources

        os.environ[sources.ENV_VAR] = args.sources
    import torch

    result = {"machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                          "torch": torch.__version__, "torch_threads": torch.get_num_threads()},
              "settings": {"seconds": args.seconds, "repeats": args.repeats, "loader_batch": args.loader_batch, "batches": args.batches,
                           "workers": args.workers, "unit": "samples/s"},
              "tasks": {task: measure(task, args) for task in args.tasks.split(",")}}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
