"""A template model file: a small feedforward CNN for any suite task.

``build_model(task)`` receives a ``benchmark.taskinfo.TaskInfo``; segmentation models
return logits [B, 2, H, W] and must be fully convolutional (mazes are tested at larger
sizes), classification models logits [B, num_classes]. ``recurrent = False`` tells the
harness to score one column instead of a step budget range.

    bench preflight benchmark/examples/tiny_cnn.py --task mazes
"""
from torch import nn


class TinyCNN(nn.Module):
    recurrent = False

    def __init__(self, task, width=16):
        super().__init__()
        self.segmentation = task.output == "segmentation"
        self.body = nn.Sequential(
            nn.Conv2d(task.in_channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(width, task.num_classes, 1) if self.segmentation else \
            nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, task.num_classes))

    def forward(self, x, steps=None):
        return self.head(self.body(x))


def build_model(task):
    return TinyCNN(task)
