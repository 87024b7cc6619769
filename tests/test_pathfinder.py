"""PathFinder: geometry and label oracles, determinism, presets, renderer, bad input.

Kernels compile once per session (cached on disk afterwards); every test uses a few
small plans so the file runs in well under a minute once compiled.
"""
import numpy as np
import pytest
from click.testing import CliRunner
from scipy import ndimage as ndi

from generators.pathfinder import kernel as pf
from generators.cli import main
from generators.engine import Plan, run as run_plan
from generators.pathfinder.task import PRESETS, ParamError, kernel_args, make_params, probe
from tests.conftest import all_arrays, assert_dashes_clear, folder_bytes, segment_distance

EIGHT = np.ones((3, 3), dtype=bool)


def pf_plan(out=None, count=16, shard_size=8, seed=0, split="train", **kw):
    length = kw.pop("length", 9)
    preset = kw.pop("preset", "linsley2018")
    markers = kw.pop("markers", 2)
    return Plan(task_name="pathfinder", params=make_params(length, preset, markers, **kw), split=split,
                seed=seed, count=count, shard_size=shard_size, out=out)


@pytest.fixture(scope="module")
def full_res():
    """Samples rendered at the canvas resolution (300 px), both marker protocols."""
    out = {}
    for markers in (1, 2):
        plan = pf_plan(count=24, shard_size=12, size=300, markers=markers)
        out[markers] = (plan, plan.generate(np.arange(plan.count)))
    return out


def _pixel(point):
    return int(point[0]), int(point[1])


@pytest.mark.parametrize("markers", [1, 2])
def test_label_oracle_marker1_on_the_mask_iff_positive(full_res, markers):
    plan, a = full_res[markers]
    for i in range(plan.count):
        mask = a["masks"][i]
        assert mask[_pixel(a["meta/marker0"][i])] == 1
        on_target = mask[_pixel(a["meta/marker1"][i])] == 1
        assert on_target == (a["labels"][i] == 1) or markers == 1
        assert np.all(a["images"][i, 0][mask == 1] > 0), "mask outside the ink"


@pytest.mark.parametrize("markers", [1, 2])
def test_target_has_exactly_length_dashes_in_its_mask(full_res, markers):
    # At canvas resolution every dash of the target is its own 8-connected blob; an end
    # dash under a drawn marker is one blob with the marker disk (which covers it).
    plan, a = full_res[markers]
    length = plan.params["length"]
    for i in range(plan.count):
        assert ndi.label(a["masks"][i], structure=EIGHT)[1] == length


def test_targets_do_not_touch_other_ink(full_res):
    plan, a = full_res[2]
    for i in range(plan.count):
        ink = a["images"][i, 0] > 0
        blobs, _ = ndi.label(ink, structure=EIGHT)
        touching = np.unique(blobs[a["masks"][i] == 1])
        # the blobs that hold the target must not reach beyond its own antialiased rim
        rim = ndi.binary_dilation(a["masks"][i], structure=EIGHT, iterations=2)
        assert not np.any(np.isin(blobs, touching) & ~rim)


def _segments(dashes, half):
    c = dashes[:, :2]
    u = dashes[:, 2:4]
    return c - half * u, c + half * u


