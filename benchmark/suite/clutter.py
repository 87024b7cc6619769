"""Suite entry of the cluttered MNIST / Fashion-MNIST scenes (20-way classification).

Difficulty = objects in the scene (the target plus ``difficulty - 1`` clutter objects);
the reference level is 8. The sources (MNIST, Fashion-MNIST) must be found on the machine;
their checksums are part of the parameters, so the data is the same everywhere.
"""
from .spec import Counts, TaskSpec


def _clutter_params(objects):
    from generators.clutter import sources
    from generators.clutter.task import ClutterTask

    return ClutterTask.params(sources.load(), clutter_objects=objects - 1)


def entries():
    return {
        "clutter": TaskSpec(
            name="clutter", generator="clutter", metric="accuracy", target="labels",
            train_difficulties=(8,), test_difficulties=(2, 4, 6, 8), default_train=8, seed=20_254,
            counts={"standard": Counts(train=300_000, test=10_000),
                    "quick": Counts(train=2_000, test=200)},
            make_params=_clutter_params, difficulty_of=lambda params: params["clutter"] + 1),
    }


QUICK_TEST_DIFFICULTIES = {"clutter": (4, 8)}
