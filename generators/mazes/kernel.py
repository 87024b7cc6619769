"""DFS perfect mazes in the easy-to-hard format (Schwarzschild et al. 2021).

A maze of size s (odd, >= 3) has c = (s+1)/2 cells per side on an (s+2) x (s+2) grid of
maze pixels; each maze pixel is drawn as a 2x2 block and a 1-pixel black border is added,
so the image side is 2s+6. Walls are black, open cells white, the start cell green and
the end cell red. The target mask covers the unique start-to-end path.

Split disjointness: a maze's split is a function of its content. The canonical hash
(openings + endpoints) is mapped to [0, 1); train owns [0, 0.9), val [0.9, 0.95) and
test [0.95, 1). A sample whose maze falls outside its split's range is redrawn from the
same seed stream, so train, val and test of any seeds never share a maze.
"""
import numpy as np
from numba import njit

from ..rng import mix_word, new_state, randbelow

VERSION = "1.0.0"
SPLIT_RANGES = {"train": (0.0, 0.9), "val": (0.9, 0.95), "test": (0.95, 1.0)}
# Below this size there are too few distinct mazes (48 at size 3) to partition them.
MIN_DISJOINT_SIZE = 5
MAX_ATTEMPTS = 100_000

_DY = np.array([-1, 1, 0, 0], dtype=np.int64)
_DX = np.array([0, 0, -1, 1], dtype=np.int64)


def image_side(size):
    return 2 * size + 6


def cells_per_side(size):
    return (size + 1) // 2


@njit(cache=True)
def _carve(state, c, grid, visited, stack, path, options):
    """Carve one DFS maze into ``grid`` and return (start, end, path length in cells).

    The DFS stack at the moment the end cell is first reached is exactly the tree path
    from the start, so the solution comes for free.
    """
    n_cells = c * c
    start = randbelow(state, n_cells)
    end = randbelow(state, n_cells - 1)
    if end >= start:
        end += 1
    grid[:, :] = 0
    visited[:] = False
    for k in range(n_cells):
        grid[2 * (k // c) + 1, 2 * (k % c) + 1] = 1
    top = 0
    stack[0] = start
    visited[start] = True
    path_len = 1 if start != end else 0
    if start == end:
        path[0] = start
    while top >= 0:
        cur = stack[top]
        cy = cur // c
        cx = cur % c
        n_opt = 0
        for d in range(4):
            ny = cy + _DY[d]
            nx = cx + _DX[d]
            if 0 <= ny < c and 0 <= nx < c and not visited[ny * c + nx]:
                options[n_opt] = d
                n_opt += 1
        if n_opt == 0:
            top -= 1
            continue
        d = options[randbelow(state, n_opt)]
        ny = cy + _DY[d]
        nx = cx + _DX[d]
        nxt = ny * c + nx
        grid[2 * cy + 1 + _DY[d], 2 * cx + 1 + _DX[d]] = 1
        visited[nxt] = True
        top += 1
        stack[top] = nxt
        if nxt == end:
            path_len = top + 1
            path[: top + 1] = stack[: top + 1]
    return start, end, path_len


@njit(cache=True)
def _content_hash(grid, c, start, end):
    """Canonical 64-bit hash of a maze: its right/down openings and its endpoints."""
    h = mix_word(np.uint64(c), start * 1_000_003 + end)
    word = np.uint64(0)
    nbits = 0
    for y in range(c):
        for x in range(c):
            bits = np.uint64(grid[2 * y + 1, 2 * x + 2] + 2 * grid[2 * y + 2, 2 * x + 1])
            word = word | (bits << np.uint64(nbits))
            nbits += 2
            if nbits == 64:
                h = mix_word(h, word)
                word = np.uint64(0)
                nbits = 0
    return mix_word(h, word)


@njit(cache=True)
def _render(grid, c, start, end, path, path_len, image, mask, row):
    """Draw the maze; each maze-pixel row is built once and copied as whole image rows."""
    g = grid.shape[0]
    image[:, 0, :] = 0
    image[:, -1, :] = 0
    row[:] = 0
    for r in range(g):
        for q in range(g):
            v = 255 if grid[r, q] else 0
            row[1 + 2 * q] = v
            row[2 + 2 * q] = v
        for ch in range(3):
            image[ch, 1 + 2 * r, :] = row
            image[ch, 2 + 2 * r, :] = row
    mask[:, :] = 0
    for k in range(path_len):
        cy = path[k] // c
        cx = path[k] % c
        _fill_block(mask, 2 * cy + 1, 2 * cx + 1, 1)
        if k + 1 < path_len:
            ny = path[k + 1] // c
            nx = path[k + 1] % c
            _fill_block(mask, cy + ny + 1, cx + nx + 1, 1)
    _fill_cell(image, 2 * (start // c) + 1, 2 * (start % c) + 1, 0, 255, 0)
    _fill_cell(image, 2 * (end // c) + 1, 2 * (end % c) + 1, 255, 0, 0)


@njit(cache=True)
def _fill_cell(image, r, q, red, green, blue):
    _fill_block(image[0], r, q, red)
    _fill_block(image[1], r, q, green)
    _fill_block(image[2], r, q, blue)


@njit(cache=True)
def _fill_block(plane, r, q, value):
    """Fill the 2x2 image block of maze pixel (r, q)."""
    for dy in range(2):
        for dx in range(2):
            plane[1 + 2 * r + dy, 1 + 2 * q + dx] = value


@njit(cache=True)
def generate_into(seeds, size, lo, hi, images, masks, starts, ends, path_lengths, retries):
    """Fill preallocated arrays with the mazes of ``seeds``; returns -1 or a failing row."""
    c = (size + 1) // 2
    g = size + 2
    grid = np.empty((g, g), dtype=np.uint8)
    visited = np.empty(c * c, dtype=np.bool_)
    stack = np.empty(c * c, dtype=np.int64)
    path = np.empty(c * c, dtype=np.int64)
    row = np.empty(images.shape[3], dtype=np.uint8)
    options = np.empty(4, dtype=np.int64)
    for i in range(seeds.shape[0]):
        state = new_state(seeds[i])
        attempts = 0
        while True:
            start, end, path_len = _carve(state, c, grid, visited, stack, path, options)
            u = np.float64(_content_hash(grid, c, start, end) >> np.uint64(11)) / 9007199254740992.0
            if lo <= u < hi:
                break
            attempts += 1
            if attempts >= MAX_ATTEMPTS:
                return i
        _render(grid, c, start, end, path, path_len, images[i], masks[i], row)
        starts[i, 0] = start // c
        starts[i, 1] = start % c
        ends[i, 0] = end // c
        ends[i, 1] = end % c
        path_lengths[i] = path_len
        retries[i] = attempts
    return -1