def test_geometry_clearances_lengths_and_ends():
    params = make_params(14)
    args = kernel_args(params)[:13]
    half = params["paddle_length"] / 2
    clear = params["thickness"] + params["margin"][0]
    seeds = Plan(task_name="pathfinder", params=params, split="train", seed=3, count=6).seeds(np.arange(6))
    for seed in seeds:
        dashes, ends, placed, restarts, _ = pf.layout_of(seed, *args)
        assert restarts >= 0
        owner = dashes[:, 4].astype(int)
        assert (owner == 0).sum() == 14 and (owner == 1).sum() == 14
        assert placed == len(set(owner[owner >= 2]))
        assert_dashes_clear(dashes, half, clear)
        p0, p1 = _segments(dashes, half)
        # marker 0 is A's start, the other ends are where the dashes say
        a = np.flatnonzero(owner == 0)
        b = np.flatnonzero(owner == 1)
        assert np.allclose(ends[0], p0[a[0]]) and np.allclose(ends[1], p1[a[-1]])
        assert np.allclose(ends[2], p0[b[0]]) and np.allclose(ends[3], p1[b[-1]])
        # every target end is protected from every other snake's ink
        r_other = params["marker_radius"] + params["thickness"] / 2 + params["margin"][0] + 2 * params["margin"][0]
        for e, snake in zip(ends, (0, 0, 1, 1)):
            others = np.flatnonzero(owner != snake)
            assert min(segment_distance(e, e, p0[j], p1[j], 2) for j in others) >= r_other - 0.05
        pad = params["padding"]
        assert p0.min() >= pad and p1.min() >= pad and p0.max() <= 300 - pad and p1.max() <= 300 - pad


def test_labels_exactly_balanced_per_shard_and_shuffled(tmp_path):
    plan = pf_plan(tmp_path / "d", count=40, shard_size=20, length=6)
    labels = np.concatenate([plan.task.labels(plan, np.arange(k * 20, k * 20 + 20)) for k in range(2)])
    assert labels[:20].sum() == 10 and labels[20:].sum() == 10
    assert not np.array_equal(labels[:20], labels[20:])
    # an odd last shard has one extra of a seed-chosen class
    odd = pf_plan(count=25, shard_size=20, length=6)
    assert odd.task.labels(odd, np.arange(20, 25)).sum() in (2, 3)
    counts = pf.shard_labels(np.uint64(7), 1000)
    assert counts.sum() == 500 and counts[:500].sum() not in (0, 500)


@pytest.mark.parametrize("preset", ["linsley2018", "lra32"])  # the ghost and the rhombus samplers
def test_same_bytes_for_any_workers_and_after_resume(tmp_path, preset):
    one = pf_plan(tmp_path / "one", count=24, shard_size=6, length=6, preset=preset)
    run_plan(one, workers=1)
    two = pf_plan(tmp_path / "two", count=24, shard_size=6, length=6, preset=preset)
    run_plan(two, workers=2)
    resumed = pf_plan(tmp_path / "resumed", count=24, shard_size=6, length=6, preset=preset)
    run_plan(resumed, workers=1, shard_range=(1, 3))
    run_plan(resumed, workers=2)
    assert folder_bytes(tmp_path / "one") == folder_bytes(tmp_path / "two") == folder_bytes(tmp_path / "resumed")
    arrays = all_arrays(tmp_path / "one")
    for i in (0, 7, 23):
        alone = one.generate([i])
        for name, value in alone.items():
            assert np.array_equal(value[0], arrays[name][i]), name


def test_each_preset_has_its_published_canvas_and_output():
    published = {"linsley2018": (300, 150), "lra32": (32, 32), "lra64": (64, 64), "lra128": (128, 128),
                 "lra256": (256, 256)}
    assert set(published) == set(PRESETS)
    for preset, (canvas, side) in published.items():
        plan = pf_plan(count=4, length=6, preset=preset)
        assert plan.params["canvas"] == canvas and plan.params["size"] == side
        a = plan.generate(np.arange(4))
        assert a["images"].shape == (4, 1, side, side) and a["masks"].shape == (4, side, side)
        assert a["labels"].sum() == 2 and np.all(a["meta/contour_length"] == 6)
        assert a["images"].max() == 255  # markers have peak 1 at every size


def test_cli_choices_are_the_tasks_presets_and_samplers():
    from generators.pathfinder import command
    from generators.pathfinder.task import SAMPLERS
    assert set(command.PRESET_NAMES) == set(PRESETS) and set(command.SAMPLER_NAMES) == set(SAMPLERS)
    result = run_cli("--length", 6, "--sampler", "kite", "-n", 2)
    assert result.exit_code == 2 and "ghost" in result.output and "rhombus" in result.output


