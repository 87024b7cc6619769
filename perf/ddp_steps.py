"""Step time of `bench train` in one process and under torchrun with N CPU ranks (prints JSON).

    python perf/ddp_steps.py [--ranks 2] [--batches 100] [--batch-size 32] [--model baselines:locrnn]

Same global batch in both runs; the time per step is read from the runs' logs (epoch time
divided by batches, first epoch excluded). On a 2-core machine this shows the overhead of
the process group, not a speed-up.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing

from benchmark import suite  # noqa: E402


def step_seconds(log):
    epochs = [json.loads(line) for line in Path(log).read_text().splitlines()]
    epochs = [e for e in epochs if e["event"] == "epoch"][1:]
    return sum(e["seconds"] for e in epochs) / sum(e["batches"] for e in epochs)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--model", default="locrnn")
    p.add_argument("--algorithm", default="bptt")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        for split in ("train", "val"):
            suite.ensure(suite.DataSpec("mazes", "quick", 9, split), root)
        common = ["-m", "benchmark.cli", "train", args.model, "--task", "mazes", "--quick", "--epochs", "3",
                  "--limit-batches", str(args.batches), "--batch-size", str(args.batch_size), "--val-limit", "32",
                  "--algorithm", args.algorithm, "--no-eval", "--device", "cpu", "--data-root", str(root), "--quiet"]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run([sys.executable] + common + ["--out", f"{tmp}/one"], check=True, env=env)
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                        str(args.ranks)] + common + ["--out", f"{tmp}/many"], check=True, env=env)
        one, many = step_seconds(f"{tmp}/one/log.jsonl"), step_seconds(f"{tmp}/many/log.jsonl")
    print(json.dumps({"model": args.model, "algorithm": args.algorithm, "global_batch": args.batch_size,
                      "cpu_threads_per_rank": 1, "step_seconds_1_rank": round(one, 4),
                      f"step_seconds_{args.ranks}_ranks": round(many, 4), "ratio": round(many / one, 3)}, indent=1))


if __name__ == "__main__":
    main()
