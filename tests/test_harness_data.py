import numpy as np
import pytest
import torch

from benchmark import data, suite
from benchmark.errors import HarnessError
from generators import manifest as mf
from generators.dataset import open_dataset


@pytest.fixture(scope="module")
def maze_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    return suite.ensure(suite.data_spec("mazes", "quick", 9, "test"), root), root


def test_suite_entry_names_one_dataset(maze_root):
    folder, root = maze_root
    spec = suite.data_spec("mazes", "quick", 9, "test")
    m = mf.load(folder)
    assert (m["task"], m["params"]["size"], m["split"], m["count"], m["seed"]) == ("mazes", 9, "test", 200, suite.TASKS["mazes"].seed)
    assert suite.manifest_hash(spec, root) == mf.manifest_sha256(folder)
    before = (folder / "shard-00000.h5").stat().st_mtime_ns
    suite.ensure(spec, root)                          # already there: nothing regenerated
    assert (folder / "shard-00000.h5").stat().st_mtime_ns == before


def test_suite_rejects_unknown_sets():
    with pytest.raises(HarnessError, match="allowed: 9, 11, 13"):
        suite.data_spec("mazes", "quick", 10, "train")
    with pytest.raises(HarnessError, match="unknown task 'nope'"):
        suite.get("nope")
    with pytest.raises(HarnessError, match="allowed: standard, quick"):
        suite.data_spec("mazes", "tiny", 9, "test")


def test_dataset_matches_shards(maze_root):
    folder, _ = maze_root
    ds = data.ShardDataset(folder)
    raw = open_dataset(folder).shards.sample(7)
    x, y = ds[7]
    assert x.dtype == torch.float32 and x.shape == (3, 24, 24)
    assert torch.equal(x, torch.from_numpy(raw["images"]).float() / 255)
    assert y.dtype == torch.int64 and torch.equal(y, torch.from_numpy(raw["masks"]).long())
    assert len(ds) == 200


def test_dataloader_with_workers_equals_single_process(maze_root):
    folder, _ = maze_root
    ds = data.ShardDataset(folder, transform=data.Compose(data.RandomFlip(vertical=True), data.RandomRot90()), seed=3)
    single = [b for b in data.loader(ds, 32)]
    multi = [b for b in data.loader(ds, 32, num_workers=2)]
    assert len(single) == len(multi) == -(-len(ds) // 32)
    assert sum(len(x) for x, _ in multi) == len(ds)
    for (xa, ya), (xb, yb) in zip(single, multi):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_transforms_move_mask_with_image(maze_root):
    folder, _ = maze_root
    plain = data.ShardDataset(folder)
    aug = data.ShardDataset(folder, transform=data.Compose(data.RandomFlip(vertical=True), data.RandomRot90()), seed=1)
    changed = 0
    for i in range(20):
        x0, y0 = plain[i]
        x1, y1 = aug[i]
        # the same dihedral transform of (image, mask): find it among the 8 and check the mask
        found = False
        for k in range(4):
            for flip in (False, True):
                xt, yt = torch.rot90(x0, k, (-2, -1)), torch.rot90(y0, k, (-2, -1))
                if flip:
                    xt, yt = xt.flip(-1), yt.flip(-1)
                if torch.equal(xt, x1):
                    found |= torch.equal(yt, y1)
        assert found
        changed += not torch.equal(x0, x1)
    assert changed > 5


def test_resize_keeps_mask_binary():
    x = torch.rand(3, 24, 24)
    y = (torch.rand(24, 24) > 0.5).long()
    x2, y2 = data.Resize((48, 48))(x, y, np.random.default_rng(0))
    assert x2.shape == (3, 48, 48) and y2.shape == (48, 48)
    assert set(y2.unique().tolist()) <= {0, 1}
    assert torch.equal(y2[::2, ::2], y)               # nearest: every 2x2 block copies its pixel


def test_missing_folder_is_one_line(tmp_path):
    with pytest.raises(HarnessError, match="no manifest.json"):
        data.ShardDataset(tmp_path)


@pytest.mark.parametrize("task, target, metric", [("pathfinder", "labels", "accuracy"),
                                                   ("pathfinder-seg", "masks", "iou")])
def test_pathfinder_entries_when_generator_exists(task, target, metric):
    if task not in suite.task_names():
        pytest.skip("generators.pathfinder.task is not installed")
    spec = suite.get(task)
    assert (spec.target, spec.metric) == (target, metric)
    plan = suite.data_spec(task, "standard", 14, "test").plan("root")
    assert plan.params["length"] == 14 and plan.params["markers"] == (1 if task == "pathfinder-seg" else 2)
    assert plan.count == (100_000 if task == "pathfinder" else 10_000)
    assert spec.info(14).name == task and spec.info(14).height == plan.params["size"]
    if task == "pathfinder":
        assert suite.data_spec(task, "standard", 25, "test").plan("root").count == 20_000


def test_clutter_without_sources_is_one_line(monkeypatch, tmp_path):
    if "clutter" not in suite.task_names():
        pytest.skip("generators.clutter.task is not installed")
    from generators.clutter import sources

    monkeypatch.setenv("RVB_SOURCES", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(sources, "DEBIAN_DIRS", {})
    monkeypatch.setattr(sources, "_LOADED", {})            # sources loaded by earlier tests are not found here
    with pytest.raises(HarnessError) as caught:
        suite.data_spec("clutter", "quick", 8, "test").plan(tmp_path)
    assert str(caught.value).startswith("quick/clutter/8/test: ") and "\n" not in str(caught.value)
    assert "mnist" in str(caught.value)


def test_cli_data_prepare_and_list(tmp_path):
    from click.testing import CliRunner

    from benchmark.cli import main

    runner = CliRunner()
    args = ["--task", "mazes", "--quick", "--data-root", str(tmp_path)]
    result = runner.invoke(main, ["data", "prepare", *args, "--split", "test", "--difficulties", "9,11", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "generated 200 samples" in result.output
    again = runner.invoke(main, ["data", "prepare", *args, "--split", "test", "--difficulties", "9", "--quiet"])
    assert again.exit_code == 0 and again.output.strip().endswith(": ready")
    listing = runner.invoke(main, ["data", "list", *args]).output
    digest = mf.manifest_sha256(tmp_path / "quick" / "mazes" / "9" / "test")
    assert "quick/mazes/9/test" in listing and digest in listing and "not generated" in listing
    bad = runner.invoke(main, ["data", "prepare", "--task", "mazes", "--difficulties", "10", "--data-root", str(tmp_path)])
    assert bad.exit_code == 2 and "no standard mazes set" in bad.output
