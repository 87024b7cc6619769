"""Generation as a job array: `benchgen plan`, submitit's local executor (how Slurm runs are
exercised here), retries of failed tasks, and `verify` on the merged folder."""
import json
import sys

import pytest
from click.testing import CliRunner

from generators import cluster
from generators.cli import main
from generators.engine import Plan, run
from generators.mazes.task import MazeTask
from tests.conftest import folder_bytes

ARGS = ["mazes", "--size", "9", "-n", "130", "--shard-size", "20"]     # 7 shards, the last one of 10


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_blocks_cover_every_shard_once():
    for n, tasks in ((7, 2), (7, 64), (100, 8), (1, 3)):
        got = cluster.blocks(n, tasks)
        assert [k for a, b in got for k in range(a, b)] == list(range(n))
        assert len(got) == min(n, tasks) and max(b - a for a, b in got) - min(b - a for a, b in got) <= 1


def test_plan_describes_without_making_anything(tmp_path):
    code, out = invoke("plan", *ARGS, "--array-tasks", 3, "--out", tmp_path / "ds")
    assert code == 0, out
    plan = json.loads(out)
    assert (plan["shards"], plan["samples_per_shard"], plan["last_shard_samples"]) == (7, 20, 10)
    assert [t["shard_range"] for t in plan["array_tasks"]] == ["0:2", "2:5", "5:7"]
    assert sum(t["samples"] for t in plan["array_tasks"]) == 130
    assert plan["raw_bytes"] == 130 * (3 * 24 * 24 + 24 * 24)
    assert not (tmp_path / "ds").exists()
    code, out = invoke("plan", "verify", tmp_path)
    assert code == 2 and "not a generator command" in out


def test_local_executor_gives_the_bytes_of_one_local_run(tmp_path):
    pytest.importorskip("submitit")
    assert invoke(*ARGS, "--workers", 1, "--out", tmp_path / "here", "--quiet")[0] == 0
    code, out = invoke(*ARGS, "--executor", "local", "--array-tasks", 2, "--out", tmp_path / "array")
    assert code == 0, out
    assert "complete" in out
    assert folder_bytes(tmp_path / "array") == folder_bytes(tmp_path / "here")
    # A shard lost afterwards is what verify reports.
    (tmp_path / "array" / "shard-00003.h5").unlink()
    code, out = invoke("verify", tmp_path / "array", "--sample", 0)
    assert code == 1 and "shard-00003.h5: missing" in out


def test_a_failed_task_is_resubmitted_and_makes_only_its_missing_shards(tmp_path):
    pytest.importorskip("submitit")
    marker = tmp_path / "failed-once"

    def flaky(plan, first, end, workers):
        from pathlib import Path

        from generators import cluster as c

        if first == 0 and not Path(marker).exists():
            c.make_block(plan, first, first + 1, workers)          # one shard made, then the task dies
            Path(marker).write_text("x")
            raise RuntimeError("simulated node failure")
        return c.make_block(plan, first, end, workers)

    plan = Plan(task_name="mazes", params=MazeTask.params(9), split="train", seed=0, count=130, shard_size=20,
                out=tmp_path / "array")
    lines = []
    ex = cluster.executor("local", tmp_path / "logs", minutes=5)
    manifest = cluster.run_array(plan, ex, tasks=2, retries=1, task=flaky, echo=lines.append)
    assert manifest["complete"] and marker.exists()
    assert any(line.endswith("(shards 0:4) failed: RuntimeError: simulated node failure") for line in lines), lines
    assert any("(retry 1)" in line for line in lines)
    run(Plan(**{**plan.__dict__, "out": tmp_path / "here"}), workers=1)
    assert folder_bytes(tmp_path / "array") == folder_bytes(tmp_path / "here")


def test_a_task_that_keeps_failing_ends_in_one_line(tmp_path):
    pytest.importorskip("submitit")

    def broken(plan, first, end, workers):
        raise RuntimeError("disk full")

    plan = Plan(task_name="mazes", params=MazeTask.params(9), split="train", seed=0, count=40, shard_size=20,
                out=tmp_path / "array")
    with pytest.raises(Exception, match=r"shards 0:2 still fail after 1 retries; see the logs in"):
        cluster.run_array(plan, cluster.executor("local", tmp_path / "logs", minutes=5), tasks=1, retries=1,
                          task=broken)


def test_without_submitit_the_executor_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)          # import submitit now fails
    code, out = invoke(*ARGS, "--executor", "local", "--out", tmp_path / "x")
    assert code == 1 and "needs the submitit package" in out and len(out.strip().splitlines()) == 1
