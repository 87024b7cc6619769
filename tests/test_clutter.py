"""Cluttered scenes on small fake sources: geometry against a scipy oracle, labels, balance,
split disjointness, clutter levels, the CLI (determinism, resume, bad input, audit) and
the on-the-fly stream."""
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from generators.clutter import kernel as clutter, sources
from generators.cli import main
from generators.clutter.task import ClutterTask, generate_arrays
from generators.engine import Plan
from generators.seeds import sample_seeds
from test_sources import use_fake_sources

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "perf"))
import clutter_reference as ref  # noqa: E402

N_TRAIN, N_TEST = 5300, 200


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """Fake MNIST (gzipped) and Fashion-MNIST (raw) accepted as the known sources."""
    mp = pytest.MonkeyPatch()
    use_fake_sources(mp, tmp_path_factory.mktemp("sources"), N_TRAIN, N_TEST)
    yield sources.load()
    mp.undo()
    sources._LOADED.clear()


def scenes(found, n, split="train", seed=0, **kw):
    params = ClutterTask.params(found, **kw)
    return generate_arrays(found, params, split, sample_seeds(seed, "clutter", "t", split, np.arange(n)))


def one(arrays, i):
    return {k: v[i] for k, v in arrays.items()}


def assert_match_oracle(arrays, images):
    """Every scene and target-only image within 1 grey level of the scipy re-rendering."""
    for i in range(len(arrays["images"])):
        meta = one(arrays, i)
        for target_only, stored in ((False, arrays["images"][i, 0]), (True, arrays["target_only"][i, 0])):
            oracle = ref.compose(images, meta, method="affine", target_only=target_only)
            assert np.abs(oracle.astype(int) - stored).max() <= 1, f"scene {i}, target only {target_only}"


def test_scenes_match_scipy_oracle(fake):
    a = scenes(fake, 24, with_target_only=True)
    images, _ = fake.stacked()
    assert_match_oracle(a, images)
    # negative control: the oracle does see a wrong angle or scale
    meta = one(a, 0)
    t = int(meta["meta/target_slot"])
    for key, value in (("meta/object_angle", -meta["meta/object_angle"][t]),
                       ("meta/object_scale", meta["meta/object_scale"][t] + 0.3)):
        wrong = {**meta, key: meta[key].copy()}
        wrong[key][t] = value
        oracle = ref.compose(images, wrong, method="affine", target_only=True).astype(int)
        stored = a["target_only"][0, 0].astype(int)
        ink = (oracle > 0) | (stored > 0)
        assert np.abs(oracle - stored)[ink].mean() > 20


@pytest.mark.parametrize("kw", [
    # objects up to 84 px wide: they cross the canvas edges and each other's quadrants
    dict(scales=(2.4, 2.9), scale_jitter=0.1),
    # axis-aligned rows (sin 0) and columns (cos 0): the degenerate row spans
    dict(angle=0.0, angle_jitter=0.0),
    dict(angle=90.0, angle_jitter=0.0),
    dict(scales=(0.3, 0.5), scale_jitter=0.05, angle=180.0, angle_jitter=0.0),
])
def test_unusual_geometry_matches_scipy_oracle(fake, kw):
    a = scenes(fake, 8, seed=5, with_target_only=True, **kw)
    images, _ = fake.stacked()
    assert_match_oracle(a, images)
    assert (a["images"].max(axis=(1, 2, 3)) == 255).all() and (a["target_only"].max(axis=(1, 2, 3)) == 255).all()


