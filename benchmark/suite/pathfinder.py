"""Suite entries of PathFinder (classification) and PathFinder segmentation (C-RBP sets).

Images are the lab's 300 x 300 canvases downsampled to 150 x 150 (preset linsley2018);
classification sets draw both markers, segmentation sets only the origin marker.
"""
from .spec import Counts, TaskSpec

PF_TEST = (6, 9, 14, 18, 20, 25)
PF_FAR = (6, 20, 25)               # extrapolation lengths: smaller test sets
SEG_LENGTHS = (9, 14, 20, 25)


def _pathfinder_params(length):
    from generators.pathfinder.task import make_params

    return make_params(length, preset="linsley2018", markers=2)


def _segmentation_params(length):
    from generators.pathfinder.task import make_params

    return make_params(length, preset="linsley2018", markers=1)


def entries():
    return {
        "pathfinder": TaskSpec(
            name="pathfinder", generator="pathfinder", metric="accuracy", target="labels",
            train_difficulties=(9, 14, 18), test_difficulties=PF_TEST, default_train=14, seed=20_252,
            counts={"standard": Counts(train=700_000, test=100_000, test_far=20_000, far=PF_FAR),
                    "quick": Counts(train=2_000, test=200, test_far=200, far=PF_FAR)},
            make_params=_pathfinder_params, difficulty_of=lambda params: params["length"]),
        "pathfinder-seg": TaskSpec(
            name="pathfinder-seg", generator="pathfinder", metric="iou", target="masks",
            train_difficulties=SEG_LENGTHS, test_difficulties=SEG_LENGTHS, default_train=14, seed=20_253,
            counts={"standard": Counts(train=200_000, test=10_000),
                    "quick": Counts(train=2_000, test=200)},
            make_params=_segmentation_params, difficulty_of=lambda params: params["length"]),
    }


# Quick evaluation covers the training length and one step either side.
QUICK_TEST_DIFFICULTIES = {"pathfinder": (9, 14, 18), "pathfinder-seg": (9, 14, 20)}
