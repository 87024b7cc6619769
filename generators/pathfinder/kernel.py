"""PathFinder images: dashed contours, distractor snakes and two markers (numba kernels).

Geometry follows the published generator (see shared/specs/pathfinder.md): a contour is a
chain of straight dashes of ``paddle_length`` px and ``thickness`` px, consecutive dashes
separated by a gap of 2 x margin; each new dash turns by at most 90 deg / continuity with
density cos^2(turn x continuity). Unlike the reference, nothing here dilates whole images:

- Placement keeps dashes in a spatial hash of cells (``paddle_length`` + clearance wide) and
  tests a candidate dash against the few dashes of the 3x3 cells around it with exact
  segment-to-segment distances. Dashes of different snakes (and non-adjacent dashes of one
  snake) keep a centre-line clearance of thickness + margin, so their ink is >= margin apart.
- Every target end carries a protected disk (marker radius + a dash period) that no other
  snake may enter, so all four target ends look alike and none attracts distractors.
- Dashes and markers are rasterised analytically (box-filtered coverage of a rectangle and
  of a disk) at the canvas resolution, then area-resampled to the output side, which is a
  proper (monotone, alias-free) filter: the image is never below the target's own ink.

No marker shortcut: target A is grown from marker 0; a "ghost" contour is grown from
marker 0 by the same process (never drawn) and target B starts where the ghost ends. A
positive marks A's far end, a negative marks B's start: two points drawn from one law
given marker 0, and the picture without markers does not depend on the label at all;
the label only picks which of the two ends gets marker 1. The two candidates are then
kept alike: each must be clear of the other walk from marker 0 (B's start of A, A's far
end of the ghost), B only steers around marker 0 and both candidates are checked after
B is grown, and (``mirror``) a test contour must fit after A's far end as B fits after
its start. Each such asymmetry, left in, was measurable by the audit (pathfinder/audit.py).

On the 32 and 64 px canvases the ghost keeps a cue (B must start where a contour fits beside
A, A's far end need not); there the rhombus sampler (see its section below) places the four
ends on a rhombus and grows both contours as bridges between them.
"""
import math

import numpy as np
from numba import njit

from ..rng import new_state, randbelow, uniform

VERSION = "1.0.0"
# Bounded work per sample: full restarts (regrow both targets) before giving up.
MAX_ATTEMPTS = 20000
# A length passes validation only if probe samples need at most this many restarts on
# average; restarts are about geometric, so a sample then fails MAX_ATTEMPTS with odds
# below e^-40.
PROBE_MEAN_RESTARTS = 500
PROBE_SAMPLES = 16
FIRST_TRIES = 16     # directions tried for a snake's first dash
TURN_TRIES = 12      # turns tried for each further dash
# Ghost contours (start points of target B) tried per target A. One: when the ghost or B
# fails, the whole pair restarts; re-drawing B's start alone kept it away from places
# where A's far end is common (near the border), a marker-position cue (measured: 54.8%).
B_STARTS = 1
DISTRACTOR_TRIES = 6  # start points tried per distractor (failures are skipped, as in the reference)
DISTRACTOR_FIRST = 4  # directions tried at a distractor's start: a blocked start is better redrawn
TARGET_TRIES = 4     # growths of a target from one start point (makes success depend little on
                     # where the start is, which would otherwise bias marker positions)
LOOKAHEAD = 2.0     # periods of free canvas wanted ahead of a new dash
CELL_CAP = 24
MASK_THRESHOLD = 0.25  # on the target's geometric coverage at output resolution

OWNER_A = 0
OWNER_B = 1
SAMPLER_GHOST = 0    # the layout samplers (see ``layout``)
SAMPLER_MIRROR = 1
SAMPLER_RHOMBUS = 2

# The placement code (geometry, growth, layout) takes the scene as a dozen arrays; numba's
# reference counting would increment and decrement every array argument at every call,
# atomically: ~20 such calls per fit test, more than the test itself. These functions
# allocate nothing, so they are compiled without the runtime's reference counting
# (``_nrt=False``), which changes no arithmetic, only drops that overhead (~2.5x).
_hot = njit(cache=True, _nrt=False)
# The per-candidate helpers take a dozen arrays, each passed as its whole descriptor; LLVM
# leaves such calls in place, so numba inlines them itself (measured: 1.1-1.15x at length
# 14, ``perf/pathfinder_lra.py --repeat``). Only these: inlining four more array-taking
# helpers gained nothing measurable and took the cold compile from 57 to 68 s.
_inline = njit(cache=True, _nrt=False, inline="always")


# ---------------------------------------------------------------- geometry helpers

@_hot
def _pt_seg(py, px, ay, ax, by, bx):
    """Distance from point p to segment ab."""
    vy = by - ay
    vx = bx - ax
    wy = py - ay
    wx = px - ax
    vv = vy * vy + vx * vx
    t = 0.0
    if vv > 0.0:
        t = (wy * vy + wx * vx) / vv
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
    dy = wy - t * vy
    dx = wx - t * vx
    return math.sqrt(dy * dy + dx * dx)


@_hot
def _cross(ay, ax, by, bx, cy, cx):
    return (by - ay) * (cx - ax) - (bx - ax) * (cy - ay)


@_hot
def _seg_seg(ay, ax, by, bx, cy, cx, dy, dx):
    """Distance between segments ab and cd (0 when they cross)."""
    d1 = _cross(ay, ax, by, bx, cy, cx)
    d2 = _cross(ay, ax, by, bx, dy, dx)
    d3 = _cross(cy, cx, dy, dx, ay, ax)
    d4 = _cross(cy, cx, dy, dx, by, bx)
    if ((d1 > 0 and d2 < 0) or (d1 < 0 and d2 > 0)) and ((d3 > 0 and d4 < 0) or (d3 < 0 and d4 > 0)):
        return 0.0
    best = _pt_seg(ay, ax, cy, cx, dy, dx)
    best = min(best, _pt_seg(by, bx, cy, cx, dy, dx))
    best = min(best, _pt_seg(cy, cx, ay, ax, by, bx))
    return min(best, _pt_seg(dy, dx, ay, ax, by, bx))


def _turn_table(n=4096):
    """Inverse CDF of the density cos^2(x) on [-pi/2, pi/2], at n+1 evenly spaced levels.

    A table lookup replaces rejection sampling (numba compiles a loop around math.cos
    and the RNG into code ~20x slower than the lookup).
    """
    x = np.linspace(-0.5 * np.pi, 0.5 * np.pi, 1 << 18)
    cdf = (x + 0.5 * np.pi + 0.5 * np.sin(2.0 * x)) / np.pi
    return np.interp(np.linspace(0.0, 1.0, n + 1), cdf, x)


_TURNS = _turn_table()


@_hot
def _turn(state, continuity):
    """A turn with density cos^2(turn x continuity), |turn| <= 90 deg / continuity."""
    n = _TURNS.shape[0] - 1
    u = uniform(state) * n
    k = int(u)
    return (_TURNS[k] + (u - k) * (_TURNS[k + 1] - _TURNS[k])) / continuity


# ---------------------------------------------------------------- scene (dashes + hash)

# The scene lives in scratch arrays passed one by one (numba has no cheap structs):
# dashes [max_d]: dcy, dcx (centre), duy, dux (unit direction), down (snake: 0 = A, 1 = B,
# 2.. distractors), drank (index of the dash in its snake); spatial hash: counts [g*g] and
# items [g*g, CELL_CAP] of dash ids, cells ``cell`` px wide; zones [4]: zy, zx (a target
# end), zowner, zdash (the end's own dash, exempt from its zone).


@_inline
def _add_dash(d, cy, cx, uy, ux, owner, rank, dcy, dcx, duy, dux, down, drank, counts, items, cell, g):
    dcy[d] = cy
    dcx[d] = cx
    duy[d] = uy
    dux[d] = ux
    down[d] = owner
    drank[d] = rank
    k = int(cy / cell) * g + int(cx / cell)
    if counts[k] >= CELL_CAP:
        return False
    items[k, counts[k]] = d
    counts[k] += 1
    return True


@_hot
def _pop_dashes(n_dash, keep, dcy, dcx, counts, cell, g):
    """Remove dashes keep..n_dash-1 (newest first, so each is the last item of its cell)."""
    for d in range(n_dash - 1, keep - 1, -1):
        k = int(dcy[d] / cell) * g + int(dcx[d] / cell)
        counts[k] -= 1
    return keep


