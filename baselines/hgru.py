"""hGRU (horizontal gated recurrent unit) in its two published forms.

``hgru``: the C-RBP version: softplus everywhere, one BatchNorm per convolution shared by
all steps (batch statistics, no running averages), so it runs any number of steps.
``hgru2018``: a BatchNorm per step (with running averages); past the trained step count it
follows the LocRNN study's "soft restoration": step t >= T reuses the norms of a trained
step drawn at random (a fixed draw per t, so runs are reproducible).
"""
import torch
from torch import nn
import torch.nn.functional as F

from .common import ConvStem, RecurrentModel, SquaredGaborStem, head_for, settings

DEFAULTS = {
    "pathfinder-seg": dict(width=25, kernel=15, stem_kernel=7, steps=20, act="softplus", symmetric=True),
    "mazes": dict(width=32, kernel=7, stem_kernel=3, steps=15, act="softplus", symmetric=True),
    "default": dict(width=25, kernel=15, stem_kernel=7, steps=12, act="softplus", symmetric=True),
}
DEFAULTS["clutter"] = dict(DEFAULTS["default"], steps=4)
ACTS = {"softplus": F.softplus, "relu": F.relu}


class HGRUCell(nn.Module):
    def __init__(self, width, kernel, act, symmetric, norms):
        super().__init__()
        c = width
        self.act, self.symmetric = ACTS[act], symmetric
        self.u1, self.u2 = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
        self.w_inh = nn.Parameter(torch.empty(c, c, kernel, kernel))
        self.w_exc = nn.Parameter(torch.empty(c, c, kernel, kernel))
        for w in (self.w_inh, self.w_exc):
            nn.init.orthogonal_(w.view(c, -1))
        shape = (1, c, 1, 1)
        self.alpha = nn.Parameter(torch.full(shape, 0.1))
        self.mu = nn.Parameter(torch.full(shape, 1.0))
        self.kappa = nn.Parameter(torch.full(shape, 0.5))
        self.gamma = nn.Parameter(torch.full(shape, 1.0))
        self.omega = nn.Parameter(torch.full(shape, 0.5))
        with torch.no_grad():
            nn.init.orthogonal_(self.u1.weight.view(c, -1))
            nn.init.orthogonal_(self.u2.weight.view(c, -1))
            self.u1.bias.uniform_(1.0, 7.0)
            self.u2.bias.copy_(-self.u1.bias)
        self.norms = norms        # callable(t) -> (norm_inh, norm_exc)

    def kernels(self):
        if self.symmetric:
            return (0.5 * (self.w_inh + self.w_inh.transpose(0, 1)),
                    0.5 * (self.w_exc + self.w_exc.transpose(0, 1)))
        return self.w_inh, self.w_exc

    def forward(self, x, h, t):
        w_inh, w_exc = self.kernels()
        n_inh, n_exc = self.norms(t)
        pad = w_inh.shape[-1] // 2
        g1 = torch.sigmoid(self.u1(h))
        c1 = n_inh(F.conv2d(h * g1, w_inh, padding=pad))
        h1 = self.act(x - self.act(c1 * (self.alpha * h + self.mu)))
        g2 = torch.sigmoid(self.u2(h1))
        c2 = n_exc(F.conv2d(h1, w_exc, padding=pad))
        h_new = self.act(self.kappa * h1 + self.gamma * c2 + self.omega * h1 * c2)
        return (1 - g2) * h + g2 * h_new


class HGRU(RecurrentModel):
    def __init__(self, task, width, kernel, stem_kernel, steps, act, symmetric, per_step_norm=False):
        super().__init__()
        self.train_steps = steps
        self.act = ACTS[act]
        self.per_step_norm = per_step_norm
        if task.name == "mazes":
            self.stem = ConvStem(task.in_channels, width)
        else:
            self.stem = SquaredGaborStem(task.in_channels, width, stem_kernel)
        if per_step_norm:
            self.step_norms = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(2 * steps))
        else:
            self.shared_norms = nn.ModuleList(nn.BatchNorm2d(width, track_running_stats=False) for _ in range(2))
        self.cell = HGRUCell(width, kernel, act, symmetric, self._norms)
        prior = 0.01 if task.output == "segmentation" and task.name != "mazes" else None
        self.head = head_for(task, width, prior=prior)

    def _norms(self, t):
        if not self.per_step_norm:
            return self.shared_norms[0], self.shared_norms[1]
        trained = len(self.step_norms) // 2
        if t >= trained:
            t = int(torch.randint(trained, (1,), generator=torch.Generator().manual_seed(t)))
        return self.step_norms[2 * t], self.step_norms[2 * t + 1]

    def encode(self, x):
        return self.stem(x)

    def init_state(self, drive, x):
        return torch.zeros_like(drive)

    def step(self, drive, state, t):
        return self.cell(drive, state, t)

    def readout(self, state, x):
        return self.head(self.act(state), x)


def build(task, **overrides):
    return HGRU(task, **settings(DEFAULTS, task, overrides, "hgru"))


def build_2018(task, **overrides):
    cfg = settings(DEFAULTS, task, {"act": "relu", **overrides}, "hgru2018")
    return HGRU(task, per_step_norm=True, **cfg)
