"""The model contract: loading a model file or a bundled baseline, running step budgets.

A model source is either a path to a Python file defining ``build_model(task)`` or
``REGISTRY:NAME``, a named model of an installed registry (``baselines:NAME`` for the
bundled baselines), so user files and bundled baselines go through one path. A registry
is an object with ``get(name)`` (returning a ``build(task)`` callable) and ``names()``,
found through the ``recurrent_vision_bench.models`` entry-point group or made known with
``register``: the harness names no model package, so it never imports a layer above it.

Protocol of the built ``torch.nn.Module``:
- ``forward(x, steps)``: logits after ``steps`` recurrent steps;
- optional ``iterate(x, steps)``: a generator yielding the logits after each step
  1..steps, so every budget is scored in one pass;
- ``recurrent = False`` for feedforward models, which ignore ``steps``.
"""
import hashlib
import importlib.metadata
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import ContractError

REGISTRY_GROUP = "recurrent_vision_bench.models"
BASELINES = "baselines"
BASELINE_PREFIX = f"{BASELINES}:"


@dataclass
class ModelSource:
    """Where a model comes from; ``sha256`` identifies the code that built it."""

    spec: str
    builder: callable
    name: str
    path: Path
    sha256: str


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_source(spec):
    """Resolve ``spec`` (file path or baselines:NAME) to its ``build_model`` callable."""
    spec = str(spec)
    prefix, colon, name = spec.partition(":")
    if colon and (prefix == BASELINES or prefix in _REGISTERED or prefix in _installed()):
        return _named(prefix, name)
    path = Path(spec)
    if not path.is_file():
        raise ContractError("C01", f"{spec}: no such model file (expected a .py file defining build_model(task), "
                                   f"or {BASELINE_PREFIX}NAME)")
    module_name = f"_bench_model_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}"
    try:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None:
            raise ImportError("not a Python source file")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # any error in user code is reported as a contract failure
        sys.modules.pop(module_name, None)
        raise ContractError("C01", f"{spec}: the file does not import ({type(exc).__name__}: {exc})") from None
    builder = getattr(module, "build_model", None)
    if not callable(builder):
        raise ContractError("C02", f"{spec}: defines no function build_model(task)")
    return ModelSource(spec, builder, path.stem, path, file_sha256(path))


# Registries made known at run time (a package used from a checkout without installing
# registers itself on import); installed ones are found through their entry point.
_REGISTERED = {}


def register(prefix, models):
    """Make ``models`` (with ``get(name)`` and ``names()``) resolvable as ``PREFIX:NAME``."""
    _REGISTERED[prefix] = models


def _installed():
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=REGISTRY_GROUP)}


def registry(prefix=BASELINES):
    """The registry named ``prefix`` (e.g. the baselines), or None when there is none."""
    if prefix not in _REGISTERED:
        entry = _installed().get(prefix)
        if entry is None:
            return None
        _REGISTERED.setdefault(prefix, entry.load())
    return _REGISTERED[prefix]


def named_models(prefix=BASELINES):
    """Names a registry offers (empty when it is not installed)."""
    found = registry(prefix)
    return list(found.names()) if found is not None and callable(getattr(found, "names", None)) else []


def _named(prefix, name):
    spec = f"{prefix}:{name}"
    found = registry(prefix)
    if found is None:
        raise ContractError("C01", f"{spec}: no model registry {prefix!r} is installed "
                                   f"(entry-point group {REGISTRY_GROUP}; reinstall the package: pip install -e .)")
    get = getattr(found, "get", None)
    if not callable(get):
        raise ContractError("C01", f"{spec}: the {prefix} registry has no get(name)")
    try:
        builder = get(name)
    except KeyError as exc:
        raise ContractError("C01", f"{spec}: {exc.args[0] if exc.args else 'unknown model'}") from None
    if not callable(builder):
        raise ContractError("C02", f"{spec}: {prefix}.get returned no callable build(task)")
    path = Path(inspect.getsourcefile(builder) or inspect.getsourcefile(found))
    return ModelSource(spec, builder, name, path, file_sha256(path))


def build(source, task):
    try:
        model = source.builder(task)
    except Exception as exc:
        raise ContractError("C03", f"build_model(task) raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, torch.nn.Module):
        raise ContractError("C03", f"build_model(task) returned {type(model).__name__}, expected a torch.nn.Module")
    return model


def load_weights(model, path):
    """Load a state dict with ``weights_only=True``; a mismatch is one line."""
    path = Path(path)
    if not path.is_file():
        raise ContractError("C04", f"{path}: no such weights file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ContractError("C04", f"{path}: not loadable with weights_only=True ({type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ContractError("C04", f"{path}: holds a {type(state).__name__}, expected a state dict")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:3])}{' ...' if len(unexpected) > 3 else ''}")
        if wrong:
            k = wrong[0]
            parts.append(f"{k} has shape {list(state[k].shape)} in the file, {list(own[k].shape)} in the model")
        raise ContractError("C04", f"{path}: weights do not fit the model ({'; '.join(parts)})")
    model.load_state_dict(state)
    return file_sha256(path)


def is_recurrent(model):
    return bool(getattr(model, "recurrent", True))


def has_iterate(model):
    return callable(getattr(model, "iterate", None))


def _takes_steps(model):
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def forward(model, x, steps):
    """``model(x, steps)``; a feedforward model whose forward takes x alone gets x."""
    if not is_recurrent(model) and not _takes_steps(model):
        return model(x)
    return model(x, steps)


def budgets_outputs(model, x, budgets):
    """Yield ``(steps, logits)`` for every budget in ``budgets`` (ascending).

    Through ``iterate`` when the model has it (one pass up to the largest budget), else one
    ``forward`` per budget; a feedforward model runs once and yields budget 1 only.
    """
    budgets = sorted(set(int(b) for b in budgets))
    if not is_recurrent(model):
        yield budgets[0], forward(model, x, budgets[0])
        return
    if has_iterate(model):
        wanted = set(budgets)
        last = budgets[-1]
        step = 0
        for step, out in enumerate(model.iterate(x, last), start=1):
            if step in wanted:
                yield step, out
            if step >= last:
                break
        if step < last:
            raise ContractError("P10", f"iterate(x, {last}) yielded {step} outputs, expected {last}")
        return
    for b in budgets:
        yield b, forward(model, x, b)