@_inline
def _fits(cy, cx, uy, ux, owner, rank, half, clear, lo, hi,
          n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
          zy, zx, zowner, zdash, n_zone, r_other, r_own, n_placed):
    """Whether a candidate dash keeps to the canvas, the clearances and the end zones."""
    y0 = cy - half * uy
    x0 = cx - half * ux
    y1 = cy + half * uy
    x1 = cx + half * ux
    if min(y0, y1) < lo or max(y0, y1) > hi or min(x0, x1) < lo or max(x0, x1) > hi:
        return False
    reach = 2.0 * half + clear
    gy = int(cy / cell)
    gx = int(cx / cell)
    for yy in range(max(gy - 1, 0), min(gy + 2, g)):
        for xx in range(max(gx - 1, 0), min(gx + 2, g)):
            k = yy * g + xx
            for m in range(counts[k]):
                j = items[k, m]
                if down[j] == owner and drank[j] >= rank - 1:
                    continue  # its own predecessor: the gap keeps them apart
                ey = dcy[j] - cy
                ex = dcx[j] - cx
                if ey * ey + ex * ex >= reach * reach:
                    continue
                if _seg_seg(y0, x0, y1, x1, dcy[j] - half * duy[j], dcx[j] - half * dux[j],
                            dcy[j] + half * duy[j], dcx[j] + half * dux[j]) < clear:
                    return False
    for z in range(n_zone):
        if zowner[z] == owner:
            if zdash[z] == n_placed:
                continue
            r = r_own
        else:
            r = r_other
        ey = zy[z] - cy
        ex = zx[z] - cx
        if ey * ey + ex * ex >= (r + half) * (r + half):
            continue  # too far for any point of the dash to be inside
        if _pt_seg(zy[z], zx[z], y0, x0, y1, x1) < r:
            return False
    return True


@_hot
def _point_clear(py, px, r, owner, same, skip, half, n_dash, dcy, dcx, duy, dux, down, counts, items, cell, g):
    """No dash of the chosen owners within r of p: same=True checks only ``owner``'s dashes
    (except dash ``skip``), same=False only the other owners' dashes."""
    span = int((r + half) / cell) + 1
    gy = int(py / cell)
    gx = int(px / cell)
    for yy in range(max(gy - span, 0), min(gy + span + 1, g)):
        for xx in range(max(gx - span, 0), min(gx + span + 1, g)):
            k = yy * g + xx
            for m in range(counts[k]):
                j = items[k, m]
                if (down[j] == owner) != same or j == skip:
                    continue
                if _pt_seg(py, px, dcy[j] - half * duy[j], dcx[j] - half * dux[j],
                           dcy[j] + half * duy[j], dcx[j] + half * dux[j]) < r:
                    return False
    return True


@_hot
def _back_up(n_dash, first, rank, backups, dcy, dcx, counts, cell, g):
    """After a dead end: remove the last two dashes (a bounded number of times), or all of
    the contour's (from ``first``) when no back-up is left or too few dashes are placed.
    Returns (dash count, or -1 for giving up; rank; back-ups left)."""
    if backups == 0 or rank < 3:
        _pop_dashes(n_dash, first, dcy, dcx, counts, cell, g)
        return -1, rank, backups
    return _pop_dashes(n_dash, n_dash - 2, dcy, dcx, counts, cell, g), rank - 2, backups - 1


@_inline
def _turned_dash(state, p, half, gap, continuity, dcy, dcx, duy, dux):
    """A candidate dash after dash p: a turn drawn from the law, the gap along the bisector
    of the two directions (so turns stay smooth). Returns (ok, centre y, x, direction y, x);
    not ok for a half turn (no bisector)."""
    th = _turn(state, continuity)
    c = math.cos(th)
    s = math.sin(th)
    uy = duy[p] * c + dux[p] * s
    ux = dux[p] * c - duy[p] * s
    wy = duy[p] + uy
    wx = dux[p] + ux
    wn = math.sqrt(wy * wy + wx * wx)
    if wn < 1e-9:
        return False, 0.0, 0.0, uy, ux
    cy = dcy[p] + half * duy[p] + gap * wy / wn + half * uy
    cx = dcx[p] + half * dux[p] + gap * wx / wn + half * ux
    return True, cy, cx, uy, ux


@_hot
def _grow(state, owner, sy, sx, length, half, gap, clear, lo, hi, continuity, look, first_tries,
          n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
          zy, zx, zowner, zdash, n_zone, r_other, r_own):
    """Grow a snake of ``length`` dashes whose first dash starts at (sy, sx).

    Returns the new dash count, or -1 (nothing added) when it could not be completed.
    A dead end backs up two dashes, a bounded number of times. ``look``: steer away from
    the canvas edge (targets, which must reach their full length).

    Each dash takes the first drawn candidate that fits and leaves room ahead ("roomy"),
    else the first that fits. Once a fallback is held, a candidate that is not roomy can
    change nothing, so its fit test (the costly part) is skipped: the draws and the choice
    are those of testing every candidate, about half the fit tests fewer on small canvases.

    The first dash and the turns repeat their fit-and-fallback lines on purpose: one loop
    for both (a rank-0 branch per candidate) measured 3-5% slower on lra128 length 14, and a
    shared candidate helper 13-36% slower (``perf/pathfinder_lra.py --repeat``).
    """
    first = n_dash
    spare = False
    fy = 0.0
    fx = 0.0
    fu = 0.0
    fv = 0.0
    ahead = LOOKAHEAD * (2.0 * half + gap)
    for _ in range(first_tries):
        a = 2.0 * math.pi * uniform(state)
        uy = math.sin(a)
        ux = math.cos(a)
        cy = sy + half * uy
        cx = sx + half * ux
        roomy = (lo <= cy + ahead * uy <= hi and lo <= cx + ahead * ux <= hi) or not look
        if spare and not roomy:
            continue  # could not replace the fallback: no fit test
        if not _fits(cy, cx, uy, ux, owner, 0, half, clear, lo, hi, n_dash, dcy, dcx, duy, dux, down, drank,
                     counts, items, cell, g, zy, zx, zowner, zdash, n_zone, r_other, r_own, n_dash):
            continue
        spare = True
        fy = cy
        fx = cx
        fu = uy
        fv = ux
        if roomy:
            break
    if not spare or not _add_dash(n_dash, fy, fx, fu, fv, owner, 0, dcy, dcx, duy, dux, down, drank,
                                  counts, items, cell, g):
        return -1
    n_dash += 1
    backups = length // 2
    rank = 1
    while rank < length:
        p = n_dash - 1
        # Among the turns that fit, prefer one that leaves room ahead (the reference weighs
        # candidates by free space); the first fitting turn is the fallback. The last dash
        # takes the first turn that fits.
        last = rank == length - 1
        spare = False
        for _ in range(TURN_TRIES):
            ok, cy, cx, uy, ux = _turned_dash(state, p, half, gap, continuity, dcy, dcx, duy, dux)
            if not ok:
                continue
            ay = cy + ahead * uy
            ax = cx + ahead * ux
            roomy = (lo <= ay <= hi and lo <= ax <= hi) or not look
            if spare and not roomy:
                continue  # could not replace the fallback: no fit test
            if not _fits(cy, cx, uy, ux, owner, rank, half, clear, lo, hi, n_dash, dcy, dcx, duy, dux, down,
                         drank, counts, items, cell, g, zy, zx, zowner, zdash, n_zone, r_other, r_own, n_dash):
                continue
            spare = True
            fy = cy
            fx = cx
            fu = uy
            fv = ux
            if roomy or last:
                break
        if spare and _add_dash(n_dash, fy, fx, fu, fv, owner, rank, dcy, dcx, duy, dux, down, drank,
                               counts, items, cell, g):
            n_dash += 1
            rank += 1
        else:
            n_dash, rank, backups = _back_up(n_dash, first, rank, backups, dcy, dcx, counts, cell, g)
            if n_dash < 0:
                return -1
    return n_dash


@_hot
def _end_point(d, half, dcy, dcx, duy, dux, sign):
    """The outer end of dash d: sign -1 = its start, +1 = its end."""
    return dcy[d] + sign * half * duy[d], dcx[d] + sign * half * dux[d]


