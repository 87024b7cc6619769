"""A faithful scipy.ndimage reference of the cluttered-scene generator, object by object in Python.

This is how the reference study draws a scene: every object is zoomed with
``scipy.ndimage.zoom`` and rotated with ``scipy.ndimage.rotate(reshape=False)``, then
scrambled, normalised and blended with numpy. It serves two purposes:

* speed baseline for perf/clutter_speed.py (``generate``: draws with numpy's generator,
  renders with zoom + rotate, spline ``order`` 1 = bilinear or 3 = scipy's default);
* an independent oracle for the tests (``compose``: re-renders a scene from the
  parameters our generator stored in its meta arrays, with ``method="zoom-rotate"``
  (two resamplings, as the study) or ``method="affine"`` (one
  ``scipy.ndimage.map_coordinates`` resampling of the composed zoom+rotation, which is
  what generators/clutter/kernel.py computes).

Run ``python perf/clutter_reference.py --help`` for a standalone timing.
"""
import math

import numpy as np
from scipy import ndimage

SIDE = 100
QUADRANTS = ((25, 25), (75, 25), (25, 75), (75, 75))


def render_object(src, scale, angle, perm, scrambled, order=1, method="zoom-rotate"):
    """One object as float [d, d] normalised to [0, 1]."""
    src = np.asarray(src, dtype=np.float64)
    if method == "zoom-rotate":
        obj = ndimage.zoom(src, scale, order=order)
        obj = ndimage.rotate(obj, angle, reshape=False, order=order)
    else:
        obj = _affine(src, scale, angle, order)
    if scrambled:
        obj = scramble(obj, perm)
    lo, hi = obj.min(), obj.max()
    return (obj - lo) / (hi - lo) if hi > lo else np.zeros_like(obj)


def _affine(src, scale, angle, order):
    d = int(round(src.shape[0] * scale))
    cen = (d - 1) / 2
    a = math.radians(angle)
    r, c = np.mgrid[0:d, 0:d].astype(np.float64)
    zr = cen + math.cos(a) * (r - cen) + math.sin(a) * (c - cen)
    zc = cen - math.sin(a) * (r - cen) + math.cos(a) * (c - cen)
    inside = (zr >= 0) & (zr <= d - 1) & (zc >= 0) & (zc <= d - 1)
    k = (src.shape[0] - 1) / (d - 1)
    out = ndimage.map_coordinates(src, [zr * k, zc * k], order=order, mode="nearest")
    return np.where(inside, out, 0.0)


def scramble(obj, perm):
    """Output cell k (row-major in a 3x3 grid of side d//3) = input cell perm[k]; edges zero."""
    d = obj.shape[0]
    cs = d // 3
    out = np.zeros_like(obj)
    for k, p in enumerate(perm):
        out[(k // 3) * cs:(k // 3 + 1) * cs, (k % 3) * cs:(k % 3 + 1) * cs] = \
            obj[(p // 3) * cs:(p // 3 + 1) * cs, (p % 3) * cs:(p % 3 + 1) * cs]
    return out


def blend(canvas, obj, centre):
    d = obj.shape[0]
    top, left = centre[0] - d // 2, centre[1] - d // 2
    r0, c0 = max(0, top), max(0, left)
    r1, c1 = min(SIDE, top + d), min(SIDE, left + d)
    if r1 <= r0 or c1 <= c0:
        return
    o = obj[r0 - top:r1 - top, c0 - left:c1 - left]
    canvas[r0:r1, c0:c1] = (1 - o) * canvas[r0:r1, c0:c1] + o * o


def to_uint8(canvas):
    lo, hi = canvas.min(), canvas.max()
    if hi <= lo:
        return np.zeros(canvas.shape, np.uint8)
    return np.floor((canvas - lo) / (hi - lo) * 255 + 0.5).astype(np.uint8)


def compose(src_images, meta, order=1, method="zoom-rotate", target_only=False):
    """Re-render one scene from our stored parameters (meta: one sample's meta arrays)."""
    canvas = np.zeros((SIDE, SIDE))
    t = int(meta["meta/target_slot"])
    slots = [t] if target_only else [i for i in range(8) if meta["meta/object_present"][i]]
    for i in slots:
        dom, idx = int(meta["meta/source_domain"][i]), int(meta["meta/source_index"][i])
        obj = render_object(src_images[dom, idx], meta["meta/object_scale"][i], meta["meta/object_angle"][i],
                            meta["meta/object_permutation"][i], i != t, order, method)
        blend(canvas, obj, meta["meta/object_center"][i])
    return to_uint8(canvas)


def draw_scene(rng, ranges, scales=(0.9, 1.5), scale_jitter=0.1, angle=30.0, angle_jitter=5.0):
    """The study's random choices for one scene, with numpy's generator."""
    target = int(rng.integers(4, 8))
    objects = []
    for i in range(8):
        dom = int(rng.integers(2))
        first, count = ranges[dom]
        perm = np.arange(9)
        if i != target:
            while np.array_equal(perm, np.arange(9)):
                perm = rng.permutation(9)
        q = QUADRANTS[i % 4]
        objects.append({
            "domain": dom, "index": int(first + rng.integers(count)),
            "scale": scales[int(rng.integers(2))] + rng.uniform(-scale_jitter, scale_jitter),
            "angle": angle * (1 if rng.integers(2) else -1) + rng.uniform(-angle_jitter, angle_jitter),
            "centre": (int(np.rint(q[0] + rng.uniform(-2.5, 2.5))), int(np.rint(q[1] + rng.uniform(-2.5, 2.5)))),
            "perm": perm,
        })
    return target, objects


def generate(src_images, src_labels, ranges, n, seed=0, order=1):
    """``n`` scenes drawn and rendered as the study does; arrays like our generator's."""
    rng = np.random.default_rng(seed)
    images = np.empty((n, 1, SIDE, SIDE), np.uint8)
    labels = np.empty(n, np.int64)
    source_index = np.empty((n, 8), np.int32)
    for s in range(n):
        target, objects = draw_scene(rng, ranges)
        canvas = np.zeros((SIDE, SIDE))
        for i, o in enumerate(objects):
            obj = render_object(src_images[o["domain"], o["index"]], o["scale"], o["angle"], o["perm"],
                                i != target, order)
            blend(canvas, obj, o["centre"])
            source_index[s, i] = o["index"]
        images[s, 0] = to_uint8(canvas)
        t = objects[target]
        labels[s] = 10 * t["domain"] + int(src_labels[t["domain"], t["index"]])
    return {"images": images, "labels": labels, "meta/source_index": source_index}


if __name__ == "__main__":
    import argparse
    import json
    import time

    from generators.clutter import sources

    parser = argparse.ArgumentParser(description="Time the scipy reference alone (scenes/s).")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--order", type=int, default=1)
    args = parser.parse_args()
    src = sources.load()
    images, labels = src.stacked()
    start = time.perf_counter()
    generate(images, labels, src.split_ranges("train"), args.n, order=args.order)
    elapsed = time.perf_counter() - start
    print(json.dumps({"reference_scenes_per_s": args.n / elapsed, "n": args.n, "order": args.order}))
