"""The 'pathfinder' task: presets, parameter validation and arrays around the kernels."""
import hashlib
import json
from functools import lru_cache

import numpy as np

from ..seeds import sample_seeds
from ..tasks import Task
from . import kernel as pf

# The published settings (shared/specs/pathfinder.md). ``distractor_length`` None means
# contour_length // 3 (at least 1), the lab's rule; a preset's value is capped at the
# contour length. Contrast is the ink of every snake:
# LRA's snake x paddle contrasts multiplied once and clipped to 1 (the reference applied
# them twice, which dimmed the targets; defect 5). ``mirror_test`` (see
# generators/pathfinder/kernel.py) removes the last marker-position cue of the ghost sampler but
# makes long contours much costlier on the 32 and 64 px canvases. ``sampler``: "ghost" (the
# default, recorded in the parameters only when another is chosen, so datasets made before
# the choice existed keep their parameters) or "rhombus" (the four target ends on a rhombus;
# no mirror test needed), which the small LRA canvases use.
PRESETS = {
    "linsley2018": dict(canvas=300, size=150, padding=22, paddle_length=5.0, thickness=2.0, margin=[3.0],
                        continuity=1.8, distractor_length=None, distractors=15, seed_distance=27.0,
                        marker_radius=5.0, contrast=1.0, mirror_test=True),
    "lra32": dict(canvas=32, size=32, padding=1, paddle_length=2.0, thickness=0.5, margin=[1.0],
                  continuity=1.0, distractor_length=4, distractors=5, seed_distance=7.0,
                  marker_radius=1.5, contrast=1.0, mirror_test=False,
                  sampler="rhombus"),
    "lra64": dict(canvas=64, size=64, padding=1, paddle_length=5.0, thickness=1.0, margin=[1.0],
                  continuity=1.8, distractor_length=4, distractors=5, seed_distance=12.0,
                  marker_radius=2.5, contrast=0.8, mirror_test=False,
                  sampler="rhombus"),
    "lra128": dict(canvas=128, size=128, padding=1, paddle_length=5.0, thickness=1.5, margin=[2.0, 3.0],
                   continuity=1.8, distractor_length=4, distractors=8, seed_distance=20.0,
                   marker_radius=3.0, contrast=0.9, mirror_test=True),
    "lra256": dict(canvas=256, size=256, padding=1, paddle_length=5.0, thickness=2.0, margin=[3.0],
                   continuity=1.8, distractor_length=4, distractors=7, seed_distance=20.0,
                   marker_radius=5.0, contrast=0.9, mirror_test=True),
}
DEFAULT_PRESET = "linsley2018"
GEOMETRY_KEYS = ("canvas", "size", "padding", "paddle_length", "thickness", "margin", "continuity",
                 "distractor_length", "distractors", "seed_distance", "marker_radius", "contrast", "mirror_test",
                 "sampler")
SAMPLERS = ("ghost", "rhombus")


class ParamError(ValueError):
    """A parameter value that is not allowed; ``param`` names the option."""

    def __init__(self, param, message):
        super().__init__(message)
        self.param = param


