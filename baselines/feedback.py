"""The clutter study's feedback RNN: lateral connections in every layer, top-down
connections to every lower layer and to the input, multiplicative (or additive) feedback.

Layers: 0 = input (modulated, clipped to [0, 1]), 1 = conv5x5 (8 ch), 2 = conv5x5 (16 ch)
after a 3x3 max-pool, 3 = fc 128 after another pool. The readout is a linear layer over the
fc activations of the last T steps (T = trained steps; fewer steps leave the oldest slots
at zero, more steps slide the window). ``trace`` exposes every layer's activation and its
lateral and top-down inputs per step, and can replace the feedback of one layer at one step
(the perturbation analysis).
"""
import torch
from torch import nn
import torch.nn.functional as F

from .common import RecurrentModel, settings

DEFAULTS = {"default": dict(channels=(8, 16), fc=128, steps=4, pool=3, mode="multiplicative")}
MODES = ("multiplicative", "additive")


class FeedbackRNN(RecurrentModel):
    def __init__(self, task, channels, fc, steps, pool, mode):
        super().__init__()
        if task.output != "classification":
            raise ValueError(f"the feedback RNN is a classifier; task {task.name!r} asks for {task.output}")
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: allowed {MODES}")
        c1, c2 = channels
        self.mode, self.pool, self.train_steps, self.fc_width = mode, pool, steps, fc
        self.sizes = [(task.height, task.width), (task.height, task.width)]
        self.sizes.append((task.height // pool, task.width // pool))
        self.top = (self.sizes[2][0] // pool, self.sizes[2][1] // pool)
        self.chans = [task.in_channels, c1, c2]
        self.conv1 = nn.Conv2d(task.in_channels, c1, 5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 5, padding=2)
        self.fc = nn.Linear(c2 * self.top[0] * self.top[1], fc)
        self.lateral = nn.ModuleList([nn.Conv2d(c1, c1, 3, padding=1), nn.Conv2d(c2, c2, 3, padding=1),
                                      nn.Linear(fc, fc)])
        # Top-down from conv layer s to lower layer d: 1x1 conv, upsampled to d's size.
        self.td_conv = nn.ModuleDict({f"{s}{d}": nn.Conv2d(self.chans[s], self.chans[d], 1)
                                      for s in (1, 2) for d in range(s)})
        # Top-down from fc to layer d: linear onto the top map grid, upsampled.
        self.td_fc = nn.ModuleList([nn.Linear(fc, self.chans[d] * self.top[0] * self.top[1]) for d in range(3)])
        for m in list(self.lateral) + list(self.td_conv.values()) + list(self.td_fc):
            nn.init.normal_(m.weight, std=0.01)    # feedback starts near neutral
            nn.init.zeros_(m.bias)
        self.readout_fc = nn.Linear(steps * fc, task.num_classes)

    def encode(self, x):
        return x

    def init_state(self, drive, x):
        b = x.shape[0]
        zeros = [x.new_zeros(b, self.chans[i], *self.sizes[i]) for i in (1, 2)]
        return (*zeros, x.new_zeros(b, self.fc_width), x.new_zeros(b, self.train_steps, self.fc_width))

    def _topdown(self, prev, d):
        """Summed top-down input to layer d from the previous step's higher layers."""
        total = 0
        for s in (1, 2):
            if s > d:
                total = total + _resize(self.td_conv[f"{s}{d}"](prev[s - 1]), self.sizes[d])
        grid = self.td_fc[d](prev[2]).view(-1, self.chans[d], *self.top)
        return total + _resize(grid, self.sizes[d])

    def _modulate(self, drive, feedback):
        if self.mode == "multiplicative":
            return drive * (1 + feedback)
        return drive + feedback

    def step(self, drive, state, t, inject=None, record=None):
        prev, hist = state[:3], state[3]
        inject = inject or {}
        feedback, lateral, topdown = [], [None], []
        for d in range(4):
            lat = None if d == 0 else self.lateral[d - 1](prev[d - 1])
            td = self._topdown(prev, d) if d < 3 else None
            total = sum(v for v in (lat, td) if v is not None)
            feedback.append(inject.get((d, t), total))
            if d:
                lateral.append(lat)
            topdown.append(td)
        x0 = self._modulate(drive, feedback[0]).clamp(0, 1)
        a1 = self._modulate(F.relu(self.conv1(x0)), feedback[1])
        a2 = self._modulate(F.relu(self.conv2(F.max_pool2d(a1, self.pool))), feedback[2])
        a3 = self._modulate(F.relu(self.fc(F.max_pool2d(a2, self.pool).flatten(1))), feedback[3])
        if record is not None:
            record.update(activations=[x0, a1, a2, a3], lateral=lateral, topdown=topdown, feedback=feedback)
        return a1, a2, a3, torch.cat([hist[:, 1:], a3[:, None]], dim=1)

    def readout(self, state, x):
        return self.readout_fc(state[3].flatten(1))

    def trace(self, x, steps=None, inject=None):
        """Per step: a dict with activations [x0, a1, a2, a3], their lateral and top-down
        inputs, the feedback used, and the logits. ``inject`` maps (layer, step) -> tensor
        replacing that layer's feedback at that 0-based step."""
        state = self.init_state(x, x)
        out = []
        for t in range(steps or self.train_steps):
            record = {}
            state = self.step(x, state, t, inject=inject, record=record)
            record["logits"] = self.readout(state, x)
            out.append(record)
        return out


def _resize(t, size):
    return t if t.shape[-2:] == tuple(size) else F.interpolate(t, size=size, mode="bilinear", align_corners=False)


def build(task, **overrides):
    return FeedbackRNN(task, **settings(DEFAULTS, task, overrides, "feedback-rnn"))


def build_additive(task, **overrides):
    return FeedbackRNN(task, **settings(DEFAULTS, task, {"mode": "additive", **overrides}, "feedback-rnn-add"))
