"""Cluttered MNIST / Fashion-MNIST scenes (numba kernels); the procedure is ../shared/specs/clutter.md.

A 100x100 scene holds 8 objects; object i sits in quadrant i mod 4 (centres (25,25),
(75,25), (25,75), (75,75) as (row, col), each jittered by U[-2.5, 2.5] and rounded).
The target is object 4..7, drawn after the clutter object of its quadrant. Every object
is a source image scaled (0.9 or 1.5, +- 0.1) to a d x d canvas, d = round(28 * scale),
rotated about that canvas' centre (+-30 +- 5 degrees) without growing it, and, for
clutter, scrambled by a non-identity permutation of its 3x3 cells (side floor(d/3),
leftover edge rows and columns zero). Each object is min-max normalised and blended as
``canvas = (1 - o) * canvas + o * o`` over rows/cols centre - d // 2 .. + d - 1 (clipped
to the canvas); the scene is min-max normalised to uint8 (round half up).

Resampling: the zoom and the rotation are composed into one affine map from the object
canvas to the 28x28 source, sampled once bilinearly. The geometry is exactly that of
scipy's ``zoom`` followed by ``rotate(reshape=False)`` (same pixel-centre conventions,
points outside the zoomed canvas are zero); sampling once instead of twice avoids the
extra blur of resampling an already resampled image.

Random draws, in this order from the sample's own stream (generators.rng): the target
slot; if fewer than 7 clutter objects, which clutter slots are kept; then for every
object 0..7 its domain, image, size class, scale jitter, sign, angle jitter, centre
jitter (row, col) and (clutter only) its permutation. Absent objects are drawn too, so
the stream layout does not depend on which objects are kept.
"""
import math

import numpy as np
from numba import njit

from .rng import new_state, randbelow, uniform_range

VERSION = "1.1.0"
SIDE = 100
OBJECTS = 8
SRC = 28
CENTRE_JITTER = 2.5
# (row, col) of the quadrant centres; quadrant q = object index mod 4.
QUADRANTS = np.array([[25, 25], [75, 25], [25, 75], [75, 75]], dtype=np.int64)
N_PERMS = 362880  # 9!
PAD = SRC + 1


def object_side(scale):
    """Side of an object scaled by ``scale`` (Python's round, as scipy's zoom uses)."""
    return int(round(SRC * scale))


@njit(cache=True)
def decode_permutation(code, perm):
    """The ``code``-th permutation of 0..8 in lexicographic order (0 = identity) into perm."""
    pool = np.arange(9)
    n_left = 9
    fact = 40320  # 8!
    for k in range(9):
        q = code // fact
        code = code % fact
        perm[k] = pool[q]
        for j in range(q, n_left - 1):
            pool[j] = pool[j + 1]
        n_left -= 1
        if k < 8:
            fact //= 8 - k


@njit(cache=True)
def _span(a0, da, inv_da, lo, hi, w):
    """[j0, j1) within 0..w holding every j with lo <= a0 + da * j <= hi, plus a margin
    (inv_da = 1 / da; the margin absorbs its rounding)."""
    if da > 1e-9:
        j0 = math.floor((lo - a0) * inv_da) - 1
        j1 = math.ceil((hi - a0) * inv_da) + 2
    elif da < -1e-9:
        j0 = math.floor((hi - a0) * inv_da) - 1
        j1 = math.ceil((lo - a0) * inv_da) + 2
    elif lo - 1e-9 <= a0 <= hi + 1e-9:
        j0 = 0
        j1 = w
    else:
        return 0, 0
    j0 = min(max(j0, 0), w)
    j1 = min(max(j1, j0), w)
    return j0, j1


@njit(cache=True)
def _inside(zr0, zc0, sina, cosa, j, last):
    zr = zr0 + sina * j
    zc = zc0 + cosa * j
    return zr >= 0.0 and zr <= last and zc >= 0.0 and zc <= last


