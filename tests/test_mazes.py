"""Mazes against an independent oracle: the grid read back from the pixels, BFS on it."""
from collections import deque

import numpy as np
import pytest

from generators import engine
from tests.conftest import all_arrays, maze_plan

GREEN = (0, 255, 0)
RED = (255, 0, 0)


def grid_from_image(image):
    """Maze-pixel grid (1 = passable) read from the rendered image, checking the 2x2 blocks."""
    body = image[:, 1:-1, 1:-1]
    blocks = body.reshape(3, body.shape[1] // 2, 2, body.shape[2] // 2, 2)
    assert (blocks == blocks[:, :, :1, :, :1]).all(), "maze pixels must be uniform 2x2 blocks"
    colours = blocks[:, :, 0, :, 0].transpose(1, 2, 0)
    return colours


def bfs_path(passable, start, end):
    prev = {start: None}
    queue = deque([start])
    while queue:
        cur = queue.popleft()
        if cur == end:
            break
        r, q = cur
        for nr, nq in ((r - 1, q), (r + 1, q), (r, q - 1), (r, q + 1)):
            if passable[nr, nq] and (nr, nq) not in prev:
                prev[(nr, nq)] = cur
                queue.append((nr, nq))
    path, cur = [], end
    while cur is not None:
        path.append(cur)
        cur = prev[cur]
    return path


def check_maze(image, mask, size, meta):
    side = 2 * size + 6
    assert image.shape == (3, side, side) and mask.shape == (side, side)
    for edge in (image[:, 0, :], image[:, -1, :], image[:, :, 0], image[:, :, -1]):
        assert not edge.any(), "1-pixel border must be black"
    colours = grid_from_image(image)
    g = size + 2
    assert colours.shape == (g, g, 3)
    palette = {tuple(c) for c in colours.reshape(-1, 3)}
    assert palette <= {(0, 0, 0), (255, 255, 255), GREEN, RED}
    starts = np.argwhere((colours == GREEN).all(-1))
    ends = np.argwhere((colours == RED).all(-1))
    assert len(starts) == 1 and len(ends) == 1, "exactly one start and one end cell"
    start, end = tuple(starts[0]), tuple(ends[0])
    assert start[0] % 2 == 1 and start[1] % 2 == 1 and end[0] % 2 == 1 and end[1] % 2 == 1
    passable = colours.any(-1)
    # Outer ring is wall; cells open; wall-crossings only between cells (perfect-maze layout).
    assert not passable[0].any() and not passable[-1].any() and not passable[:, 0].any() and not passable[:, -1].any()
    assert passable[1::2, 1::2].all()
    assert not passable[2::2, 2::2].any()
    c = (size + 1) // 2
    openings = int(passable.sum()) - c * c
    assert openings == c * c - 1, "a spanning tree over c*c cells has c*c-1 openings"
    reached = bfs_reach(passable, start)
    assert reached == int(passable.sum()), "every cell reachable: connected + c*c-1 edges = tree"
    path = bfs_path(passable, start, end)
    expected = np.zeros((side, side), np.uint8)
    for r, q in path:
        expected[1 + 2 * r:3 + 2 * r, 1 + 2 * q:3 + 2 * q] = 1
    assert np.array_equal(mask, expected), "mask must equal the BFS path"
    assert tuple(meta["start"]) == ((start[0] - 1) // 2, (start[1] - 1) // 2)
    assert tuple(meta["end"]) == ((end[0] - 1) // 2, (end[1] - 1) // 2)
    assert meta["path_length"] == sum(1 for r, q in path if r % 2 == 1 and q % 2 == 1)


def bfs_reach(passable, start):
    seen = {start}
    queue = deque([start])
    while queue:
        r, q = queue.popleft()
        for nb in ((r - 1, q), (r + 1, q), (r, q - 1), (r, q + 1)):
            if passable[nb] and nb not in seen:
                seen.add(nb)
                queue.append(nb)
    return len(seen)


@pytest.mark.parametrize("size,count", [(3, 30), (5, 40), (9, 60), (11, 40), (13, 40), (59, 4)])
def test_every_maze_is_perfect_and_mask_is_the_bfs_path(tmp_path, size, count):
    plan = maze_plan(tmp_path / "d", size=size, count=count, shard_size=25)
    engine.run(plan)
    arrays = all_arrays(tmp_path / "d")
    for i in range(count):
        meta = {k: arrays[f"meta/{k}"][i] for k in ("start", "end", "path_length")}
        check_maze(arrays["images"][i], arrays["masks"][i], size, meta)


@pytest.mark.parametrize("size,side", [(9, 24), (11, 28), (13, 32), (59, 124), (201, 408)])
def test_image_side_is_2s_plus_6(tmp_path, size, side):
    plan = maze_plan(tmp_path / "d", size=size, count=2)
    arrays = plan.generate([0, 1])
    assert arrays["images"].shape == (2, 3, side, side)
    assert arrays["masks"].shape == (2, side, side)
    assert arrays["images"].dtype == np.uint8 and arrays["masks"].dtype == np.uint8


def test_start_and_end_differ_and_are_uniformish(tmp_path):
    plan = maze_plan(tmp_path / "d", size=5, count=3000)
    arrays = plan.generate(np.arange(3000))
    starts = arrays["meta/start"][:, 0] * 3 + arrays["meta/start"][:, 1]
    ends = arrays["meta/end"][:, 0] * 3 + arrays["meta/end"][:, 1]
    assert (starts != ends).all()
    counts = np.bincount(starts, minlength=9)
    # 3000 draws over 9 cells: each expected 333; a 5-sigma band still catches a stuck draw.
    assert counts.min() > 333 - 5 * 18 and counts.max() < 333 + 5 * 18


def test_disjoint_splits_share_no_maze_and_record_retries(tmp_path):
    from generators.audit import audit
    from generators.dataset import open_dataset

    roots = {}
    for split in ("train", "test"):
        plan = maze_plan(tmp_path / split, size=5, count=600, split=split, shard_size=300)
        manifest = engine.run(plan)
        roots[split] = tmp_path / split
        assert manifest["stats"]["retries"] > 0
    report = audit([open_dataset(roots["train"]), open_dataset(roots["test"])])
    assert report["cross"][0]["shared_samples"] == 0


def test_without_partition_small_mazes_do_collide(tmp_path):
    """Control for the test above: the audit does find shared mazes when they exist."""
    from generators.audit import audit
    from generators.dataset import open_dataset

    for split in ("train", "test"):
        engine.run(maze_plan(tmp_path / split, size=5, count=600, split=split, shard_size=300, disjoint=False))
    report = audit([open_dataset(tmp_path / "train"), open_dataset(tmp_path / "test")])
    assert report["cross"][0]["shared_samples"] > 0
    assert report["datasets"][0]["duplicates_within"] > 0
