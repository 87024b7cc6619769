"""Suite entry of the mazes (segmentation of the start-to-end path, exact-match metric).

Models train on sizes 9-13 and are tested up to 59; sizes from 19 on are extrapolation
sets with fewer samples.
"""
from .spec import Counts, TaskSpec


def _maze_params(size):
    from generators.mazes.task import MazeTask

    return MazeTask.params(size)


def entries():
    return {
        "mazes": TaskSpec(
            name="mazes", generator="mazes", metric="maze_exact", target="masks",
            train_difficulties=(9, 11, 13), test_difficulties=tuple(range(9, 60, 2)),
            default_train=9, seed=20_251,
            counts={"standard": Counts(train=50_000, test=10_000, test_far=1_000, far=tuple(range(19, 60, 2))),
                    "quick": Counts(train=2_000, test=200, test_far=100, far=tuple(range(19, 60, 2)))},
            make_params=_maze_params, difficulty_of=lambda params: params["size"]),
    }


# Quick regime evaluates fewer extrapolation sizes by default (laptop minutes, not hours).
QUICK_TEST_DIFFICULTIES = {"mazes": (9, 11, 13, 15, 17)}
