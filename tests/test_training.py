"""Training loops on quick maze data: loss goes down, exact resume, algorithms, CLI."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import baselines
from benchmark import contract, suite
from benchmark.errors import HarnessError
from benchmark.training import TrainConfig, algorithms, train
from benchmark.training import loop as tl
from benchmark.training.losses import LOSSES, focal, maze_cross_entropy
from benchmark.training.recipes import Recipe

TINY_MODEL = """
import baselines
def build_model(task):
    return baselines.get("{name}")(task, {settings})
"""


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    for split in ("train", "val"):
        suite.ensure(suite.DataSpec("mazes", "quick", 9, split), root)
    return root


def model_file(tmp_path, name="locrnn", settings="width=6, steps=4"):
    path = tmp_path / f"tiny_{name.replace('-', '_')}.py"
    path.write_text(TINY_MODEL.format(name=name, settings=settings))
    return path


def config(tmp_path, data_root, **kw):
    base = dict(model=str(model_file(tmp_path)), task="mazes", sets="quick", epochs=1, batch_size=16,
                limit_batches=4, lr=1e-2, val_limit=32, data_root=data_root, device="cpu",
                evaluate=False, out=tmp_path / "run", progress=False)
    base.update(kw)
    return TrainConfig(**base)


def test_training_reduces_the_loss(tmp_path, data_root):
    cfg = config(tmp_path, data_root, epochs=1, limit_batches=30, val_limit=64)
    run = tl.resolve(cfg)
    model, steps = tl._build(run)
    _, val = tl._data(run)
    before, _ = tl.validate(model, val, steps, maze_cross_entropy, lambda p, t, x: (p == p).float().mean((1, 2)),
                            torch.device("cpu"), 16, None, limit=64)
    summary = train(cfg)
    after = summary["history"][-1]["val_loss"]
    assert after < before - 0.01          # ln 2 = 0.693 at the start
    lines = [json.loads(l) for l in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [l["event"] for l in lines][0] == "start" and lines[-1]["event"] == "end"
    assert any(l["event"] == "epoch" and "val_maze_exact" in l for l in lines)
    # The weights file loads with weights_only into a freshly built model.
    fresh = contract.build(run.source, run.info)
    contract.load_weights(fresh, tmp_path / "run" / "model.pt")


def test_resume_after_interruption_equals_uninterrupted(tmp_path, data_root):
    kw = dict(epochs=2, limit_batches=3, algorithm="progressive")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = train(config(tmp_path / "a", data_root, out=tmp_path / "a" / "run", **kw))

    def interrupt(msg):
        if msg.startswith("epoch 1/2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path / "b", data_root, out=tmp_path / "b" / "run", echo=interrupt, **kw))
    assert not (tmp_path / "b" / "run" / "model.pt").exists()
    resumed = train(config(tmp_path / "b", data_root, out=tmp_path / "b" / "run", **kw))
    a = torch.load(whole["weights"], weights_only=True)
    b = torch.load(resumed["weights"], weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert [h["val_loss"] for h in whole["history"]] == [h["val_loss"] for h in resumed["history"]]
    events = [json.loads(l)["event"] for l in (tmp_path / "b" / "run" / "log.jsonl").read_text().splitlines()]
    assert "resume" in events


def test_resume_refuses_another_run(tmp_path, data_root):
    train(config(tmp_path, data_root, limit_batches=1))
    with pytest.raises(HarnessError, match="belongs to another run .*algorithm"):
        train(config(tmp_path, data_root, limit_batches=1, algorithm="cbptt"))


def test_train_count_uses_the_first_samples_of_the_full_set(tmp_path, data_root):
    from benchmark.data import ShardDataset
    summary = train(config(tmp_path, data_root, train_count=40, limit_batches=1, val_limit=8))
    prefix = ShardDataset(data_root / "quick" / "mazes" / "9" / "train-first40")
    full = ShardDataset(suite.DataSpec("mazes", "quick", 9, "train").plan(data_root).out)
    assert len(prefix) == 40
    for i in (0, 17, 39):
        assert (prefix.raw(i)[0] == full.raw(i)[0]).all()
    assert summary["history"][0]["train_loss"] is not None


def test_time_limit_stops_between_epochs(tmp_path, data_root):
    summary = train(config(tmp_path, data_root, epochs=3, limit_batches=1, val_limit=8, max_minutes=1e-6))
    assert summary["stopped_after_epoch"] == 1 and len(summary["history"]) == 1
    assert (tmp_path / "run" / "model.pt").exists()


def test_stop_time_ends_an_epoch_early_and_resume_goes_on(tmp_path, data_root, monkeypatch):
    calls = []

    def past_after_two_batches(stop_at):
        calls.append(stop_at)
        return stop_at is not None and len(calls) > 3      # the epoch check, then batches 1 and 2 run

    monkeypatch.setattr(tl, "_past", past_after_two_batches)
    summary = train(config(tmp_path, data_root, epochs=3, limit_batches=4, val_limit=8, stop_at=1.0))
    (record,) = summary["history"]
    assert (record["batches"], record["samples"], record["partial"]) == (2, 32, True)
    assert summary["stopped_after_epoch"] == 1 and (tmp_path / "run" / "model.pt").exists()
    monkeypatch.setattr(tl, "_past", lambda stop_at: False)
    resumed = train(config(tmp_path, data_root, epochs=3, limit_batches=4, val_limit=8, stop_at=1.0))
    assert [h["batches"] for h in resumed["history"]] == [2, 4, 4]
    assert not any(h["partial"] for h in resumed["history"][1:])


def test_init_weights_start_the_run_from_those_weights(tmp_path, data_root):
    first = train(config(tmp_path, data_root, limit_batches=2, out=tmp_path / "first"))
    start = torch.load(first["weights"], weights_only=True)
    again = train(config(tmp_path, data_root, limit_batches=2, lr=0.0, out=tmp_path / "again",
                         init_weights=first["weights"]))
    after = torch.load(again["weights"], weights_only=True)
    learned = [k for k in start if "running_" not in k and "num_batches" not in k]    # not norm statistics
    assert learned and all(torch.equal(start[k], after[k]) for k in learned)   # lr 0: nothing moved from the start
    other = tmp_path / "other.pt"
    torch.save({k: v + 1 for k, v in start.items()}, other)
    with pytest.raises(HarnessError, match="belongs to another run .*init_weights_sha256"):
        train(config(tmp_path, data_root, limit_batches=2, lr=0.0, out=tmp_path / "again", init_weights=other))


@pytest.mark.parametrize("algorithm", ["bptt", "progressive", "rbp", "crbp", "cbptt"])
def test_every_algorithm_gives_finite_gradients(algorithm):
    from benchmark import taskinfo as ti
    task = ti.mazes(5)
    torch.manual_seed(0)
    model = baselines.get("hgru")(task, width=4, kernel=3, steps=4)
    x = torch.rand(3, 3, task.height, task.width)
    y = (torch.rand(3, task.height, task.width) > 0.8).long()
    loss, logits, stats = algorithms.training_loss(model, x, y, maze_cross_entropy, algorithm, 4, Recipe(),
                                                   torch.Generator().manual_seed(0))
    loss.backward()
    assert logits.shape == (3, 2, task.height, task.width)
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert all(g is not None for g in grads.values()), [n for n, g in grads.items() if g is None]
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads.values())
    assert ("lcp" in stats) == (algorithm in ("crbp", "cbptt"))
    if algorithm == "progressive":
        assert 0 <= stats["progressive_n"] < 4 and 1 <= stats["progressive_k"] <= 4 - stats["progressive_n"]


def test_algorithm_checks():
    from benchmark import taskinfo as ti
    ff = baselines.get("resnet12")(ti.mazes(5), width=4)
    assert "feedforward" in algorithms.check(ff, "crbp")
    assert algorithms.check(ff, "bptt") is None

    class OnlyForward(torch.nn.Module):
        recurrent = True

        def forward(self, x, steps):
            return x
    assert "step function" in algorithms.check(OnlyForward(), "rbp")
    assert "unknown algorithm" in algorithms.check(ff, "sgd")


def test_losses_against_hand_computation():
    logits = torch.tensor([[[[2.0, 0.0]], [[0.0, 1.0]]]])     # [1, 2, 1, 2]
    target = torch.tensor([[[0, 1]]])
    images = torch.tensor([[[[1.0, 0.0]]]]).expand(1, 3, 1, 2)  # second pixel is wall
    p0 = torch.softmax(torch.tensor([2.0, 0.0]), 0)[0]
    assert maze_cross_entropy(logits, target, images).item() == pytest.approx(-torch.log(p0).item(), rel=1e-6)
    p1 = torch.softmax(torch.tensor([0.0, 1.0]), 0)[1]
    expected = (-(1 - p0) ** 2 * torch.log(p0) - (1 - p1) ** 2 * torch.log(p1)) / 2
    assert focal(logits, target, images).item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(LOSSES) == {"ce", "maze-ce", "focal"}


def test_cli_trains_and_writes_results(tmp_path, data_root):
    from benchmark.cli import main
    from benchmark import results as rs

    path = model_file(tmp_path, "convgru-relu", "width=4, kernel=3, steps=3")
    out = tmp_path / "cli-run"
    args = ["train", str(path), "--task", "mazes", "--quick", "--epochs", "1", "--batch-size", "16",
            "--limit-batches", "2", "--val-limit", "16", "--device", "cpu", "--data-root", str(data_root),
            "--out", str(out), "--eval-difficulties", "9", "--eval-steps", "1,3,6", "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    results = rs.load(out / "results.json")
    assert results["model"]["train"] == {"difficulty": 9, "steps": 3}
    assert results["model"]["recipe"] == "free"
    assert (out / "checkpoint.pt").exists() and (out / "model.pt").exists()
    bad = CliRunner().invoke(main, ["train", str(path), "--task", "mazes", "--difficulty", "10", "--quick",
                                    "--data-root", str(data_root), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "difficulty 10" in bad.output
    assert not (tmp_path / "x").exists()
    missing = CliRunner().invoke(main, ["train", str(tmp_path / "nope.py"), "--task", "mazes", "--quick"])
    assert missing.exit_code == 2 and "no such model file" in missing.output


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in baselines.names() if not n.startswith("feedback")])
def test_every_mazes_baseline_trains_with_its_recipe(tmp_path, data_root, name):
    cfg = TrainConfig(model=name, task="mazes", sets="quick", epochs=1, batch_size=8, limit_batches=1, val_limit=8,
                      data_root=data_root, device="cpu", evaluate=False, out=tmp_path / name, progress=False)
    summary = train(cfg)
    from benchmark.training.recipes import recipe_for

    assert summary["algorithm"] == recipe_for(name, "mazes").algorithm
    assert np.isfinite(summary["history"][0]["train_loss"])
    torch.manual_seed(cfg.seed)
    start = contract.build(contract.load_source(f"baselines:{name}"), suite.get("mazes").info()).state_dict()
    trained = torch.load(summary["weights"], weights_only=True)
    learned = [k for k in start if "running_" not in k and "num_batches" not in k]     # not norm statistics
    assert any(not torch.equal(start[k], trained[k]) for k in learned)                # one step moved the weights


@pytest.mark.parametrize("damage", ["flip", "truncate", "remove"])
def test_a_shard_damaged_during_training_stops_it_and_resume_works_once_it_is_back(tmp_path, data_root, damage):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(data_root, root)
    kw = dict(epochs=2, limit_batches=3, val_limit=16)
    whole = train(config(tmp_path, root, out=tmp_path / "whole", **kw))
    shard = suite.DataSpec("mazes", "quick", 9, "train").plan(root).out / "shard-00000.h5"
    saved = shard.read_bytes()

    import h5py

    with h5py.File(shard) as f:
        info = f["images"].id.get_chunk_info(0)

    def damage_after_epoch_1(msg):
        if not msg.startswith("epoch 1/2"):
            return
        if damage == "flip":                   # same size, still decodes: only the manifest's sha256 tells
            damaged = bytearray(saved)
            damaged[info.byte_offset + info.size // 2] ^= 0x04
            shard.write_bytes(bytes(damaged))
        elif damage == "truncate":
            shard.write_bytes(saved[: len(saved) // 2])
        else:
            shard.unlink()

    with pytest.raises(HarnessError) as caught:
        train(config(tmp_path, root, out=tmp_path / "run", echo=damage_after_epoch_1, **kw))
    message = str(caught.value)
    assert "\n" not in message and str(shard) in message and "benchgen verify" in message
    checkpoint = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert checkpoint["epoch"] == 1 and not (tmp_path / "run" / "model.pt").exists()
    shard.write_bytes(saved)                                   # the data is back
    resumed = train(config(tmp_path, root, out=tmp_path / "run", **kw))
    a, b = torch.load(whole["weights"], weights_only=True), torch.load(resumed["weights"], weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_holds_it(tmp_path, data_root):
    import subprocess
    import sys

    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"f = open({str(out / tl.LOCK)!r}, 'a+'); fcntl.flock(f, fcntl.LOCK_EX); f.write('pid 4242'); f.flush()\n"
        "print('held', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(HarnessError, match=r"another bench train is using this run folder \(pid 4242\)"):
            train(config(tmp_path, data_root, out=out, limit_batches=1))
        assert sorted(p.name for p in out.iterdir()) == [tl.LOCK]     # nothing written by the refused run
    finally:
        holder.kill()
        holder.wait()
    summary = train(config(tmp_path, data_root, out=out, limit_batches=1))      # free again once it is gone
    assert summary["history"]
