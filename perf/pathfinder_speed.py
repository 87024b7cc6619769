"""PathFinder generation speed: kernel only and end to end into compressed HDF5.

Usage: python perf/pathfinder_speed.py [--lengths 6,9,14,18,25] [--count 4000]
           [--codecs blosc-lz4,zstd] [--workers 1] [--pathx-count 1000]
Prints JSON. "kernel" = images (+ masks, labels, metadata) made in memory by one process;
"end_to_end" = engine.run writing shards, with --workers processes. Wall-clock rates
suffer on a shared machine, so CPU-time rates (images per CPU second, this process and
its workers) are given too; they are what one dedicated core would do. Speedups compare
per-CPU-second rates with the reference's measured one-process rates
(shared/specs/pathfinder.md).
"""
import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from generators import engine
from generators.pathfinder.task import make_params

# images/s of the reference, one process: lab setting (300 -> 150, with masks) and Path-X
REFERENCE = {"linsley2018": 1.64, "lra128": 0.16}


def plan_for(preset, length, count, codec, out, shard_size=None):
    params = make_params(length, preset)
    shard_size = shard_size or engine.default_shard_size("pathfinder", params)
    return engine.Plan(task_name="pathfinder", params=params, split="train", seed=0, count=count,
                       shard_size=min(shard_size, count), codec=codec, out=out and Path(out))


def cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def kernel_rate(plan):
    plan.generate(np.arange(2))  # compile / load the cached kernels outside the timing
    t0, c0 = time.perf_counter(), cpu_seconds()
    for k in range(plan.n_shards):
        first, count = plan.shard_bounds(k)
        plan.generate(np.arange(first, first + count))
    return plan.count / (time.perf_counter() - t0), plan.count / (cpu_seconds() - c0)


def end_to_end(plan, workers):
    plan.generate(np.arange(2))
    t0, c0 = time.perf_counter(), cpu_seconds()
    engine.run(plan, workers=workers)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    size = sum(p.stat().st_size for p in Path(plan.out).glob("shard-*.h5"))
    return plan.count / seconds, plan.count / cpu, size / plan.count


def measure(preset, length, count, codecs, workers):
    row = {"preset": preset, "length": length, "count": count}
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = kernel_rate(plan_for(preset, length, count, codecs[0], None))
        row["kernel"] = {"images_per_s": round(wall, 1), "images_per_cpu_s": round(cpu, 1)}
        for codec in codecs:
            plan = plan_for(preset, length, count, codec, Path(tmp) / codec)
            wall, cpu, per_image = end_to_end(plan, workers)
            row[f"end_to_end_{codec}"] = {"images_per_s": round(wall, 1), "images_per_cpu_s": round(cpu, 1),
                                          "bytes_per_image": round(per_image, 1)}
    ref = REFERENCE.get(preset)
    if ref:
        best = max(row[f"end_to_end_{c}"]["images_per_cpu_s"] for c in codecs)
        row["speedup_per_core_vs_reference"] = round(best / ref)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="6,9,14,18,25")
    ap.add_argument("--count", type=int, default=4000)
    ap.add_argument("--codecs", default="blosc-lz4,zstd")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pathx-count", type=int, default=1000)
    args = ap.parse_args()
    codecs = args.codecs.split(",")
    rows = [measure("linsley2018", int(length), args.count, codecs, args.workers)
            for length in args.lengths.split(",")]
    if args.pathx_count:
        rows.append(measure("lra128", 14, args.pathx_count, codecs, args.workers))
    lab18 = next((r for r in rows if r["preset"] == "linsley2018" and r["length"] == 18), None)
    summary = {}
    if lab18:
        best = max(lab18[f"end_to_end_{c}"]["images_per_cpu_s"] for c in codecs)
        summary["projected_seconds_800k_length18_on_2_dedicated_cores"] = round(800_000 / (2 * best), 1)
    print(json.dumps({"workers": args.workers, "cpus": os.cpu_count(), "rows": rows, **summary}, indent=2))


if __name__ == "__main__":
    main()
