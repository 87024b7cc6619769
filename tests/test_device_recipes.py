"""The one-call device script: archives within the size budget, bundled checkpoints, cards
that add up over calls, and (slow) the whole script in --smoke mode for every preset."""
import json
import tarfile
from types import SimpleNamespace

import pytest
import torch

from baselines.recipes import device_all, gpu


def fake_run(folder, checkpoint_bytes):
    folder.mkdir(parents=True)
    torch.save({"w": torch.arange(6, dtype=torch.float32)}, folder / "model.pt")
    (folder / "checkpoint.pt").write_bytes(torch.randint(0, 256, (checkpoint_bytes,), dtype=torch.uint8).numpy().tobytes())
    card = {"preset": folder.name, "cumulative": {"calls": 1, "samples_seen": 8}, "derived": None}
    (folder / "card.json").write_text(json.dumps(card))
    (folder / "log.jsonl").write_text("{}\n")


def members(archive):
    with tarfile.open(archive) as tar:
        return sorted(m.name.split("/", 1)[1] for m in tar.getmembers())


def test_pack_leaves_out_the_largest_checkpoints_past_the_budget(tmp_path, monkeypatch):
    work, out = tmp_path / "work", tmp_path / "out"
    out.mkdir()
    sizes = {"locrnn-mazes": 300_000, "dt-recall-mazes": 900_000, "convgru-mazes": 100_000}
    for name, size in sizes.items():
        fake_run(work / name, size)
    monkeypatch.setattr(device_all, "ARCHIVE_BUDGET", 1_000_000)
    status = {name: {"status": "ok"} for name in sizes}
    device_all._pack(list(sizes), work, out, status)
    assert status["dt-recall-mazes"]["omitted"] == ["checkpoint.pt"]
    assert "omitted" not in status["locrnn-mazes"] and "omitted" not in status["convgru-mazes"]
    assert "checkpoint.pt" not in members(out / "dt-recall-mazes.tar.gz")
    assert members(out / "locrnn-mazes.tar.gz") == ["card.json", "checkpoint.pt", "log.jsonl", "model.pt"]
    assert sum(s["bytes"] for s in status.values()) <= 1_000_000
    assert all(s["bytes"] == (out / s["archive"]).stat().st_size for s in status.values())


def test_unpack_bundles_weights_card_and_results(tmp_path, monkeypatch):
    work, out = tmp_path / "work", tmp_path / "out"
    out.mkdir()
    fake_run(work / "locrnn-mazes", 10)
    fake_run(work / "convgru-mazes", 10)
    (work / "locrnn-mazes" / "results.json").write_text("{}")
    status = {n: {"status": "ok"} for n in ("locrnn-mazes", "convgru-mazes")}
    device_all._pack(list(status), work, out, status)
    lines = device_all.unpack(out, tmp_path / "ckpt")
    assert len(lines) == 2
    bundled = tmp_path / "ckpt" / "locrnn-mazes"
    assert sorted(p.name for p in bundled.iterdir()) == ["card.json", "model.pt", "results.json"]
    card = json.loads((bundled / "card.json").read_text())
    assert card["bundled_weights"]["dtype"] == "float32"
    assert (bundled / "model.pt").read_bytes() == (work / "locrnn-mazes" / "model.pt").read_bytes()
    # Past the size limit, floating weights are stored in bfloat16 and still load into float32.
    monkeypatch.setattr(device_all, "BUNDLE_LIMIT", 10)
    device_all.unpack(out, tmp_path / "ckpt")
    small = torch.load(bundled / "model.pt", weights_only=True)
    assert small["w"].dtype == torch.bfloat16 and torch.equal(small["w"].float(), torch.arange(6.0))
    assert json.loads((bundled / "card.json").read_text())["bundled_weights"]["dtype"] == "bfloat16"


def test_cards_add_up_over_calls(tmp_path):
    weights = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, weights)
    history = [{"seconds": 60.0, "samples": 640}, {"seconds": 30.0, "samples": 320}]
    summary = {"history": history, "stopped_after_epoch": 2, "weights": str(weights), "results": None}
    config = SimpleNamespace(device="cpu", init_weights=None)
    first = gpu.make_card("locrnn-mazes", config, summary, wall=100.0)
    assert first["cumulative"] == {"calls": 1, "epochs": 2, "samples_seen": 960, "gpu_minutes": 0.0,
                                   "train_minutes": 1.5}
    config = SimpleNamespace(device="cpu", init_weights=weights)
    second = gpu.make_card("locrnn-mazes", config, summary, wall=100.0, previous=first)
    assert second["cumulative"]["calls"] == 2 and second["cumulative"]["samples_seen"] == 1920
    assert second["calls"][1]["init_weights_sha256"] == first["calls"][0]["weights_sha256"]
    (tmp_path / "card.json").write_text(json.dumps(first))
    with pytest.raises(SystemExit, match="a card of preset 'locrnn-mazes', not 'convgru-mazes'"):
        gpu._previous_card(tmp_path / "card.json", "convgru-mazes")


def _real_sources():
    from generators.clutter import sources

    try:
        sources.load()
        return True
    except sources.SourceError:
        return False


@pytest.mark.slow
def test_smoke_runs_every_preset_and_the_next_call_continues(tmp_path):
    if not _real_sources():
        pytest.skip("the clutter preset needs the MNIST / Fashion-MNIST files (set RVB_SOURCES)")
    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    summary = device_all.run_all(list(gpu.PRESETS), out, tmp_path / "work", minutes=20, eval_minutes=1,
                                 checkpoints=ckpt, smoke=True)
    assert {n: s["status"] for n, s in summary["presets"].items()} == {n: "ok" for n in gpu.PRESETS}
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{n}.tar.gz" for n in gpu.PRESETS] + ["summary.json"])
    for name in gpu.PRESETS:
        inside = members(out / f"{name}.tar.gz")
        assert {"model.pt", "card.json", "log.jsonl", "results.json", "results.png"} <= set(inside), name
    device_all.unpack(out, ckpt)
    again = device_all.run_all(["locrnn-mazes"], tmp_path / "out2", tmp_path / "work2", minutes=20, eval_minutes=1,
                               checkpoints=ckpt, smoke=True)
    card = json.loads((tmp_path / "work2" / "locrnn-mazes" / "card.json").read_text())
    bundled = json.loads((ckpt / "locrnn-mazes" / "card.json").read_text())
    assert again["presets"]["locrnn-mazes"]["cumulative"]["calls"] == 2
    assert card["calls"][1]["init_weights_sha256"] == bundled["bundled_weights"]["sha256"]
