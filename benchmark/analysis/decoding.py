"""Linear decoding of a task's variables from a model's activations, per layer and step.

As in the clutter study: scikit-learn's ``LinearSVC`` with default parameters, trained on
``n_train`` and tested on ``n_test`` images drawn from the test set, repeated with fresh
draws; mean accuracy with a 95% interval over repeats (t distribution), the chance level
(the majority class of the test draw) and a permutation baseline (the same decoder trained
on permuted labels).

Activations come from ``record``: a model's own ``trace(x, steps)`` (a list, one entry per
step, of dicts name -> tensor [B, ...], or lists of tensors), else the states of its step
function. Layers larger than ``max_features`` values per image are average-pooled over
space to at most that many before decoding.
"""
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

from ..errors import HarnessError
from ..recurrence import has_step_function, states


def _named(prefix, value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [(f"{prefix}{i}", v) for i, v in enumerate(value) if v is not None]
    return [(prefix, value)]


def _pooled(t, max_features):
    """[B, ...] -> float32 [B, <= max_features] (spatial average pooling where needed)."""
    t = t.detach().float()
    if t.dim() == 4 and t[0].numel() > max_features:
        side = max(1, int(math.sqrt(max_features / t.shape[1])))
        t = F.adaptive_avg_pool2d(t, (side, side))
    flat = t.flatten(1)
    if flat.shape[1] > max_features:       # too many channels even at 1x1: average groups of them
        groups = math.ceil(flat.shape[1] / max_features)
        pad = groups * max_features - flat.shape[1]
        flat = F.pad(flat, (0, pad)).view(flat.shape[0], max_features, groups).mean(2)
    return flat.cpu().numpy()


@torch.no_grad()
def record(model, x, steps, max_features=1024):
    """[{layer: features [B, D]} for step 1..steps]."""
    if callable(getattr(model, "trace", None)):
        per_step = model.trace(x, steps)
        if not isinstance(per_step, (list, tuple)) or len(per_step) != steps or \
                not all(isinstance(d, dict) for d in per_step):
            raise HarnessError(f"trace(x, {steps}) must return a list of {steps} dicts (name -> tensor per step)")
        return [{name: _pooled(v, max_features) for key, value in d.items() for name, v in _named(key, value)
                 if torch.is_tensor(v) and v.dim() >= 2 and v.shape[0] == x.shape[0]} for d in per_step]
    if has_step_function(model):
        return [{name: _pooled(v, max_features) for name, v in _named("state", state)}
                for _, state in states(model, x, steps)]
    raise HarnessError("decoding needs per-step activations: a trace(x, steps) method or the step function "
                       "(encode, init_state, step, readout); this model has neither")


def _accuracy(train_x, train_y, test_x, test_y):
    from sklearn.svm import LinearSVC

    if np.unique(train_y).size < 2:
        return float(np.mean(test_y == train_y[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # the study's defaults; convergence warnings are common
        # random_state only fixes liblinear's shuffling order, so a report is reproducible
        clf = LinearSVC(random_state=0).fit(train_x, train_y)
    return float(np.mean(clf.predict(test_x) == test_y))


def interval(values, clip=True):
    """95% interval of the mean over repeats (t distribution); ``clip`` to [0, 1] for accuracies."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return [float(v.mean())] * 2
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    lo, hi = v.mean() - half, v.mean() + half
    return [float(max(0.0, lo)), float(min(1.0, hi))] if clip else [float(lo), float(hi)]


def decode(recorded, variables, n_train, n_test, repeats=10, seed=0, jobs=1):
    """Rows {variable, layer, step, accuracy, ci, permutation, permutation_ci, chance}.

    The (variable, step, layer) cells are fitted by ``jobs`` threads (liblinear releases the
    GIL); every fit is seeded, so the rows do not depend on ``jobs``.
    """
    from joblib import Parallel, delayed

    n = next(iter(variables.values())).shape[0]
    if n_train + n_test > n:
        raise HarnessError(f"decoding needs {n_train} + {n_test} images; {n} were recorded")
    rng = np.random.default_rng(seed)
    draws = [rng.permutation(n)[:n_train + n_test] for _ in range(repeats)]
    shuffles = [rng.permutation(n_train) for _ in range(repeats)]
    cells = [(name, step, layer) for name in variables for step, layers in enumerate(recorded, start=1)
             for layer in layers]
    fitted = Parallel(n_jobs=jobs, prefer="threads")(
        delayed(_cell)(recorded[step - 1][layer], variables[name], draws, shuffles, n_train)
        for name, step, layer in cells)
    rows = []
    for (name, step, layer), (acc, perm) in zip(cells, fitted):
        labels = variables[name]
        chance = float(np.mean([np.max(np.bincount(labels[d[n_train:]])) / n_test for d in draws]))
        rows.append({"variable": name, "layer": layer, "step": step, "accuracy": float(np.mean(acc)),
                     "ci": interval(acc), "permutation": float(np.mean(perm)), "permutation_ci": interval(perm),
                     "chance": chance})
    return rows


def _cell(features, labels, draws, shuffles, n_train):
    """Accuracies of the decoder and of the permuted-label decoder over the repeats."""
    acc, perm = [], []
    for d, s in zip(draws, shuffles):
        tr, te = d[:n_train], d[n_train:]
        acc.append(_accuracy(features[tr], labels[tr], features[te], labels[te]))
        perm.append(_accuracy(features[tr], labels[tr][s], features[te], labels[te]))
    return acc, perm


# Variables per task: (name, array in the shards, how to turn it into classes).
VARIABLES = {
    "clutter": [("category", "labels", None), ("domain", "meta/domain", None), ("location_x", "meta/loc_x", None),
                ("location_y", "meta/loc_y", None), ("scale", "meta/scale", None),
                ("orientation", "meta/orientation", None)],
    "pathfinder": [("label", "labels", None), ("contour_length", "meta/contour_length", "tertiles")],
    "pathfinder-seg": [("contour_length", "meta/contour_length", "tertiles")],
    "mazes": [("path_length", "meta/path_length", "tertiles"), ("start_row", "meta/start", "row half"),
              ("start_column", "meta/start", "column half")],
}


def variables(task, ds, n):
    """{name: int classes [n]} for the first ``n`` images of ``ds``; variables with a single
    class in these images (e.g. contour length within one difficulty) are left out."""
    out = {}
    for name, array, binning in VARIABLES[task]:
        if array not in ds.shards.names():
            continue
        values = np.stack([np.asarray(ds.shards.sample(i, [array])[array]) for i in range(n)])
        classes = _classes(values, binning)
        if np.unique(classes).size >= 2:
            out[name] = classes
    if not out:
        raise HarnessError(f"no {task} variable takes two or more values in these {n} images; nothing to decode")
    return out


def _classes(values, binning):
    if binning == "tertiles":
        edges = np.quantile(values, [1 / 3, 2 / 3])
        return np.searchsorted(edges, values, side="right").astype(np.int64)
    if binning in ("row half", "column half"):
        coord = values[:, 0 if binning == "row half" else 1]
        return (coord > np.median(coord)).astype(np.int64)
    return values.astype(np.int64).ravel()