@_hot
def _target(state, owner, sy, sx, length, half, gap, clear, lo, hi, lo_m, hi_m, continuity,
            n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
            zy, zx, zowner, zdash, n_zone, r_other, r_own, need_own, need_other):
    """Grow a target contour from (sy, sx) and accept its far end only if a marker fits
    there: inside the marker bounds, >= need_own from its own start and >= need_other from
    the other zone centres (target ends), no other snake's ink
    within r_other and none of its own (but the end dash) within r_own.

    Several growths are tried from the start point, so that whether a start is accepted
    depends little on where it is (B's start would otherwise shy away from the border).
    Returns the new dash count, or -1 with nothing added.
    """
    nb = -1
    for _ in range(TARGET_TRIES):
        nb = _grow(state, owner, sy, sx, length, half, gap, clear, lo, hi, continuity, True, FIRST_TRIES,
                   n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                   zy, zx, zowner, zdash, n_zone, r_other, r_own)
        if nb >= 0:
            break
    if nb < 0:
        return -1
    fy, fx = _end_point(nb - 1, half, dcy, dcx, duy, dux, 1.0)
    ok = lo_m <= fy <= hi_m and lo_m <= fx <= hi_m
    for q in range(n_zone):
        need = need_own if zowner[q] == owner else need_other
        if ok and (fy - zy[q]) ** 2 + (fx - zx[q]) ** 2 < need * need:
            ok = False
    ok = ok and _point_clear(fy, fx, r_other, owner, False, -1, half, nb, dcy, dcx, duy, dux, down,
                             counts, items, cell, g)
    ok = ok and _point_clear(fy, fx, r_own, owner, True, nb - 1, half, nb, dcy, dcx, duy, dux, down,
                             counts, items, cell, g)
    if not ok:
        _pop_dashes(nb, n_dash, dcy, dcx, counts, cell, g)
        return -1
    return nb


@_hot
def _ghost_pair(state, length, half, gap, clear, lo, hi, lo_m, hi_m, continuity, mirror,
                dcy, dcx, duy, dux, down, drank, counts, items, gcounts, gitems, cell, g,
                zy, zx, zowner, zdash, r_other, r_own, need_own, need_other):
    """Place targets A and B by the ghost sampler (see the module's docstring); returns the
    dash count or -1. The zones end as [A's start, A's far end, B's start, B's far end].

    B starts where a "ghost" contour, grown from marker 0 by the very process that grew A
    (in an empty scene of its own, never drawn), ends. So A's far end (the positive's
    marker 1) and B's start (the negative's) are drawn from one distribution given marker
    0: same distance, same place on the canvas."""
    # target A, from a random start; its start zone is guarded while it grows
    ay = lo_m + (hi_m - lo_m) * uniform(state)
    ax = lo_m + (hi_m - lo_m) * uniform(state)
    zy[0] = ay
    zx[0] = ax
    zowner[0] = OWNER_A
    zdash[0] = 0
    n_dash = _target(state, OWNER_A, ay, ax, length, half, gap, clear, lo, hi, lo_m, hi_m, continuity,
                     0, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                     zy, zx, zowner, zdash, 1, r_other, r_own, need_own, need_other)
    if n_dash < 0:
        return -1
    zy[1], zx[1] = _end_point(n_dash - 1, half, dcy, dcx, duy, dux, 1.0)
    zowner[1] = OWNER_A
    zdash[1] = n_dash - 1
    done = False
    for _ in range(B_STARTS):
        # the ghost: A's process again from marker 0, alone in its own hash
        gcounts[:] = 0
        zdash[0] = n_dash
        ng = _target(state, OWNER_A, ay, ax, length, half, gap, clear, lo, hi, lo_m, hi_m, continuity,
                     n_dash, dcy, dcx, duy, dux, down, drank, gcounts, gitems, cell, g,
                     zy, zx, zowner, zdash, 1, r_other, r_own, need_own, need_other)
        zdash[0] = 0
        if ng < 0:
            continue
        by, bx = _end_point(ng - 1, half, dcy, dcx, duy, dux, 1.0)
        if (by - zy[1]) ** 2 + (bx - zx[1]) ** 2 < need_other * need_other:
            continue
        if not _point_clear(by, bx, r_other, OWNER_B, False, -1, half, n_dash, dcy, dcx, duy, dux, down,
                            counts, items, cell, g):
            continue
        # the mirror filter: A's far end as clear of the ghost as B's start is of A (both
        # walks leave marker 0, so either filter alone would push its candidate outwards)
        if not _point_clear(zy[1], zx[1], r_other, OWNER_B, False, -1, half, ng, dcy, dcx, duy, dux, down,
                            gcounts, gitems, cell, g):
            continue
        # The mirror of growing B from B's start next to A: a test contour must also
        # grow from A's far end next to the ghost (then removed), so that being a place
        # a contour can start from does not set the negative's candidate apart. Costly
        # on small canvases, hence optional (``mirror``).
        nt = ng
        if mirror:
            nt = _target(state, OWNER_B, zy[1], zx[1], length, half, gap, clear, lo, hi, lo_m, hi_m, continuity,
                         ng, dcy, dcx, duy, dux, down, drank, gcounts, gitems, cell, g,
                         zy, zx, zowner, zdash, 1, r_other, r_own, need_own, need_other)
        if nt < 0:
            continue
        ty, tx = _end_point(nt - 1, half, dcy, dcx, duy, dux, 1.0)
        if mirror and ((ty - by) ** 2 + (tx - bx) ** 2 < need_other * need_other
                or (ty - zy[1]) ** 2 + (tx - zx[1]) ** 2 < need_own * need_own
                or not _point_clear(by, bx, r_other, OWNER_A, False, -1, half, nt, dcy, dcx, duy, dux,
                                    down, gcounts, gitems, cell, g)
                or not _point_clear(zy[1], zx[1], r_own, OWNER_B, True, ng, half, nt, dcy, dcx, duy, dux,
                                    down, gcounts, gitems, cell, g)):
            continue
        # B steers around marker 0 only. Its own start and A's far end (the two marker-1
        # candidates) are checked once B is grown, as A's far end was checked against A
        # and B's start against A: both candidates are kept clear by the same filters,
        # so neither attracts nor repels ink differently.
        nb = _target(state, OWNER_B, by, bx, length, half, gap, clear, lo, hi, lo_m, hi_m, continuity,
                     n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                     zy, zx, zowner, zdash, 1, r_other, r_own, need_own, need_other)
        if nb < 0:
            continue
        fy, fx = _end_point(nb - 1, half, dcy, dcx, duy, dux, 1.0)
        if ((fy - zy[1]) ** 2 + (fx - zx[1]) ** 2 < need_other * need_other
                or (fy - by) ** 2 + (fx - bx) ** 2 < need_own * need_own
                or not _point_clear(zy[1], zx[1], r_other, OWNER_A, False, -1, half, nb, dcy, dcx, duy, dux,
                                    down, counts, items, cell, g)
                or not _point_clear(by, bx, r_own, OWNER_B, True, n_dash, half, nb, dcy, dcx, duy, dux,
                                    down, counts, items, cell, g)):
            _pop_dashes(nb, n_dash, dcy, dcx, counts, cell, g)
            continue
        zy[2] = by
        zx[2] = bx
        zowner[2] = OWNER_B
        zdash[2] = n_dash
        zy[3], zx[3] = _end_point(nb - 1, half, dcy, dcx, duy, dux, 1.0)
        zowner[3] = OWNER_B
        zdash[3] = nb - 1
        n_dash = nb
        done = True
        break
    if not done:
        return -1
    return n_dash


# ---------------------------------------------------------------- the rhombus sampler
# The four target ends lie on a rhombus: C1 runs from a to a + v, C2 from a + w to
# a + w + v, |v| = |w|. The half turn about its centre maps a <-> a + w + v and
# a + v <-> a + w and swaps C1 and C2, so a coin choosing (marker 0, positive's marker 1,
# negative's marker 1) = (a, a + v, a + w) or (a + w + v, a + w, a + v) gives the positive
# and the negative the same two marker-1 candidates with the same odds in every scene,
# whatever the contours look like; the marker distance is |v| for both labels. The two
# sides' directions share one law, so the marker vectors (positive: +-v, negative: +-w) do
# too. Contours are grown as bridges: the contour process conditioned on ending at a given
# point (each dash drawn among the process's own candidates with odds from a table of the
# free process's end-point density, an h-transform; the last two dashes solved exactly).

