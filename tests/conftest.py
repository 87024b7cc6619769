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


def segment_distance(p0, p1, q0, q1, steps=41):
    """Distance between two segments by dense sampling (independent of the kernel's)."""
    t = np.linspace(0, 1, steps)[:, None]
    a = p0 + t * (p1 - p0)
    b = q0 + t * (q1 - q0)
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min()


def assert_dashes_clear(dashes, half, clear):
    """PathFinder scene (layout_of's dashes): every two dashes keep ``clear`` between their
    centre lines, but consecutive dashes of one snake (the gap keeps those apart)."""
    p0 = dashes[:, :2] - half * dashes[:, 2:4]
    p1 = dashes[:, :2] + half * dashes[:, 2:4]
    owner, rank = dashes[:, 4].astype(int), dashes[:, 5].astype(int)
    for i in range(len(dashes)):
        for j in range(i):
            if owner[i] == owner[j] and abs(rank[i] - rank[j]) <= 1:
                continue
            assert segment_distance(p0[i], p1[i], p0[j], p1[j]) >= clear - 0.05


def bench(*args):
    """Run the ``bench`` command in this process: (exit code, output)."""
    from click.testing import CliRunner

    from benchmark.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output
