"""The step-function interface of recurrent models, and helpers for their states.

A model with ``encode(x)`` (the feedforward drive), ``init_state(drive, x)``,
``step(drive, state, t)`` and ``readout(state, x)`` exposes one recurrent update as a
function; RBP, C-RBP, the progressive loss and the stability analyses need exactly that.
A state is a tensor or a tuple of tensors (e.g. hGRU's two layers).
"""
import torch

STEP_FUNCTION = ("encode", "init_state", "step", "readout")


def has_step_function(model):
    return all(callable(getattr(model, name, None)) for name in STEP_FUNCTION)


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def like(template, parts):
    """``parts`` (a tuple) in the shape of ``template``: a tuple, or its only tensor."""
    return parts if isinstance(template, tuple) else parts[0]


def leaf(state):
    """A copy of ``state`` cut from the graph and requiring grad (a point to differentiate at)."""
    return like(state, tuple(p.detach().requires_grad_(True) for p in as_tuple(state)))


def detach(drive):
    """A copy of a drive or state (tensor, tuple, list or dict of them) cut from the graph."""
    if isinstance(drive, torch.Tensor):
        return drive.detach()
    if isinstance(drive, dict):
        return {k: detach(v) for k, v in drive.items()}
    if isinstance(drive, (tuple, list)):
        return type(drive)(detach(v) for v in drive)
    return drive


def states(model, x, steps):
    """The drive, then the state after each step 1..steps (a generator), for any model with
    the step function."""
    drive = model.encode(x)
    state = model.init_state(drive, x)
    for t in range(steps):
        state = model.step(drive, state, t)
        yield drive, state