BRIDGE_RES = 8      # cells of the bridge table per dash period
BRIDGE_TURNS = 48   # equal-mass turns of its quadrature


@njit(cache=True)
def bridge_table(length, half, gap, continuity):
    """h[m, i, j]: relative odds that m more dashes of the contour process (free of
    obstacles) end at cell (i, j) of the frame of the dash just placed, whose end is the
    centre cell and whose direction runs along i; BRIDGE_RES cells per dash period, each
    level scaled to a peak of 1. Built backwards, h[m](p) = mean over turns of h[m - 1] at
    p seen from the next dash (an exact h-transform of the turn law, up to the grid), from
    the last dash's ends spread over about a cell."""
    step = 2.0 * half + gap
    res = BRIDGE_RES
    c = max(length - 1, 1) * res + 3
    side = 2 * c + 1
    h = np.zeros((length + 1, side, side), np.float32)
    n = _TURNS.shape[0] - 1
    co = np.empty(BRIDGE_TURNS)
    si = np.empty(BRIDGE_TURNS)
    da = np.empty(BRIDGE_TURNS)
    dc = np.empty(BRIDGE_TURNS)
    for q in range(BRIDGE_TURNS):
        u = (q + 0.5) / BRIDGE_TURNS * n
        k = int(u)
        th = (_TURNS[k] + (u - k) * (_TURNS[k + 1] - _TURNS[k])) / continuity
        co[q] = math.cos(th)
        si[q] = math.sin(th)
        da[q] = (gap * math.cos(0.5 * th) + 2.0 * half * co[q]) / step * res
        dc[q] = (gap * math.sin(0.5 * th) + 2.0 * half * si[q]) / step * res
    for q in range(BRIDGE_TURNS):
        for i in range(int(c + da[q]) - 3, int(c + da[q]) + 5):
            for j in range(int(c + dc[q]) - 3, int(c + dc[q]) + 5):
                r2 = (i - c - da[q]) ** 2 + (j - c - dc[q]) ** 2
                h[1, i, j] += math.exp(-0.5 * r2)
    _peak_one(h[1])
    for m in range(2, length + 1):
        reach = m * res + 3.0
        for i in range(side):
            for j in range(side):
                pa = i - c
                pc = j - c
                if pa * pa + pc * pc > reach * reach:
                    continue
                acc = 0.0
                for q in range(BRIDGE_TURNS):
                    ra = pa - da[q]
                    rc = pc - dc[q]
                    acc += _bilinear(h, m - 1, c + ra * co[q] + rc * si[q], c - ra * si[q] + rc * co[q])
                h[m, i, j] = acc
        _peak_one(h[m])
    return h


SPANS = 1024  # chord lengths of whole contours kept in level 0 of a bridge table


@_hot
def _bounds(canvas, pad, thick, margin, gap, radius, seed_distance):
    """The placement's distances: (clearance between dashes, canvas bounds of dash ends,
    marker bounds, radius of a contour's own end zone, radius of another's, least distance
    between ends of different contours). Marker 0 to a marker-1 candidate on its own
    contour only has to keep the markers apart (``r_other``, so short contours stay
    possible); ends of different contours keep the reference's seed distance."""
    lo = pad + 0.5 * thick + 0.5
    lo_m = pad + radius + 0.5
    r_own = radius + 0.5 * thick + margin
    r_other = r_own + gap
    return thick + margin, lo, canvas - lo, lo_m, canvas - lo_m, r_own, r_other, max(seed_distance, r_other)


@njit(cache=True)
def fill_spans(h, seed, length, canvas, pad, plen, thick, margin, continuity, radius, seed_distance):
    """Store in level 0 of table h (unused by bridges, whose last two dashes are solved)
    the sorted chord lengths of SPANS contours grown by the target process from uniform
    starts in an empty canvas: the law the rhombus sampler draws its side length from."""
    state = new_state(seed)
    half = 0.5 * plen
    gap = 2.0 * margin
    (dcy, dcx, duy, dux, down, drank, zy, zx, zowner, zdash, ends,
     counts, items, gcounts, gitems) = _layout_scratch(length, canvas, plen, thick, np.array([margin]), 1, 0)
    cell = plen + thick + margin
    g = int(canvas / cell) + 2
    clear, lo, hi, lo_m, hi_m, r_own, r_other, need_other = _bounds(canvas, pad, thick, margin, gap, radius,
                                                                    seed_distance)
    spans = np.empty(SPANS)
    k = 0
    for _ in range(1000 * SPANS):
        if k == SPANS:
            break
        counts[:] = 0
        zy[0] = lo_m + (hi_m - lo_m) * uniform(state)
        zx[0] = lo_m + (hi_m - lo_m) * uniform(state)
        zowner[0] = OWNER_A
        zdash[0] = 0
        n = _target(state, OWNER_A, zy[0], zx[0], length, half, gap, clear, lo, hi, lo_m, hi_m, continuity,
                    0, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                    zy, zx, zowner, zdash, 1, r_other, r_own, r_other, need_other)
        if n >= 0:
            ey, ex = _end_point(n - 1, half, dcy, dcx, duy, dux, 1.0)
            spans[k] = math.sqrt((ey - zy[0]) ** 2 + (ex - zx[0]) ** 2)
            k += 1
    flat = h[0].reshape(-1)
    flat[:] = 0.0
    if k > 0:
        for j in range(k, SPANS):
            spans[j] = spans[j % k]  # too few grew: the law of those that did
        flat[:SPANS] = np.sort(spans)
    return k


