"""Twins: a scene regenerated from its own seed with exactly one drawn value of the target
changed, for the clutter study's perturbation analysis (feedback taken from a twin).

Every other drawn value (clutter images, their scrambles, sizes, angles and centre jitter;
the target's other values) stays as drawn, so a twin differs from its original only where
the target is drawn (and, for ``location``, where the clutter object that trades places
with it is drawn). The changes, all deterministic:

- ``location``: the target trades slots with the clutter object of the diagonally
  opposite quadrant (both horizontal and vertical location change); each keeps its own
  look and takes the other slot's centre jitter.
- ``scale``: small <-> large, the same jitter.
- ``orientation``: the sign of the angle flips, the same jitter.
- ``category-within``: another image of the same domain and split, of another class: the
  first such image after the target's (cyclically, in file order).
- ``category-across``: the image at the same position of the other domain's split.
"""
import numpy as np

from .task import draw_scenes, render_scenes

VARIABLES = ("location", "scale", "orientation", "category-within", "category-across")
# meta/ fields each twin is meant to change (all others stay equal)
CHANGES = {"location": ("loc_x", "loc_y", "center", "target_slot"), "scale": ("scale", "scale_factor"),
           "orientation": ("orientation", "angle"), "category-within": (), "category-across": ("domain",)}


def twin_arrays(source_set, params, split, seeds, variable):
    """Arrays (as the stored dataset holds them) of the twins of the scenes of ``seeds``."""
    if variable not in VARIABLES:
        raise ValueError(f"variable {variable!r} is not one of {', '.join(VARIABLES)}")
    drawn = draw_scenes(source_set, params, split, seeds)
    EDITS[variable](drawn, source_set, params, split)
    return render_scenes(source_set, params, drawn)


def _targets(drawn):
    return np.arange(len(drawn["target_slot"])), drawn["target_slot"]


def _location(drawn, source_set, params, split):
    rows, t = _targets(drawn)
    other = 4 + (3 - (t - 4))              # quadrant q -> 3 - q: left<->right and top<->bottom
    for name in ("present", "domain", "index", "big", "scale", "positive", "rot", "perm"):
        a = drawn[name]
        a[rows, t], a[rows, other] = a[rows, other].copy(), a[rows, t].copy()
    drawn["target_slot"] = other


def _scale(drawn, source_set, params, split):
    rows, t = _targets(drawn)
    small, large = params["scales"]
    base = np.where(drawn["big"][rows, t] == 1, large, small)
    drawn["big"][rows, t] ^= 1
    drawn["scale"][rows, t] += np.where(drawn["big"][rows, t] == 1, large, small) - base


def _orientation(drawn, source_set, params, split):
    rows, t = _targets(drawn)
    base = np.where(drawn["positive"][rows, t] == 1, params["angle"], -params["angle"])
    drawn["positive"][rows, t] ^= 1
    drawn["rot"][rows, t] -= 2 * base


def _category_within(drawn, source_set, params, split):
    rows, t = _targets(drawn)
    _, labels = source_set.stacked()
    ranges = source_set.split_ranges(split)
    for n, slot in zip(rows, t):
        dom, i = drawn["domain"][n, slot], drawn["index"][n, slot]
        first, count = ranges[dom]
        j = i
        while labels[dom, j] == labels[dom, i]:
            j = first + (j - first + 1) % count
        drawn["index"][n, slot] = j


def _category_across(drawn, source_set, params, split):
    rows, t = _targets(drawn)
    ranges = source_set.split_ranges(split)
    dom = drawn["domain"][rows, t]
    new = 1 - dom
    drawn["index"][rows, t] = ranges[new, 0] + (drawn["index"][rows, t] - ranges[dom, 0]) % ranges[new, 1]
    drawn["domain"][rows, t] = new


EDITS = {"location": _location, "scale": _scale, "orientation": _orientation,
         "category-within": _category_within, "category-across": _category_across}
