"""Stability of a recurrent model's dynamics, per image.

- ``state_distance``: ||h_N - h_T|| between the state at the trained step N and a much
  later step T (the C-RBP paper: BPTT states drift, C-RBP states stay put).
- ``jacobian_norm``: power-iteration estimate of the spectral norm of dF/dh at the final
  state, one value per image (an estimate of the local contraction factor).
Both work for any model with ``encode``/``init_state``/``step``.
"""
import torch

from ..recurrence import as_tuple, leaf, states


def _flat(state):
    return torch.cat([p.flatten(1).float() for p in as_tuple(state)], dim=1)


@torch.no_grad()
def state_distance(model, x, n, t):
    """Per-image L2 distance between the state after ``n`` steps and after ``t`` >= n steps."""
    if not 1 <= n <= t:
        raise ValueError(f"need 1 <= n <= t, got n={n}, t={t}")
    at_n = None
    for i, (_, state) in enumerate(states(model, x, t), start=1):
        if i == n:
            at_n = _flat(state)
    return (_flat(state) - at_n).norm(dim=1)


def final_state(model, x, steps):
    with torch.no_grad():
        for drive, state in states(model, x, steps):
            pass
    return drive, state


def jacobian_norm(model, x, steps, iters=20, seed=0):
    """Per-image estimate of ||J||_2, J = d step(h) / d h at the state after ``steps`` steps.

    Power iteration on J^T J: v <- J^T (J v), with J v obtained as the gradient of
    (J^T u . v) with respect to u (double back-propagation), so only reverse mode is needed.
    The model should be in eval mode (batch statistics couple the images otherwise).
    """
    drive, state = final_state(model, x, steps)
    h = leaf(state)
    with torch.enable_grad():
        out = as_tuple(model.step(drive, h, steps - 1))   # the last step's map, at the final state
        ins = as_tuple(h)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        v = tuple(torch.randn(p.shape, generator=gen).to(p) for p in ins)
        v = _normalise(v)
        u = tuple(torch.zeros_like(o, requires_grad=True) for o in out)
        # g(u) = J^T u is linear in u; d(g(u) . v)/du = J v.
        jt_u = torch.autograd.grad(out, ins, u, create_graph=True)
        sigma = None
        for _ in range(iters):
            jv = torch.autograd.grad(jt_u, u, v, retain_graph=True)
            jtjv = torch.autograd.grad(out, ins, jv, retain_graph=True)
            sigma = _per_image_norm(jv)
            v = _normalise(jtjv)
    return sigma.detach()


def _per_image_norm(parts):
    return torch.sqrt(sum((p.float() ** 2).flatten(1).sum(1) for p in parts))


def _normalise(parts):
    n = _per_image_norm(parts).clamp_min(1e-30)
    return tuple(p / n.view(-1, *([1] * (p.dim() - 1))).to(p) for p in parts)


@torch.no_grad()
def trajectory(model, x, n, horizon):
    """Per image: ||h_n - h_horizon||, ||h_horizon||, and the step sizes ||h_t - h_t-1||, t = 1..horizon
    (h_0 is the initial state) as a [horizon, B] tensor."""
    if not 1 <= n <= horizon:
        raise ValueError(f"need 1 <= n <= horizon, got n={n}, horizon={horizon}")
    drive = model.encode(x)
    prev = _flat(model.init_state(drive, x))
    sizes, at_n = [], None
    for t, (_, state) in enumerate(states(model, x, horizon), start=1):
        now = _flat(state)
        sizes.append((now - prev).norm(dim=1))
        prev = now
        if t == n:
            at_n = now
    return (prev - at_n).norm(dim=1), prev.norm(dim=1), torch.stack(sizes)


def report(model, x, n, horizon, tolerance=1e-3, iters=20):
    """The numbers of ``bench analyze stability`` for a batch ``x`` (model in eval mode)."""
    distance, norm, sizes = trajectory(model, x, n, horizon)
    sigma = jacobian_norm(model, x, horizon, iters=iters)
    relative = sizes[-1] / norm.clamp_min(1e-12)
    converged = torch.isfinite(relative) & (relative < tolerance)
    return {
        "distance": distance, "relative_distance": distance / norm.clamp_min(1e-12),
        "jacobian_norm": sigma, "last_relative_change": relative, "converged": converged, "step_sizes": sizes,
    }
