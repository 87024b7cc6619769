"""On-the-fly streams of every task (generators/stream.py and generators/<task>/stream.py):
sample i is stored sample i (per-sample and batched modes, labels of PathFinder's shards
included), workers cover each index once whatever their number, and bad options fail
with one line."""
import itertools

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from conftest import all_arrays
from generators import engine
from generators.clutter import sources
from generators.clutter.stream import ClutterStream
from generators.mazes.stream import MazeStream
from generators.pathfinder.stream import PathFinderStream
from generators.shards import read_all
from test_sources import use_fake_sources

PF = dict(length=6, preset="lra32")       # the fastest PathFinder setting


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    use_fake_sources(mp, tmp_path_factory.mktemp("sources"), 5100, 20)
    yield sources.load()
    mp.undo()
    sources._LOADED.clear()


def stored(stream, root, count, shard_size=None):
    """Every array of the dataset ``engine.run`` writes for the stream's parameters."""
    plan = engine.Plan(task_name=stream.task_name, params=stream.params, split=stream.split, seed=stream.seed,
                       count=count, shard_size=shard_size or engine.default_shard_size(stream.task_name,
                                                                                       stream.params),
                       out=root)
    engine.run(plan, workers=1)
    return all_arrays(root)


def collect(stream, workers=0, loader_batch=5):
    """{index: {name: numpy array}} of everything a DataLoader over ``stream`` yields (with_meta)."""
    batched = stream.batch_size is not None
    out = {}
    for batch in DataLoader(stream, batch_size=None if batched else loader_batch, num_workers=workers):
        indices = batch["index"].tolist()
        if batched:
            assert indices == list(range(indices[0], indices[0] + len(indices))), "a batch is not in index order"
        for k, index in enumerate(indices):
            assert index not in out, f"index {index} made twice"
            out[index] = {name: value[k].numpy() for name, value in batch.items() if name != "index"}
    if batched:   # batches come back in block order, whatever the number of workers
        assert list(out) == sorted(out)
    return out


def assert_same_as_stored(stream, data, indices, workers=0):
    """Stream samples equal stored ones: every array byte for byte in batched mode; per
    sample, images as stored / 255 in float32 and targets as int64 (ShardDataset's)."""
    got = collect(stream, workers)
    assert sorted(got) == list(indices)
    names = [n for n in data if n != "meta/seed"]
    assert sorted(got[indices[0]]) == sorted(names)
    for index in indices:
        for name in names:
            want = data[name][index]
            if stream.batch_size is None and name in stream.image_arrays:
                want = np.divide(want, np.float32(255), dtype=np.float32)
            elif stream.batch_size is None and name in ("labels", "masks"):
                want = want.astype(np.int64)
            assert got[index][name].dtype == want.dtype, (name, got[index][name].dtype, want.dtype)
            assert got[index][name].tobytes() == want.tobytes(), f"sample {index}: {name} differs"
    assert np.array_equal(stream.seeds(indices), data["meta/seed"][indices])


@pytest.mark.parametrize("batch_size", [None, 7])
def test_maze_stream_is_the_stored_dataset(tmp_path, batch_size):
    data = stored(MazeStream(9, split="val", seed=3), tmp_path, 40)
    assert_same_as_stored(MazeStream(9, split="val", seed=3, count=30, start=10, with_meta=True,
                                     batch_size=batch_size), data, range(10, 40))
    # the plain (image, target) form: one sample, or a batch of 7
    x, y = next(iter(MazeStream(9, split="val", seed=3, count=10, start=12, batch_size=batch_size)))
    if batch_size is None:
        assert torch.equal(x, torch.from_numpy(data["images"][12] / np.float32(255)))
        assert torch.equal(y, torch.from_numpy(data["masks"][12].astype(np.int64)))
    else:
        assert torch.equal(x, torch.from_numpy(data["images"][12:19]))
        assert torch.equal(y, torch.from_numpy(data["masks"][12:19]))


