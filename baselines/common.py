"""Pieces shared by the baseline families: the recurrent-model base class, stems and heads.

A recurrent baseline splits one forward pass into ``encode`` (the feedforward drive, computed
once), ``init_state``, ``step`` (one recurrent update, the function RBP differentiates) and
``readout``. ``forward`` and ``iterate`` are built from those, so every family gets the
model contract, C-RBP and the stability tools for free.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

from benchmark import taskinfo

from .gabor import gabor_bank


class RecurrentModel(nn.Module):
    recurrent = True
    train_steps = 1

    def encode(self, x):
        raise NotImplementedError

    def init_state(self, drive, x):
        raise NotImplementedError

    def step(self, drive, state, t):
        """State after step ``t`` (0-based) from the state before it."""
        raise NotImplementedError

    def readout(self, state, x):
        raise NotImplementedError

    def states(self, x, steps):
        """The drive, then the state after each step 1..steps (a generator)."""
        drive = self.encode(x)
        state = self.init_state(drive, x)
        for t in range(steps):
            state = self.step(drive, state, t)
            yield drive, state

    def iterate(self, x, steps=None):
        for _, state in self.states(x, steps or self.train_steps):
            yield self.readout(state, x)

    def forward(self, x, steps=None):
        state = None
        for _, state in self.states(x, steps or self.train_steps):
            pass
        return self.readout(state, x)


class FeedforwardModel(nn.Module):
    recurrent = False
    train_steps = 1

    def iterate(self, x, steps=None):
        yield self.forward(x)


def conv(cin, cout, k, bias=True, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)


class ConvStem(nn.Sequential):
    """conv3x3 -> BatchNorm -> ReLU (the mazes stem); ``norm=False`` drops the BatchNorm."""

    def __init__(self, cin, width, norm=True):
        layers = [conv(cin, width, 3, bias=not norm)]
        if norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class GaborStem(nn.Module):
    """Frozen Gabor conv (stride 2) on the resized image, BatchNorm, ReLU, MaxPool(3, 2, 1).

    150-px PathFinder images are resized to 160 (``scale``) so 11x11/2 then the pool give
    40x40 maps, as in the LocRNN study. The filters are a buffer, not a parameter.
    """

    def __init__(self, cin, width, size=11, stride=2, scale=160 / 150, pool=True):
        super().__init__()
        self.register_buffer("weight", gabor_bank(width, size, cin))
        self.stride, self.scale, self.pool = stride, scale, pool
        self.norm = nn.BatchNorm2d(width)

    def forward(self, x):
        if self.scale != 1:
            side = (round(x.shape[-2] * self.scale), round(x.shape[-1] * self.scale))
            x = F.interpolate(x, size=side, mode="bilinear", align_corners=False)
        x = F.conv2d(x, self.weight.to(x.dtype), stride=self.stride, padding=self.weight.shape[-1] // 2)
        x = F.relu(self.norm(x))
        return F.max_pool2d(x, 3, 2, 1) if self.pool else x


class SquaredGaborStem(nn.Module):
    """Trainable conv initialised with Gabor filters, output squared (the hGRU PathFinder stem)."""

    def __init__(self, cin, width, size=7):
        super().__init__()
        self.conv = conv(cin, width, size)
        with torch.no_grad():
            self.conv.weight.copy_(gabor_bank(width, size, cin))
            self.conv.bias.zero_()

    def forward(self, x):
        return self.conv(x) ** 2


class MazeHead(nn.Sequential):
    """conv3x3 w -> 32 -> 8 -> 2 with (BatchNorm +) ReLU between and no bias."""

    def __init__(self, width, classes=2, norm=True):
        layers = []
        for cin, cout in ((width, 32), (32, 8)):
            layers.append(conv(cin, cout, 3, bias=False))
            if norm:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.ReLU(inplace=True))
        layers.append(conv(8, classes, 3, bias=False))
        super().__init__(*layers)

    def forward(self, h, x=None):
        return super().forward(h)


class PoolHead(nn.Module):
    """1x1 conv to the classes, global max-pool, Linear(K, K) (the LocRNN PathFinder readout)."""

    def __init__(self, width, classes):
        super().__init__()
        self.proj = nn.Conv2d(width, classes, 1)
        self.fc = nn.Linear(classes, classes)

    def forward(self, h, x=None):
        return self.fc(torch.amax(self.proj(h), dim=(2, 3)))


class UpsampleHead(nn.Module):
    """1x1 conv to the classes, bilinear upsampling to the input size (segmentation)."""

    def __init__(self, width, classes, norm=False, prior=None):
        super().__init__()
        self.norm = nn.BatchNorm2d(width) if norm else nn.Identity()
        self.proj = nn.Conv2d(width, classes, 1)
        if prior is not None:
            # Background logit log((1-p)/p), target 0: the target starts at probability p.
            with torch.no_grad():
                self.proj.bias.zero_()
                self.proj.bias[0] = math.log((1 - prior) / prior)

    def forward(self, h, x):
        out = self.proj(self.norm(h))
        if out.shape[-2:] != x.shape[-2:]:
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return out


def head_for(task, width, maze_norm=True, prior=None):
    """The readout a family uses on ``task``: maze head on full-resolution segmentation,
    upsampling head on strided segmentation, pooled head on classification."""
    if task.output == "classification":
        return PoolHead(width, task.num_classes)
    if task.name == "mazes":
        return MazeHead(width, task.num_classes, norm=maze_norm)
    return UpsampleHead(width, task.num_classes, norm=prior is not None, prior=prior)


def settings(defaults, task, overrides, family):
    """The family's defaults for ``task``, updated by ``task.extras[family]`` then ``overrides``.

    Steps: an explicit ``steps`` setting wins; else a ``task.train_steps`` that differs from
    the TaskInfo default was declared by the caller (a training run, ``--train-steps``)
    and wins; else the family's own recipe value for the task.
    """
    table = defaults.get(task.name, defaults["default"])
    extra = task.extras.get(family, {}) if isinstance(task.extras, dict) else {}
    unknown = (set(overrides) | set(extra)) - set(table)
    if unknown:
        raise ValueError(f"{family}: unknown setting(s) {sorted(unknown)}; allowed: {sorted(table)}")
    cfg = {**table, **extra, **overrides}
    if "steps" in table and "steps" not in extra and "steps" not in overrides:
        cfg["steps"] = steps_for(task, table["steps"])
    return cfg


def steps_for(task, recipe_steps):
    """``task.train_steps`` when declared (not the TaskInfo default), else ``recipe_steps``."""
    builder = taskinfo.BUILDERS.get(task.name)
    default = builder().train_steps if builder else None
    return recipe_steps if task.train_steps == default else int(task.train_steps)


def count_parameters(model, trainable_only=True):
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