def make_params(length, preset=DEFAULT_PRESET, markers=2, **overrides):
    """Full parameter dict from a preset plus overrides (None = the preset's value)."""
    if preset not in PRESETS:
        raise ParamError("preset", f"{preset!r} is not a preset; allowed: {', '.join(sorted(PRESETS))}")
    params = {"preset": preset, "length": int(length), "markers": int(markers)}
    for key in GEOMETRY_KEYS:
        value = overrides.get(key)
        params[key] = PRESETS[preset].get(key, "ghost") if value is None else value
    if overrides.get("distractor_length") is None:
        # the lab's rule, or the preset's fixed length, never longer than the targets
        rule = PRESETS[preset]["distractor_length"] or max(1, int(length) // 3)
        params["distractor_length"] = max(1, min(rule, int(length)))
    params["margin"] = [float(m) for m in params["margin"]]
    for key in ("paddle_length", "thickness", "continuity", "seed_distance", "marker_radius", "contrast"):
        params[key] = float(params[key])
    for key in ("canvas", "size", "padding", "distractor_length", "distractors"):
        params[key] = int(params[key])
    params["mirror_test"] = bool(params["mirror_test"])
    check_params(params)
    if params["sampler"] == "ghost":
        del params["sampler"]
    return params


def check_params(p):
    """Raise ParamError on the first value that is not allowed (cheap checks only)."""
    if p["length"] < 2:
        raise ParamError("length", f"{p['length']} is not allowed; the contour length (dashes) must be >= 2")
    if p.get("sampler", "ghost") not in SAMPLERS:
        raise ParamError("sampler", f"{p['sampler']!r} is not allowed; one of {', '.join(SAMPLERS)}")
    if p.get("sampler") == "rhombus" and p["length"] < 3:
        raise ParamError("length", f"{p['length']} is not allowed with the rhombus sampler (it solves a "
                         "contour's last two dashes after its first): use --length >= 3 or --sampler ghost")
    if p["markers"] not in (1, 2):
        raise ParamError("markers", f"{p['markers']} is not allowed; 1 (segmentation: origin marker only) or 2")
    for key in ("paddle_length", "thickness", "marker_radius", "canvas", "size"):
        if not p[key] > 0:
            raise ParamError(key, f"{p[key]} is not allowed; {key.replace('_', ' ')} must be > 0")
    if not p["margin"] or len(p["margin"]) > 4 or min(p["margin"]) <= 0:
        raise ParamError("margin", f"{p['margin']} is not allowed; one to four margins, each > 0 (e.g. 3 or 2,3)")
    if p["padding"] < 0:
        raise ParamError("padding", f"{p['padding']} is not allowed; the empty border must be >= 0 px")
    if p["continuity"] < 1.0:
        raise ParamError("continuity", f"{p['continuity']} is not allowed; continuity must be >= 1 "
                         "(max turn 90 deg / continuity)")
    if not 0.05 <= p["contrast"] <= 1.0:
        raise ParamError("contrast", f"{p['contrast']} is not allowed; the ink intensity must be in [0.05, 1]")
    if p["seed_distance"] < 0:
        raise ParamError("seed_distance", f"{p['seed_distance']} is not allowed; must be >= 0")
    if p["distractors"] < 0:
        raise ParamError("distractors", f"{p['distractors']} is not allowed; must be >= 0")
    if not 1 <= p["distractor_length"] <= max(p["length"], 1):
        raise ParamError("distractor_length", f"{p['distractor_length']} is not allowed; "
                         f"distractors have 1..{p['length']} dashes (at most the contour length)")
    if p["size"] > p["canvas"]:
        raise ParamError("size", f"{p['size']} is larger than the canvas ({p['canvas']}); "
                         f"the output side must be <= the canvas (downsampled, never upsampled)")
    inner = p["canvas"] - 2 * (p["padding"] + p["marker_radius"] + 1)
    if inner <= 2 * p["paddle_length"]:
        raise ParamError("canvas", f"canvas {p['canvas']} with padding {p['padding']} leaves no room for a "
                         "contour; enlarge --canvas or reduce --padding")
    # Necessary condition (area): two targets with their clearance bands must fit inside.
    period = p["paddle_length"] + 2 * min(p["margin"])
    band = p["thickness"] + min(p["margin"])
    if 2 * p["length"] * period * band > inner * inner:
        raise ParamError("length", too_long_message(p))


def too_long_message(p):
    return (f"contour length {p['length']} does not fit a {p['canvas']}x{p['canvas']} canvas "
            f"(preset {p['preset']}); use a shorter --length or a larger --canvas")


def kernel_args(p):
    fo, fw = _weights(p["canvas"], p["size"])
    return (p["length"], p["canvas"], float(p["padding"]), p["paddle_length"], p["thickness"],
            np.array(p["margin"], dtype=np.float64), p["continuity"], p["distractor_length"],
            p["distractors"], p["seed_distance"], p["marker_radius"], sampler_code(p), bridge_tables(p),
            p["contrast"], p["markers"], fo, fw)


def sampler_code(p):
    """The kernel's layout sampler for parameters ``p``."""
    if p.get("sampler", "ghost") == "rhombus":
        return pf.SAMPLER_RHOMBUS
    return pf.SAMPLER_MIRROR if p["mirror_test"] else pf.SAMPLER_GHOST


def bridge_tables(p):
    """The rhombus sampler's tables, one per margin (a placeholder for the ghost sampler)."""
    if sampler_code(p) != pf.SAMPLER_RHOMBUS:
        return np.zeros((len(p["margin"]), 1, 1, 1), np.float32)
    key = tuple(p[k] if k != "margin" else tuple(p[k]) for k in _TABLE_KEYS)
    return _bridge_tables(*key)


_TABLE_KEYS = ("length", "canvas", "padding", "paddle_length", "thickness", "margin", "continuity",
               "marker_radius", "seed_distance")


@lru_cache(maxsize=8)
def _bridge_tables(length, canvas, padding, paddle_length, thickness, margins, continuity, radius, seed_distance):
    tables = []
    for m in margins:
        table = pf.bridge_table(length, 0.5 * paddle_length, 2.0 * m, continuity)
        pf.fill_spans(table, np.uint64(0x5EED5), length, canvas, float(padding), paddle_length, thickness, m,
                      continuity, radius, seed_distance)
        tables.append(table)
    return np.stack(tables)


@lru_cache(maxsize=8)
def _weights(canvas, size):
    return pf.area_weights(canvas, size)


def probe(p):
    """True if the length fits the canvas: PROBE_SAMPLES fixed seeds need at most
    PROBE_MEAN_RESTARTS restarts on average (stops as soon as that budget is spent)."""
    geometry = kernel_args(p)[:13]
    budget = pf.PROBE_SAMPLES * pf.PROBE_MEAN_RESTARTS
    for k in range(pf.PROBE_SAMPLES):
        seed = sample_seeds(0, "pathfinder", "probe", "probe", [k])[0]
        restarts = pf.layout_of(seed, *geometry, budget + 1)[3]
        if restarts < 0:
            return False
        budget -= restarts
    return True


class PathFinderTask(Task):
    name = "pathfinder"
    version = pf.VERSION
    default_codec = "zstd"

    def variant(self, params):
        name = f"{params['preset']}-len{params['length']}-{params['size']}px" + ("-seg" if params["markers"] == 1 else "")
        preset = make_params(params["length"], params["preset"], params["markers"],
                             **{k: None for k in GEOMETRY_KEYS}) if params["preset"] in PRESETS else {}
        changed = {k: params.get(k) for k in GEOMETRY_KEYS if k != "size" and params.get(k) != preset.get(k)}
        if changed:
            digest = hashlib.blake2b(json.dumps(changed, sort_keys=True).encode(), digest_size=3).hexdigest()
            name += f"-x{digest}"
        return name

    def sample_bytes(self, params):
        return 2 * params["size"] * params["size"]

    def labels(self, plan, indices):
        """Labels of global ``indices``: each shard's labels are an exactly balanced,
        seed-shuffled permutation, so any sample is regenerated alone with its label."""
        if plan is None:
            raise ValueError("pathfinder labels depend on the plan (seed, split, shard size)")
        indices = np.asarray(indices, dtype=np.int64)
        out = np.empty(len(indices), dtype=np.int64)
        shards = indices // plan.shard_size
        for k in np.unique(shards):
            first, count = plan.shard_bounds(int(k))
            here = shards == k
            out[here] = _shard_labels(plan.seed, plan.variant, plan.split, int(k), count)[indices[here] - first]
        return out

    def generate(self, params, split, seeds, indices, plan):
        n = len(seeds)
        side = params["size"]
        labels = self.labels(plan, indices)
        out = {
            "images": np.empty((n, 1, side, side), np.uint8),
            "masks": np.empty((n, side, side), np.uint8),
            "labels": labels,
            "meta/marker0": np.empty((n, 2), np.float32),
            "meta/marker1": np.empty((n, 2), np.float32),
            "meta/n_distractors": np.empty(n, np.int32),
            "meta/contour_length": np.full(n, params["length"], np.int32),
            "meta/retries": np.empty(n, np.int32),
        }
        bad = pf.generate_into(np.ascontiguousarray(seeds, dtype=np.uint64), labels, *kernel_args(params),
                               out["images"], out["masks"], out["meta/marker0"], out["meta/marker1"],
                               out["meta/n_distractors"], out["meta/retries"])
        if bad >= 0:
            raise RuntimeError(f"pathfinder sample {int(indices[bad])}: no layout in {pf.MAX_ATTEMPTS} attempts; "
                               + too_long_message(params))
        return out

    def audit_extra(self, datasets):
        from .audit import cue_report

        return cue_report(datasets)


@lru_cache(maxsize=64)
def _shard_labels(seed, variant, split, k, count):
    key = int(sample_seeds(seed, "pathfinder", variant, split + "/labels", [k])[0])
    return pf.shard_labels(np.uint64(key), count)


TASK = PathFinderTask()