def test_target_placed_scaled_rotated_as_labelled(fake):
    a = scenes(fake, 300, with_target_only=True)
    t = a["meta/target_slot"].astype(int)
    rows = np.arange(300)
    assert set(t) == {4, 5, 6, 7}
    quadrant = 2 * a["meta/loc_x"] + a["meta/loc_y"]
    assert np.array_equal(quadrant, t % 4)
    expected_centre = clutter.QUADRANTS[quadrant]
    assert np.abs(a["meta/center"] - expected_centre).max() <= 2.5
    assert np.array_equal(a["meta/center"], a["meta/object_center"][rows, t])
    s, ang = a["meta/scale_factor"], a["meta/angle"]
    assert np.array_equal(a["meta/scale"] == 1, s > 1.2)
    assert np.all(((s >= 0.8) & (s <= 1.0)) | ((s >= 1.4) & (s <= 1.6)))
    assert np.array_equal(a["meta/orientation"] == 1, ang > 0) and np.all(np.abs(np.abs(ang) - 30) <= 5)
    # The fake sources are noise in rows/cols 4..23: after zoom and rotation the target's ink
    # is a rotated square of side about 20 / zoom (19 plus bilinear spread) around the
    # labelled centre.
    for i in range(0, 300, 7):
        ink = np.argwhere(a["target_only"][i, 0] > 0)
        d = clutter.object_side(s[i])
        side = 20 * (d - 1) / 27
        extent = side * (abs(np.cos(np.radians(ang[i]))) + abs(np.sin(np.radians(ang[i]))))
        for axis in (0, 1):
            lo, hi = ink[:, axis].min(), ink[:, axis].max()
            assert abs((hi - lo) - extent) <= 2.5, (i, axis, hi - lo, extent)
            assert abs((hi + lo) / 2 - (a["meta/center"][i, axis] - d // 2 + (d - 1) / 2)) <= 1.0


def test_clutter_objects_are_cell_permutations(fake):
    images, _ = fake.stacked()
    whole = np.zeros((64, 64))
    cells = np.zeros((64, 64))
    perm = np.empty(9, np.int8)
    for n, (scale, angle) in enumerate([(0.85, 27.0), (1.55, -33.0), (1.45, 31.0), (0.95, -25.5)]):
        clutter.decode_permutation(1 + 40_000 * n, perm)
        assert sorted(perm) == list(range(9)) and list(perm) != list(range(9))
        d, _, _ = clutter.render_object(images[0, n], scale, angle, perm, False, whole)
        clutter.render_object(images[0, n], scale, angle, perm, True, cells)
        cs = d // 3
        for k in range(9):
            p = perm[k]
            got = cells[k // 3 * cs:(k // 3 + 1) * cs, k % 3 * cs:(k % 3 + 1) * cs]
            want = whole[p // 3 * cs:(p // 3 + 1) * cs, p % 3 * cs:(p % 3 + 1) * cs]
            assert np.allclose(got, want, atol=1e-9)
        assert not cells[3 * cs:d, :d].any() and not cells[:d, 3 * cs:d].any()
    a = scenes(fake, 200)
    perms = a["meta/object_permutation"]
    t = a["meta/target_slot"].astype(int)
    identity = np.arange(9)
    for i in range(200):
        for k in range(8):
            assert sorted(perms[i, k]) == list(identity)
            assert np.array_equal(perms[i, k], identity) == (k == t[i])


def _lexicographic_rank(perm):
    """The position of ``perm`` among the permutations of its values in lexicographic order."""
    rank = 0
    for k, v in enumerate(perm):
        rank = rank * (len(perm) - k) + sum(1 for w in perm[k + 1:] if w < v)
    return rank


def test_every_permutation_code_decodes_to_the_permutation_of_that_rank():
    perm = np.empty(9, np.int8)
    codes = list(range(0, clutter.N_PERMS, 997)) + [1, 2, 40319, 40320, clutter.N_PERMS - 1]
    for code in codes:
        clutter.decode_permutation(code, perm)
        assert sorted(perm) == list(range(9))
        assert _lexicographic_rank(list(perm)) == code
    clutter.decode_permutation(0, perm)
    assert list(perm) == list(range(9))
    clutter.decode_permutation(clutter.N_PERMS - 1, perm)
    assert list(perm) == list(range(8, -1, -1))


def test_labels_and_balance(fake):
    n = 4000
    a = scenes(fake, n, seed=3)
    _, labels = fake.stacked()
    t = a["meta/target_slot"].astype(int)
    rows = np.arange(n)
    dom = a["meta/source_domain"][rows, t].astype(int)
    idx = a["meta/source_index"][rows, t]
    assert np.array_equal(a["meta/domain"], dom)
    assert np.array_equal(a["labels"], 10 * dom + labels[dom, idx])
    sigma = 4.5 * np.sqrt(n) / 2
    for var in ("domain", "loc_x", "loc_y", "scale", "orientation"):
        assert abs(int(a[f"meta/{var}"].sum()) - n / 2) <= sigma, var
    assert abs(int((a["meta/source_domain"] == 1).sum()) - 4 * n) <= 4.5 * np.sqrt(8 * n) / 2
    counts = np.bincount(t - 4, minlength=4)
    assert np.all(np.abs(counts - n / 4) <= 4.5 * np.sqrt(n * 3 / 16))
    # categories follow the class frequencies of the split's source images, half per domain
    first, count = fake.split_ranges("train")[0]
    freq = np.concatenate([np.bincount(labels[d, first:first + count], minlength=10) / count for d in (0, 1)])
    expected = n * 0.5 * freq
    assert np.all(np.abs(np.bincount(a["labels"], minlength=20) - expected) <= 4.5 * np.sqrt(expected))


def test_splits_never_share_a_source_image(fake):
    used = {}
    for split in ("train", "val", "test"):
        a = scenes(fake, 400, split=split)
        dom, idx = a["meta/source_domain"], a["meta/source_index"]
        first, count = fake.split_ranges(split)[0]
        assert idx.min() >= first and idx.max() < first + count
        used[split] = set(zip(dom.ravel().tolist(), idx.ravel().tolist()))
    assert not used["train"] & used["val"] and not used["train"] & used["test"] and not used["val"] & used["test"]


@pytest.mark.parametrize("k", [0, 3])
def test_clutter_levels(fake, k):
    a = scenes(fake, 100, clutter_objects=k, with_target_only=True)
    present = a["meta/object_present"].astype(bool)
    assert np.all(present.sum(axis=1) == k + 1)
    assert np.all(present[np.arange(100), a["meta/target_slot"].astype(int)])
    assert np.all((a["meta/source_index"] == -1) == ~present)
    if k == 0:
        assert np.array_equal(a["images"], a["target_only"])
    else:
        assert not np.array_equal(a["images"], a["target_only"])


def run(args):
    return CliRunner().invoke(main, args)


def shard_bytes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).glob("shard-*.h5"))}


def test_cli_deterministic_resumable_verified_audited(fake, tmp_path):
    common = ["clutter", "-n", "60", "--shard-size", "20", "--quiet", "--with-target-only"]
    assert run(common + ["--out", str(tmp_path / "a")]).exit_code == 0
    result = run(common + ["--workers", "2", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert shard_bytes(tmp_path / "a") == shard_bytes(tmp_path / "b") and len(shard_bytes(tmp_path / "a")) == 3
    manifest = (tmp_path / "a" / "manifest.json").read_text()
    assert manifest == (tmp_path / "b" / "manifest.json").read_text()
    assert str(sources.load().sources[0].folder.parent) not in manifest  # no machine-specific path
    assert json.loads(manifest)["params"]["sources"] == fake.digests
    before = shard_bytes(tmp_path / "a")
    (tmp_path / "a" / "shard-00001.h5").unlink()
    assert run(common + ["--out", str(tmp_path / "a")]).exit_code == 0
    assert shard_bytes(tmp_path / "a") == before
    result = run(["verify", str(tmp_path / "a"), "--sample", "10"])
    assert result.exit_code == 0 and "OK" in result.output, result.output
    assert run(["clutter", "-n", "40", "--split", "test", "--quiet", "--out", str(tmp_path / "t")]).exit_code == 0
    result = run(["audit", str(tmp_path / "a"), str(tmp_path / "t"), "--strict"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    checks = report["task_checks"]["clutter"]
    assert checks["ok"] and checks["source_images_shared_between_splits"] == {"test/train": 0}
    result = run(["preview", str(tmp_path / "a"), "-n", "4", "--out", str(tmp_path / "p.png")])
    assert result.exit_code == 0 and (tmp_path / "p.png").stat().st_size > 0


def test_audit_flags_shared_source_images(fake, tmp_path):
    """Two 'splits' drawn from the same images (a forged manifest) must fail the audit."""
    for name in ("x", "y"):
        assert run(["clutter", "-n", "30", "--quiet", "--out", str(tmp_path / name)]).exit_code == 0
    path = tmp_path / "y" / "manifest.json"
    path.write_text(path.read_text().replace('"split": "train"', '"split": "val"'))
    result = run(["audit", str(tmp_path / "x"), str(tmp_path / "y"), "--strict"])
    assert result.exit_code == 1
    assert json.loads(result.output)["task_checks"]["clutter"]["source_images_shared_between_splits"]["train/val"] > 0


@pytest.mark.parametrize("args, fragment", [
    (["--clutter", "8"], "0<=x<=7"),
    (["--split", "dev"], "allowed: train, val, test"),
    (["--scales", "0.1,1.5"], "within 0.25..3.0"),
    (["--scales", "1.5"], "SMALL,LARGE"),
    (["--scales", "1.5,0.9"], "SMALL < LARGE"),
    (["--angle", "200"], "0..180"),
])
def test_cli_bad_parameters(fake, tmp_path, args, fragment):
    result = run(["clutter", "-n", "5", "--out", str(tmp_path / "o")] + args)
    assert result.exit_code == 2 and fragment in result.output
    assert not (tmp_path / "o").exists()


def test_cli_missing_or_corrupt_sources(fake, tmp_path, monkeypatch):
    # --sources sets the environment variable for the workers; restore it afterwards
    monkeypatch.setenv(sources.ENV_VAR, str(fake.sources[0].folder.parent))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(["clutter", "-n", "5", "--sources", str(empty), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "mnist/train-images-idx3-ubyte.gz" in result.output
    assert "benchgen sources fetch" in result.output and "--sources DIR" in result.output
    broken = tmp_path / "broken"
    shutil.copytree(fake.sources[0].folder.parent, broken)
    target = broken / "fashion-mnist" / "t10k-images-idx3-ubyte"
    target.write_bytes(target.read_bytes()[:-50])
    sources._LOADED.clear()
    result = run(["clutter", "-n", "5", "--sources", str(broken), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "t10k-images-idx3-ubyte: truncated" in result.output
    assert not (tmp_path / "o").exists()
    sources._LOADED.clear()


def test_stream_workers_cover_each_index_once(fake):
    import torch
    from torch.utils.data import DataLoader

    from generators.clutter.stream import ClutterStream

    stream = ClutterStream(split="val", seed=5, count=50, start=10, block=4, with_meta=True, with_target_only=True)
    seen, images = [], {}
    for batch in DataLoader(stream, batch_size=6, num_workers=2):
        for k, index in enumerate(batch["index"].tolist()):
            seen.append(index)
            images[index] = batch["images"][k]
        assert batch["target_only"].dtype == torch.float32
    assert sorted(seen) == list(range(10, 60))
    plan = Plan(task_name="clutter", params=stream.params, split="val", seed=5, count=60)
    stored = plan.generate(np.arange(60))  # what `benchgen clutter` would write
    for index, image in images.items():
        assert np.array_equal((image.numpy() * 255).round().astype(np.uint8), stored["images"][index])
    plain = next(iter(ClutterStream(split="val", seed=5, count=1, start=10)))
    assert plain[0].shape == (1, 100, 100) and int(plain[1]) == int(stored["labels"][10])