@njit(cache=True)
def _row(pad, orow, c_out, zr0, zc0, sina, cosa, zoom, j0, j1):
    """Bilinear samples of one output row, columns j0..j1-1 (all inside the zoomed canvas),
    written to orow[c_out + j].

    ``pad`` is the source flattened with a zero last row and column (PAD x PAD), so the
    right/bottom neighbour of the last pixel (weight 0 there) needs no bounds check. The
    source coordinates are fixed point (32 fraction bits) advanced by a constant step:
    integer part and fraction then cost one conversion instead of two per axis. The
    error (< 1e-7 pixel over a row) is far below a grey level; the clamp at 0 guards
    against a step rounding below the edge.
    """
    stride = np.int64(PAD)
    unit = 4294967296.0  # 2 ** 32
    frac = np.int64(0xFFFFFFFF)
    dy = np.int64(sina * zoom * unit)
    dx = np.int64(cosa * zoom * unit)
    sy = np.int64(max((zr0 + sina * j0) * zoom, 0.0) * unit)
    sx = np.int64(max((zc0 + cosa * j0) * zoom, 0.0) * unit)
    out = np.uintp(c_out + j0)
    one = np.uintp(1)
    for _ in range(j0, j1):
        y = max(sy, 0)
        x = max(sx, 0)
        fy = (y & frac) * (1.0 / unit)
        fx = (x & frac) * (1.0 / unit)
        k = np.uintp((y >> 32) * stride + (x >> 32))
        top = (1.0 - fx) * pad[k] + fx * pad[k + one]
        bot = (1.0 - fx) * pad[k + np.uintp(PAD)] + fx * pad[k + np.uintp(PAD + 1)]
        orow[out] = (1.0 - fy) * top + fy * bot
        out += one
        sy += dy
        sx += dx


@njit(cache=True)
def _render(pad, box, buf, d, n, cs, dest, zoom, cosa, sina):
    """Interpolate rows and cols 0..n-1 (n <= d) of an unscrambled object of side d and
    write them to buf, cell by cell.

    With cs > 0 the region is a 3x3 grid of cells of side cs (n = 3 cs) and the pixels of
    input cell p go to the cell whose top-left is (dest[p, 0], dest[p, 1]) in buf (this is
    the scramble); with cs = 0 pixels stay where they are. buf[:n, :n] must hold zeros:
    only the pixels that can see the source's nonzero box are written.

    Output pixel (r, c) of the rotated canvas reads the zoomed canvas at
    centre + R (r - centre, c - centre) with R = [[cos, sin], [-sin, cos]] (scipy's rotate),
    and the zoomed canvas pixel z reads the source at z * (27 / (d - 1)) (scipy's zoom);
    points outside the zoomed canvas are zero (scipy's mode 'constant'). Only the pixels
    that can see the source's nonzero box ``box`` (rows box[0]..box[1], cols
    box[2]..box[3]) are interpolated; the others are exactly zero.
    """
    cen = (d - 1) * 0.5
    last = d - 1.0
    # zoomed-canvas coordinates whose bilinear footprint touches the nonzero box
    rlo = max(0.0, (box[0] - 1) / zoom)
    rhi = min(last, (box[1] + 1) / zoom)
    clo = max(0.0, (box[2] - 1) / zoom)
    chi = min(last, (box[3] + 1) / zoom)
    inv_sin = 1.0 / sina if abs(sina) > 1e-9 else 0.0
    inv_cos = 1.0 / cosa if abs(cosa) > 1e-9 else 0.0
    for i in range(n):
        u = i - cen
        v = -cen
        zr0 = cen + cosa * u + sina * v
        zc0 = cen - sina * u + cosa * v
        a0, a1 = _span(zr0, sina, inv_sin, rlo, rhi, n)
        b0, b1 = _span(zc0, cosa, inv_cos, clo, chi, n)
        j0 = max(a0, b0)
        j1 = max(min(a1, b1), j0)
        # The spans carry a margin; trim it to the pixels exactly inside the zoomed canvas.
        # Rounding is monotonic, so along a row those pixels form one interval.
        while j0 < j1 and not _inside(zr0, zc0, sina, cosa, j0, last):
            j0 += 1
        while j1 > j0 and not _inside(zr0, zc0, sina, cosa, j1 - 1, last):
            j1 -= 1
        if cs == 0:
            _row(pad, buf[i], 0, zr0, zc0, sina, cosa, zoom, j0, j1)
            continue
        band = i // cs
        within = i - band * cs
        for pc in range(3):
            c0 = pc * cs
            s0 = max(j0, c0)
            s1 = min(j1, c0 + cs)
            if s1 > s0:
                p = band * 3 + pc
                _row(pad, buf[dest[p, 0] + within], dest[p, 1] - c0, zr0, zc0, sina, cosa, zoom, s0, s1)