def test_size_option_downsamples_the_same_scene():
    plan = pf_plan(count=4, size=150, markers=1)
    idx = np.arange(4)
    reduced = plan.generate(idx)
    full = plan.task.generate({**plan.params, "size": 300}, plan.split, plan.seeds(idx), idx, plan)
    # the 150 px image is the 2x2 area average of the 300 px one (up to rounding)
    area = full["images"][:, 0].astype(float).reshape(4, 150, 2, 150, 2).mean(axis=(2, 4))
    assert np.abs(area - reduced["images"][:, 0]).max() <= 1.0
    assert np.allclose(full["meta/marker0"] / 2, reduced["meta/marker0"])


def test_dash_ink_is_its_area_at_any_scale():
    for canvas, out in ((300, 300), (300, 150), (300, 128)):
        fo, fw = pf.area_weights(canvas, out)
        assert np.allclose(fw.sum(), out)
        plane = np.zeros((out, out), np.float32)
        pf._splat_dash(plane, canvas, 100.3, 150.6, 0.6, 0.8, 5.0, 2.0, 1.0, fo, fw)
        assert plane.sum() * (canvas / out) ** 2 == pytest.approx(10.0, rel=1e-4)
        disk = np.zeros((out, out), np.float32)
        pf._splat_marker(disk, canvas, 80.5, 90.25, 5.0, 5.0, 2.0, 1.0, -1, 0, plane[0], plane[0], plane[0],
                         plane[0], np.zeros(1, np.int32), np.zeros(1, np.int64), fo, fw)
        assert disk.sum() * (canvas / out) ** 2 == pytest.approx(np.pi * 25, rel=0.02)


def test_dash_splat_visits_every_covered_pixel():
    # oracle: the dash's coverage evaluated at every canvas pixel in numpy (a pixel is
    # covered by its box-filtered overlap along both dash axes), area-resampled by the
    # share matrix; the kernel visits only the rotated rectangle's columns of each row
    def box(x, w):
        return np.clip(np.minimum(x + 0.5, 0.5 * w) - np.maximum(x - 0.5, -0.5 * w), 0.0, None)

    rng = np.random.default_rng(3)
    for canvas, out in ((300, 150), (128, 128), (300, 128)):
        fo, fw = pf.area_weights(canvas, out)
        share = np.zeros((canvas, out))
        for k in range(2):
            np.add.at(share, (np.arange(canvas), fo[:, k]), fw[:, k])
        centre = np.arange(canvas) + 0.5
        for trial in range(60):
            length, thick = rng.uniform(1.0, 9.0), rng.uniform(0.3, 3.0)
            cy, cx = rng.uniform(-2.0, canvas + 2.0, size=2)
            a = rng.choice([0.0, 0.5 * np.pi, np.pi, rng.uniform(0, 2 * np.pi)])
            uy, ux = np.sin(a), np.cos(a)
            if trial % 4 == 0:
                uy, ux = float(round(uy)), float(round(ux))  # exactly axis-aligned
            ry, rx = centre[:, None] - cy, centre[None, :] - cx
            cover = box(ry * uy + rx * ux, length) * box(rx * uy - ry * ux, thick)
            plane = np.zeros((out, out), np.float32)
            pf._splat_dash(plane, canvas, cy, cx, uy, ux, length, thick, 0.8, fo, fw)
            np.testing.assert_allclose(plane, share.T @ (0.8 * cover) @ share, atol=1e-6)


def test_bounded_attempts_and_length_check():
    hard = make_params(14, "lra32")
    args = kernel_args(hard)[:13]
    assert pf.layout_of(np.uint64(1), *args, 1)[3] in (-1, 0)
    assert probe(make_params(14)) and not probe(make_params(40, "lra32"))
    with pytest.raises(ParamError, match="does not fit"):
        make_params(2000)


