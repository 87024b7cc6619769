"""Shortcut audit of PathFinder datasets: can a cheap cue predict the label?

Each cue is a number computed from the image and the marker positions without tracing
any contour (marker distance, ink totals, ink around each marker, marker positions, ...).
Each cue gets a depth-2 decision tree (which can learn a range such as the reference's
"distance in [115, 150]"), cross-validated; every such accuracy must stay within chance
+/- tolerance (``ok``). The tolerance is 2 points, or three standard errors of a 50%
accuracy when the dataset is too small for 2 points to be meaningful.

Reported but not judged:
- the mean ink on the straight line between the markers: a positive's markers are joined
  by a contour, which tends to follow its chord, so this measures the connection itself
  (strong for short contours, gone by length 25); the reference data has it too;
- two classifiers over all judged cues together (logistic regression, gradient-boosted
  trees), a stricter test than the one asked for: they pick up combinations of the small
  differences that remain between the two marker-1 candidates (see generators/pathfinder/kernel.py).
"""
import numpy as np

from ..shards import open_shard

MAX_SAMPLES = 20_000
FOLDS = 5
RINGS = (2.0, 4.0, 8.0)   # radii around a marker, in marker radii
CONNECTION_CUES = ("ink on the marker-marker line",)
LINE_POINTS = 64


def cue_report(datasets):
    reports = [dataset_cues(ds) for ds in datasets]
    return {"ok": all(r["ok"] for r in reports), "datasets": reports}


def dataset_cues(ds, max_samples=MAX_SAMPLES):
    return {"path": str(ds.root), **score_cues(_load(ds, max_samples), ds.manifest["params"])}


def score_cues(arrays, params):
    """Cross-validated accuracy of every cue on arrays (images, labels, meta/...)."""
    features, names = cue_features(arrays, params)
    labels = np.asarray(arrays["labels"])
    n = len(labels)
    chance = max(labels.mean(), 1 - labels.mean())
    tolerance = max(0.02, 3 * np.sqrt(0.25 / max(n, 1)))
    scores, informational = {}, {}
    if len(np.unique(labels)) == 2 and min(np.bincount(labels)) >= FOLDS:
        judged = [k for k, name in enumerate(names) if name not in CONNECTION_CUES]
        for k, name in enumerate(names):
            target = informational if name in CONNECTION_CUES else scores
            target[name] = _cv_accuracy(features[:, [k]], labels, "stump")
        informational["all judged cues: logistic regression"] = _cv_accuracy(features[:, judged], labels,
                                                                               "logistic")
        informational["all judged cues: boosted trees"] = _cv_accuracy(features[:, judged], labels, "boosted")
    worst = max(scores, key=lambda k: abs(scores[k] - chance)) if scores else None
    ok = bool(scores) and all(abs(v - chance) <= tolerance for v in scores.values())
    return {"samples": int(n), "chance": round(float(chance), 4),
            "tolerance": round(float(tolerance), 4), "ok": ok,
            "worst_cue": worst, "accuracy": {k: round(float(v), 4) for k, v in scores.items()},
            "not_judged": {k: round(float(v), 4) for k, v in informational.items()},
            "note": "" if scores else "too few samples of each label to cross-validate"}


def _load(ds, max_samples):
    parts = {"images": [], "labels": [], "meta/marker0": [], "meta/marker1": [], "meta/n_distractors": []}
    taken = 0
    for rec in ds.manifest["shards"]:
        if taken >= max_samples:
            break
        with open_shard(ds.root / rec["file"]) as f:
            m = min(rec["count"], max_samples - taken)
            for name in parts:
                parts[name].append(f[name][:m])
        taken += m
    return {k: np.concatenate(v) for k, v in parts.items()}


def cue_features(arrays, params):
    """(features [n, k], names): cheap cues per sample, from pixels and marker positions."""
    images = arrays["images"][:, 0].astype(np.float32) / 255.0
    m0 = arrays["marker0"] if "marker0" in arrays else arrays["meta/marker0"]
    m1 = arrays["marker1"] if "marker1" in arrays else arrays["meta/marker1"]
    side = images.shape[-1]
    radius = params["marker_radius"] * side / params["canvas"]
    cols = {
        "marker distance": np.hypot(*(m1 - m0).T),
        "total ink": images.sum(axis=(1, 2)),
        "ink pixels": (images > 0).sum(axis=(1, 2)).astype(np.float64),
        "marker1 row": m1[:, 0], "marker1 col": m1[:, 1],
        "marker1 to border": np.min(np.concatenate([m1, side - m1], axis=1), axis=1),
        "marker1 to centre": np.hypot(*(m1 - side / 2).T),
        "marker0 to border": np.min(np.concatenate([m0, side - m0], axis=1), axis=1),
        "ink on the marker-marker line": _line_ink(images, m0, m1),
        "distractors placed": arrays["meta/n_distractors"].astype(np.float64),
    }
    for which, m in (("marker0", m0), ("marker1", m1)):
        inner = None
        for r in RINGS:
            disk = _disk_ink(images, m, r * radius)
            cols[f"ink within {r:g} radii of {which}"] = disk
            if inner is not None:
                cols[f"ink in the ring out to {r:g} radii of {which}"] = disk - inner
            inner = disk
    names = list(cols)
    return np.stack([np.asarray(cols[k], dtype=np.float64) for k in names], axis=1), names


def _disk_ink(images, centres, r):
    side = images.shape[-1]
    reach = int(np.ceil(r)) + 1
    offs = np.arange(-reach, reach + 1)
    out = np.empty(len(images))
    for i, (cy, cx) in enumerate(centres):
        rows = np.clip(int(cy) + offs, 0, side - 1)
        cols = np.clip(int(cx) + offs, 0, side - 1)
        window = images[i][np.ix_(rows, cols)]
        dy = (rows + 0.5 - cy)[:, None]
        dx = (cols + 0.5 - cx)[None, :]
        inside = (dy * dy + dx * dx <= r * r)
        # clipped rows/cols repeat edge pixels; count each pixel once
        _, ur = np.unique(rows, return_index=True)
        _, uc = np.unique(cols, return_index=True)
        keep = np.zeros_like(inside)
        keep[np.ix_(ur, uc)] = True
        out[i] = window[inside & keep].sum()
    return out


def _line_ink(images, m0, m1):
    side = images.shape[-1]
    t = np.linspace(0.0, 1.0, LINE_POINTS)
    ys = m0[:, :1] + t[None, :] * (m1[:, :1] - m0[:, :1])
    xs = m0[:, 1:] + t[None, :] * (m1[:, 1:] - m0[:, 1:])
    ry = np.clip(ys.astype(np.int64), 0, side - 1)
    rx = np.clip(xs.astype(np.int64), 0, side - 1)
    return images[np.arange(len(images))[:, None], ry, rx].mean(axis=1)


def _cv_accuracy(x, y, kind):
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    return float(cross_val_score(_model(kind), x, y, cv=folds, scoring="accuracy").mean())


def _model(kind):
    if kind == "stump":
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(max_depth=2, random_state=0)
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, random_state=0)
