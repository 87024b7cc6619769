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
extra blur of resampling an already resampled image. Each pixel's source coordinate is
computed in float64 from its own (row, col).

Random draws, in this order from the sample's own stream (generators.rng): the target
slot; if fewer than 7 clutter objects, which clutter slots are kept; then for every
object 0..7 its domain, image, size class, scale jitter, sign, angle jitter, centre
jitter (row, col) and (clutter only) its permutation. Absent objects are drawn too, so
the stream layout does not depend on which objects are kept.
"""
import math

import numpy as np
from numba import njit

from ..noalias import njit_leaf
from ..intrinsics import prefetch
from ..rng import new_state, randbelow, uniform_range

# 1.2.0: source coordinates per pixel in float64 (1.1 stepped a 32.32 fixed-point value
# along each row); about one pixel in 50 million differs by one grey level.
VERSION = "1.2.0"
SIDE = 100
OBJECTS = 8
SRC = 28
CENTRE_JITTER = 2.5
# (row, col) of the quadrant centres; quadrant q = object index mod 4.
QUADRANTS = np.array([[25, 25], [75, 25], [25, 75], [75, 75]], dtype=np.int64)
N_PERMS = 362880  # 9!
_FACTORIALS = (40320, 5040, 720, 120, 24, 6, 2, 1, 1)  # 8! .. 0!
PAD = 32  # row stride of the padded source (28 pixels, then zeros): a power of two and whole words
BORDER = PAD * (SRC + 3)  # the zero-bordered source of _load_quad
QUAD = PAD * (SRC + 1)  # footprints of rows and cols 0..28


def object_side(scale):
    """Side of an object scaled by ``scale`` (Python's round, as scipy's zoom uses)."""
    return int(round(SRC * scale))


@njit_leaf
def decode_permutation(code, perm):
    """The ``code``-th permutation of 0..8 in lexicographic order (0 = identity) into perm."""
    pool = 0x876543210  # the values not yet placed, one per 4-bit nibble, in increasing order
    for k in range(9):
        q = code // _FACTORIALS[k]  # constant divisors once the loop is unrolled
        code -= q * _FACTORIALS[k]
        shift = 4 * q
        perm[k] = (pool >> shift) & 15
        pool = (pool & ((1 << shift) - 1)) | ((pool >> (shift + 4)) << shift)


@njit_leaf
def _load_quad(src_images, dom, idx, border, quad):
    """quad[r * PAD + c] = the bilinear footprint of source pixel (r, c), r, c in 0..28, as
    one uint32: pixels (r, c), (r, c + 1), (r + 1, c), (r + 1, c + 1) in bytes 0..3 (zero
    outside the 28x28 image), so that one gather fetches a sample's four neighbours.

    ``border`` (uint8, BORDER) receives the image with row stride PAD, copied as 32-bit
    words (28 = 7 words a row); columns 28..31 and the last three rows must hold zeros.
    """
    words = src_images[dom, idx].reshape(-1).view(np.uint32)
    border_words = border.view(np.uint32)
    for i in range(SRC):
        for w in range(SRC // 4):
            border_words[np.uintp(i * (PAD // 4) + w)] = words[np.uintp(i * (SRC // 4) + w)]
    # Columns c and c + 1 in separate loops: LLVM would otherwise fuse the two adjacent byte
    # loads into one 16-bit load and build vectors from those element by element.
    for k in range(np.uintp(QUAD)):
        quad[k] = np.uint32(border[k]) | (np.uint32(border[k + np.uintp(PAD)]) << 16)
    for k in range(np.uintp(QUAD)):
        quad[k] |= (np.uint32(border[k + np.uintp(1)]) | (np.uint32(border[k + np.uintp(PAD + 1)]) << 16)) << 8


@njit_leaf
def _render(quad, line, obj, d, n, cs, dest, zoom, cosa, sina):
    """Interpolate rows and cols 0..n-1 (n <= d) of an unscrambled object of side d and
    write them to obj (flat, row-major d x d).

    With cs > 0 the region is a 3x3 grid of cells of side cs (n = 3 cs) and the pixels of
    input cell p go to the cell whose top-left is (dest[p, 0], dest[p, 1]) (this is the
    scramble); with cs = 0 pixels stay where they are. Rows and columns >= n are not
    written.

    Output pixel (r, c) of the rotated canvas reads the zoomed canvas at
    centre + R (r - centre, c - centre) with R = [[cos, sin], [-sin, cos]] (scipy's rotate),
    and the zoomed canvas pixel z reads the source at z * (27 / (d - 1)) (scipy's zoom);
    points outside the zoomed canvas are zero (scipy's mode 'constant').

    Every row is evaluated whole, over a width rounded up to 8 into ``line`` (float64,
    >= d + 8): a fixed trip count per object keeps the vectorised loop free of
    data-dependent branches, which cost more than the extra pixels. Coordinates are
    clamped to the padded source, so the lanes past the edge read zeros.
    """
    cen = (d - 1) * 0.5
    last = d - 1.0
    width = (n + 7) & ~7
    edge = np.float64(SRC)
    for i in range(n):
        u = i - cen
        v = -cen
        zr0 = cen + cosa * u + sina * v
        zc0 = cen - sina * u + cosa * v
        for j in range(width):
            jf = np.float64(j)
            zr = zr0 + sina * jf
            zc = zc0 + cosa * jf
            y = min(max(zr * zoom, 0.0), edge)
            x = min(max(zc * zoom, 0.0), edge)
            iy = np.int64(y)
            ix = np.int64(x)
            fy = y - iy
            fx = x - ix
            q = quad[np.uintp(iy * PAD + ix)]
            top = (1.0 - fx) * np.float64(q & 255) + fx * np.float64((q >> 8) & 255)
            bot = (1.0 - fx) * np.float64((q >> 16) & 255) + fx * np.float64(q >> 24)
            value = (1.0 - fy) * top + fy * bot
            line[j] = value if (zr >= 0.0 and zr <= last and zc >= 0.0 and zc <= last) else 0.0
        # Unsigned indices: with signed ones numba's wraparound of negative indices makes
        # LLVM copy element by element (AVX-512 scatters) instead of as contiguous blocks.
        if cs == 0:
            base = np.uintp(i * d)
            for j in range(np.uintp(n)):
                obj[base + j] = line[j]
            continue
        band = i // cs
        within = i - band * cs
        for pc in range(3):
            p = band * 3 + pc
            base = np.uintp((dest[p, 0] + within) * d + dest[p, 1])
            c0 = np.uintp(pc * cs)
            for j in range(np.uintp(cs)):
                obj[base + j] = line[c0 + j]


@njit_leaf
def _blend(canvas, obj, d, lo, hi, top, left):
    """canvas = (1 - o) * canvas + o * o over the object's footprint (obj: flat d x d)
    placed at (top, left) and clipped to the canvas (flat SIDE x SIDE), o the object
    min-max normalised to [0, 1] (all zero if flat)."""
    inv = 1.0 / (hi - lo) if hi > lo else 0.0
    j0, j1 = max(0, -left), min(d, SIDE - left)
    for i in range(max(0, -top), min(d, SIDE - top)):
        c = np.uintp((top + i) * SIDE + left + j0)
        b = np.uintp(i * d + j0)
        for j in range(np.uintp(j1 - j0)):
            o = (obj[b + j] - lo) * inv
            canvas[c + j] = (1.0 - o) * canvas[c + j] + o * o


@njit(cache=True)
def _geometry(scale, angle_deg):
    """(d, zoom, cos, sin) of an object: side, source pixels per zoomed pixel, rotation."""
    d = int(round(SRC * scale))
    zoom = (SRC - 1.0) / (d - 1.0)
    a = math.radians(angle_deg)
    return d, zoom, math.cos(a), math.sin(a)


@njit_leaf
def _clear_edges(obj, d, n):
    """Zero the rows and columns n..d-1 of obj (flat d x d): the rest is written by _render."""
    for i in range(n):
        base = np.uintp(i * d + n)
        for j in range(np.uintp(d - n)):
            obj[base + j] = 0.0
    for k in range(np.uintp(n * d), np.uintp(d * d)):
        obj[k] = 0.0


@njit_leaf
def _render_object(src_images, dom, idx, scale, angle_deg, perm, scrambled, obj, dest, border, quad, line):
    """Render source image (dom, idx) as one object (unnormalised), scrambled by ``perm``
    or not, into the start of ``obj`` (flat float64, >= d * d); returns (d, min, max).

    dest (int64 [9, 2]), border, quad and line are scratch (see _load_quad, _render).
    """
    _load_quad(src_images, dom, idx, border, quad)
    d, zoom, cosa, sina = _geometry(scale, angle_deg)
    if not scrambled:
        _render(quad, line, obj, d, d, 0, dest, zoom, cosa, sina)
    else:
        # Output cell k shows input cell perm[k]; only the 3x3 cells survive, the leftover
        # edge rows/cols stay zero.
        cs = d // 3
        _clear_edges(obj, d, 3 * cs)
        for k in range(9):
            dest[perm[k], 0] = (k // 3) * cs
            dest[perm[k], 1] = (k % 3) * cs
        _render(quad, line, obj, d, 3 * cs, cs, dest, zoom, cosa, sina)
    lo, hi = _nonneg_min_max(obj[:d * d])
    return d, lo, hi


@njit(cache=True)
def _scratch(max_side):
    """The scratch arrays (dest, border, quad, line) of _render_object for objects of side
    up to max_side."""
    return (np.zeros((9, 2), np.int64), np.zeros(BORDER, np.uint8), np.zeros(QUAD, np.uint32),
            np.zeros(max_side + 8, np.float64))


@njit(cache=True)
def render_object(src, scale, angle_deg, perm, scrambled, obj):
    """Draw one object (unnormalised) from the uint8 [28, 28] source ``src`` into
    obj[:d, :d] (float64, square); returns (d, min, max)."""
    side = obj.shape[0]
    flat = np.empty(side * side, np.float64)
    dest, border, quad, line = _scratch(side)
    d, lo, hi = _render_object(np.ascontiguousarray(src).reshape((1, 1, SRC, SRC)), 0, 0, scale, angle_deg, perm,
                               scrambled, flat, dest, border, quad, line)
    obj[:d, :d] = flat[:d * d].reshape((d, d))
    return d, lo, hi


@njit_leaf
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
    return np.int64(lo).view(np.float64), np.int64(hi).view(np.float64)


@njit_leaf
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
def _prefetch_sources(flat_src, n_images, domain, index):
    """Start loading the (random, mostly uncached) source images of one scene."""
    for i in range(OBJECTS):
        first = (domain[i] * n_images + index[i]) * (SRC * SRC)
        for off in range(0, SRC * SRC, 64):
            prefetch(flat_src, first + off)
        prefetch(flat_src, first + SRC * SRC - 1)


@njit_leaf
def compose(src_images, target, present, domain, index, scale, rot, center, perm, canvas, obj, tobj, dest, border,
            quad, line, image, target_only):
    """Render the drawn objects into image (uint8 [H, W]) and, if given, the target alone.

    obj is scratch for the clutter objects, tobj keeps the target's rendering for the
    target-only image (flat float64, >= d * d each); canvas (float64 [H, W]) and dest,
    border, quad, line (see _render_object) are scratch too.
    """
    canvas[:, :] = 0.0
    flat_canvas = canvas.reshape(-1)
    t_d, t_lo, t_hi = 0, 0.0, 0.0
    for i in range(OBJECTS):
        if not present[i]:
            continue
        scrambled = i != target
        out = obj if scrambled else tobj
        d, lo, hi = _render_object(src_images, domain[i], index[i], scale[i], rot[i], perm[i], scrambled, out,
                                   dest, border, quad, line)
        _blend(flat_canvas, out, d, lo, hi, center[i, 0] - d // 2, center[i, 1] - d // 2)
        if not scrambled:
            t_d, t_lo, t_hi = d, lo, hi
    to_uint8(canvas, image)
    if target_only.shape[0] > 0:
        canvas[:, :] = 0.0
        _blend(flat_canvas, tobj, t_d, t_lo, t_hi, center[target, 0] - t_d // 2, center[target, 1] - t_d // 2)
        to_uint8(canvas, target_only)


@njit(cache=True, nogil=True)
def draw_into(seeds, ranges, n_clutter, small, large, scale_jitter, angle, angle_jitter, present, domain, index,
              big, scale, positive, rot, center, perm, target_slot):
    """Every scene's drawn values (per-object arrays [N, 8(, k)], target slots [N]) from ``seeds``."""
    for n in range(seeds.shape[0]):
        state = new_state(seeds[n])
        target_slot[n] = draw_scene(state, ranges, n_clutter, small, large, scale_jitter, angle, angle_jitter,
                                    present[n], domain[n], index[n], big[n], scale[n], positive[n], rot[n],
                                    center[n], perm[n])


@njit(cache=True, nogil=True)
def compose_into(src_images, src_labels, max_side, images, target_only, labels, present, domain, index, scale, rot,
                 center, perm, target_slot):
    """Render scenes whose values are drawn (or edited, for twins): images uint8 [N, 1, H, W],
    target_only uint8 [N, 1, H, W] or [0, ...] for none, labels int64 [N]."""
    canvas = np.zeros((SIDE, SIDE), np.float64)
    obj = np.zeros(max_side * max_side, np.float64)
    tobj = np.zeros(max_side * max_side, np.float64)
    dest, border, quad, line = _scratch(max_side)
    none = np.zeros((0, 0), np.uint8)
    # Rendering scene n starts the loads of scene n + 1's (random, mostly uncached) source
    # images, so that they arrive while scene n is drawn.
    flat_src = src_images.reshape(-1)
    for n in range(images.shape[0]):
        if n + 1 < images.shape[0]:
            _prefetch_sources(flat_src, src_images.shape[1], domain[n + 1], index[n + 1])
        t = target_slot[n]
        compose(src_images, t, present[n], domain[n], index[n], scale[n], rot[n], center[n], perm[n],
                canvas, obj, tobj, dest, border, quad, line, images[n, 0],
                target_only[n, 0] if target_only.shape[0] > 0 else none)
        labels[n] = domain[n, t] * 10 + src_labels[domain[n, t], index[n, t]]
