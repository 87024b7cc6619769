"""Cost of checking shards against their manifest (prints JSON).

    python perf/integrity.py [--mb 1024] [--shards 400]

hash: seconds per GB to sha256 a file (what a first check, or a test set's check, costs);
stamp: seconds to re-check a dataset of --shards shards whose files have not changed (one
stat per shard, no hashing).
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing

from generators.engine import Plan, run  # noqa: E402
from generators.integrity import check_shards  # noqa: E402
from generators.manifest import load  # noqa: E402
from generators.mazes.task import MazeTask  # noqa: E402
from generators.shards import sha256_file  # noqa: E402


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mb", type=int, default=1024, help="size of the file hashed")
    p.add_argument("--shards", type=int, default=400, help="shards of the dataset re-checked with the stamp")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.bin"
        with open(big, "wb") as f:
            for _ in range(args.mb):
                f.write(os.urandom(1 << 20))
        sha256_file(big)                               # warm the page cache: the hash, not the disk, is timed
        hash_s = best_of(lambda: sha256_file(big), args.repeats)
        big.unlink()
        plan = Plan(task_name="mazes", params=MazeTask.params(9), split="train", seed=0, count=20 * args.shards,
                    shard_size=20, out=Path(tmp) / "ds")
        run(plan, workers=1)
        manifest = load(plan.out)
        first = best_of(lambda: check_shards(plan.out, manifest, always=True), 1)
        again = best_of(lambda: check_shards(plan.out, manifest), args.repeats)
    print(json.dumps({"hash_seconds_per_gb": round(hash_s / (args.mb / 1024), 3),
                      "hash_gb_per_s": round((args.mb / 1024) / hash_s, 3),
                      "shards": args.shards, "check_all_hashed_seconds": round(first, 4),
                      "recheck_with_stamp_seconds": round(again, 4),
                      "recheck_us_per_shard": round(1e6 * again / args.shards, 1)}, indent=1))


if __name__ == "__main__":
    main()
