"""``bench preflight``: check the model contract in seconds on a tiny random batch.

Each rule gives one line: its id, PASS or FAIL, and on failure what was expected.
"""
import inspect
from dataclasses import dataclass

import torch

from . import contract
from .errors import ContractError

BATCH = 2


@dataclass
class Check:
    rule: str
    ok: bool
    message: str

    def line(self):
        return f"{'PASS' if self.ok else 'FAIL'} {self.rule} {self.message}"


def _inputs(task, height=None, width=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(BATCH, task.in_channels, height or task.height, width or task.width, generator=g)


def _shape_check(task, out, height=None, width=None):
    expected = task.output_shape(BATCH, height, width)
    if not isinstance(out, torch.Tensor):
        return f"forward returned {type(out).__name__}, expected a tensor of shape {list(expected)}"
    if tuple(out.shape) != tuple(expected):
        kind = "[B, classes]" if task.output == "classification" else "[B, 2, H, W]"
        return f"output shape {list(out.shape)}, expected {list(expected)} ({task.output} logits {kind})"
    if not out.is_floating_point():
        return f"output dtype {out.dtype}, expected a floating-point tensor of logits"
    return None


def preflight(source_spec, task, weights=None, steps=None):
    """Run every rule; return the list of Checks (stops early when a model cannot be built)."""
    checks = []

    def record(rule, ok, message):
        checks.append(Check(rule, ok, message))
        return ok

    try:
        source = contract.load_source(source_spec)
        record("C01", True, f"{source_spec} imports")
        record("C02", True, "build_model is defined")
        model = contract.build(source, task)
        record("C03", True, f"build_model(task) returned {type(model).__name__}")
        if weights:
            contract.load_weights(model, weights)
            record("C04", True, f"{weights} fits the model")
    except ContractError as exc:
        record(exc.rule, False, exc.detail)
        return checks
    model.eval()
    recurrent = contract.is_recurrent(model)
    steps = steps or max(2, getattr(model, "train_steps", None) or task.train_steps)
    x = _inputs(task)
    with torch.no_grad():
        try:
            out = contract.forward(model, x, steps)
        except Exception as exc:
            record("P01", False, f"forward(x, {steps}) raised {type(exc).__name__}: {exc}")
            return checks
        problem = _shape_check(task, out)
        if not record("P02", problem is None, problem or f"output shape {list(out.shape)}, dtype {out.dtype}"):
            return checks
        finite = bool(torch.isfinite(out).all())
        record("P03", finite, "outputs are finite" if finite else
               f"forward(x, {steps}) gives NaN or inf outputs; expected finite logits")
        again = contract.forward(model, x, steps)
        same = torch.equal(out, again)
        record("P04", same, "eval-mode forward is deterministic" if same else
               f"two eval-mode calls of forward(x, {steps}) differ (max |diff| "
               f"{(out - again).abs().max().item():.3g}); expected identical outputs (dropout? sampling?)")
        if task.output == "segmentation":
            h, w = task.height + 8, task.width + 8
            try:
                big = contract.forward(model, _inputs(task, h, w), steps)
                problem = _shape_check(task, big, h, w)
            except Exception as exc:
                problem = f"forward on {h}x{w} inputs raised {type(exc).__name__}: {exc}"
            record("P05", problem is None, problem or f"fully convolutional ({h}x{w} inputs give {h}x{w} outputs)")
        if recurrent:
            _recurrent_checks(model, x, steps, record)
        else:
            record("P06", True, "feedforward (recurrent = False): one column of the grid")
        if callable(getattr(model, "trace", None)):
            _trace_check(model, x, steps, record)
    return checks


def _trace_check(model, x, steps, record):
    """The optional trace(x, steps) of the analyses: one dict of named [B, ...] tensors per step."""
    try:
        per_step = model.trace(x, steps)
    except Exception as exc:
        record("P08", False, f"trace(x, {steps}) raised {type(exc).__name__}: {exc}")
        return
    if not isinstance(per_step, (list, tuple)) or len(per_step) != steps or \
            not all(isinstance(d, dict) for d in per_step):
        record("P08", False, f"trace(x, {steps}) must return a list of {steps} dicts (name -> tensor per step)")
        return
    tensors = [v for d in per_step for value in d.values()
               for v in (value if isinstance(value, (list, tuple)) else [value]) if torch.is_tensor(v)]
    if not tensors or any(t.dim() < 2 or t.shape[0] != x.shape[0] for t in tensors):
        record("P08", False, f"trace(x, {steps}) must hold tensors [B, ...] with B = {x.shape[0]} images")
        return
    record("P08", True, f"trace gives {len(per_step[0])} named activations per step (bench analyze decode)")
    if "inject" in inspect.signature(model.trace).parameters:
        _inject_check(model, x, steps, per_step, record)


def _inject_check(model, x, steps, per_step, record):
    """trace(x, steps, inject={(layer, step): tensor}) of bench analyze perturb: the injected
    tensor must become that layer's recurrent input ('feedback') at that step."""
    feedback = per_step[0].get("feedback")
    layers = [k for k, f in enumerate(feedback) if torch.is_tensor(f)] if isinstance(feedback, (list, tuple)) else []
    if not layers or not all("logits" in d for d in per_step):
        record("P09", False, "a trace taking inject must give, per step, 'feedback' (the recurrent input of each "
                             "layer, a list of tensors) and 'logits' (bench analyze perturb)")
        return
    layer = layers[0]
    probe = torch.full_like(feedback[layer], 0.5)
    try:
        used = model.trace(x, steps, inject={(layer, 0): probe})[0]["feedback"][layer]
    except Exception as exc:
        record("P09", False, f"trace(x, {steps}, inject=...) raised {type(exc).__name__}: {exc}")
        return
    ok = torch.is_tensor(used) and used.shape == probe.shape and torch.equal(used, probe)
    what = f"inject={{({layer}, 0): tensor}}"
    record("P09", ok, f"{what} replaces layer {layer}'s feedback at step 1 (bench analyze perturb)" if ok else
           f"{what} did not become trace's feedback of layer {layer} at step 1; perturb needs it to")


def _recurrent_checks(model, x, steps, record):
    one = contract.forward(model, x, 1)
    many = contract.forward(model, x, steps)
    differs = not torch.equal(one, many)
    record("P06", differs, f"outputs change with steps (1 vs {steps})" if differs else
           f"forward(x, 1) equals forward(x, {steps}): the model ignores steps while claiming to be "
           "recurrent; set recurrent = False or use steps")
    if not contract.has_iterate(model):
        record("P07", True, "no iterate(); budgets are scored with one forward per budget")
        return
    try:
        outs = list(model.iterate(x, steps))
    except Exception as exc:
        record("P07", False, f"iterate(x, {steps}) raised {type(exc).__name__}: {exc}")
        return
    if len(outs) != steps:
        record("P07", False, f"iterate(x, {steps}) yielded {len(outs)} outputs, expected {steps}")
        return
    for t, out in enumerate(outs, start=1):
        ref = contract.forward(model, x, t)
        if not isinstance(out, torch.Tensor) or out.shape != ref.shape or \
                not torch.allclose(out.float(), ref.float(), rtol=1e-4, atol=1e-5):
            diff = (out.float() - ref.float()).abs().max().item() if isinstance(out, torch.Tensor) \
                and out.shape == ref.shape else float("nan")
            record("P07", False, f"iterate(x, {steps}) step {t} differs from forward(x, {t}) "
                                 f"(max |diff| {diff:.3g}); expected the same logits")
            return
    record("P07", True, f"iterate agrees with forward at steps 1..{steps}")
