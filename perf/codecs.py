"""Codec and chunking choice for shards: write speed, size, sequential and random reads.

Usage: python perf/codecs.py [--task mazes|clutter] [--size 9] [--count 20000] [--repeats 5].
Prints JSON, one entry per codec (write: the best of the repeats, wall and CPU time; the
sha256 of the file is part of a write), measured on real samples written the way the
shard writer writes them:
size-9 mazes (images and masks) or clutter scenes at clutter 7 (images; needs the MNIST
sources, RVB_SOURCES or --sources).
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from generators.codecs import CODECS
from generators.engine import Plan
from generators.mazes.task import MazeTask
from generators.shards import ShardSet, write_shard


def measure(arrays, codec, folder, repeats, reads=20_000):
    path = Path(folder) / f"{codec}.h5"
    n = arrays["images"].shape[0]
    raw = sum(a.nbytes for a in arrays.values())
    walls, cpus = [], []
    for _ in range(repeats):  # the best of several: a single write pays first-touch costs
        path.unlink(missing_ok=True)
        t0, c0 = time.perf_counter(), time.process_time()
        write_shard(path, arrays, {}, codec)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    write = min(walls)
    reader = ShardSet(folder, [{"file": path.name, "first_index": 0, "count": n}])
    t0 = time.perf_counter()
    for name in arrays:
        reader._file(0)[name][()]
    seq = time.perf_counter() - t0
    order = np.random.default_rng(0).integers(0, n, reads)
    t0 = time.perf_counter()
    for i in order:
        reader.sample(int(i), list(arrays))
    rand = time.perf_counter() - t0
    size = path.stat().st_size
    return {"write_samples_per_s": round(n / write), "write_mb_per_s": round(raw / write / 1e6),
            "write_cpu_us_per_sample": round(min(cpus) / n * 1e6, 2),
            "kb_per_sample": round(size / n / 1024, 2),
            "compression_ratio": round(raw / size, 1),
            "sequential_read_samples_per_s": round(n / seq),
            "random_read_samples_per_s": round(reads / rand)}


def samples(task, size, count):
    if task == "mazes":
        plan = Plan(task_name="mazes", params=MazeTask.params(size), split="train", seed=0, count=count)
        full = plan.generate(np.arange(count))
        return {"maze_size": size}, {"images": full["images"], "masks": full["masks"]}
    from generators.clutter import sources
    from generators.clutter.task import ClutterTask

    found = sources.load()
    plan = Plan(task_name="clutter", params=ClutterTask.params(found), split="train", seed=0, count=count)
    return {"clutter": 7}, {"images": plan.generate(np.arange(count))["images"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=("mazes", "clutter"), default="mazes")
    ap.add_argument("--size", type=int, default=9, help="maze size")
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--sources", default=None, help="folder with mnist/ and fashion-mnist/ (clutter)")
    ap.add_argument("--repeats", type=int, default=5, help="writes per codec (the best is reported)")
    args = ap.parse_args()
    if args.sources:
        from generators.clutter import sources

        os.environ[sources.ENV_VAR] = str(Path(args.sources).resolve())
    header, arrays = samples(args.task, args.size, args.count)
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps({**header, "count": args.count,
                          "codecs": {c: measure(arrays, c, tmp, args.repeats) for c in CODECS}}, indent=2))


if __name__ == "__main__":
    main()
