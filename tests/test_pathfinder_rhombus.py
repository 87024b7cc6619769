"""PathFinder's rhombus sampler (lra32 / lra64): geometry oracles, the bridge table against
independent random walks, the half-turn coin, parameters.

The oracles are written here from the geometry (numpy), not from the kernel's code: a
contour is a chain of dashes of fixed length separated by a gap along the bisector of the
two directions, each turn within 90 deg / continuity.
"""
import math

import numpy as np
import pytest

from generators.pathfinder import kernel as pf
from generators.pathfinder.audit import score_cues
from generators.pathfinder.task import ParamError, bridge_tables, kernel_args, make_params
from generators.seeds import sample_seeds
from tests.conftest import assert_dashes_clear


def scenes(preset, length, count, seed=0):
    params = make_params(length, preset)
    args = kernel_args(params)[:13]
    seeds = sample_seeds(seed, "pathfinder", "rhombus-test", "train", np.arange(count))
    return params, [pf.layout_of(s, *args) for s in seeds]


def contour(dashes, owner):
    """One target's dashes in rank order: (start points, end points, unit directions)."""
    mine = dashes[dashes[:, 4] == owner]
    mine = mine[np.argsort(mine[:, 5])]
    return mine[:, :2], mine[:, 2:4]


@pytest.mark.parametrize("preset,length", [("lra32", 9), ("lra64", 14)])
def test_ends_form_a_rhombus_and_contours_join_them(preset, length):
    params, layouts = scenes(preset, length, 6)
    half = params["paddle_length"] / 2
    gap = 2 * params["margin"][0]
    limit = math.pi / 2 / params["continuity"]
    clear = params["thickness"] + params["margin"][0]
    for dashes, ends, placed, restarts, margin in layouts:
        assert restarts >= 0
        # C1 runs ends[0] -> ends[1], C2 ends[2] -> ends[3], both along the same vector;
        # all four sides equally long
        assert np.allclose(ends[1] - ends[0], ends[3] - ends[2], atol=1e-9)
        side = np.hypot(*(ends[1] - ends[0]))
        assert np.hypot(*(ends[2] - ends[0])) == pytest.approx(side, abs=1e-9)
        for owner, (first, last) in ((0, (0, 1)), (1, (2, 3))):
            centres, dirs = contour(dashes, owner)
            assert len(centres) == length
            starts, stops = centres - half * dirs, centres + half * dirs
            assert np.allclose(starts[0], ends[first], atol=1e-9)
            assert np.allclose(stops[-1], ends[last], atol=1e-6)  # the solved closing dashes
            for k in range(1, length):
                turn = math.atan2(dirs[k - 1, 0] * dirs[k, 1] - dirs[k - 1, 1] * dirs[k, 0],
                                  dirs[k - 1] @ dirs[k])
                assert abs(turn) <= limit + 1e-9
                bisector = (dirs[k - 1] + dirs[k]) / np.hypot(*(dirs[k - 1] + dirs[k]))
                assert np.allclose(starts[k], stops[k - 1] + gap * bisector, atol=1e-6)
        assert_dashes_clear(dashes, half, clear)


def test_bridge_table_matches_random_walks_of_the_turn_law():
    # independent oracle: chains drawn with numpy from the cos^2 turn law
    params = make_params(9, "lra32")
    table = bridge_tables(params)[0]
    half, gap, cont = params["paddle_length"] / 2, 2 * params["margin"][0], params["continuity"]
    step = 2 * half + gap
    centre = (table.shape[1] - 1) / 2
    rng = np.random.default_rng(0)
    grid = np.linspace(-np.pi / 2, np.pi / 2, 20001)
    cdf = np.cumsum(np.cos(grid) ** 2)
    cdf /= cdf[-1]
    for m in (2, 4, 7):
        turns = np.interp(rng.random((4000, m)), cdf, grid) / cont
        angle = np.cumsum(turns, axis=1)
        bis = angle - turns / 2
        along = (gap * np.cos(bis) + 2 * half * np.cos(angle)).sum(1)
        across = (gap * np.sin(bis) + 2 * half * np.sin(angle)).sum(1)
        ia = centre + along / step * pf.BRIDGE_RES
        ic = centre + across / step * pf.BRIDGE_RES
        odds = np.array([pf._bilinear(table, m, a, c) for a, c in zip(ia, ic)])
        assert (odds > 0).mean() > 0.995  # the table covers where walks end
        # and weighs it as they do: mean end point of the table's density vs the walks'
        a, c = np.meshgrid(np.arange(table.shape[1]) - centre, np.arange(table.shape[2]) - centre, indexing="ij")
        w = table[m].astype(np.float64)
        assert (w * a).sum() / w.sum() * step / pf.BRIDGE_RES == pytest.approx(along.mean(), rel=0.03)
        assert abs((w * c).sum() / w.sum()) < 0.02 * step


