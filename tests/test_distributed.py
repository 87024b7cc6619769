"""`bench train` under torchrun: two CPU ranks (gloo) train and evaluate as one process does,
and a killed two-rank run resumes to the weights of an uninterrupted one."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from benchmark import suite
from benchmark.cli import main
from benchmark.distributed import Ranks

TINY = """
import torch
from torch import nn

from baselines.common import RecurrentModel


class Tiny(RecurrentModel):
    # No batch statistics: ranks see different samples, so BatchNorm would differ per rank on CPU.
    def __init__(self, task):
        super().__init__()
        self.inp = nn.Conv2d(task.in_channels, 6, 3, padding=1)
        self.rec = nn.Conv2d(6, 6, 3, padding=1)
        self.head = nn.Conv2d(6, 2, 1)
        self.train_steps = 4

    def encode(self, x):
        return self.inp(x)

    def init_state(self, drive, x):
        return torch.zeros_like(drive)

    def step(self, drive, state, t):
        return torch.tanh(drive + self.rec(state))

    def readout(self, state, x):
        return self.head(state)


def build_model(task):
    return Tiny(task)
"""
LAUNCH_TIMEOUT = 180


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    root = tmp / "data"
    for split in ("train", "val"):
        suite.ensure(suite.DataSpec("mazes", "quick", 9, split), root)
    suite.ensure(suite.data_spec("mazes", "quick", 9, "test"), root)
    model = tmp / "tiny.py"
    model.write_text(TINY)
    return tmp, root, model


def train_args(model, root, out, **options):
    opts = {"epochs": 1, "batch-size": 8, "limit-batches": 3, "lr": 0.01, "val-limit": 40, "device": "cpu",
            "eval-difficulties": 9, "eval-steps": "1:4", **options}
    args = ["train", str(model), "--task", "mazes", "--quick", "--out", str(out), "--data-root", str(root), "--quiet"]
    for key, value in opts.items():
        args += [f"--{key}", str(value)] if value is not None else [f"--{key}"]
    return args


def torchrun(args, **popen):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "benchmark.cli"] + args
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, **popen)


def finish(proc):
    out, _ = proc.communicate(timeout=LAUNCH_TIMEOUT)
    return proc.returncode, out


def kill_tree(pid):
    """SIGKILL a process and every descendant (torchrun starts its workers in sessions of their own)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo, victims = [pid], []
    while todo:
        p = todo.pop()
        victims.append(p)
        todo.extend(children.get(p, []))
    for p in victims:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def weights(folder):
    return torch.load(folder / "model.pt", weights_only=True)


def assert_close(a, b, tol):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=tol, rtol=0), (k, float((a[k] - b[k]).abs().max()))


@pytest.mark.parametrize("algorithm", ["bptt", "crbp"])
def test_two_ranks_train_and_evaluate_as_one_process(env, algorithm):
    tmp, root, model = env
    one, two = tmp / f"one-{algorithm}", tmp / f"two-{algorithm}"
    result = CliRunner().invoke(main, train_args(model, root, one, algorithm=algorithm))
    assert result.exit_code == 0, result.output
    code, out = finish(torchrun(train_args(model, root, two, algorithm=algorithm)))
    assert code == 0, out
    assert out.strip().splitlines()[-1] == str(two / "results.json")      # rank 0 alone speaks
    assert_close(weights(one), weights(two), 1e-5)
    grid_one = json.loads((one / "results.json").read_text())["grid"]
    grid_two = json.loads((two / "results.json").read_text())["grid"]
    assert grid_one == grid_two                                          # the same per-sample scores
    logs = [[json.loads(line) for line in (d / "log.jsonl").read_text().splitlines()] for d in (one, two)]
    assert logs[1][0]["ranks"] == 2 and logs[0][0]["ranks"] == 1
    val = [[e["val_maze_exact"] for e in log if e["event"] == "epoch"] for log in logs]
    assert val[0] == val[1]


def test_a_killed_two_rank_run_resumes_to_the_weights_of_an_uninterrupted_one(env):
    tmp, root, model = env
    kw = dict(epochs=3, **{"limit-batches": 100, "no-eval": None})
    code, out = finish(torchrun(train_args(model, root, tmp / "whole", **kw)))
    assert code == 0, out
    killed = tmp / "killed"
    proc = torchrun(train_args(model, root, killed, **kw))
    deadline = time.time() + LAUNCH_TIMEOUT
    log = killed / "log.jsonl"
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and any(json.loads(line)["event"] == "epoch" for line in log.read_text().splitlines()):
            break
        time.sleep(0.05)
    kill_tree(proc.pid)
    proc.communicate()
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert "end" not in events, "the run ended before it could be killed"
    assert not (killed / "model.pt").exists()
    code, out = finish(torchrun(train_args(model, root, killed, **kw)))
    assert code == 0, out
    assert "resume" in [json.loads(line)["event"] for line in log.read_text().splitlines()]
    a, b = weights(tmp / "whole"), weights(killed)
    assert all(torch.equal(a[k], b[k]) for k in a)                        # same ranks: bit for bit


def test_a_global_batch_that_does_not_split_is_refused(env):
    tmp, root, model = env
    code, out = finish(torchrun(train_args(model, root, tmp / "odd", **{"batch-size": 7})))
    assert code != 0 and "batch size 7 (the global batch) does not split over 2 ranks" in out
    assert not (tmp / "odd" / "checkpoint.pt").exists()


def test_blocks_deal_whole_batches_and_unblock_restores_the_order():
    n, block, world = 23, 4, 3
    parts = [Ranks(r, world).blocks(n, block) for r in range(world)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(n))
    assert parts[0].tolist() == [0, 1, 2, 3, 12, 13, 14, 15] and parts[2].tolist() == [8, 9, 10, 11, 20, 21, 22]
    values = [np.stack([p * 10, p]) for p in parts]                       # [2, n_rank] per rank
    assert np.array_equal(Ranks(0, world).unblock(values, n, block), np.stack([np.arange(n) * 10, np.arange(n)]))


def test_bench_evaluate_under_torchrun_gives_the_one_process_grid(env):
    tmp, root, model = env
    args = ["evaluate", str(model), "--task", "mazes", "--quick", "--difficulties", "9", "--steps", "1:4",
            "--data-root", str(root), "--n-boot", "50", "--quiet", "--threads", "1", "--batch-size", "16"]
    result = CliRunner().invoke(main, args + ["--out", str(tmp / "eval-one.json")])
    assert result.exit_code == 0, result.output
    code, out = finish(torchrun(args + ["--out", str(tmp / "eval-two.json")]))
    assert code == 0, out
    assert out.count(str(tmp / "eval-two.json")) == 1                     # rank 0 alone writes and prints
    one = json.loads((tmp / "eval-one.json").read_text())
    two = json.loads((tmp / "eval-two.json").read_text())
    assert one["grid"] == two["grid"] and one["derived"] == two["derived"]
