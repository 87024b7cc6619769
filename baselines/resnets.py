"""Residual baselines: recurrent ResNet (shared blocks), DeepThinking with recall, ResNet-d.

Maze-style nets keep full resolution (conv3x3 stem, blocks of 2 BasicBlocks without norm or
bias, conv head w -> 32 -> 8 -> 2). ``resnet10``/``resnet18`` are the ImageNet-layout
classifiers used on PathFinder (strided, BatchNorm, four stages).
"""
import torch
from torch import nn
import torch.nn.functional as F

from .common import FeedforwardModel, RecurrentModel, conv, PoolHead, UpsampleHead, MazeHead, settings


class BasicBlock(nn.Module):
    """conv3x3 -> ReLU -> conv3x3, plus the input, ReLU (no norm, no bias)."""

    def __init__(self, width):
        super().__init__()
        self.c1, self.c2 = conv(width, width, 3, bias=False), conv(width, width, 3, bias=False)

    def forward(self, h):
        return F.relu(h + self.c2(F.relu(self.c1(h))))


def block(width):
    return nn.Sequential(BasicBlock(width), BasicBlock(width))


def maze_style_head(task, width):
    if task.output == "classification":
        return PoolHead(width, task.num_classes)
    return MazeHead(width, task.num_classes, norm=False)


class RecurrentResNet(RecurrentModel):
    """R-ResNet (``recall=False``) or DeepThinking with recall (``recall=True``)."""

    recurrent_prefixes = ("project.", "block.")     # the weight-shared part (DT-R: lr / 30)

    def __init__(self, task, width, steps, recall):
        super().__init__()
        self.train_steps, self.recall = steps, recall
        self.stem = nn.Sequential(conv(task.in_channels, width, 3, bias=False), nn.ReLU())
        self.project = conv(width + task.in_channels, width, 3, bias=False) if recall else None
        self.block = block(width)
        self.head = maze_style_head(task, width)

    def encode(self, x):
        return x

    def init_state(self, drive, x):
        return self.stem(x)

    def step(self, drive, h, t):
        if self.recall:
            h = self.project(torch.cat([h, drive], dim=1))
        return self.block(h)

    def readout(self, h, x):
        return self.head(h, x)


class ResNetD(FeedforwardModel):
    """The R-ResNet layout unrolled without weight sharing: (depth - 4) / 4 distinct blocks."""

    def __init__(self, task, width, depth):
        super().__init__()
        if (depth - 4) % 4 or depth < 8:
            raise ValueError(f"depth {depth}: must be 4 + 4k with k >= 1 (e.g. 12, 20, 36)")
        self.stem = nn.Sequential(conv(task.in_channels, width, 3, bias=False), nn.ReLU())
        self.blocks = nn.Sequential(*(block(width) for _ in range((depth - 4) // 4)))
        self.head = maze_style_head(task, width)

    def forward(self, x, steps=None):
        return self.head(self.blocks(self.stem(x)), x)


class StageBlock(nn.Module):
    """ImageNet ResNet basic block with BatchNorm and a strided 1x1 shortcut when needed."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = conv(cin, cout, 3, bias=False, stride=stride)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = conv(cout, cout, 3, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(out + (x if self.short is None else self.short(x)))


class ImageNetResNet(FeedforwardModel):
    def __init__(self, task, blocks, widths=(64, 128, 256, 512)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(task.in_channels, widths[0], 7, 2, 3, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths)):
            for j in range(n):
                stages.append(StageBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
        self.stages = nn.Sequential(*stages)
        self.classify = task.output == "classification"
        self.head = nn.Linear(cin, task.num_classes) if self.classify else UpsampleHead(cin, task.num_classes)

    def forward(self, x, steps=None):
        h = self.stages(self.stem(x))
        return self.head(h.mean(dim=(2, 3))) if self.classify else self.head(h, x)


RRESNET = {"mazes": dict(width=64, steps=30), "default": dict(width=64, steps=12)}
DTR = {"mazes": dict(width=128, steps=30), "default": dict(width=64, steps=12)}
RESNET_D = {"default": dict(width=64)}


def build_rresnet(task, **overrides):
    return RecurrentResNet(task, recall=False, **settings(RRESNET, task, overrides, "rresnet"))


def build_dtr(task, **overrides):
    return RecurrentResNet(task, recall=True, **settings(DTR, task, overrides, "dt-recall"))


def resnet_d(depth):
    def build(task, **overrides):
        return ResNetD(task, depth=depth, **settings(RESNET_D, task, overrides, f"resnet{depth}"))
    return build


def imagenet_resnet(blocks):
    def build(task, **overrides):
        settings({"default": {}}, task, overrides, "resnet")
        return ImageNetResNet(task, blocks)
    return build