def test_half_turn_coin_puts_marker_0_on_either_contour():
    # A is the contour grown second (array positions length..2 length - 1) in about half
    # of the scenes: without the coin, marker 1's two candidates would not share one law
    _, layouts = scenes("lra32", 6, 300)
    second = np.mean([np.flatnonzero(d[:, 4] == 0)[0] >= 6 for d, *_ in layouts])
    assert 0.4 < second < 0.6


def test_marker_vectors_share_one_law():
    # the positive's marker vector (a contour's chord) and the negative's (a rhombus side
    # between contours) have one law of direction: axis-aligned vs diagonal alike
    _, layouts = scenes("lra32", 9, 400, seed=5)
    pos = np.array([e[1] - e[0] for _, e, *_ in layouts])
    neg = np.array([e[2] - e[0] for _, e, *_ in layouts])

    def diagonal(v):
        ang = np.mod(np.arctan2(v[:, 0], v[:, 1]), np.pi / 2)
        return np.mean(np.abs(ang - np.pi / 4) < np.pi / 8)

    assert abs(diagonal(pos) - diagonal(neg)) < 0.1
    assert np.allclose(np.hypot(*pos.T), np.hypot(*neg.T))


def test_parameters_record_the_sampler_only_when_not_the_default():
    assert make_params(14, "lra32")["sampler"] == "rhombus"
    assert "sampler" not in make_params(14)  # datasets made before the option keep their parameters
    assert "sampler" not in make_params(14, "lra32", sampler="ghost")
    assert make_params(14, sampler="rhombus")["sampler"] == "rhombus"
    with pytest.raises(ParamError, match="one of ghost, rhombus"):
        make_params(14, sampler="kite")
    with pytest.raises(ParamError, match="--length >= 3"):
        make_params(2, "lra32")


def test_spans_are_the_target_process_chords():
    params = make_params(9, "lra64")
    spans = bridge_tables(params)[0, 0].reshape(-1)[:pf.SPANS]
    # stored sorted (the sampler interpolates between neighbours), all grown, a spread law
    assert np.all(spans > 0) and np.all(np.diff(spans) >= 0) and spans[0] < spans[-1]
    # no chord is longer than the contour laid straight
    assert spans[-1] <= 9 * (params["paddle_length"] + 2 * params["margin"][0])


@pytest.mark.slow
@pytest.mark.parametrize("preset,length", [("lra32", 14), ("lra64", 9)])
def test_audit_at_chance_on_2000_images(preset, length):
    params = make_params(length, preset)
    count = 2000
    side = params["size"]
    seeds = sample_seeds(1, "pathfinder", "rhombus-audit", "train", np.arange(count)).astype(np.uint64)
    labels = pf.shard_labels(np.uint64(2), count)
    out = pf.output_arrays(count, side)
    assert pf.generate_into(seeds, labels, *kernel_args(params), *out) == -1
    report = score_cues({"images": out[0], "labels": labels, "meta/marker0": out[2], "meta/marker1": out[3],
                         "meta/n_distractors": out[4]}, params)
    assert report["ok"], report


def test_label_oracle_marker1_on_the_mask_iff_positive():
    # the mask is the contour under marker 0, whichever of C1 / C2 the half turn gave it
    params = make_params(9, "lra32")
    count = 64
    seeds = sample_seeds(3, "pathfinder", "rhombus-oracle", "train", np.arange(count)).astype(np.uint64)
    labels = pf.shard_labels(np.uint64(4), count)
    out = pf.output_arrays(count, 32)
    assert pf.generate_into(seeds, labels, *kernel_args(params), *out) == -1
    images, masks, m0, m1 = out[0][:, 0], out[1], out[2].astype(int), out[3].astype(int)
    for i in range(count):
        assert masks[i][tuple(m0[i])] == 1
        assert masks[i][tuple(m1[i])] == labels[i]
        assert np.all(images[i][masks[i] == 1] > 0)
