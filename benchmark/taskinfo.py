"""What ``build_model(task)`` is told about a task (the model contract of DESIGN.md).

Inputs are float32 tensors in [0, 1] of shape [B, in_channels, H, W]. Outputs are logits:
``classification`` -> [B, num_classes]; ``segmentation`` -> [B, num_classes, H, W] with
class 1 = the target (maze path, traced contour). Mazes are evaluated at sizes other than
the training one, so segmentation models must be fully convolutional.
"""
from dataclasses import dataclass, field

OUTPUT_KINDS = ("classification", "segmentation")


@dataclass(frozen=True)
class TaskInfo:
    name: str                 # suite task: mazes | pathfinder | pathfinder-seg | clutter
    in_channels: int
    height: int               # training image size; evaluation sizes may differ (mazes)
    width: int
    output: str               # one of OUTPUT_KINDS
    num_classes: int
    train_steps: int = 1      # the recipe's recurrent steps at training
    difficulty: int = 0       # training difficulty (maze size, contour length, clutter objects)
    extras: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if self.output not in OUTPUT_KINDS:
            raise ValueError(f"output must be one of {OUTPUT_KINDS}, got {self.output!r}")

    def output_shape(self, batch, height=None, width=None):
        if self.output == "classification":
            return (batch, self.num_classes)
        return (batch, self.num_classes, height or self.height, width or self.width)


def mazes(size=9, steps=30):
    side = 2 * size + 6
    return TaskInfo("mazes", 3, side, side, "segmentation", 2, steps, size)


def pathfinder(length=14, side=150, steps=12):
    return TaskInfo("pathfinder", 1, side, side, "classification", 2, steps, length)


def pathfinder_seg(length=14, side=150, steps=20):
    return TaskInfo("pathfinder-seg", 1, side, side, "segmentation", 2, steps, length)


def clutter(objects=8, side=100, steps=4):
    return TaskInfo("clutter", 1, side, side, "classification", 20, steps, objects)


BUILDERS = {"mazes": mazes, "pathfinder": pathfinder, "pathfinder-seg": pathfinder_seg, "clutter": clutter}
