"""Determinism, parallelism, resume and shard ranges of the generation engine."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from generators import engine
from generators.codecs import CODECS
from generators.errors import DatasetError
from generators.seeds import sample_seeds
from generators.shards import read_all, sha256_file, write_shard
from tests.conftest import all_arrays, folder_bytes, maze_plan


def test_same_seed_gives_identical_bytes(tmp_path):
    for name in ("a", "b"):
        engine.run(maze_plan(tmp_path / name, count=45, shard_size=10))
    assert folder_bytes(tmp_path / "a") == folder_bytes(tmp_path / "b")


def test_one_and_two_workers_give_identical_bytes(tmp_path):
    engine.run(maze_plan(tmp_path / "w1", count=60, shard_size=10), workers=1)
    engine.run(maze_plan(tmp_path / "w2", count=60, shard_size=10), workers=2)
    assert folder_bytes(tmp_path / "w1") == folder_bytes(tmp_path / "w2")


def test_shard_size_does_not_change_samples(tmp_path):
    engine.run(maze_plan(tmp_path / "a", count=30, shard_size=7))
    engine.run(maze_plan(tmp_path / "b", count=30, shard_size=30))
    a, b = all_arrays(tmp_path / "a"), all_arrays(tmp_path / "b")
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def test_different_splits_and_seeds_give_different_mazes(tmp_path):
    plans = [maze_plan(tmp_path / "x", size=13, split=s, seed=seed) for s, seed in
             (("train", 0), ("test", 0), ("val", 0), ("train", 1))]
    images = [p.generate(np.arange(20))["images"] for p in plans]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert not any((images[i][a] == images[j][b]).all() for a in range(20) for b in range(20))


def test_seeds_are_distinct_and_pinned():
    seeds = sample_seeds(0, "mazes", "9", "train", np.arange(100_000))
    assert len(np.unique(seeds)) == 100_000
    assert not np.intersect1d(seeds, sample_seeds(0, "mazes", "9", "test", np.arange(100_000))).size
    assert not np.intersect1d(seeds, sample_seeds(0, "mazes", "11", "train", np.arange(100_000))).size
    # A change of the mixing function would silently change every dataset: pin values.
    assert [int(s) for s in sample_seeds(0, "mazes", "9", "train", [0, 1])] == PINNED_SEEDS


PINNED_SEEDS = [6798903287432849599, 13637798770511426344]


def test_manifest_lists_every_shard_with_its_digest(tmp_path):
    manifest = engine.run(maze_plan(tmp_path / "d", count=25, shard_size=10))
    assert manifest["complete"] and manifest["count"] == 25
    assert [(s["first_index"], s["count"]) for s in manifest["shards"]] == [(0, 10), (10, 10), (20, 5)]
    for rec in manifest["shards"]:
        assert sha256_file(tmp_path / "d" / rec["file"]) == rec["sha256"]
    on_disk = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert on_disk == manifest
    assert on_disk["params"] == {"size": 9, "disjoint_splits": True}


def test_removed_shard_is_remade_identically(tmp_path):
    plan = maze_plan(tmp_path / "d", count=40, shard_size=10)
    engine.run(plan)
    before = folder_bytes(tmp_path / "d")
    (tmp_path / "d" / "shard-00002.h5").unlink()
    engine.run(plan)
    assert folder_bytes(tmp_path / "d") == before


def test_shard_ranges_run_apart_merge_into_the_same_dataset(tmp_path):
    whole = maze_plan(tmp_path / "whole", count=40, shard_size=10)
    engine.run(whole)
    parts = maze_plan(tmp_path / "parts", count=40, shard_size=10)
    first = engine.run(parts, shard_range=(2, 4))
    assert not first["complete"]
    assert json.loads((tmp_path / "parts" / "manifest.json").read_text())["complete"] is False
    second = engine.run(parts, shard_range=(0, 2))
    assert second["complete"]
    assert folder_bytes(tmp_path / "parts") == folder_bytes(tmp_path / "whole")


def test_shards_made_elsewhere_are_adopted(tmp_path):
    """A shard copied in from another machine (not in this manifest) is checked and listed."""
    engine.run(maze_plan(tmp_path / "other", count=40, shard_size=10), shard_range=(3, 4))
    here = maze_plan(tmp_path / "here", count=40, shard_size=10)
    engine.run(here, shard_range=(0, 3))
    (tmp_path / "here" / "shard-00003.h5").write_bytes((tmp_path / "other" / "shard-00003.h5").read_bytes())
    manifest = engine.run(here, shard_range=(3, 4))
    assert manifest["complete"]
    engine.run(maze_plan(tmp_path / "whole", count=40, shard_size=10))
    assert folder_bytes(tmp_path / "here") == folder_bytes(tmp_path / "whole")


def test_foreign_shard_is_refused(tmp_path):
    engine.run(maze_plan(tmp_path / "other", count=40, shard_size=10, seed=5), shard_range=(3, 4))
    here = maze_plan(tmp_path / "here", count=40, shard_size=10)
    engine.run(here, shard_range=(0, 3))
    (tmp_path / "here" / "shard-00003.h5").write_bytes((tmp_path / "other" / "shard-00003.h5").read_bytes())
    with pytest.raises(DatasetError, match="shard-00003.h5: shard belongs to another dataset"):
        engine.run(here)


def test_folder_with_another_dataset_is_refused(tmp_path):
    engine.run(maze_plan(tmp_path / "d", count=20))
    with pytest.raises(DatasetError, match="seed = 0 there, 3 asked"):
        engine.run(maze_plan(tmp_path / "d", count=20, seed=3))


def test_killed_run_resumes_to_the_same_bytes(tmp_path):
    args = ["--size", "101", "-n", "600", "--shard-size", "20", "--quiet"]
    subprocess.run([sys.executable, "-m", "generators", "mazes", *args, "--out", str(tmp_path / "ref")], check=True)
    target = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "generators", "mazes", *args, "--out", str(target)])
    deadline = time.time() + 60
    while not (target / "shard-00003.h5").exists() and time.time() < deadline:
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(target.glob("shard-*.h5")))
    subprocess.run([sys.executable, "-m", "generators", "mazes", *args, "--out", str(target)], check=True)
    assert done_before < 30, "the run was meant to be interrupted"
    assert folder_bytes(target) == folder_bytes(tmp_path / "ref")
    assert not list(target.glob(".*tmp*"))


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_every_codec_round_trips_grey_and_binary_images(tmp_path, codec):
    rng = np.random.default_rng(0)
    arrays = {"images": (rng.random((70, 1, 20, 20)) ** 4 * 255).astype(np.uint8),
              "masks": (rng.random((70, 20, 20)) > 0.7).astype(np.uint8),
              "labels": np.arange(70), "meta/x": rng.random(70)}
    digest = write_shard(tmp_path / "s.h5", arrays, {"task": "t"}, codec)
    assert digest == sha256_file(tmp_path / "s.h5")
    back = read_all(tmp_path / "s.h5")
    for name, value in arrays.items():
        np.testing.assert_array_equal(back[name], value)