def run_cli(*args):
    return CliRunner().invoke(main, ["pathfinder", *[str(a) for a in args]])


@pytest.mark.parametrize("args,option,words", [
    (["--length", "0"], "--length", ">= 2"),
    (["--length", "-4"], "--length", ">= 2"),
    (["--length", "9", "--thickness", "0"], "--thickness", "> 0"),
    (["--length", "9", "--margin", "0"], "--margin", "> 0"),
    (["--length", "9", "--margin", "a,b"], "--margin", "comma-separated"),
    (["--length", "9", "--paddle-length", "-1"], "--paddle-length", "> 0"),
    (["--length", "9", "--preset", "lra512"], "--preset", "linsley2018"),
    (["--length", "400"], "--length", "does not fit"),
    (["--length", "40", "--preset", "lra32"], "--length", "does not fit"),
    (["--length", "9", "--size", "301"], "--size", "canvas"),
    (["--length", "9", "--markers", "3"], "--markers", "1 (segmentation"),
    (["--length", "9", "--shard-size", "9"], "--shard-size", "even"),
    (["--length", "9", "--continuity", "0.5"], "--continuity", ">= 1"),
    (["--length", "9", "--distractor-length", "12"], "--distractor-length", "1..9"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, option, words):
    out = tmp_path / "out"
    result = run_cli(*args, "-n", 4, "--out", out)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and option in errors[0] and words in errors[0], result.output
    assert not out.exists()


def test_odd_count_is_refused_and_every_shard_is_exactly_balanced(tmp_path):
    result = run_cli("--length", 6, "-n", 5, "--size", 100, "--out", tmp_path / "odd")
    assert result.exit_code == 2 and "'-n': 5 is odd" in result.output and not (tmp_path / "odd").exists()
    out = tmp_path / "pf"
    assert run_cli("--length", 6, "-n", 10, "--shard-size", 4, "--size", 100, "--out", out, "--quiet").exit_code == 0
    from generators.shards import read_all

    shards = sorted(out.glob("shard-*.h5"))
    assert [int(read_all(f)["labels"].sum()) for f in shards] == [2, 2, 1]     # 4, 4, 2 images: half positive


def test_cli_writes_a_verifiable_dataset_with_all_arrays(tmp_path):
    out = tmp_path / "pf"
    result = run_cli("--length", 6, "-n", 8, "--shard-size", 4, "--size", 100, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    arrays = all_arrays(out)
    assert arrays["images"].shape == (8, 1, 100, 100)
    for name in ("labels", "masks", "meta/seed", "meta/marker0", "meta/marker1", "meta/n_distractors",
                 "meta/contour_length", "meta/retries"):
        assert name in arrays
    assert arrays["meta/marker0"].dtype == np.float32 and arrays["meta/marker0"].shape == (8, 2)
    assert CliRunner().invoke(main, ["verify", str(out), "--sample", "8"]).exit_code == 0
    preview = tmp_path / "grid.png"
    assert CliRunner().invoke(main, ["preview", str(out), "-n", "4", "--out", str(preview)]).exit_code == 0
    assert preview.stat().st_size > 0


def test_audit_flags_a_planted_shortcut_and_passes_a_fair_set():
    from generators.pathfinder.audit import score_cues

    plan = pf_plan(count=200, shard_size=200, length=6, size=100)
    arrays = plan.generate(np.arange(200))
    fair = score_cues(arrays, plan.params)
    assert fair["tolerance"] > 0.02                       # small set: three standard errors
    assert fair["ok"], fair                               # no cue beats chance by more than that
    assert len(fair["accuracy"]) >= 5 and fair["worst_cue"] in fair["accuracy"]
    leaky = dict(arrays)
    leaky["images"] = arrays["images"].copy()
    leaky["images"][arrays["labels"] == 1, 0, 0, 0] = 255  # a corner pixel tells the label
    planted = score_cues(leaky, plan.params)
    assert not planted["ok"] and planted["accuracy"]["total ink"] > 0.9
