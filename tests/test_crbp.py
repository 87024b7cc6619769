"""RBP against BPTT at convergence, the Lipschitz penalty, memory, and stability tools."""
import pytest
import torch
from torch import nn

import baselines
from baselines.common import RecurrentModel
from benchmark.training.crbp import bptt_unroll, lipschitz_penalty, rbp_unroll
from benchmark.analysis.stability import jacobian_norm, state_distance
from benchmark import taskinfo as ti


class Toy(RecurrentModel):
    """h <- act(W h + U x + b): contractive when ||W|| < 1 (tanh) ; exactly linear with act=None."""

    def __init__(self, dim=6, scale=0.5, act=torch.tanh, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        w = torch.linalg.qr(torch.randn(dim, dim, generator=g))[0] * scale
        self.W = nn.Parameter(w)
        self.U = nn.Parameter(torch.randn(dim, dim, generator=g) * 0.5)
        self.b = nn.Parameter(torch.randn(dim, generator=g) * 0.1)
        self.act = act or (lambda z: z)
        self.train_steps = 60

    def encode(self, x):
        return x @ self.U.T

    def init_state(self, drive, x):
        return torch.zeros_like(drive)

    def step(self, drive, h, t):
        return self.act(h @ self.W.T + drive + self.b)

    def readout(self, h, x):
        return h


def grads(model, loss):
    model.zero_grad()
    loss.backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()])


def test_rbp_matches_bptt_at_convergence():
    model = Toy()
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(1))
    target = torch.randn(5, 6, generator=torch.Generator().manual_seed(2))
    _, _, h_b = bptt_unroll(model, x, 60)
    g_bptt = grads(model, ((h_b - target) ** 2).sum())
    _, _, h_r, info = rbp_unroll(model, x, 60)
    torch.testing.assert_close(h_r, h_b)
    g_rbp = grads(model, ((h_r - target) ** 2).sum())
    cos = torch.nn.functional.cosine_similarity(g_bptt, g_rbp, dim=0)
    assert cos > 0.99
    assert info["neumann_steps"] >= 5
    # Without the Neumann terms (only the last step's gradient) the match is clearly worse.
    _, _, h_1, _ = rbp_unroll(model, x, 60, neumann_steps=0)
    g_one = grads(model, ((h_1 - target) ** 2).sum())
    assert torch.nn.functional.cosine_similarity(g_bptt, g_one, dim=0) < cos


def test_rbp_stops_early_when_series_diverges():
    model = Toy(scale=1.5, act=None)       # linear, expanding: terms grow, series diverges
    x = torch.randn(3, 6)
    _, _, h, info = rbp_unroll(model, x, 4)
    h.sum().backward()
    assert info["neumann_steps"] == 0
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_penalty_zero_when_contractive_positive_otherwise():
    x = torch.randn(4, 6)
    contractive = Toy(scale=0.1, act=None)
    _, prev, last = bptt_unroll(contractive, x, 3)
    assert lipschitz_penalty(last, prev).item() == 0.0
    # Linear map with W = 1.5 I: every entry of u^T J is 1.5, penalty = 10 * (1.5 - 0.9)^2.
    expanding = Toy(act=None)
    with torch.no_grad():
        expanding.W.copy_(1.5 * torch.eye(6))
    _, prev, last = bptt_unroll(expanding, x, 3)
    pen = lipschitz_penalty(last, prev)
    assert pen.item() == pytest.approx(10 * 0.6 ** 2, rel=1e-5)
    assert lipschitz_penalty(last, prev, lam=0.95, weight=1, reduce="sum").item() == pytest.approx(24 * 0.55 ** 2, rel=1e-5)
    # The penalty is differentiable and pushes W down.
    expanding.zero_grad()
    pen.backward()
    assert (torch.diagonal(expanding.W.grad) > 0).all()


def test_crbp_reduces_the_jacobian_norm():
    model = Toy(scale=1.2, act=torch.tanh)
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(3))
    before = jacobian_norm(model, x, 20).mean()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(30):
        _, prev, last, _ = rbp_unroll(model, x, 20)
        opt.zero_grad()
        lipschitz_penalty(last, prev, lam=0.5).backward()
        opt.step()
    assert jacobian_norm(model, x, 20).mean() < before


def test_jacobian_norm_matches_exact_svd():
    model = Toy(scale=0.8)
    x = torch.randn(3, 6, generator=torch.Generator().manual_seed(4))
    est = jacobian_norm(model, x, 10, iters=100)
    with torch.no_grad():
        for drive, h in model.states(x, 10):
            pass
    for i in range(3):
        f = lambda hi: model.step(drive[i:i + 1], hi[None], 9)[0]
        exact = torch.linalg.matrix_norm(torch.autograd.functional.jacobian(f, h[i]), ord=2)
        # Power iteration approaches the top singular value from below.
        assert 0.99 * exact.item() <= est[i].item() <= exact.item() * (1 + 1e-5)


def test_state_distance_zero_after_convergence_and_positive_before():
    model = Toy(scale=0.3)
    x = torch.randn(4, 6)
    assert (state_distance(model, x, 50, 100) < 1e-5).all()
    assert (state_distance(model, x, 1, 100) > 1e-3).all()
    with pytest.raises(ValueError):
        state_distance(model, x, 5, 2)


def test_rbp_on_a_real_model_gives_finite_gradients_everywhere():
    task = ti.mazes(5)
    torch.manual_seed(0)
    model = baselines.get("hgru")(task, width=4, kernel=5, steps=4)
    x = torch.rand(2, 3, task.height, task.width)
    _, prev, last, info = rbp_unroll(model, x, 6)
    loss = model.readout(last, x).logsumexp(1).mean() + lipschitz_penalty(last, prev)
    loss.backward()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable)
    assert model.stem[0].weight.grad.abs().sum() > 0      # the gradient reaches the stem


def test_rbp_handles_tuple_states():
    task = ti.clutter(8, side=36)
    torch.manual_seed(0)
    model = baselines.get("feedback-rnn")(task, steps=3)
    x = torch.rand(2, 1, 36, 36)
    _, prev, last, _ = rbp_unroll(model, x, 3)
    assert isinstance(last, tuple)
    (model.readout(last, x).sum() + lipschitz_penalty(last, prev)).backward()
    assert model.conv1.weight.grad is not None


def _peak_graph_bytes(fn):
    """Bytes of tensors saved for backward (a proxy for activation memory, CPU-safe)."""
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(saved)


def test_crbp_memory_flat_in_steps_bptt_grows():
    task = ti.mazes(5)
    torch.manual_seed(0)
    model = baselines.get("hgru")(task, width=4, kernel=5, steps=4)
    x = torch.rand(2, 3, task.height, task.width)
    mem = {}
    for steps in (4, 16):
        mem["rbp", steps] = _peak_graph_bytes(lambda: rbp_unroll(model, x, steps))
        mem["bptt", steps] = _peak_graph_bytes(lambda: bptt_unroll(model, x, steps))
    assert mem["rbp", 16] <= 1.05 * mem["rbp", 4]          # one step's graph whatever the steps
    assert mem["bptt", 16] > 3 * mem["bptt", 4]
