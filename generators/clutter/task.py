"""The 'clutter' task: parameters, validation, arrays and audits around generators.clutter.

The sources' location is never part of the parameters (it is machine-specific); their
content checksums are, so the same data on another machine is the same dataset.
"""
import numpy as np

from ..errors import DatasetError
from ..shards import open_shard
from ..tasks import Task
from . import kernel as clutter, sources

DEFAULTS = {"clutter": 7, "scales": [0.9, 1.5], "scale_jitter": 0.1, "angle": 30.0, "angle_jitter": 5.0}
MIN_SCALE, MAX_SCALE = 0.25, 3.0


def validate(clutter_objects, scales, scale_jitter, angle, angle_jitter):
    """None if valid, else (option, message) naming what is allowed."""
    if not 0 <= clutter_objects <= clutter.OBJECTS - 1:
        return "--clutter", (f"{clutter_objects} is not allowed; the number of clutter objects is "
                             f"0..{clutter.OBJECTS - 1}")
    if len(scales) != 2:
        return "--scales", f"{scales} is not two numbers SMALL,LARGE"
    if not scales[0] < scales[1]:
        return "--scales", f"{scales[0]:g},{scales[1]:g} is not SMALL,LARGE with SMALL < LARGE"
    if scale_jitter < 0:
        return "--scale-jitter", f"{scale_jitter} is not allowed; must be >= 0"
    lo, hi = min(scales) - scale_jitter, max(scales) + scale_jitter
    if lo < MIN_SCALE or hi > MAX_SCALE:
        return "--scales", (f"{scales} +- {scale_jitter} reaches {lo:g}..{hi:g}; "
                            f"scales with jitter must stay within {MIN_SCALE}..{MAX_SCALE}")
    if not 0 <= angle <= 180:
        return "--angle", f"{angle} is not allowed; the rotation magnitude is 0..180 degrees"
    if not 0 <= angle_jitter <= 180:
        return "--angle-jitter", f"{angle_jitter} is not allowed; must be 0..180 degrees"
    return None


class ClutterTask(Task):
    name = "clutter"
    version = clutter.VERSION
    # Generation-bound, so the fastest writer; also the smallest of the fast ones (figures
    # in generators/codecs.py).
    default_codec = "lz4-zeros"

    @staticmethod
    def params(source_set, clutter_objects=7, scales=(0.9, 1.5), scale_jitter=0.1, angle=30.0, angle_jitter=5.0,
               with_target_only=False):
        return {"clutter": int(clutter_objects), "scales": [float(s) for s in scales],
                "scale_jitter": float(scale_jitter), "angle": float(angle), "angle_jitter": float(angle_jitter),
                "with_target_only": bool(with_target_only), "sources": source_set.digests}

    def variant(self, params):
        """The clutter level; other ranges than the reference's are spelled out."""
        name = str(params["clutter"])
        if params["scales"] != DEFAULTS["scales"] or params["scale_jitter"] != DEFAULTS["scale_jitter"]:
            name += "-scale{:g}_{:g}j{:g}".format(*params["scales"], params["scale_jitter"])
        if params["angle"] != DEFAULTS["angle"] or params["angle_jitter"] != DEFAULTS["angle_jitter"]:
            name += "-rot{:g}j{:g}".format(params["angle"], params["angle_jitter"])
        return name

    def sample_bytes(self, params):
        """Uncompressed image bytes per scene (sizes the default shard) without generating one."""
        return clutter.SIDE * clutter.SIDE * (2 if params["with_target_only"] else 1)

    def source_set(self, params):
        """The sources found on this machine, checked against those the dataset was made from."""
        found = sources.load()
        if found.digests != params["sources"]:
            differs = sorted(k for k in set(found.digests) | set(params["sources"])
                             if found.digests.get(k) != params["sources"].get(k))
            raise DatasetError(f"the sources found ({', '.join(str(s.folder) for s in found.sources)}) differ from "
                               f"those this dataset was made from (first: {differs[0]})")
        return found

    def generate(self, params, split, seeds, indices, plan):
        return generate_arrays(self.source_set(params), params, split, seeds)

    def audit_extra(self, datasets):
        return audit_datasets(datasets)


# The values a scene draws, in the kernel's argument order.
DRAWN = ("present", "domain", "index", "big", "scale", "positive", "rot", "center", "perm", "target_slot")


def generate_arrays(source_set, params, split, seeds):
    """Arrays of the scenes of ``seeds`` (pure function of params, split and seeds)."""
    return render_scenes(source_set, params, draw_scenes(source_set, params, split, seeds))


