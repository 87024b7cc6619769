"""Codec and chunking choice for shards: write speed, size, sequential and random reads.

Usage: python perf/codecs.py [--size 9] [--count 20000]. Prints JSON, one entry per codec,
measured on real mazes written the way the shard writer writes them.
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from generators.codecs import CODECS
from generators.engine import Plan
from generators.mazes_task import MazeTask
from generators.shards import ShardSet, write_shard


def measure(arrays, codec, folder, reads=20_000):
    path = Path(folder) / f"{codec}.h5"
    n = arrays["images"].shape[0]
    raw = sum(a.nbytes for a in arrays.values())
    t0 = time.perf_counter()
    write_shard(path, arrays, {}, codec)
    write = time.perf_counter() - t0
    reader = ShardSet(folder, [{"file": path.name, "first_index": 0, "count": n}])
    t0 = time.perf_counter()
    for name in ("images", "masks"):
        reader._file(0)[name][()]
    seq = time.perf_counter() - t0
    order = np.random.default_rng(0).integers(0, n, reads)
    t0 = time.perf_counter()
    for i in order:
        reader.sample(int(i), ["images", "masks"])
    rand = time.perf_counter() - t0
    return {"write_samples_per_s": round(n / write), "write_mb_per_s": round(raw / write / 1e6),
            "compression_ratio": round(raw / path.stat().st_size, 1),
            "sequential_read_samples_per_s": round(n / seq),
            "random_read_samples_per_s": round(reads / rand)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--count", type=int, default=20_000)
    args = ap.parse_args()
    plan = Plan(task_name="mazes", params=MazeTask.params(args.size), split="train", seed=0, count=args.count)
    full = plan.generate(np.arange(args.count))
    arrays = {"images": full["images"], "masks": full["masks"]}
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps({"maze_size": args.size, "count": args.count,
                          "codecs": {c: measure(arrays, c, tmp) for c in CODECS}}, indent=2))


if __name__ == "__main__":
    main()
