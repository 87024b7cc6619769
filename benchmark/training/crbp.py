"""Recurrent back-propagation (RBP), the Lipschitz coefficient penalty (LCP), and C-RBP.

RBP treats the last state as a fixed point h* = F(x, h*): the gradient of a loss through
the whole unroll is approximated by g (I - J)^-1 with J = dF/dh at h*, i.e. the Neumann
series g + g J + g J^2 + ..., truncated. Only the last step keeps a graph, so memory does
not grow with the number of steps. The LCP keeps F contractive (column sums of J below
lambda) so the fixed point exists and the series converges: RBP + LCP = C-RBP,
BPTT + LCP = C-BPTT.

Works for any model with the step function (``benchmark.recurrence``; every recurrent
baseline has it); states may be a tensor or a tuple of tensors.
"""
import torch

from ..recurrence import as_tuple, detach, leaf, like

NEUMANN_STEPS = 15
LCP_LAMBDA = 0.9
LCP_WEIGHT = 10.0


def _norm(parts):
    return torch.sqrt(sum((p.float() ** 2).sum() for p in parts))


class _NeumannGrad(torch.autograd.Function):
    """Identity forward; backward replaces the incoming gradient g by the truncated
    Neumann sum G = g + g J + g J^2 + ... (J = Jacobian of the last step w.r.t. its input
    state), which then flows through the last step's graph into parameters and drive."""

    @staticmethod
    def forward(ctx, info, *parts):
        ctx.info = info
        return tuple(p.view_as(p) for p in parts)

    @staticmethod
    def backward(ctx, *grads):
        info = ctx.info
        outs, ins, iters, tol = info["out"], info["in"], info["iters"], info["tol"]
        grads = tuple(torch.zeros_like(o) if g is None else g for g, o in zip(grads, outs))
        total, v = list(grads), grads
        v_norm = _norm(v)
        done = 0
        with torch.enable_grad():
            for _ in range(iters):
                nxt = torch.autograd.grad(outs, ins, v, retain_graph=True, allow_unused=True)
                nxt = tuple(torch.zeros_like(i) if n is None else n for n, i in zip(nxt, ins))
                n_norm = _norm(nxt)
                # Stop when the terms stop shrinking (the series diverges: J is not
                # contractive here) or are negligible (converged).
                if not torch.isfinite(n_norm) or n_norm >= v_norm:
                    break
                total = [t + n for t, n in zip(total, nxt)]
                v, v_norm = nxt, n_norm
                done += 1
                if n_norm <= tol * _norm(total):
                    break
        info["neumann_steps"] = done
        return (None, *total)


def rbp_unroll(model, x, steps, neumann_steps=NEUMANN_STEPS, tol=1e-6):
    """Run ``steps`` steps of ``model``; return (drive, state before the last step with
    grad, last state, info). Backward through the last state uses RBP.

    ``info['neumann_steps']`` tells after backward how many Neumann terms were summed.
    """
    drive = model.encode(x)
    with torch.no_grad():
        state = model.init_state(drive, x)
        # The drive is detached here only for the graph-free steps; the last step uses
        # the attached drive, so its gradient still reaches the stem.
        d0 = detach(drive)
        for t in range(steps - 1):
            state = model.step(d0, state, t)
    prev = leaf(state)
    last = model.step(drive, prev, steps - 1)
    info = {"out": as_tuple(last), "in": as_tuple(prev), "iters": neumann_steps, "tol": tol}
    wrapped = _NeumannGrad.apply(info, *as_tuple(last))
    return drive, prev, like(last, tuple(wrapped)), info


def lipschitz_penalty(last, prev, lam=LCP_LAMBDA, weight=LCP_WEIGHT, reduce="mean"):
    """weight * reduce(relu(u J - lambda)^2) with u = ones, J = d last / d prev.

    ``prev`` must be in the graph of ``last`` (the RBP leaf, or the previous state of a
    BPTT unroll). The result keeps its graph (create_graph) so it can be minimised.
    """
    outs, ins = as_tuple(last), as_tuple(prev)
    ones = tuple(torch.ones_like(o) for o in outs)
    jv = torch.autograd.grad(outs, ins, ones, create_graph=True, allow_unused=True)
    terms = [torch.relu(j - lam) ** 2 for j in jv if j is not None]
    if not terms:
        return outs[0].new_zeros(())
    flat = torch.cat([t.flatten() for t in terms])
    return weight * (flat.mean() if reduce == "mean" else flat.sum())


def bptt_unroll(model, x, steps):
    """Plain unroll with the full graph; returns (drive, state before the last step, last state)."""
    drive = model.encode(x)
    state = model.init_state(drive, x)
    prev = state
    for t in range(steps):
        if t == steps - 1 and not any(p.requires_grad for p in as_tuple(state)):
            # A constant start state (zeros, steps = 1): make it a leaf so the penalty's
            # Jacobian is defined; it has no history, so nothing else changes.
            state = leaf(state)
        prev = state
        state = model.step(drive, state, t)
    return drive, prev, state