def draw_scenes(source_set, params, split, seeds):
    """The values every scene of ``seeds`` draws: per-object arrays [N, 8(, k)] and the target
    slot [N] (what ``render_scenes`` turns into images; a twin edits them in between)."""
    seeds = np.ascontiguousarray(seeds, dtype=np.uint64)
    n, k = len(seeds), clutter.OBJECTS
    drawn = {"present": np.empty((n, k), np.uint8), "domain": np.empty((n, k), np.int64),
             "index": np.empty((n, k), np.int64), "big": np.empty((n, k), np.uint8),
             "scale": np.empty((n, k), np.float64), "positive": np.empty((n, k), np.uint8),
             "rot": np.empty((n, k), np.float64), "center": np.empty((n, k, 2), np.int64),
             "perm": np.empty((n, k, 9), np.int8), "target_slot": np.empty(n, np.int64)}
    small, large = params["scales"]
    clutter.draw_into(seeds, source_set.split_ranges(split), int(params["clutter"]), float(small), float(large),
                      float(params["scale_jitter"]), float(params["angle"]), float(params["angle_jitter"]),
                      *(drawn[name] for name in DRAWN))
    return drawn


def render_scenes(source_set, params, drawn):
    """Images, labels and meta/ of scenes with the given drawn values."""
    images_src, labels_src = source_set.stacked()
    n = len(drawn["target_slot"])
    small, large = params["scales"]
    max_side = clutter.object_side(max(small, large) + params["scale_jitter"]) + 1
    images = np.empty((n, 1, clutter.SIDE, clutter.SIDE), np.uint8)
    target_only = np.empty((n if params["with_target_only"] else 0, 1, clutter.SIDE, clutter.SIDE), np.uint8)
    labels = np.empty(n, np.int64)
    present, domain, index, big, scale, positive, rot, center, perm, t = (drawn[name] for name in DRAWN)
    clutter.compose_into(images_src, labels_src, max_side, images, target_only, labels, present, domain, index,
                         scale, rot, center, perm, t)
    rows = np.arange(n)
    q = t % 4
    out = {
        "images": images,
        "labels": labels,
        "meta/domain": domain[rows, t].astype(np.uint8),
        "meta/loc_x": (q >= 2).astype(np.uint8),   # 0 left, 1 right
        "meta/loc_y": (q % 2).astype(np.uint8),    # 0 top, 1 bottom
        "meta/scale": big[rows, t],                # 0 small, 1 large
        "meta/orientation": positive[rows, t],     # 0 negative angle, 1 positive
        "meta/center": center[rows, t].astype(np.int32),
        "meta/scale_factor": scale[rows, t],
        "meta/angle": rot[rows, t],
        "meta/target_slot": t.astype(np.uint8),
        # absent clutter objects are -1 so leakage checks see only images actually drawn
        "meta/source_index": np.where(present == 1, index, -1).astype(np.int32),
        "meta/source_domain": np.where(present == 1, domain, -1).astype(np.int8),
        "meta/object_present": present,
        "meta/object_scale": scale,
        "meta/object_angle": rot,
        "meta/object_center": center.astype(np.int32),
        "meta/object_permutation": perm,
    }
    if params["with_target_only"]:
        out["target_only"] = target_only
    return out


def _binom_ok(ones, n, z=4.5):
    """True if ``ones`` of ``n`` fair coin flips is within z standard deviations of n/2."""
    return bool(n == 0 or abs(ones - n / 2) <= z * np.sqrt(n) / 2)


def audit_datasets(datasets):
    """Source leakage between splits, balance of auxiliary variables and categories."""
    per = []
    used = {}
    for ds in datasets:
        names = ["labels", "meta/domain", "meta/loc_x", "meta/loc_y", "meta/scale", "meta/orientation",
                 "meta/source_index", "meta/source_domain"]
        cols = {name: [] for name in names}
        for rec in ds.manifest["shards"]:
            with open_shard(ds.root / rec["file"]) as f:
                for name in names:
                    cols[name].append(f[name][()])
        cols = {name: np.concatenate(v) for name, v in cols.items()}
        n = len(cols["labels"])
        dom, idx = cols["meta/source_domain"].ravel(), cols["meta/source_index"].ravel()
        keys = set((dom[idx >= 0].astype(np.int64) << 32 | idx[idx >= 0]).tolist())
        split = ds.manifest["split"]
        used.setdefault(split, set()).update(keys)
        balance = {var: round(float(cols[f"meta/{var}"].mean()), 4) for var in
                   ("domain", "loc_x", "loc_y", "scale", "orientation")}
        balanced = all(_binom_ok(int(cols[f"meta/{var}"].sum()), n) for var in balance)
        counts = np.bincount(cols["labels"], minlength=20)
        # MNIST/Fashion classes are near uniform (about 9-11% each), so every category's
        # share should be near 1/20 in any large sample.
        share = counts / max(n, 1)
        categories_ok = bool(n < 2000 or (share.min() > 0.5 / 20 and share.max() < 1.5 / 20))
        per.append({"path": str(ds.root), "split": split, "count": n, "fraction_ones": balance,
                    "aux_balanced": balanced, "category_counts": counts.tolist(), "categories_balanced": categories_ok,
                    "source_images_used": len(keys)})
    splits = sorted(used)
    shared = {f"{a}/{b}": len(used[a] & used[b]) for i, a in enumerate(splits) for b in splits[i + 1:]}
    ok = all(v == 0 for v in shared.values()) and all(p["aux_balanced"] and p["categories_balanced"] for p in per)
    return {"ok": bool(ok), "source_images_shared_between_splits": shared, "datasets": per}


TASK = ClutterTask()
