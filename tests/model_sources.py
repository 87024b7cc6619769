"""Tiny model files for the harness tests (sources written to tmp folders; no tests here)."""
import textwrap

FEEDFORWARD = '''
import torch
from torch import nn


class Net(nn.Module):
    recurrent = False

    def __init__(self, c_in, k):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c_in, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, k, 3, padding=1))

    def forward(self, x, steps=None):
        return self.body(x)


def build_model(task):
    torch.manual_seed(0)
    return Net(task.in_channels, task.num_classes)
'''

RECURRENT = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, c_in, k):
        super().__init__()
        self.inp = nn.Conv2d(c_in, 8, 3, padding=1)
        self.rec = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Conv2d(8, k, 1)

    def iterate(self, x, steps):
        drive = self.inp(x)
        h = torch.zeros_like(drive)
        for _ in range(steps):
            h = torch.tanh(drive + self.rec(h))
            yield self.head(h)

    def forward(self, x, steps):
        for out in self.iterate(x, steps):
            pass
        return out


def build_model(task):
    torch.manual_seed(0)
    return Net(task.in_channels, task.num_classes)
'''

# Memorises a maze folder: sample i is solved from step 1 + (first seed byte of i) % 4 on;
# before that it predicts an empty path (always wrong: maze paths are never empty).
ORACLE = '''
import numpy as np
import torch
from torch import nn

from generators.dataset import open_dataset

ROOTS = {roots!r}


class Oracle(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.table = {{}}
        for root in ROOTS:
            ds = open_dataset(root)
            for i in range(len(ds)):
                s = ds.shards.sample(i, ["images", "masks", "meta/seed"])
                self.table[s["images"].tobytes()] = (s["masks"], 1 + int(s["meta/seed"]) % 4)

    def iterate(self, x, steps):
        keys = [np.round(img.cpu().numpy() * 255).astype(np.uint8).tobytes() for img in x]
        found = [self.table.get(k, (None, 10 ** 9)) for k in keys]  # unknown input: never solved
        for t in range(1, steps + 1):
            out = torch.zeros(x.shape[0], 2, x.shape[2], x.shape[3])
            out[:, 1] = -1
            for b, (mask, solved_at) in enumerate(found):
                if t >= solved_at:
                    out[b, 1] = torch.from_numpy(mask.astype(np.float32) * 2 - 1)
            yield out * self.scale

    def forward(self, x, steps):
        for out in self.iterate(x, steps):
            pass
        return out


def build_model(task):
    return Oracle()
'''

IGNORES_STEPS = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, c_in, k):
        super().__init__()
        self.body = nn.Conv2d(c_in, k, 3, padding=1)

    def forward(self, x, steps):
        return self.body(x)


def build_model(task):
    return Net(task.in_channels, task.num_classes)
'''

WRONG_SHAPE = FEEDFORWARD.replace("return self.body(x)", "return self.body(x)[:, 0]")
NAN_OUTPUT = FEEDFORWARD.replace("return self.body(x)", "return self.body(x) * float('nan')")
NO_BUILD = "import torch\n\ndef make_model(task):\n    return None\n"
BROKEN_IMPORT = "import torch\nraise RuntimeError('boom at import')\n"
BAD_ITERATE = RECURRENT.replace("yield self.head(h)", "yield self.head(h) + 1.0").replace(
    "        for out in self.iterate(x, steps):\n            pass\n        return out",
    "        for out in self.iterate(x, steps):\n            pass\n        return out - 1.0")
RANDOM_EVAL = FEEDFORWARD.replace("return self.body(x)", "return self.body(x) + torch.randn(1)")


def write(folder, name, source):
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path

# The same recurrent model without iterate(): the harness must call forward per budget.
RECURRENT_NO_ITERATE = RECURRENT.replace("def iterate(", "def unroll(").replace("self.iterate(", "self.unroll(")

# Works at the training size only (not fully convolutional): fails on larger mazes.
FIXED_SIZE = FEEDFORWARD.replace("return self.body(x)", "return self.body(x).reshape(x.shape[0], 2, 24, 24)")
