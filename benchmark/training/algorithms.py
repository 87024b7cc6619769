"""One training step's loss under each algorithm.

- ``bptt``: back-propagation through the whole unroll.
- ``cbptt``: BPTT + the Lipschitz coefficient penalty at the last step.
- ``rbp``: recurrent back-propagation (constant memory in steps; training/crbp.py).
- ``crbp``: RBP + the Lipschitz coefficient penalty.
- ``progressive``: DeepThinking's progressive loss: n ~ U{0..T-1} steps without graph,
  then k ~ U{1..T-n} with graph; loss = (1 - alpha) L(out after T) + alpha L(out after n+k).
RBP, C-RBP, C-BPTT and the progressive loss need the model's step function
(``encode``/``init_state``/``step``/``readout``, see benchmark.recurrence).
"""
import torch

from ..recurrence import STEP_FUNCTION, detach, has_step_function
from .crbp import bptt_unroll, lipschitz_penalty, rbp_unroll

ALGORITHMS = ("bptt", "progressive", "rbp", "crbp", "cbptt")
NEEDS_STEP_FUNCTION = ("progressive", "rbp", "crbp", "cbptt")


def check(model, algorithm):
    """None if ``model`` can be trained with ``algorithm``, else the reason (one line)."""
    if algorithm not in ALGORITHMS:
        return f"unknown algorithm {algorithm!r}; allowed: {', '.join(ALGORITHMS)}"
    if algorithm in NEEDS_STEP_FUNCTION:
        if not getattr(model, "recurrent", True):
            return f"{algorithm} needs a recurrent model; this one is feedforward (use bptt)"
        if not has_step_function(model):
            return (f"{algorithm} needs the model's step function ({', '.join(STEP_FUNCTION)}); "
                    "this model only has forward (use bptt)")
    return None


def training_loss(model, x, y, loss_fn, algorithm, steps, recipe, generator):
    """(loss, logits used for the training metric, stats dict) of one batch."""
    stats = {}
    if algorithm == "bptt":
        logits = model(x, steps) if getattr(model, "recurrent", True) else model(x)
        return loss_fn(logits, y, x), logits, stats
    if algorithm == "progressive":
        return _progressive(model, x, y, loss_fn, steps, recipe.progressive_alpha, generator)
    if algorithm in ("rbp", "crbp"):
        _, prev, last, info = rbp_unroll(model, x, steps, neumann_steps=recipe.neumann_steps)
        stats["neumann"] = info
    else:
        _, prev, last = bptt_unroll(model, x, steps)
    logits = model.readout(last, x)
    loss = loss_fn(logits, y, x)
    if algorithm in ("crbp", "cbptt"):
        penalty = lipschitz_penalty(last, prev, lam=recipe.lcp_lambda, weight=recipe.lcp_weight)
        stats["lcp"] = float(penalty.detach())
        loss = loss + penalty
    return loss, logits, stats


def _progressive(model, x, y, loss_fn, steps, alpha, generator):
    full = model(x, steps)
    n = int(torch.randint(0, steps, (1,), generator=generator))
    k = int(torch.randint(1, steps - n + 1, (1,), generator=generator))
    drive = model.encode(x)
    if n == 0:
        state = model.init_state(drive, x)        # the stem gets the partial loss's gradient too
    else:
        with torch.no_grad():
            state = model.init_state(detach(drive), x)
            for t in range(n):
                state = model.step(detach(drive), state, t)
        state = detach(state)
    for t in range(n, n + k):
        state = model.step(drive, state, t)
    partial = model.readout(state, x)
    loss = (1 - alpha) * loss_fn(full, y, x) + alpha * loss_fn(partial, y, x)
    return loss, full, {"progressive_n": n, "progressive_k": k}
