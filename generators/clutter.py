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

VERSION = "1.0.0"
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
def _span(a0, da, lo, hi, w):
    """[j0, j1) within 0..w holding every j with lo <= a0 + da * j <= hi, plus a margin."""
    if da > 1e-9:
        j0 = math.floor((lo - a0) / da) - 1
        j1 = math.ceil((hi - a0) / da) + 2
    elif da < -1e-9:
        j0 = math.floor((hi - a0) / da) - 1
        j1 = math.ceil((lo - a0) / da) + 2
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
def _row(pad, orow, c_out, zr0, zc0, sina, cosa, zoom, j0, j1, lo, hi):
    """Bilinear samples of one output row, columns j0..j1-1, all inside the zoomed canvas.

    ``pad`` is the source flattened with a zero last row and column (PAD x PAD), so the
    right/bottom neighbour of the last pixel (weight 0 there) needs no bounds check;
    unsigned indices spare numba's negative-index handling.
    """
    stride = np.uintp(PAD)
    one = np.uintp(1)
    for j in range(j0, j1):
        sy = (zr0 + sina * j) * zoom
        sx = (zc0 + cosa * j) * zoom
        y0 = np.uintp(sy)
        x0 = np.uintp(sx)
        fy = sy - y0
        fx = sx - x0
        k = y0 * stride + x0
        top = (1.0 - fx) * pad[k] + fx * pad[k + one]
        bot = (1.0 - fx) * pad[k + stride] + fx * pad[k + stride + one]
        val = (1.0 - fy) * top + fy * bot
        orow[c_out + j] = val
        lo = min(lo, val)
        hi = max(hi, val)
    return lo, hi


@njit(cache=True)
def _render(pad, box, buf, spans, d, n, zoom, cosa, sina):
    """Interpolate rows and cols 0..n-1 (n <= d) of an unscrambled object of side d into buf;
    returns the (min, max) of that n x n region.

    Output pixel (r, c) of the rotated canvas reads the zoomed canvas at
    centre + R (r - centre, c - centre) with R = [[cos, sin], [-sin, cos]] (scipy's rotate),
    and the zoomed canvas pixel z reads the source at z * (27 / (d - 1)) (scipy's zoom);
    points outside the zoomed canvas are zero (scipy's mode 'constant'). Only the pixels
    that can see the source's nonzero box ``box`` (rows box[0]..box[1], cols
    box[2]..box[3]) are interpolated: row i's are cols spans[i, 0]..spans[i, 1] - 1. The
    others are exactly zero and left unwritten, which spares writing them and blending
    them (a zero pixel blends as a no-op once the object's minimum is 0).
    """
    cen = (d - 1) * 0.5
    last = d - 1.0
    # zoomed-canvas coordinates whose bilinear footprint touches the nonzero box
    rlo = max(0.0, (box[0] - 1) / zoom)
    rhi = min(last, (box[1] + 1) / zoom)
    clo = max(0.0, (box[2] - 1) / zoom)
    chi = min(last, (box[3] + 1) / zoom)
    lo = 1e300
    hi = -1e300
    for i in range(n):
        u = i - cen
        v = -cen
        zr0 = cen + cosa * u + sina * v
        zc0 = cen - sina * u + cosa * v
        a0, a1 = _span(zr0, sina, rlo, rhi, n)
        b0, b1 = _span(zc0, cosa, clo, chi, n)
        j0 = max(a0, b0)
        j1 = max(min(a1, b1), j0)
        # The spans carry a margin; trim it to the pixels exactly inside the zoomed canvas.
        # Rounding is monotonic, so along a row those pixels form one interval.
        while j0 < j1 and not _inside(zr0, zc0, sina, cosa, j0, last):
            j0 += 1
        while j1 > j0 and not _inside(zr0, zc0, sina, cosa, j1 - 1, last):
            j1 -= 1
        spans[i, 0] = j0
        spans[i, 1] = j1
        if j0 > 0 or j1 < n:
            lo = min(lo, 0.0)
            hi = max(hi, 0.0)
        lo, hi = _row(pad, buf[i], 0, zr0, zc0, sina, cosa, zoom, j0, j1, lo, hi)
    return lo, hi


@njit(cache=True)
def _blend_run(crow, brow, j0, j1, shift, lo, inv):
    """crow[j + shift] = (1 - o) crow[j + shift] + o * o for j in j0..j1-1, o = (brow[j] - lo) * inv."""
    for j in range(j0, j1):
        o = (brow[j] - lo) * inv
        crow[j + shift] = (1.0 - o) * crow[j + shift] + o * o


@njit(cache=True)
def _blend_whole(canvas, buf, spans, d, lo, hi, top, left):
    """Blend an unscrambled object rendered by _render (n = d) with its top-left at (top, left)."""
    side = canvas.shape[0]
    inv = 1.0 / (hi - lo) if hi > lo else 0.0
    for i in range(max(0, -top), min(d, side - top)):
        j0 = max(spans[i, 0], -left)
        j1 = min(spans[i, 1], side - left)
        _blend_run(canvas[top + i], buf[i], j0, j1, left, lo, inv)


