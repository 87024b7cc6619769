"""LocRNN: long-range (L) and short-range (S) populations with gated, normalised updates.

The state is the channel concatenation [L, S] so the step is one tensor-to-tensor map (what
RBP and the stability tools differentiate). Only L is read out.
"""
import torch
from torch import nn

from .common import ConvStem, GaborStem, RecurrentModel, conv, head_for, settings

DEFAULTS = {
    "mazes": dict(width=64, k_long=5, k_short=3, k_input=3, steps=15, stem="conv", embed_init=True),
    "default": dict(width=32, k_long=9, k_short=5, k_input=3, steps=12, stem="gabor", embed_init=False),
}
DEFAULTS["clutter"] = dict(DEFAULTS["default"], steps=4)


class LocRNN(RecurrentModel):
    def __init__(self, task, width, k_long, k_short, k_input, steps, stem, embed_init):
        super().__init__()
        h = self.width = width
        self.train_steps = steps
        self.stem = ConvStem(task.in_channels, h) if stem == "conv" else GaborStem(task.in_channels, h)
        # Input terms do not change across steps: computed once in encode().
        self.u_lx, self.u_sx = nn.Conv2d(h, h, 1), nn.Conv2d(h, h, 1)
        self.w_lx, self.w_sx = conv(h, h, k_input), conv(h, h, k_input)
        self.u_ll, self.u_ss = nn.Conv2d(h, h, 1), nn.Conv2d(h, h, 1)
        self.w_l, self.w_s = conv(2 * h, h, k_long), conv(2 * h, h, k_short)
        self.gn = nn.ModuleDict({name: nn.GroupNorm(1, h) for name in ("lx", "sx", "ll", "ss", "l", "s")})
        self.embed = nn.ModuleList([nn.Conv2d(h, h, 1), nn.Conv2d(h, h, 1)]) if embed_init else None
        self.head = head_for(task, h)

    def encode(self, x):
        X = self.stem(x)
        return {"X": X, "glx": self.gn["lx"](self.u_lx(X)), "gsx": self.gn["sx"](self.u_sx(X)),
                "lx": self.w_lx(X), "sx": self.w_sx(X)}

    def init_state(self, drive, x):
        X = drive["X"]
        if self.embed is None:
            return X.new_zeros(X.shape[0], 2 * self.width, *X.shape[2:])
        return torch.cat([self.embed[0](X), self.embed[1](X)], dim=1)

    def step(self, drive, state, t):
        L, S = state.chunk(2, dim=1)
        g_l = torch.sigmoid(drive["glx"] + self.gn["ll"](self.u_ll(L)))
        g_s = torch.sigmoid(drive["gsx"] + self.gn["ss"](self.u_ss(S)))
        l_new = torch.relu(drive["lx"] + self.w_l(state))
        s_new = torch.relu(drive["sx"] + self.w_s(state))
        L = torch.relu(self.gn["l"](g_l * l_new + (1 - g_l) * L))
        S = torch.relu(self.gn["s"](g_s * s_new + (1 - g_s) * S))
        return torch.cat([L, S], dim=1)

    def readout(self, state, x):
        return self.head(state[:, : self.width], x)


def build(task, **overrides):
    return LocRNN(task, **settings(DEFAULTS, task, overrides, "locrnn"))