@pytest.mark.parametrize("markers,batch_size", [(2, None), (2, 6), (1, 4)])
def test_pathfinder_stream_is_the_stored_dataset(tmp_path, markers, batch_size):
    # default shard size (10,000 at 32 px): the stream of 30 from 10 is the 40-sample dataset
    data = stored(PathFinderStream(**PF, markers=markers, split="test", seed=4), tmp_path, 40)
    stream = PathFinderStream(**PF, markers=markers, split="test", seed=4, count=30, start=10, with_meta=True,
                              batch_size=batch_size)
    assert_same_as_stored(stream, data, range(10, 40), workers=2)
    x, y = next(iter(PathFinderStream(**PF, markers=markers, split="test", seed=4, count=30, start=10)))
    assert y.shape == ((32, 32) if markers == 1 else ())
    want = data["masks"][10] if markers == 1 else data["labels"][10]
    assert np.array_equal(y.numpy(), want)


def test_pathfinder_labels_follow_the_shards(tmp_path):
    """Labels are balanced per shard: with the dataset's shard size the stream has its labels,
    endless streams agree on full shards, and another shard size gives other labels."""
    data = stored(PathFinderStream(**PF, seed=9), tmp_path, 40, shard_size=10)
    assert all(data["labels"][k:k + 10].sum() == 5 for k in range(0, 40, 10))
    assert_same_as_stored(PathFinderStream(**PF, seed=9, count=40, shard_size=10, with_meta=True, batch_size=8),
                          data, range(40))
    endless = PathFinderStream(**PF, seed=9, shard_size=10, with_meta=True, block=6)
    got = [sample["labels"].item() for sample in itertools.islice(iter(endless), 40)]
    assert got == data["labels"].tolist()
    other = PathFinderStream(**PF, seed=9, count=40, with_meta=True, batch_size=40)
    assert next(iter(other))["labels"].tolist() != data["labels"].tolist()


def test_pathfinder_stream_uses_benchgens_default_shard_size(tmp_path):
    """At 150 px benchgen's default shard holds 1,000 images: the stream's labels of 1000..1009
    are those of the 10-image second shard (only that shard is written here)."""
    stream = PathFinderStream(6, split="val", seed=2, count=10, start=1000, with_meta=True, batch_size=10)
    assert stream.plan.shard_size == 1000
    plan = engine.Plan(task_name="pathfinder", params=stream.params, split="val", seed=2, count=1010,
                       shard_size=1000, out=tmp_path)
    engine.run(plan, workers=1, shard_range=(1, 2))
    shard = read_all(tmp_path / plan.shard_file(1))
    batch = next(iter(stream))
    assert batch["labels"].tolist() == shard["labels"].tolist() and shard["labels"].sum() == 5
    assert batch["images"].numpy().tobytes() == shard["images"].tobytes()


@pytest.mark.parametrize("batch_size", [None, 8])
def test_clutter_stream_is_the_stored_dataset(fake, tmp_path, batch_size):
    data = stored(ClutterStream(split="val", seed=5, with_target_only=True), tmp_path, 36)
    stream = ClutterStream(split="val", seed=5, with_target_only=True, count=30, start=6, with_meta=True,
                           batch_size=batch_size)
    assert_same_as_stored(stream, data, range(6, 36), workers=2)


@pytest.mark.filterwarnings("ignore:This DataLoader will create 3 worker processes")
@pytest.mark.parametrize("batch_size", [None, 4])
@pytest.mark.parametrize("workers", [0, 1, 2, 3])
def test_any_number_of_workers_covers_each_index_once(workers, batch_size):
    # 5 blocks or batches of 4 (the last of 3) from 7: fewer than 2 per worker at 3 workers
    stream = MazeStream(9, count=19, start=7, with_meta=True, batch_size=batch_size,
                        block=None if batch_size else 4)
    got = collect(stream, workers, loader_batch=3)
    assert sorted(got) == list(range(7, 26))
    alone = MazeStream(9, count=19, start=7, with_meta=True, batch_size=5).generate(np.arange(7, 26))
    for index, sample in got.items():
        assert sample["masks"].astype(np.uint8).tobytes() == alone["masks"][index - 7].tobytes()
    assert len(stream) == (19 if batch_size is None else 5)
    if batch_size:   # DataLoader(batch_size=None) counts batches
        assert len(DataLoader(stream, batch_size=None, num_workers=workers)) == 5