@njit(cache=True)
def _blend(canvas, buf, d, lo, hi, top, left):
    """canvas = (1 - o) * canvas + o * o over the object's footprint buf[:d, :d] placed at
    (top, left) and clipped to the canvas, o the object min-max normalised to [0, 1] (all
    zero if flat)."""
    side = canvas.shape[0]
    inv = 1.0 / (hi - lo) if hi > lo else 0.0
    j0, j1 = max(0, -left), min(d, side - left)
    for i in range(max(0, -top), min(d, side - top)):
        crow = canvas[top + i, left + j0:left + j1]
        brow = buf[i, j0:j1]
        for j in range(j1 - j0):
            o = (brow[j] - lo) * inv
            crow[j] = (1.0 - o) * crow[j] + o * o


@njit(cache=True)
def _geometry(scale, angle_deg):
    """(d, zoom, cos, sin) of an object: side, source pixels per zoomed pixel, rotation."""
    d = int(round(SRC * scale))
    zoom = (SRC - 1.0) / (d - 1.0)
    a = math.radians(angle_deg)
    return d, zoom, math.cos(a), math.sin(a)


@njit(cache=True)
def _load_pad(src, pad):
    """pad = the uint8 [28, 28] source as float64, flattened with a zero last row and column."""
    for i in range(SRC):
        for j in range(SRC):
            pad[i * PAD + j] = src[i, j]
    for k in range(PAD):
        pad[SRC * PAD + k] = 0.0
        pad[k * PAD + SRC] = 0.0


