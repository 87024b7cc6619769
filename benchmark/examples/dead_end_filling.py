"""Dead-end filling as a recurrent "model": a hand-written maze algorithm, not learned.

Each step closes every open maze cell that has at most one open neighbour (except the
start and end cells), so dead ends shrink by one maze pixel per step and, in a perfect
maze, only the start-to-end path is left. It needs more steps on bigger mazes and stays at
its fixed point after that: a reference curve for the extrapolation plot, and a check that
the harness scores a correct solver at 100%.

    bench evaluate benchmark/examples/dead_end_filling.py --task mazes --quick --steps 1:120
"""
import torch
import torch.nn.functional as F
from torch import nn

CROSS = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


class DeadEndFilling(nn.Module):
    train_steps = 30          # the declared budget at size 9 (nothing is trained)

    def __init__(self):
        super().__init__()
        self.register_buffer("cross", CROSS.view(1, 1, 3, 3))

    def _maze_grid(self, x):
        # Image = 1-pixel border + maze pixels drawn as 2x2 blocks (the easy-to-hard format).
        cells = F.avg_pool2d(x[:, :, 1:-1, 1:-1], 2)
        open_ = (cells.amax(dim=1) > 0.5).float()
        red, green = cells[:, 0] > 0.5, cells[:, 1] > 0.5
        ends = (red ^ green).float()          # start (green) and end (red) cells stay open
        return open_, ends

    def _logits(self, open_):
        up = open_.repeat_interleave(2, dim=-1).repeat_interleave(2, dim=-2)
        up = F.pad(up, (1, 1, 1, 1))
        score = 4.0 * (2.0 * up - 1.0)
        return torch.stack([-score, score], dim=1)

    def iterate(self, x, steps):
        open_, ends = self._maze_grid(x.float())
        for _ in range(steps):
            neighbours = F.conv2d(open_[:, None], self.cross, padding=1)[:, 0]
            open_ = open_ * torch.clamp((neighbours >= 2).float() + ends, max=1.0)
            yield self._logits(open_)

    def forward(self, x, steps):
        out = None
        for out in self.iterate(x, steps):
            pass
        return out


def build_model(task):
    if task.name != "mazes":
        raise ValueError(f"dead-end filling solves mazes only, not {task.name}")
    return DeadEndFilling()