@njit(cache=True)
def _blend_cells(canvas, buf, spans, d, perm, lo, hi, top, left):
    """Blend a scrambled object straight from its unscrambled rendering (n = 3 * (d // 3)):
    output cell k (side d // 3, row-major in the 3x3 grid) shows input cell perm[k]. The
    leftover edge rows and columns are zero, as is the minimum then, so they blend as no-ops."""
    side = canvas.shape[0]
    inv = 1.0 / (hi - lo) if hi > lo else 0.0
    cs = d // 3
    for k in range(9):
        p = perm[k]
        ro, co = (k // 3) * cs, (k % 3) * cs
        ri, ci = (p // 3) * cs, (p % 3) * cs
        shift = left + co - ci
        for i in range(max(0, -top - ro), min(cs, side - top - ro)):
            j0 = max(max(spans[ri + i, 0], ci), -shift)
            j1 = min(min(spans[ri + i, 1], ci + cs), side - shift)
            _blend_run(canvas[top + ro + i], buf[ri + i], j0, j1, shift, lo, inv)


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
def _render_object(src, box, scale, angle_deg, scrambled, buf, spans, pad):
    """Render one object for blending: returns (d, min, max) of the object as it will be
    blended (scrambled or not); buf/spans as _render leaves them."""
    _load_pad(src, pad)
    d, zoom, cosa, sina = _geometry(scale, angle_deg)
    if not scrambled:
        lo, hi = _render(pad, box, buf, spans, d, d, zoom, cosa, sina)
        return d, lo, hi
    # Only the 3x3 cells survive scrambling; the leftover edge rows/cols become zeros.
    n = 3 * (d // 3)
    lo, hi = _render(pad, box, buf, spans, d, n, zoom, cosa, sina)
    if n < d:
        lo = min(lo, 0.0)
        hi = max(hi, 0.0)
    return d, lo, hi


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
    """Draw one object (unnormalised, dense) into obj[:d, :d]; returns (d, min, max).

    The scene kernel blends straight from _render's output; this dense form is for tests
    and analyses. ``src`` is the uint8 [28, 28] source, ``box`` its nonzero box
    (source_boxes); ``pad`` (float64 [PAD * PAD]) and ``tmp`` (like obj) are scratch space.
    """
    spans = np.empty((obj.shape[0], 2), np.int64)
    d, lo, hi = _render_object(src, box, scale, angle_deg, scrambled, tmp, spans, pad)
    obj[:d, :d] = 0.0
    if not scrambled:
        for i in range(d):
            obj[i, spans[i, 0]:spans[i, 1]] = tmp[i, spans[i, 0]:spans[i, 1]]
        return d, lo, hi
    cs = d // 3
    for k in range(9):
        p = perm[k]
        ro, co = (k // 3) * cs, (k % 3) * cs
        ri, ci = (p // 3) * cs, (p % 3) * cs
        for i in range(cs):
            j0 = max(spans[ri + i, 0], ci)
            j1 = min(spans[ri + i, 1], ci + cs)
            for j in range(j0, j1):
                obj[ro + i, co + j - ci] = tmp[ri + i, j]
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
def compose(src_images, boxes, target, present, domain, index, scale, rot, center, perm, canvas, pad, buf, spans,
            tbuf, tspans, image, target_only):
    """Render the drawn objects into image (uint8 [H, W]) and, if given, the target alone.

    buf/spans are scratch for the clutter objects, tbuf/tspans keep the target's rendering
    for the target-only image; canvas float64 [H, W] and pad (float64 [PAD * PAD]) are
    scratch too.
    """
    canvas[:, :] = 0.0
    t_lo = t_hi = 0.0
    for i in range(OBJECTS):
        if not present[i]:
            continue
        dom, idx = domain[i], index[i]
        top, left = center[i, 0], center[i, 1]
        if i == target:
            d, t_lo, t_hi = _render_object(src_images[dom, idx], boxes[dom, idx], scale[i], rot[i], False, tbuf,
                                           tspans, pad)
            _blend_whole(canvas, tbuf, tspans, d, t_lo, t_hi, top - d // 2, left - d // 2)
        else:
            d, lo, hi = _render_object(src_images[dom, idx], boxes[dom, idx], scale[i], rot[i], True, buf, spans,
                                       pad)
            _blend_cells(canvas, buf, spans, d, perm[i], lo, hi, top - d // 2, left - d // 2)
    to_uint8(canvas, image)
    if target_only.shape[0] > 0:
        canvas[:, :] = 0.0
        d = int(round(SRC * scale[target]))
        _blend_whole(canvas, tbuf, tspans, d, t_lo, t_hi, center[target, 0] - d // 2, center[target, 1] - d // 2)
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
    buf = np.zeros((max_side, max_side), np.float64)
    spans = np.zeros((max_side, 2), np.int64)
    tbuf = np.zeros((max_side, max_side), np.float64)
    tspans = np.zeros((max_side, 2), np.int64)
    none = np.zeros((0, 0), np.uint8)
    for n in range(seeds.shape[0]):
        state = new_state(seeds[n])
        t = draw_scene(state, ranges, n_clutter, small, large, scale_jitter, angle, angle_jitter,
                       present[n], domain[n], index[n], big[n], scale[n], positive[n], rot[n], center[n], perm[n])
        target_slot[n] = t
        compose(src_images, boxes, t, present[n], domain[n], index[n], scale[n], rot[n], center[n], perm[n],
                canvas, pad, buf, spans, tbuf, tspans, images[n, 0],
                target_only[n, 0] if target_only.shape[0] > 0 else none)
        labels[n] = domain[n, t] * 10 + src_labels[domain[n, t], index[n, t]]
