"""The clutter study's functional-importance test of feedback, for any model with
``trace(x, steps, inject=...)``.

For a variable v: the model sees an image and its twin (the same scene with v changed,
generators/clutter/twins.py). The twin's recurrent input to layer l at step t
(``trace(...)[t]["feedback"][l]``) replaces the original's (``inject={(l, t): tensor}``,
0-based t); the control injects the same tensor with its elements randomly permuted per
image. importance = (acc_control - acc_systematic) / acc_original, where accuracy is the
final step's ``logits`` against the category. Repeats draw fresh permutations; the report
gives the mean and a 95% interval over them.
"""
import inspect

import numpy as np
import torch

from ..errors import HarnessError
from .decoding import interval


def check_model(model):
    """One line naming what is missing for the perturbation analysis, or None."""
    trace = getattr(model, "trace", None)
    if not callable(trace):
        return "perturbation needs trace(x, steps, inject=None); this model has no trace method"
    if "inject" not in inspect.signature(trace).parameters:
        return ("perturbation needs trace(x, steps, inject=None) taking {(layer, step): tensor} to replace a "
                "layer's recurrent input; this model's trace takes no inject")
    return None


def _checked_trace(model, x, steps, inject=None):
    per_step = model.trace(x, steps, inject=inject) if inject else model.trace(x, steps)
    last = per_step[-1] if isinstance(per_step, (list, tuple)) and len(per_step) == steps else None
    if not isinstance(last, dict) or "feedback" not in last or "logits" not in last:
        raise HarnessError(f"trace(x, {steps}) must give, per step, a dict with 'feedback' (the recurrent input "
                           "per layer) and 'logits'")
    return per_step


def _correct(per_step, y):
    return (per_step[-1]["logits"].argmax(1) == y).double()


def _permuted(t, generator):
    """Each image's vector with its elements in a random order."""
    flat = t.flatten(1)
    order = torch.argsort(torch.rand(flat.shape, generator=generator, device="cpu"), dim=1).to(flat.device)
    return flat.gather(1, order).view_as(t)


@torch.no_grad()
def importance(model, x, y, twins, steps, repeats=5, seed=0, batch_size=250):
    """Rows {variable, layer, step, importance, ci, accuracy: {original, systematic, control}}
    for every variable of ``twins`` (name -> twin images like ``x``), every layer whose
    feedback is a tensor and every step 1..steps."""
    generator = torch.Generator().manual_seed(seed)
    batches = [slice(i, min(i + batch_size, x.shape[0])) for i in range(0, x.shape[0], batch_size)]
    correct, layers = [], None
    for b in batches:                       # one batch's activations in memory at a time
        per_step = _checked_trace(model, x[b], steps)
        correct.append(_correct(per_step, y[b]))
        layers = layers or [l for l, f in enumerate(per_step[0]["feedback"]) if torch.is_tensor(f)]
    original = torch.cat(correct).mean().item()
    if original == 0:
        raise HarnessError("the model classifies none of these images correctly; importance divides by that "
                           "accuracy (load trained --weights)")
    rows = []
    for variable, x_twin in twins.items():
        sums = {(l, t): np.zeros(1 + repeats) for l in layers for t in range(steps)}
        for b in batches:
            twin_feedback = _checked_trace(model, x_twin[b], steps)
            for (l, t), total in sums.items():
                given = twin_feedback[t]["feedback"][l]
                injected = [given] + [_permuted(given, generator) for _ in range(repeats)]
                for k, value in enumerate(injected):
                    total[k] += _correct(_checked_trace(model, x[b], steps, {(l, t): value}), y[b]).sum().item()
        for (l, t), total in sums.items():
            acc = total / x.shape[0]
            values = (acc[1:] - acc[0]) / original
            rows.append({"variable": variable, "layer": l, "step": t + 1, "importance": float(values.mean()),
                         "ci": interval(values, clip=False),
                         "accuracy": {"original": original, "systematic": float(acc[0]),
                                      "control": float(acc[1:].mean())}})
    return rows
