"""Convolutional GRU, with tanh (classic) or ReLU candidate (better on PathFinder per the LocRNN study)."""
import torch
from torch import nn

from .common import ConvStem, GaborStem, RecurrentModel, conv, head_for, settings

DEFAULTS = {
    "mazes": dict(width=64, kernel=5, steps=15, stem="conv"),
    "default": dict(width=24, kernel=9, steps=12, stem="gabor"),
}
DEFAULTS["clutter"] = dict(DEFAULTS["default"], steps=4)


class ConvGRU(RecurrentModel):
    def __init__(self, task, width, kernel, steps, stem, act="tanh"):
        super().__init__()
        self.train_steps = steps
        self.act = torch.tanh if act == "tanh" else torch.relu
        self.stem = ConvStem(task.in_channels, width) if stem == "conv" else GaborStem(task.in_channels, width)
        self.gates = conv(2 * width, 2 * width, kernel)
        self.cand = conv(2 * width, width, kernel)
        for layer in (self.gates, self.cand):
            nn.init.orthogonal_(layer.weight.view(layer.weight.shape[0], -1))
            nn.init.zeros_(layer.bias)
        self.head = head_for(task, width)

    def encode(self, x):
        return self.stem(x)

    def init_state(self, drive, x):
        return torch.zeros_like(drive)

    def step(self, drive, h, t):
        z, r = torch.sigmoid(self.gates(torch.cat([drive, h], dim=1))).chunk(2, dim=1)
        n = self.act(self.cand(torch.cat([drive, r * h], dim=1)))
        return (1 - z) * h + z * n

    def readout(self, h, x):
        return self.head(h, x)


def build(task, **overrides):
    return ConvGRU(task, **settings(DEFAULTS, task, overrides, "convgru"))


def build_relu(task, **overrides):
    return ConvGRU(task, act="relu", **settings(DEFAULTS, task, overrides, "convgru-relu"))