@_hot
def _span(state, hm):
    """A chord length from level 0 of a bridge table (``fill_spans``), interpolated between
    neighbouring sorted values so that the law is continuous."""
    side = hm.shape[2]
    u = uniform(state) * (SPANS - 1)
    k = int(u)
    a = hm[0, k // side, k % side]
    b = hm[0, (k + 1) // side, (k + 1) % side]
    return a + (u - k) * (b - a)


@njit(cache=True)
def _peak_one(a):
    top = a.max()
    if top > 0.0:
        a /= top


@_hot
def _bilinear(a, m, y, x):
    """a[m] at fractional index (y, x); 0 outside (indexed in place: the placement code
    runs without the runtime that array views need)."""
    if y < 0.0 or x < 0.0 or y >= a.shape[1] - 1 or x >= a.shape[2] - 1:
        return 0.0
    i = int(y)
    j = int(x)
    fy = y - i
    fx = x - j
    return ((1.0 - fy) * ((1.0 - fx) * a[m, i, j] + fx * a[m, i, j + 1])
            + fy * ((1.0 - fx) * a[m, i + 1, j] + fx * a[m, i + 1, j + 1]))


@_hot
def _race(state, odds):
    """An exponential clock of rate ``odds``: the candidate whose clock rings first is drawn
    in proportion to its odds (as Gumbel-max, with one logarithm)."""
    return -math.log(1.0 - uniform(state)) / odds


@_hot
def _pair_end(ey, ex, ang, th, half, gap):
    """End point of the dash after a dash ending at (ey, ex) with angle ``ang``, turned by th."""
    b = ang + 0.5 * th
    n = ang + th
    return ey + gap * math.sin(b) + 2.0 * half * math.sin(n), ex + gap * math.cos(b) + 2.0 * half * math.cos(n)


@_hot
def _wrap(a):
    """Angle a in [-pi, pi)."""
    while a >= math.pi:
        a -= 2.0 * math.pi
    while a < -math.pi:
        a += 2.0 * math.pi
    return a


@_hot
def _closing_cos(wy, wx, half, gap):
    """cos(turn 2 / 2) of the last dash (after its gap) that covers the vector w."""
    return (wy * wy + wx * wx - gap * gap - 4.0 * half * half) / (4.0 * gap * half)


@_hot
def _closing_misses(ey, ex, ang, th1, ty, tx, half, gap, cmin):
    """For a first closing turn th1: the angles by which the second dash misses t when it
    is turned left or right so that it ends at distance |t - e1| (nan if no turn within
    the limit reaches)."""
    py, px = _pair_end(ey, ex, ang, th1, half, gap)
    return _misses_at(py, px, ang, th1, ty, tx, half, gap, cmin)


@_hot
def _misses_at(py, px, a0, th1, ty, tx, half, gap, cmin):
    """``_closing_misses`` from the end (py, px) of the first closing dash, of angle
    a0 + th1. With c = cos(turn 2 / 2), the second dash's vector follows from c alone, so
    turn 2 needs no trigonometry."""
    wy = ty - py
    wx = tx - px
    c = _closing_cos(wy, wx, half, gap)
    if c > 1.0 or c < cmin:
        return math.nan, math.nan
    s = math.sqrt(1.0 - c * c)
    psi = math.atan2(gap * s + 4.0 * half * s * c, gap * c + 2.0 * half * (2.0 * c * c - 1.0))
    base = math.atan2(wy, wx) - a0 - th1
    return _wrap(base - psi), _wrap(base + psi)


@_hot
def _closing_miss(ey, ex, ang, th1, ty, tx, half, gap, cmin, sign):
    """The miss of ``_closing_misses`` on the side ``sign`` (+1 left, -1 right)."""
    left, right = _closing_misses(ey, ex, ang, th1, ty, tx, half, gap, cmin)
    return left if sign > 0.0 else right


@_hot
def _second_turn(ey, ex, ang, th1, ty, tx, half, gap, sign):
    """The second closing turn after th1 (its side given by ``sign``)."""
    py, px = _pair_end(ey, ex, ang, th1, half, gap)
    c = _closing_cos(ty - py, tx - px, half, gap)
    return sign * 2.0 * math.acos(min(max(c, -1.0), 1.0))


BRIDGE_TRIES = 16   # candidate turns per dash of a bridge (chosen among by their odds)
BRIDGE_ROUNDS = 2   # rounds of candidates for a dash where none of a round fitted
CLOSE_GRID = 48     # first closing turns scanned for a sign change of the miss
CLOSE_STEPS = 40    # at most this many false-position steps per root


@_hot
def _closing_root(ey, ex, ang, a, fa, b, fb, ty, tx, half, gap, cmin, sign):
    """The first closing turn in [a, b] (the miss changes sign there): false position with
    the Illinois step, which converges superlinearly."""
    x = a
    side = 0
    for _ in range(CLOSE_STEPS):
        x = (a * fb - b * fa) / (fb - fa)
        fx = _closing_miss(ey, ex, ang, x, ty, tx, half, gap, cmin, sign)
        if math.isnan(fx) or abs(fx) < 1e-13 or b - a < 1e-13:
            break
        if (fx > 0.0) == (fb > 0.0):
            b = x
            fb = fx
            if side == -1:
                fa *= 0.5
            side = -1
        else:
            a = x
            fa = fx
            if side == 1:
                fb *= 0.5
            side = 1
    return x


@_hot
def _closing_turns(state, owner, rank, ty, tx, half, gap, clear, lo, hi, continuity,
                   n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                   zy, zx, zowner, zdash, n_zone, r_other, r_own, first_only):
    """The two turns after dash n_dash - 1 whose dashes end exactly at t: among the exact
    solutions within the turn limit whose dashes fit, one drawn with odds proportional to
    the turns' density (``first_only``: the first found, to learn whether one exists).
    Returns (found, turn 1, turn 2)."""
    p = n_dash - 1
    ey, ex = _end_point(p, half, dcy, dcx, duy, dux, 1.0)
    ang = math.atan2(duy[p], dux[p])
    lim = 0.5 * math.pi / continuity
    cmin = math.cos(0.5 * lim)
    best = math.inf
    b1 = 0.0
    b2 = 0.0
    prev_t = -lim
    prev_l, prev_r = _closing_misses(ey, ex, ang, prev_t, ty, tx, half, gap, cmin)
    # the grid's directions by rotation (no trigonometry per point): U(ang + t), U(ang + t / 2)
    step_t = 2.0 * lim / CLOSE_GRID
    cf = math.cos(step_t)
    sf = math.sin(step_t)
    ch = math.cos(0.5 * step_t)
    sh = math.sin(0.5 * step_t)
    fy = math.sin(ang - lim)
    fx = math.cos(ang - lim)
    hy = math.sin(ang - 0.5 * lim)
    hx = math.cos(ang - 0.5 * lim)
    for k in range(1, CLOSE_GRID + 1):
        t = -lim + step_t * k
        fy, fx = fy * cf + fx * sf, fx * cf - fy * sf
        hy, hx = hy * ch + hx * sh, hx * ch - hy * sh
        left, right = _misses_at(ey + gap * hy + 2.0 * half * fy, ex + gap * hx + 2.0 * half * fx, ang + t, 0.0,
                                 ty, tx, half, gap, cmin)
        lo_t = prev_t
        prev_t = t
        for s in range(2):
            sign = 1.0 if s == 0 else -1.0
            m = left if s == 0 else right
            lo_m = prev_l if s == 0 else prev_r
            if math.isnan(m) or math.isnan(lo_m) or (m > 0.0) == (lo_m > 0.0) or abs(m - lo_m) > 1.0:
                continue
            th1 = _closing_root(ey, ex, ang, lo_t, lo_m, t, m, ty, tx, half, gap, cmin, sign)
            mm = _closing_miss(ey, ex, ang, th1, ty, tx, half, gap, cmin, sign)
            th2 = _second_turn(ey, ex, ang, th1, ty, tx, half, gap, sign)
            if math.isnan(mm) or abs(mm) > 1e-9 or abs(th2) > lim:
                continue
            # both dashes must fit (the second never meets the first: consecutive)
            y1, x1, a1, y2, x2, a2 = _closing_dashes(ey, ex, ang, th1, th2, half, gap)
            if not _fits(y1, x1, math.sin(a1), math.cos(a1), owner, rank, half, clear, lo, hi, n_dash, dcy, dcx,
                         duy, dux, down, drank, counts, items, cell, g, zy, zx, zowner, zdash, n_zone, r_other,
                         r_own, n_dash):
                continue
            if not _fits(y2, x2, math.sin(a2), math.cos(a2), owner, rank + 1, half, clear, lo, hi, n_dash, dcy,
                         dcx, duy, dux, down, drank, counts, items, cell, g, zy, zx, zowner, zdash, n_zone,
                         r_other, r_own, n_dash + 1):
                continue
            if first_only:
                return True, th1, th2
            w = _race(state, max(math.cos(th1 * continuity) ** 2 * math.cos(th2 * continuity) ** 2, 1e-300))
            if w < best:
                best = w
                b1 = th1
                b2 = th2
        prev_l = left
        prev_r = right
    return best < math.inf, b1, b2


@_hot
def _closing_dashes(ey, ex, ang, th1, th2, half, gap):
    """Centres and angles (y1, x1, a1, y2, x2, a2) of the two closing dashes after a dash
    ending at (ey, ex) with angle ``ang``, turned by th1 and then th2."""
    a1 = ang + th1
    y1 = ey + gap * math.sin(ang + 0.5 * th1) + half * math.sin(a1)
    x1 = ex + gap * math.cos(ang + 0.5 * th1) + half * math.cos(a1)
    a2 = a1 + th2
    y2 = y1 + half * math.sin(a1) + gap * math.sin(a1 + 0.5 * th2) + half * math.sin(a2)
    x2 = x1 + half * math.cos(a1) + gap * math.cos(a1 + 0.5 * th2) + half * math.cos(a2)
    return y1, x1, a1, y2, x2, a2


@_hot
def _close(state, owner, rank, ty, tx, half, gap, clear, lo, hi, continuity,
           n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
           zy, zx, zowner, zdash, n_zone, r_other, r_own):
    """Add the last two dashes of a contour so that it ends exactly at t (``_closing_turns``);
    returns the new dash count or -1."""
    found, b1, b2 = _closing_turns(state, owner, rank, ty, tx, half, gap, clear, lo, hi, continuity,
                                   n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                                   zy, zx, zowner, zdash, n_zone, r_other, r_own, False)
    if not found:
        return -1
    p = n_dash - 1
    ey, ex = _end_point(p, half, dcy, dcx, duy, dux, 1.0)
    y1, x1, a1, y2, x2, a2 = _closing_dashes(ey, ex, math.atan2(duy[p], dux[p]), b1, b2, half, gap)
    if not _add_dash(n_dash, y1, x1, math.sin(a1), math.cos(a1), owner, rank, dcy, dcx, duy, dux, down, drank,
                     counts, items, cell, g):
        return -1
    if not _add_dash(n_dash + 1, y2, x2, math.sin(a2), math.cos(a2), owner, rank + 1, dcy, dcx, duy, dux, down,
                     drank, counts, items, cell, g):
        _pop_dashes(n_dash + 1, n_dash, dcy, dcx, counts, cell, g)
        return -1
    return n_dash + 2


@_hot
def _bridge(state, owner, sy, sx, ty, tx, length, half, gap, clear, lo, hi, continuity, hm,
            n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
            zy, zx, zowner, zdash, n_zone, r_other, r_own):
    """Grow a contour of ``length`` (>= 3) dashes from s that ends exactly at t; returns the
    new dash count, or -1 with nothing added. Dead ends and failed closings back up two
    dashes, a bounded number of times."""
    first = n_dash
    step = 2.0 * half + gap
    scale = BRIDGE_RES / step
    mid = 0.5 * (hm.shape[1] - 1)
    backups = length // 2
    rank = 0
    while True:
        if rank == length - 2:
            nc = _close(state, owner, rank, ty, tx, half, gap, clear, lo, hi, continuity,
                        n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                        zy, zx, zowner, zdash, n_zone, r_other, r_own)
            if nc >= 0:
                return nc
        else:
            m = length - 1 - rank
            reach = m * step
            best = math.inf
            fy = 0.0
            fx = 0.0
            fu = 0.0
            fv = 0.0
            tries = FIRST_TRIES if rank == 0 else BRIDGE_TRIES
            p = n_dash - 1
            for _ in range(BRIDGE_ROUNDS):
                if best < math.inf:
                    break  # more candidates only where none fitted
                for _ in range(tries):
                    if rank == 0:
                        a = 2.0 * math.pi * uniform(state)
                        uy = math.sin(a)
                        ux = math.cos(a)
                        cy = sy + half * uy
                        cx = sx + half * ux
                    else:
                        ok, cy, cx, uy, ux = _turned_dash(state, p, half, gap, continuity, dcy, dcx, duy, dux)
                        if not ok:
                            continue
                    ry = ty - (cy + half * uy)
                    rx = tx - (cx + half * ux)
                    if ry * ry + rx * rx > reach * reach:
                        continue  # t out of reach of the dashes left
                    # The first clock to ring (``_race``) among the candidates that fit is drawn
                    # in proportion to its odds; the costly tests run only for a candidate
                    # that would become the best.
                    odds = _bilinear(hm, m, mid + (ry * uy + rx * ux) * scale, mid + (ry * ux - rx * uy) * scale)
                    if odds <= 0.0:
                        continue
                    w = _race(state, odds)
                    if w >= best:
                        continue
                    if not _fits(cy, cx, uy, ux, owner, rank, half, clear, lo, hi, n_dash, dcy, dcx, duy, dux, down,
                                 drank, counts, items, cell, g, zy, zx, zowner, zdash, n_zone, r_other, r_own, n_dash):
                        continue
                    if m == 2:
                        # the dash before the closing pair: only where a closing pair exists
                        if not _add_dash(n_dash, cy, cx, uy, ux, owner, rank, dcy, dcx, duy, dux, down, drank,
                                         counts, items, cell, g):
                            continue
                        found, t1, t2 = _closing_turns(state, owner, rank + 1, ty, tx, half, gap, clear, lo, hi,
                                                       continuity, n_dash + 1, dcy, dcx, duy, dux, down, drank, counts,
                                                       items, cell, g, zy, zx, zowner, zdash, n_zone, r_other, r_own,
                                                       True)
                        _pop_dashes(n_dash + 1, n_dash, dcy, dcx, counts, cell, g)
                        if not found:
                            continue
                    best = w
                    fy = cy
                    fx = cx
                    fu = uy
                    fv = ux
            if best < math.inf and _add_dash(n_dash, fy, fx, fu, fv, owner, rank, dcy, dcx, duy, dux, down, drank,
                                               counts, items, cell, g):
                n_dash += 1
                rank += 1
                continue
        n_dash, rank, backups = _back_up(n_dash, first, rank, backups, dcy, dcx, counts, cell, g)
        if n_dash < 0:
            return -1


RHOMBUS_ANGLES = 64  # joint draws of the two sides' directions to find a rhombus that fits
RHOMBUS_TRIES = 4    # rhombi whose contours are grown per drawn side length before a full restart
C2_TRIES = 3         # growths of C2 per grown C1 (C1 is the costlier: it fails more often)


@_hot
def _rhombus_pair(state, length, half, gap, clear, lo, hi, lo_m, hi_m, continuity, hm,
                  dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                  zy, zx, zowner, zdash, r_other, r_own, need_other):
    """Place C1 and C2 on a rhombus (see above); returns the dash count or -1. The zones
    end as [marker 0, the positive's marker 1, the negative's, the fourth end].

    a is uniform in the marker bounds; the side length is a whole contour's chord
    (``_span``); the two sides' directions are uniform, drawn together until all four
    corners fit the marker bounds and the ends of different contours keep their distance
    (a law symmetric in the two sides, so that the positive's and the negative's marker
    vectors share it). Both contours are then grown as bridges, all four end zones guarded
    from the start."""
    ay = lo_m + (hi_m - lo_m) * uniform(state)
    ax = lo_m + (hi_m - lo_m) * uniform(state)
    span = _span(state, hm)
    if span < need_other:
        return -1  # the rhombus's sides join ends of different contours
    for _ in range(RHOMBUS_TRIES):
        inside = False
        vy = 0.0
        vx = 0.0
        wy = 0.0
        wx = 0.0
        for _ in range(RHOMBUS_ANGLES):
            phi = 2.0 * math.pi * uniform(state)
            psi = 2.0 * math.pi * uniform(state)
            vy = span * math.sin(phi)
            vx = span * math.cos(phi)
            wy = span * math.sin(psi)
            wx = span * math.cos(psi)
            if (lo_m <= ay + vy <= hi_m and lo_m <= ax + vx <= hi_m
                    and lo_m <= ay + wy <= hi_m and lo_m <= ax + wx <= hi_m
                    and lo_m <= ay + vy + wy <= hi_m and lo_m <= ax + vx + wx <= hi_m
                    and (wy - vy) ** 2 + (wx - vx) ** 2 >= need_other * need_other
                    and (wy + vy) ** 2 + (wx + vx) ** 2 >= need_other * need_other):
                inside = True
                break
        if not inside:
            return -1
        # C1 from a to a + v, C2 from a + w to a + w + v
        for q in range(4):
            zy[q] = ay + (vy if q % 2 == 1 else 0.0) + (wy if q >= 2 else 0.0)
            zx[q] = ax + (vx if q % 2 == 1 else 0.0) + (wx if q >= 2 else 0.0)
            zowner[q] = OWNER_A if q < 2 else OWNER_B
        zdash[0] = 0
        zdash[1] = length - 1
        zdash[2] = length
        zdash[3] = 2 * length - 1
        counts[:] = 0
        n1 = _bridge(state, OWNER_A, zy[0], zx[0], zy[1], zx[1], length, half, gap, clear, lo, hi, continuity, hm,
                     0, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                     zy, zx, zowner, zdash, 4, r_other, r_own)
        if n1 < 0:
            continue
        n2 = -1
        for _ in range(C2_TRIES):
            n2 = _bridge(state, OWNER_B, zy[2], zx[2], zy[3], zx[3], length, half, gap, clear, lo, hi, continuity,
                         hm, n1, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                         zy, zx, zowner, zdash, 4, r_other, r_own)
            if n2 >= 0:
                break
        if n2 < 0:
            continue
        if randbelow(state, 2) == 1:
            _half_turn(n1, n2, length, dcy, dcx, duy, dux, down, drank, zy, zx, zdash)
        return n2
    return -1


@_hot
def _half_turn(n1, n2, length, dcy, dcx, duy, dux, down, drank, zy, zx, zdash):
    """Relabel the rhombus by its half turn: C2 becomes A, run from b' (marker 0) to b, and
    C1 becomes B, run from a' to a."""
    for d in range(n2):
        down[d] = OWNER_B if d < n1 else OWNER_A
        drank[d] = length - 1 - drank[d]
        duy[d] = -duy[d]
        dux[d] = -dux[d]
    for q in range(2):
        t = zy[q]
        zy[q] = zy[3 - q]
        zy[3 - q] = t
        t = zx[q]
        zx[q] = zx[3 - q]
        zx[3 - q] = t
    zdash[0] = n2 - 1
    zdash[1] = n1
    zdash[2] = n1 - 1
    zdash[3] = 0


@_hot
def layout(state, length, canvas, pad, half, thick, gap, margin, continuity, dlen, n_distr,
           seed_distance, radius, sampler, max_attempts, hm, dcy, dcx, duy, dux, down, drank, counts, items,
           gcounts, gitems, cell, g, zy, zx, zowner, zdash, ends):
    """Place targets A and B and the distractors; returns (n_dash, n_distractors, restarts).

    ``sampler``: SAMPLER_GHOST, SAMPLER_MIRROR (the ghost with the mirror test) or
    SAMPLER_RHOMBUS (then ``hm`` is the ``bridge_table`` of this margin).

    ``ends`` receives [marker 0 = A's start, A's far end, B's start, B's far end] as (row,
    col) canvas coordinates: A's far end is the positive's marker 1, B's start the
    negative's. restarts = -1 when max_attempts did not suffice.
    """
    clear, lo, hi, lo_m, hi_m, r_own, r_other, need_other = _bounds(canvas, pad, thick, margin, gap, radius,
                                                                    seed_distance)
    need_own = r_other
    for attempt in range(max_attempts):
        counts[:] = 0
        if sampler == SAMPLER_RHOMBUS:
            n_dash = _rhombus_pair(state, length, half, gap, clear, lo, hi, lo_m, hi_m, continuity, hm,
                                   dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                                   zy, zx, zowner, zdash, r_other, r_own, need_other)
        else:
            n_dash = _ghost_pair(state, length, half, gap, clear, lo, hi, lo_m, hi_m, continuity,
                                 sampler == SAMPLER_MIRROR, dcy, dcx, duy, dux, down, drank, counts, items,
                                 gcounts, gitems, cell, g, zy, zx, zowner, zdash, r_other, r_own, need_own, need_other)
        if n_dash < 0:
            continue
        for q in range(4):
            ends[q, 0] = zy[q]
            ends[q, 1] = zx[q]
        placed = 0
        for k in range(n_distr):
            for _ in range(DISTRACTOR_TRIES):
                sy = lo + (hi - lo) * uniform(state)
                sx = lo + (hi - lo) * uniform(state)
                nd = _grow(state, 2 + k, sy, sx, dlen, half, gap, clear, lo, hi, continuity, False, DISTRACTOR_FIRST,
                           n_dash, dcy, dcx, duy, dux, down, drank, counts, items, cell, g,
                           zy, zx, zowner, zdash, 4, r_other, r_own)
                if nd >= 0:
                    n_dash = nd
                    placed += 1
                    break
        return n_dash, placed, attempt
    return 0, 0, -1


# ---------------------------------------------------------------- rendering
# Ink is box-filtered coverage at canvas resolution, area-averaged onto the output grid
# pixel by pixel as it is drawn ("splatted"): canvas pixel p sends share ``fw[p, k]`` to
# output pixel ``fo[p, k]`` (k < 2, as an output pixel is at least one canvas pixel wide).
# Distinct dashes never overlap (clearances and gaps), so their coverages add; a marker
# adds only what it puts above the dash ink beneath it. The result equals compositing at
# canvas resolution and then area-resampling, at a cost proportional to the ink.

@_hot
def _box(x, w):
    """Coverage of a unit pixel centred at offset x by a band of width w centred at 0."""
    v = min(x + 0.5, 0.5 * w) - max(x - 0.5, -0.5 * w)
    return v if v > 0.0 else 0.0


@_hot
def _dash_cover(py, px, cy, cx, uy, ux, length, thick):
    """Coverage of the canvas pixel whose centre is (py, px) by a dash."""
    ry = py - cy
    rx = px - cx
    return _box(ry * uy + rx * ux, length) * _box(rx * uy - ry * ux, thick)


@_hot
def _splat_at(out, o0, w0, o1, w1, c, fo, fw):
    """Add to output rows o0 and o1 (weights w0, w1: the canvas row's shares times the
    value) the shares of canvas column c."""
    for a in range(2):
        wa = w0 if a == 0 else w1
        if wa == 0.0:
            continue
        oa = o0 if a == 0 else o1
        for b in range(2):
            wb = fw[c, b]
            if wb != 0.0:
                out[oa, fo[c, b]] += wa * wb


@_hot
def _splat(out, r, c, v, fo, fw):
    _splat_at(out, fo[r, 0], fw[r, 0] * v, fo[r, 1], fw[r, 1] * v, c, fo, fw)


@_hot
def _band(ry, along, across, a_half, b_half, lo, hi):
    """The offsets x in [lo, hi] of the points (ry, x) inside |along . p| < a_half and
    |across . p| < b_half (directions (y, x) of unit length), widened by a pixel on each
    side so that rounding never drops a pixel of nonzero coverage."""
    for uy, ux, w in ((along[0], along[1], a_half), (across[0], across[1], b_half)):
        if abs(ux) > 1e-9:
            x0 = (-w - ry * uy) / ux
            x1 = (w - ry * uy) / ux
            lo = max(lo, min(x0, x1) - 1.0)
            hi = min(hi, max(x0, x1) + 1.0)
        elif abs(ry * uy) >= w + 1.0:
            return 0.0, -1.0
    return lo, hi


@_hot
def _splat_dash(out, canvas, cy, cx, uy, ux, length, thick, value, fo, fw):
    """Add a dash's coverage. A canvas pixel is covered where its centre lies within half a
    pixel of the dash along both of the dash's axes (``_box``); each row visits only the
    columns of that rotated rectangle (``_band``), about a third of its bounding square,
    in the same order, so the sums are those of visiting every pixel."""
    ext = 0.5 * length + 0.5 * thick + 1.0
    c_lo = max(int(cx - ext), 0)
    c_hi = min(int(cx + ext) + 1, canvas)
    along = (uy, ux)
    across = (ux, -uy)
    for r in range(max(int(cy - ext), 0), min(int(cy + ext) + 1, canvas)):
        ry = r + 0.5 - cy
        lo, hi = _band(ry, along, across, 0.5 * length + 0.5, 0.5 * thick + 0.5, c_lo - cx, c_hi - cx)
        if hi < lo:
            continue
        o0 = fo[r, 0]
        o1 = fo[r, 1]
        f0 = fw[r, 0]
        f1 = fw[r, 1]
        for c in range(max(int(math.floor(cx + lo - 0.5)), c_lo), min(int(math.ceil(cx + hi - 0.5)) + 1, c_hi)):
            v = _dash_cover(r + 0.5, c + 0.5, cy, cx, uy, ux, length, thick)
            if v > 0.0:
                v *= value
                _splat_at(out, o0, f0 * v, o1, f1 * v, c, fo, fw)


@_hot
def _splat_marker(out, canvas, my, mx, radius, length, thick, value, owner_only,
                  n_dash, dcy, dcx, duy, dux, down, near, fo, fw):
    """Add a disk of peak 1 over the dashes already drawn (``value`` x their coverage);
    owner_only >= 0 restricts those dashes to one snake (the target layer)."""
    n_near = 0
    reach = radius + 0.5 * length + thick + 2.0
    for d in range(n_dash):
        if owner_only >= 0 and down[d] != owner_only:
            continue
        if (dcy[d] - my) ** 2 + (dcx[d] - mx) ** 2 < reach * reach:
            near[n_near] = d
            n_near += 1
    for r in range(max(int(my - radius - 1.0), 0), min(int(my + radius + 1.0) + 1, canvas)):
        for c in range(max(int(mx - radius - 1.0), 0), min(int(mx + radius + 1.0) + 1, canvas)):
            disk = radius + 0.5 - math.sqrt((r + 0.5 - my) ** 2 + (c + 0.5 - mx) ** 2)
            if disk <= 0.0:
                continue
            disk = min(disk, 1.0)
            below = 0.0
            for k in range(n_near):
                d = near[k]
                below += value * _dash_cover(r + 0.5, c + 0.5, dcy[d], dcx[d], duy[d], dux[d], length, thick)
            if disk > below:
                _splat(out, r, c, disk - below, fo, fw)


@njit(cache=True)
def _layout_scratch(length, canvas, plen, thick, margins, dlen, n_distr):
    """Scratch arrays of ``layout`` (dashes, target ends, spatial-hash grids) sized for the
    longest scene and the finest grid any drawn margin can ask for."""
    max_d = 3 * length + n_distr * dlen + 4
    g_max = int(canvas / (plen + thick + margins.min())) + 2
    return (np.empty(max_d), np.empty(max_d), np.empty(max_d), np.empty(max_d),
            np.empty(max_d, dtype=np.int32), np.empty(max_d, dtype=np.int32),
            np.empty(4), np.empty(4), np.empty(4, dtype=np.int32), np.empty(4, dtype=np.int32),
            np.zeros((4, 2)),
            np.zeros(g_max * g_max, dtype=np.int32), np.empty((g_max * g_max, CELL_CAP), dtype=np.int32),
            np.zeros(g_max * g_max, dtype=np.int32), np.empty((g_max * g_max, CELL_CAP), dtype=np.int32))


def output_arrays(count, side):
    """Empty outputs of ``generate_into`` for ``count`` images of ``side`` px, in its order:
    images, masks, marker 0, marker 1, distractors placed, restarts."""
    return [np.zeros((count, 1, side, side), np.uint8), np.zeros((count, side, side), np.uint8),
            np.zeros((count, 2), np.float32), np.zeros((count, 2), np.float32), np.zeros(count, np.int32),
            np.zeros(count, np.int32)]


@njit(cache=True)
def generate_into(seeds, labels, length, canvas, pad, plen, thick, margins, continuity, dlen, n_distr,
                  seed_distance, radius, sampler, bridges, contrast, markers, fo, fw,
                  images, masks, marker0, marker1, n_distractors, retries):
    """Fill preallocated output arrays; returns -1, or the row that exhausted MAX_ATTEMPTS."""
    n_out = images.shape[2]
    scale = canvas / n_out
    half = 0.5 * plen
    (dcy, dcx, duy, dux, down, drank, zy, zx, zowner, zdash, ends,
     counts, items, gcounts, gitems) = _layout_scratch(length, canvas, plen, thick, margins, dlen, n_distr)
    near = np.empty(dcy.shape[0], dtype=np.int64)
    ink = np.empty((n_out, n_out), dtype=np.float32)
    target = np.empty((n_out, n_out), dtype=np.float32)
    for i in range(seeds.shape[0]):
        state = new_state(seeds[i])
        mi = randbelow(state, margins.shape[0])
        margin = margins[mi]
        gap = 2.0 * margin
        cell = plen + thick + margin
        g = int(canvas / cell) + 2
        n_dash, placed, restarts = layout(state, length, canvas, pad, half, thick, gap, margin, continuity,
                                          dlen, n_distr, seed_distance, radius, sampler, MAX_ATTEMPTS, bridges[mi], dcy, dcx, duy,
                                          dux, down, drank, counts, items, gcounts, gitems, cell, g, zy, zx, zowner, zdash, ends)
        if restarts < 0:
            return i
        positive = labels[i] == 1
        m1 = 1 if positive else 2
        ink[:, :] = 0.0
        target[:, :] = 0.0
        for d in range(n_dash):
            _splat_dash(ink, canvas, dcy[d], dcx[d], duy[d], dux[d], plen, thick, contrast, fo, fw)
            if down[d] == OWNER_A:
                _splat_dash(target, canvas, dcy[d], dcx[d], duy[d], dux[d], plen, thick, 1.0, fo, fw)
        _splat_marker(ink, canvas, ends[0, 0], ends[0, 1], radius, plen, thick, contrast, -1,
                      n_dash, dcy, dcx, duy, dux, down, near, fo, fw)
        _splat_marker(target, canvas, ends[0, 0], ends[0, 1], radius, plen, thick, 1.0, OWNER_A,
                      n_dash, dcy, dcx, duy, dux, down, near, fo, fw)
        if markers == 2:
            _splat_marker(ink, canvas, ends[m1, 0], ends[m1, 1], radius, plen, thick, contrast, -1,
                          n_dash, dcy, dcx, duy, dux, down, near, fo, fw)
            if positive:
                _splat_marker(target, canvas, ends[1, 0], ends[1, 1], radius, plen, thick, 1.0, OWNER_A,
                              n_dash, dcy, dcx, duy, dux, down, near, fo, fw)
        img = images[i, 0]
        msk = masks[i]
        for r in range(n_out):
            for c in range(n_out):
                img[r, c] = np.uint8(min(255.0, ink[r, c] * 255.0 + 0.5))
                msk[r, c] = 1 if target[r, c] >= MASK_THRESHOLD else 0
        marker0[i, 0] = ends[0, 0] / scale
        marker0[i, 1] = ends[0, 1] / scale
        marker1[i, 0] = ends[m1, 0] / scale
        marker1[i, 1] = ends[m1, 1] / scale
        n_distractors[i] = placed
        retries[i] = restarts
    return -1


@njit(cache=True)
def layout_of(seed, length, canvas, pad, plen, thick, margins, continuity, dlen, n_distr, seed_distance, radius,
              sampler, bridges, max_attempts=MAX_ATTEMPTS):
    """The scene of one seed, for tests and audits: dashes (cy, cx, uy, ux, owner, rank),
    the four target ends, distractors placed, restarts and the margin drawn."""
    state = new_state(seed)
    mi = randbelow(state, margins.shape[0])
    margin = margins[mi]
    gap = 2.0 * margin
    half = 0.5 * plen
    (dcy, dcx, duy, dux, down, drank, zy, zx, zowner, zdash, ends,
     counts, items, gcounts, gitems) = _layout_scratch(length, canvas, plen, thick, margins, dlen, n_distr)
    cell = plen + thick + margin
    g = int(canvas / cell) + 2
    n_dash, placed, restarts = layout(state, length, canvas, pad, half, thick, gap, margin, continuity, dlen,
                                      n_distr, seed_distance, radius, sampler, max_attempts, bridges[mi], dcy, dcx, duy, dux, down, drank, counts,
                                      items, gcounts, gitems, cell, g, zy, zx, zowner, zdash, ends)
    dashes = np.empty((n_dash, 6))
    for d in range(n_dash):
        dashes[d, 0] = dcy[d]
        dashes[d, 1] = dcx[d]
        dashes[d, 2] = duy[d]
        dashes[d, 3] = dux[d]
        dashes[d, 4] = down[d]
        dashes[d, 5] = drank[d]
    return dashes, ends, placed, restarts, margin


@njit(cache=True)
def shard_labels(seed, count):
    """Labels of one shard: exactly count // 2 positives (one more, by seed, if count is
    odd), in an order shuffled by the shard's seed (Fisher-Yates)."""
    state = new_state(seed)
    positives = count // 2
    if count % 2 == 1 and randbelow(state, 2) == 1:
        positives += 1
    labels = np.zeros(count, dtype=np.int64)
    labels[:positives] = 1
    for i in range(count - 1, 0, -1):
        j = randbelow(state, i + 1)
        t = labels[i]
        labels[i] = labels[j]
        labels[j] = t
    return labels


def area_weights(canvas, out):
    """Forward area-resampling shares from ``canvas`` to ``out`` pixels per side.

    Output pixel o covers canvas [o*f, (o+1)*f) with f = canvas/out >= 1, so canvas pixel
    p overlaps at most two output pixels; fo[p, k] names them and fw[p, k] is the overlap
    divided by f (0 for an unused slot). Summed over both axes, a canvas pixel's ink is
    spread with total weight 1/f^2: the area average.
    """
    if out > canvas:
        raise ValueError(f"output side {out} exceeds the canvas {canvas}")
    f = canvas / out
    fo = np.zeros((canvas, 2), dtype=np.int64)
    fw = np.zeros((canvas, 2), dtype=np.float32)
    for p in range(canvas):
        k = 0
        for o in range(int(p // f), min(int((p + 1) // f) + 1, out)):
            share = min(p + 1, (o + 1) * f) - max(p, o * f)
            if share > 1e-9:
                fo[p, k] = o
                fw[p, k] = share / f
                k += 1
    return fo, fw
