"""Data is checked against its manifest before it is scored or trained on."""
import json
import os
import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from benchmark import suite
from benchmark.cli import main
from benchmark.data import ShardDataset
from benchmark.errors import HarnessError
from generators.errors import DatasetError
from generators.integrity import STAMP, check_shards
from generators.manifest import load


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The quick mazes test sets the harness evaluates by default (never modified)."""
    root = tmp_path_factory.mktemp("data")
    for d in suite.default_test_difficulties("mazes", "quick"):
        suite.ensure(suite.data_spec("mazes", "quick", d, "test"), root)
    return root


@pytest.fixture
def data_root(pristine, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(pristine, root)
    return root


def folder_of(root, d=9):
    return suite.data_spec("mazes", "quick", d, "test").plan(root).out


def flip_image_bit(shard):
    """Flip one bit inside the first compressed chunk of ``images`` (it still decodes)."""
    with h5py.File(shard) as f:
        info = f["images"].id.get_chunk_info(0)
    raw = bytearray(shard.read_bytes())
    raw[info.byte_offset + info.size // 2] ^= 0x04
    stat = shard.stat()
    shard.write_bytes(bytes(raw))
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns))     # same size and time: only the bytes differ


def test_flipped_bit_missing_and_truncated_shards_are_named(data_root):
    folder = folder_of(data_root)
    manifest = load(folder)
    shard = folder / manifest["shards"][0]["file"]
    assert check_shards(folder, manifest, always=True) == len(manifest["shards"])
    flip_image_bit(shard)
    with pytest.raises(DatasetError, match=rf"^{shard}: sha256 differs from the manifest.*benchgen verify {folder}"):
        check_shards(folder, manifest, always=True)
    shard.write_bytes(shard.read_bytes()[:1000])
    with pytest.raises(DatasetError, match=rf"^{shard}: sha256 differs"):
        check_shards(folder, manifest)
    shard.unlink()
    with pytest.raises(DatasetError, match=rf"^{shard}: shard file is missing"):
        check_shards(folder, manifest)


def test_the_stamp_spares_hashing_unchanged_files_only(data_root):
    folder = folder_of(data_root)
    manifest = load(folder)
    n = len(manifest["shards"])
    assert check_shards(folder, manifest) == n                 # first time: every file hashed
    assert (folder / STAMP).is_file()
    assert check_shards(folder, manifest) == 0                 # vouched for by the stamp
    shard = folder / manifest["shards"][0]["file"]
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 1))
    assert check_shards(folder, manifest) == 1                 # touched: hashed again (and still good)
    # The stamp trusts (size, mtime, inode): a same-size rewrite with the old time restored
    # passes it; always=True (test sets) hashes and catches it.
    flip_image_bit(shard)
    assert check_shards(folder, manifest) == 0
    with pytest.raises(DatasetError, match="sha256 differs"):
        check_shards(folder, manifest, always=True)
    # A stamp of another manifest is ignored.
    stamp = json.loads((folder / STAMP).read_text())
    (folder / STAMP).write_text(json.dumps({**stamp, "manifest": "0" * 64}))
    with pytest.raises(DatasetError, match="sha256 differs"):
        check_shards(folder, manifest)


def test_the_flipped_bit_decodes_silently_without_the_check(data_root):
    folder = folder_of(data_root)
    def images():
        ds = ShardDataset(folder, verify=None)
        return np.stack([ds.raw(i)[0] for i in range(len(ds))])

    before = images()
    flip_image_bit(folder / load(folder)["shards"][0]["file"])
    assert (before != images()).sum() > 0                      # decodes without an error: what the check is for
    with pytest.raises(HarnessError, match="sha256 differs from the manifest"):
        ShardDataset(folder)


def test_evaluate_refuses_damaged_test_data_and_writes_nothing(data_root, tmp_path):
    folder = folder_of(data_root, 11)
    flip_image_bit(folder / load(folder)["shards"][0]["file"])
    out = tmp_path / "res" / "r.json"
    result = CliRunner().invoke(main, ["evaluate", "benchmark/examples/tiny_cnn.py", "--task", "mazes", "--quick",
                                       "--data-root", str(data_root), "--out", str(out), "--quiet", "--n-boot", "20"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "shard-00000.h5: sha256 differs from the manifest" in lines[0]
    assert "benchgen verify" in lines[0]
    assert not out.parent.exists()


def test_damaged_lz4_chunk_is_one_line_not_a_wrong_array(tmp_path):
    """lz4-zeros (clutter's codec) chunks decoded through the LZ4 filter, damaged after the check."""
    from generators.engine import Plan, run
    from generators.mazes.task import MazeTask

    plan = Plan(task_name="mazes", params=MazeTask.params(9), split="test", seed=3, count=40, shard_size=40,
                codec="lz4-zeros", out=tmp_path / "ds")
    run(plan, workers=1)
    ds = ShardDataset(plan.out)
    shard = plan.out / "shard-00000.h5"
    with h5py.File(shard) as f:
        info = f["images"].id.get_chunk_info(0)
    raw = bytearray(shard.read_bytes())
    raw[info.byte_offset + 1] ^= 0xFF            # the first token: the decoder's sizes go wrong
    shard.write_bytes(bytes(raw))
    with pytest.raises(HarnessError) as caught:
        ShardDataset(plan.out, verify=None).raw(0)
    message = str(caught.value)
    assert "\n" not in message and str(shard) in message and "benchgen verify" in message
    with pytest.raises(HarnessError, match="sha256 differs"):
        ds.check()
