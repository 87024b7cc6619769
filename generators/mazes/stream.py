"""Mazes generated on the fly, as a torch IterableDataset (no storage).

Sample ``i`` of a ``MazeStream`` is byte-identical to sample ``i`` of the dataset that
``benchgen mazes`` writes with the same size, split and seed (``generators/stream.py``
has the machinery: blocks dealt to DataLoader workers, per-sample and batched modes)::

    stream = MazeStream(9, split="train", seed=0)                       # endless
    loader = DataLoader(stream, batch_size=64, num_workers=2)          # float [B,3,24,24], masks int64 [B,24,24]

    stream = MazeStream(9, batch_size=256)                              # batched
    loader = DataLoader(stream, batch_size=None)                       # uint8 [256,3,24,24], masks uint8 [256,24,24]

Small mazes are made faster than worker processes can pass them on: batched in the main
process (``num_workers=0``) is the fastest way at size 9 (``perf/streams.py``).
"""
from ..stream import Stream, is_int
from .kernel import MIN_DISJOINT_SIZE
from .task import MazeTask


class MazeStream(Stream):
    """Mazes ``start``, ``start + 1``, ... of size ``size`` (odd, >= 3).

    ``disjoint``: partition mazes by content between splits, as ``--disjoint`` (default:
    on for size >= 5). Per sample it yields ``(image float32 [3,H,W] in [0,1], mask int64
    [H,W])`` with H = W = 2 * size + 6; with ``batch_size=B`` ``(images uint8 [B,3,H,W],
    masks uint8 [B,H,W])``. Other options (``split``, ``seed``, ``count``, ``start``,
    ``block``, ``batch_size``, ``with_meta``): see ``generators.stream.Stream``.
    """

    task_name = "mazes"
    targets = ("masks",)

    def __init__(self, size, disjoint=None, **options):
        if not is_int(size) or size < 3 or size % 2 == 0:
            raise ValueError(f"size {size!r} is not allowed; the maze size must be an odd integer >= 3")
        if disjoint and size < MIN_DISJOINT_SIZE:
            raise ValueError(f"disjoint: size {size} has too few distinct mazes to split disjointly; "
                             f"allowed with disjoint=True: size >= {MIN_DISJOINT_SIZE}")
        super().__init__(MazeTask.params(size, disjoint), **options)
