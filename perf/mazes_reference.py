"""A pure-Python maze generator in the style of the easy-to-hard reference, for speed ratios.

Our own re-implementation of the reference's approach (spec: iterative DFS over cells with
Python lists, a heap-based shortest-path solver, numpy rendering), so its speed can be
measured at every size on this machine; the spec quotes ~1,500/s at size 9 and ~700/s at
13 for the real one. Prints JSON.
"""
import heapq
import json
import random
import sys
import time

import numpy as np


def dfs_maze(c, rng):
    g = 2 * c + 1
    grid = np.zeros((g, g), dtype=np.uint8)
    start = rng.randrange(c * c)
    end = rng.randrange(c * c - 1)
    end += end >= start
    visited = {start}
    stack = [start]
    grid[2 * (start // c) + 1, 2 * (start % c) + 1] = 1
    while stack:
        y, x = divmod(stack[-1], c)
        options = [(y + dy, x + dx) for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))
                   if 0 <= y + dy < c and 0 <= x + dx < c and (y + dy) * c + x + dx not in visited]
        if not options:
            stack.pop()
            continue
        ny, nx = rng.choice(options)
        grid[y + ny + 1, x + nx + 1] = 1
        grid[2 * ny + 1, 2 * nx + 1] = 1
        visited.add(ny * c + nx)
        stack.append(ny * c + nx)
    return grid, divmod(start, c), divmod(end, c)


def solve(grid, start, end):
    """Shortest path on maze pixels with a heap (the reference's solver style)."""
    s = (2 * start[0] + 1, 2 * start[1] + 1)
    e = (2 * end[0] + 1, 2 * end[1] + 1)
    dist = {s: 0}
    prev = {}
    heap = [(0, s)]
    while heap:
        d, cur = heapq.heappop(heap)
        if cur == e:
            break
        r, q = cur
        for nb in ((r - 1, q), (r + 1, q), (r, q - 1), (r, q + 1)):
            if grid[nb] and d + 1 < dist.get(nb, 1 << 30):
                dist[nb] = d + 1
                prev[nb] = cur
                heapq.heappush(heap, (d + 1, nb))
    path = [e]
    while path[-1] != s:
        path.append(prev[path[-1]])
    return path


def render(grid, start, end, path):
    image = np.repeat(np.repeat(grid, 2, 0), 2, 1)
    image = np.pad(image, 1)
    rgb = np.stack([image, image, image]).astype(np.float32)
    for (cy, cx), colour in ((start, (0, 1, 0)), (end, (1, 0, 0))):
        r, q = 2 * (2 * cy + 1) + 1, 2 * (2 * cx + 1) + 1
        rgb[:, r:r + 2, q:q + 2] = np.array(colour, np.float32)[:, None, None]
    mask = np.zeros(image.shape, np.uint8)
    for r, q in path:
        mask[2 * r + 1:2 * r + 3, 2 * q + 1:2 * q + 3] = 1
    return rgb, mask


def rate(size, seconds=2.0):
    rng = random.Random(0)
    c = (size + 1) // 2
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        grid, s, e = dfs_maze(c, rng)
        render(grid, s, e, solve(grid, s, e))
        n += 1
    return n / (time.perf_counter() - t0)


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [9, 13, 59, 201]
    print(json.dumps({"reference_python_mazes_per_s": {str(s): round(rate(s), 1) for s in sizes}}, indent=2))