def test_endless_stream_and_empty_stream():
    endless = MazeStream(9, batch_size=3)
    first = list(itertools.islice(iter(endless), 4))
    assert [b[0].shape[0] for b in first] == [3, 3, 3, 3]
    with pytest.raises(TypeError, match="endless stream has no length"):
        len(endless)
    assert list(MazeStream(9, count=0)) == []


BAD = [
    (MazeStream, dict(size=8), r"^size 8 is not allowed; the maze size must be an odd integer >= 3$"),
    (MazeStream, dict(size=3, disjoint=True), r"^disjoint: size 3 has too few .*allowed with disjoint=True: size >= 5$"),
    (MazeStream, dict(size=9, split="tain"), r"^split 'tain' is not allowed; one of train, val, test$"),
    (MazeStream, dict(size=9, seed=-1), r"^seed -1 is not allowed; an integer in 0..2\*\*64-1$"),
    (MazeStream, dict(size=9, count=-1), r"^count -1 is not allowed; an integer >= 0, or None for an endless"),
    (MazeStream, dict(size=9, start=-1), r"^start -1 is not allowed; an integer >= 0$"),
    (MazeStream, dict(size=9, count=2.5), r"^count 2.5 is not allowed; an integer >= 0, or None for an endless"),
    (MazeStream, dict(size=9, batch_size=0), r"^batch_size 0 is not allowed; an integer >= 1, or None"),
    (MazeStream, dict(size=9, block=0), r"^block 0 is not allowed; an integer >= 1, or None"),
    (MazeStream, dict(size=9, block=8, batch_size=4), r"^block 8 and batch_size 4 given; give one"),
    (MazeStream, dict(size=9, target="labels"), r"^target 'labels' is not allowed for mazes; allowed: masks$"),
    (PathFinderStream, dict(length=1), r"^length: 1 is not allowed; the contour length \(dashes\) must be >= 2$"),
    (PathFinderStream, dict(length=14, preset="lra16"), r"^preset: 'lra16' is not a preset; allowed: linsley2018"),
    (PathFinderStream, dict(length=14, markers=3), r"^markers: 3 is not allowed; 1 \(segmentation"),
    (PathFinderStream, dict(length=6, preset="lra32", contrast=2.0), r"^contrast: 2.0 is not allowed; .*\[0.05, 1\]$"),
    (PathFinderStream, dict(length=40, preset="lra32"), r"^length: contour length 40 does not fit a 32x32 canvas"),
    (PathFinderStream, dict(length=6, preset="lra32", shard_size=0), r"^shard_size 0 is not allowed; an integer >= 1"),
    (ClutterStream, dict(clutter=9), r"^clutter: 9 is not allowed; the number of clutter objects is 0..7$"),
    (ClutterStream, dict(scales=(1.5, 0.9)), r"^scales: 1.5,0.9 is not SMALL,LARGE with SMALL < LARGE$"),
    (ClutterStream, dict(batch_size=-3), r"^batch_size -3 is not allowed; an integer >= 1, or None"),
]


@pytest.mark.parametrize("cls,kwargs,message", BAD, ids=[f"{c.__name__}-{'-'.join(k)}" for c, k, _ in BAD])
def test_bad_parameters_fail_with_one_line(fake, cls, kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        cls(**kwargs)
    assert "\n" not in str(info.value)


def test_misspelt_option_is_named():
    with pytest.raises(TypeError, match="cuont"):
        MazeStream(9, cuont=5)
    with pytest.raises(TypeError, match="batchsize"):
        PathFinderStream(**PF, batchsize=5)
