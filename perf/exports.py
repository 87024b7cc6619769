"""Export speed of every `benchgen export` format, images/s (one process).

Usage: RVB_SOURCES=../shared/data python perf/exports.py [--count 2000]
Prints JSON: per dataset (PathFinder 150 px length 9, mazes 9x9, clutter if the MNIST
sources are found) and format, images/s and the export's size on disk. Formats whose
writer library is missing (parquet needs pyarrow) are reported as skipped.
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmark import suite
from generators import engine
from generators.dataset import open_dataset
from generators.errors import DatasetError
from generators.exports import FORMATS, export

# name -> (generator task, suite task, difficulty): the suite's parameters
SETS = {"pathfinder-150px-len9": ("pathfinder", "pathfinder", 9), "mazes-9": ("mazes", "mazes", 9),
        "clutter-8-objects": ("clutter", "clutter", 8)}


def make(task, params, count, out):
    plan = engine.Plan(task_name=task, params=params, split="test", seed=0, count=count,
                       shard_size=min(1000, count), out=out)
    engine.run(plan, workers=1)
    return open_dataset(out)


def disk_bytes(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    report = {"count": args.count, "results": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (task, suite_task, difficulty) in SETS.items():
            try:
                ds = make(task, suite.get(suite_task).make_params(difficulty), args.count, Path(tmp) / name)
            except DatasetError as exc:        # clutter without the MNIST sources
                report["results"][name] = f"skipped: {exc}"
                continue
            rows = report["results"][name] = {}
            for fmt, spec in FORMATS.items():
                if task not in spec.tasks:
                    continue
                out = Path(tmp) / f"{name}-{fmt}"
                start = time.perf_counter()
                try:
                    export(ds, fmt, out)
                except DatasetError as exc:
                    rows[fmt] = f"skipped: {exc}"
                    continue
                seconds = time.perf_counter() - start
                rows[fmt] = {"images_per_s": round(args.count / seconds), "mb_on_disk": round(disk_bytes(out) / 1e6, 1)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
