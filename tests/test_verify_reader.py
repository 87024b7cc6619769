"""verify catches damage; the reader names the damaged file."""
import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from generators import engine
from generators.cli import main
from generators.dataset import open_dataset
from generators.errors import DatasetError, ShardError
from generators.shards import read_all, sha256_file, write_shard
from tests.conftest import maze_plan


@pytest.fixture
def dataset(tmp_path):
    engine.run(maze_plan(tmp_path / "d", count=30, shard_size=10))
    return tmp_path / "d"


def test_verify_passes_on_a_fresh_dataset(dataset):
    result = CliRunner().invoke(main, ["verify", str(dataset), "--sample", "30"])
    assert result.exit_code == 0, result.output
    assert "3 shards match" in result.output and "30 samples regenerated identically" in result.output


def test_verify_catches_a_flipped_byte(dataset):
    shard = dataset / "shard-00001.h5"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["verify", str(dataset), "--sample", "5"])
    assert result.exit_code == 1
    assert "shard-00001.h5: sha256 differs from the manifest" in result.output


def test_verify_regeneration_catches_content_that_the_digest_blesses(dataset):
    """A shard rewritten with other pixels and a matching digest still fails regeneration."""
    shard = dataset / "shard-00000.h5"
    arrays = read_all(shard)
    arrays["images"][4, 0, 5, 5] ^= 0xFF
    with h5py.File(shard) as f:
        attrs = dict(f.attrs)
    digest = write_shard(shard, arrays, attrs, "blosc-lz4")
    manifest = json.loads((dataset / "manifest.json").read_text())
    manifest["shards"][0]["sha256"] = digest
    (dataset / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["verify", str(dataset), "--sample", "30"])
    assert result.exit_code == 1
    assert "sample 4: images differs from a fresh generation" in result.output


def test_reader_names_a_truncated_file(dataset):
    shard = dataset / "shard-00002.h5"
    shard.write_bytes(shard.read_bytes()[:1000])
    ds = open_dataset(dataset)
    with pytest.raises(ShardError, match="shard-00002.h5: corrupt or truncated shard"):
        ds.shards.sample(25)
    assert np.array_equal(ds.shards.sample(3)["meta/seed"], ds.plan.seeds([3])[0])
    result = CliRunner().invoke(main, ["verify", str(dataset), "--sample", "0"])
    assert result.exit_code == 1 and "shard-00002.h5" in result.output


def test_reader_random_access_equals_generation(dataset):
    ds = open_dataset(dataset, cache_bytes=10_000)  # tiny cache: evictions exercised
    fresh = ds.plan.generate(np.arange(30))
    for i in np.random.default_rng(0).permutation(30):
        sample = ds.shards.sample(int(i))
        for name, value in sample.items():
            assert np.array_equal(value, fresh[name][i]), (i, name)
    with pytest.raises(IndexError):
        ds.shards.sample(30)


def test_incomplete_dataset_is_refused_by_readers(tmp_path):
    engine.run(maze_plan(tmp_path / "d", count=30, shard_size=10), shard_range=(0, 1))
    with pytest.raises(DatasetError, match="incomplete"):
        open_dataset(tmp_path / "d")


def test_missing_or_foreign_folder_is_one_clear_line(tmp_path):
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no manifest.json" in result.output
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{not json")
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "bad")])
    assert result.exit_code == 2 and "not valid JSON" in result.output


def test_shard_files_have_the_documented_layout(dataset):
    with h5py.File(dataset / "shard-00000.h5") as f:
        assert f["images"].dtype == np.uint8 and f["images"].shape == (10, 3, 24, 24)
        assert f["masks"].shape == (10, 24, 24) and f["images"].chunks[0] >= 1
        assert sorted(f["meta"]) == ["end", "path_length", "retries", "seed", "start"]
        assert f["meta/seed"].dtype == np.uint64
        assert f.attrs["task"] == "mazes" and f.attrs["first_index"] == 0
    assert sha256_file(dataset / "shard-00000.h5") == json.loads((dataset / "manifest.json").read_text())["shards"][0]["sha256"]