@njit(cache=True)
def _render_object(src, box, scale, angle_deg, perm, scrambled, flat, dest, pad):
    """Render one object (unnormalised), scrambled or not; returns (obj, min, max) with obj
    the d x d view of the start of ``flat`` (float64, >= d * d) that holds it.

    ``dest`` (int64 [9, 2]) is scratch for the cell map.
    """
    _load_pad(src, pad)
    d, zoom, cosa, sina = _geometry(scale, angle_deg)
    # contiguous, so the min/max below is one vectorised pass
    obj = flat[:d * d].reshape((d, d))
    obj[:, :] = 0.0
    if not scrambled:
        _render(pad, box, obj, d, d, 0, dest, zoom, cosa, sina)
    else:
        # Output cell k shows input cell perm[k]; only the 3x3 cells survive, the leftover
        # edge rows/cols stay zero.
        cs = d // 3
        for k in range(9):
            dest[perm[k], 0] = (k // 3) * cs
            dest[perm[k], 1] = (k % 3) * cs
        _render(pad, box, obj, d, 3 * cs, cs, dest, zoom, cosa, sina)
    lo, hi = _nonneg_min_max(flat[:d * d])
    return obj, lo, hi


@njit(cache=True)
def source_boxes(images):
    """Bounding box of the nonzero pixels of every image of ``images`` [D, M, 28, 28]:
    int16 [D, M, 4] as (first row, last row, first col, last col); an empty image gets
    (28, -1, 28, -1)."""
    boxes = np.empty((images.shape[0], images.shape[1], 4), np.int16)
    for d in range(images.shape[0]):
        for n in range(images.shape[1]):
            img = images[d, n]
            r0, r1, c0, c1 = SRC, -1, SRC, -1
            for i in range(SRC):
                for j in range(SRC):
                    if img[i, j]:
                        r0 = min(r0, i)
                        r1 = max(r1, i)
                        c0 = min(c0, j)
                        c1 = max(c1, j)
            boxes[d, n, 0] = r0
            boxes[d, n, 1] = r1
            boxes[d, n, 2] = c0
            boxes[d, n, 3] = c1
    return boxes


@njit(cache=True)
def render_object(src, box, scale, angle_deg, perm, scrambled, obj, pad, tmp):
    """Draw one object (unnormalised) into obj[:d, :d]; returns (d, min, max).

    ``src`` is the uint8 [28, 28] source, ``box`` its nonzero box (source_boxes); ``pad``
    (float64 [PAD * PAD]) is scratch space; ``tmp`` is unused (kept for callers).
    """
    flat = np.empty(obj.shape[0] * obj.shape[1], np.float64)
    dest = np.empty((9, 2), np.int64)
    rendered, lo, hi = _render_object(src, box, scale, angle_deg, perm, scrambled, flat, dest, pad)
    d = rendered.shape[0]
    obj[:d, :d] = rendered
    return d, lo, hi


@njit(cache=True)
def _nonneg_min_max(values):
    """(min, max) of a flat float64 array whose values are all >= +0.0.

    Non-negative IEEE doubles order like their bit patterns read as int64, and the integer
    reduction vectorises where numba's float min/max (which minds NaNs) does not: ~10x faster.
    """
    bits = values.view(np.int64)
    lo = bits[0]
    hi = bits[0]
    for k in range(bits.shape[0]):
        lo = min(lo, bits[k])
        hi = max(hi, bits[k])
    pair = np.empty(2, np.int64)
    pair[0] = lo
    pair[1] = hi
    as_float = pair.view(np.float64)
    return as_float[0], as_float[1]


@njit(cache=True)
def to_uint8(canvas, out):
    """Min-max normalise the canvas (C-contiguous, values >= 0) into uint8 0..255 (all zero if flat)."""
    flat = canvas.reshape(-1)
    dst = out.reshape(-1)
    lo, hi = _nonneg_min_max(flat)
    k = 255.0 / (hi - lo) if hi > lo else 0.0
    for i in range(flat.shape[0]):
        # the value is >= 0, so truncation is floor: round half up
        dst[i] = np.uint8(np.int32((flat[i] - lo) * k + 0.5))


@njit(cache=True)
def draw_scene(state, ranges, n_clutter, small, large, scale_jitter, angle, angle_jitter,
               present, domain, index, big, scale, positive, rot, center, perm):
    """Draw one scene's parameters into the per-object arrays; returns the target slot."""
    target = 4 + randbelow(state, 4)
    present[:] = 1
    if n_clutter < OBJECTS - 1:
        slots = np.empty(OBJECTS - 1, np.int64)
        m = 0
        for i in range(OBJECTS):
            if i != target:
                slots[m] = i
                m += 1
        # partial Fisher-Yates: the first n_clutter entries are a uniform subset
        for k in range(n_clutter):
            j = k + randbelow(state, OBJECTS - 1 - k)
            slots[k], slots[j] = slots[j], slots[k]
        for k in range(n_clutter, OBJECTS - 1):
            present[slots[k]] = 0
    for i in range(OBJECTS):
        dom = randbelow(state, 2)
        domain[i] = dom
        index[i] = ranges[dom, 0] + randbelow(state, ranges[dom, 1])
        big[i] = randbelow(state, 2)
        scale[i] = (large if big[i] else small) + uniform_range(state, -scale_jitter, scale_jitter)
        positive[i] = randbelow(state, 2)
        rot[i] = (angle if positive[i] else -angle) + uniform_range(state, -angle_jitter, angle_jitter)
        q = i % 4
        center[i, 0] = np.int64(np.rint(QUADRANTS[q, 0] + uniform_range(state, -CENTRE_JITTER, CENTRE_JITTER)))
        center[i, 1] = np.int64(np.rint(QUADRANTS[q, 1] + uniform_range(state, -CENTRE_JITTER, CENTRE_JITTER)))
        if i == target:
            for k in range(9):
                perm[i, k] = k
        else:
            decode_permutation(1 + randbelow(state, N_PERMS - 1), perm[i])
    return target


@njit(cache=True)
def _touch(src_images, boxes, domain, index):
    """Read one byte per cache line of the scene's source images and their boxes, all
    before any is needed: the (random, mostly uncached) lines then load in parallel
    instead of one miss at a time inside each object's rendering."""
    acc = 0
    for i in range(OBJECTS):
        img = src_images[domain[i], index[i]]
        acc += boxes[domain[i], index[i], 0]
        for r in range(0, SRC, 2):
            acc += img[r, 0]
    return acc


@njit(cache=True)
def compose(src_images, boxes, target, present, domain, index, scale, rot, center, perm, canvas, pad, flat, tflat,
            dest, image, target_only):
    """Render the drawn objects into image (uint8 [H, W]) and, if given, the target alone.

    flat is scratch for the clutter objects, tflat keeps the target's rendering for the
    target-only image; canvas (float64 [H, W]), pad (float64 [PAD * PAD]) and dest
    (int64 [9, 2]) are scratch too.
    """
    if _touch(src_images, boxes, domain, index) < 0:  # never: the test keeps the loads from being dropped
        return
    canvas[:, :] = 0.0
    t_lo = t_hi = 0.0
    for i in range(OBJECTS):
        if not present[i]:
            continue
        dom, idx = domain[i], index[i]
        scrambled = i != target
        obj, lo, hi = _render_object(src_images[dom, idx], boxes[dom, idx], scale[i], rot[i], perm[i], scrambled,
                                     flat if scrambled else tflat, dest, pad)
        d = obj.shape[0]
        _blend(canvas, obj, d, lo, hi, center[i, 0] - d // 2, center[i, 1] - d // 2)
        if not scrambled:
            t_lo, t_hi = lo, hi
    to_uint8(canvas, image)
    if target_only.shape[0] > 0:
        canvas[:, :] = 0.0
        d = int(round(SRC * scale[target]))
        obj = tflat[:d * d].reshape((d, d))
        _blend(canvas, obj, d, t_lo, t_hi, center[target, 0] - d // 2, center[target, 1] - d // 2)
        to_uint8(canvas, target_only)


@njit(cache=True)
def generate_into(seeds, src_images, boxes, src_labels, ranges, n_clutter, small, large, scale_jitter, angle,
                  angle_jitter, max_side, images, target_only, labels, present, domain, index, big, scale,
                  positive, rot, center, perm, target_slot):
    """Fill preallocated per-sample arrays from ``seeds`` (one scene per seed).

    images uint8 [N, 1, H, W]; target_only uint8 [N, 1, H, W] or [0, ...] for none;
    per-object arrays [N, 8(, k)]; labels int64 [N].
    """
    canvas = np.zeros((SIDE, SIDE), np.float64)
    pad = np.zeros(PAD * PAD, np.float64)
    flat = np.zeros(max_side * max_side, np.float64)
    tflat = np.zeros(max_side * max_side, np.float64)
    dest = np.zeros((9, 2), np.int64)
    none = np.zeros((0, 0), np.uint8)
    for n in range(seeds.shape[0]):
        state = new_state(seeds[n])
        t = draw_scene(state, ranges, n_clutter, small, large, scale_jitter, angle, angle_jitter,
                       present[n], domain[n], index[n], big[n], scale[n], positive[n], rot[n], center[n], perm[n])
        target_slot[n] = t
        compose(src_images, boxes, t, present[n], domain[n], index[n], scale[n], rot[n], center[n], perm[n],
                canvas, pad, flat, tflat, dest, images[n, 0],
                target_only[n, 0] if target_only.shape[0] > 0 else none)
        labels[n] = domain[n, t] * 10 + src_labels[domain[n, t], index[n, t]]
