"""The 'mazes' task: parameters, validation and arrays around the numba kernel."""
import numpy as np

from ..tasks import Task
from . import kernel as mazes


class MazeTask(Task):
    name = "mazes"
    version = mazes.VERSION

    def variant(self, params):
        return str(params["size"])

    @staticmethod
    def params(size, disjoint=None):
        if disjoint is None:
            disjoint = size >= mazes.MIN_DISJOINT_SIZE
        return {"size": int(size), "disjoint_splits": bool(disjoint)}

    def sample_bytes(self, params):
        side = mazes.image_side(params["size"])
        return 4 * side * side

    def generate(self, params, split, seeds, indices, plan):
        size = params["size"]
        n = len(seeds)
        side = mazes.image_side(size)
        lo, hi = mazes.SPLIT_RANGES[split] if params["disjoint_splits"] else (0.0, 1.0)
        out = {
            "images": np.empty((n, 3, side, side), np.uint8),
            "masks": np.empty((n, side, side), np.uint8),
            "meta/start": np.empty((n, 2), np.int32),
            "meta/end": np.empty((n, 2), np.int32),
            "meta/path_length": np.empty(n, np.int32),
            "meta/retries": np.empty(n, np.int32),
        }
        bad = mazes.generate_into(np.ascontiguousarray(seeds, dtype=np.uint64), size, lo, hi,
                                  out["images"], out["masks"], out["meta/start"], out["meta/end"],
                                  out["meta/path_length"], out["meta/retries"])
        if bad >= 0:
            raise RuntimeError(f"maze {indices[bad]}: no maze of split {split!r} in {mazes.MAX_ATTEMPTS} draws")
        return out


TASK = MazeTask()
