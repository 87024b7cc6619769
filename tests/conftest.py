import numpy as np
import pytest

from generators.engine import Plan


def maze_plan(out, size=9, count=40, split="train", seed=0, shard_size=10, **params):
    from generators.mazes.task import MazeTask

    return Plan(task_name="mazes", params=MazeTask.params(size, **params), split=split, seed=seed,
                count=count, shard_size=shard_size, out=out)


@pytest.fixture
def make_maze_plan(tmp_path):
    def make(name="ds", **kwargs):
        return maze_plan(tmp_path / name, **kwargs)
    return make


def folder_bytes(root):
    """{file name: bytes} of every file in a dataset folder."""
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


def all_arrays(root):
    from generators.dataset import open_dataset
    from generators.shards import read_all

    ds = open_dataset(root)
    parts = [read_all(root / rec["file"]) for rec in ds.manifest["shards"]]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def bench(*args):
    """Run the ``bench`` command in this process: (exit code, output)."""
    from click.testing import CliRunner

    from benchmark.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output
