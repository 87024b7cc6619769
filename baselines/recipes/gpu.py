"""One baseline preset: generate its data, train it with its recipe, evaluate it, write a card.

A preset is a shortened published recipe (a prefix of the training set, a few epochs)
bounded by a wall-clock stop, so that all presets train side by side in one device call
(``baselines/recipes/device_all.py`` starts them). Checkpoint, weights, log, results and
``card.json`` go to ``--out`` (default $OUT/<preset>), the data to ``--data-root``.

Continuing across calls: ``--init-weights`` starts from earlier weights (the bundled ones in
``baselines/checkpoints/<preset>/``) and ``--previous-card`` carries their card, so the new
card adds this call to the cumulative record (calls, epochs, samples seen, GPU minutes).

    python -m baselines.recipes.gpu dt-recall-mazes --minutes 5     # on the GPU machine
    python -m baselines.recipes.gpu dt-recall-mazes --smoke         # CPU check of the same path

The presets reproduce the training path, not the published accuracy: that takes hours
of GPU time per model (see ../shared/specs/baselines.md).
"""
import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

from benchmark.contract import file_sha256

# Presets: TrainConfig fields. Every preset is evaluated on the quick test sets (those
# pinned for the board), which keeps the evaluation within the call.
MAZE_EVAL = dict(eval_sets="quick", eval_difficulties=[9, 11, 13, 15, 17, 21, 33])
PRESETS = {
    "dt-recall-mazes": dict(model="dt-recall", task="mazes", difficulty=9, epochs=6, warmup_epochs=1,
                            eval_steps=list(range(1, 61)), **MAZE_EVAL),
    "locrnn-mazes": dict(model="locrnn", task="mazes", difficulty=11, epochs=8, warmup_epochs=1,
                         eval_steps=list(range(1, 46)), **MAZE_EVAL),
    "convgru-mazes": dict(model="convgru", task="mazes", difficulty=11, epochs=8, warmup_epochs=1,
                          eval_steps=list(range(1, 46)), **MAZE_EVAL),
    "hgru-crbp-pathfinder-seg": dict(model="hgru", task="pathfinder-seg", difficulty=14, steps=20, epochs=3,
                                     train_count=30_000, batch_size=32, eval_sets="quick",
                                     eval_steps=[1, 5, 10, 15, 20, 30, 40, 60, 80]),
    "hgru-bptt-pathfinder-seg": dict(model="hgru", task="pathfinder-seg", difficulty=14, steps=6, algorithm="bptt",
                                     epochs=3, train_count=30_000, batch_size=32, eval_sets="quick",
                                     eval_steps=[1, 3, 6, 9, 12, 18, 24]),
    "locrnn-pathfinder": dict(model="locrnn", task="pathfinder", difficulty=14, epochs=2, train_count=100_000,
                              eval_sets="quick", eval_steps=list(range(1, 25))),
    "feedback-rnn-clutter": dict(model="feedback-rnn", task="clutter", difficulty=8, epochs=4, train_count=100_000,
                                 eval_sets="quick", eval_steps=[1, 2, 3, 4, 6, 8]),
}
SMOKE = dict(sets="quick", train_count=None, eval_sets="quick", epochs=1, limit_batches=2, batch_size=4,
             val_limit=8, eval_limit=8, device="cpu")
# Held out of the validation pass of each epoch on the device (the quick val sets are 200).
VAL_LIMIT = 512


def preset_config(name, out, data_root, smoke=False, device="auto", num_workers=None, **overrides):
    """The TrainConfig of a preset (smoke: the same path on tiny quick sets, on CPU)."""
    from benchmark.training import TrainConfig

    preset = dict(PRESETS[name])
    preset.setdefault("val_limit", VAL_LIMIT)
    if smoke:
        preset.update(SMOKE)
        preset["eval_difficulties"] = [9, 11] if preset["task"] == "mazes" else None
        preset["eval_steps"] = preset["eval_steps"][:3]
    preset.setdefault("device", device)
    preset.setdefault("num_workers", num_workers if num_workers is not None else
                      (0 if smoke else min(8, os.cpu_count() or 1)))
    preset.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(out=Path(out), data_root=Path(data_root), generate_workers=os.cpu_count() or 1,
                       progress=False, echo=lambda msg: print(msg, file=sys.stderr, flush=True), **preset)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("preset", choices=sorted(PRESETS))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--data-root", type=Path, default=Path("/tmp/rvb-data"))
    p.add_argument("--minutes", type=float, default=None,
                   help="training budget from now (data and evaluation excluded); --stop-at is the absolute form")
    p.add_argument("--stop-at", type=float, default=None, help="wall-clock time (seconds since the epoch) to stop "
                                                               "training at, mid-epoch too")
    p.add_argument("--init-weights", type=Path, default=None, help="continue from these weights")
    p.add_argument("--previous-card", type=Path, default=None, help="card of those weights (cumulative record)")
    p.add_argument("--concurrent", type=int, default=1, help="presets sharing the GPU in this call (GPU-minute share)")
    p.add_argument("--num-workers", type=int, default=None, help="DataLoader workers")
    p.add_argument("--device", default="auto")
    p.add_argument("--smoke", action="store_true", help="tiny CPU run of the same path (quick sets, 2 batches)")
    args = p.parse_args(argv)

    out = args.out or Path(os.environ.get("OUT", "runs")) / args.preset
    stop_at = args.stop_at if args.stop_at is not None else \
        (time.time() + 60 * args.minutes if args.minutes is not None else None)
    previous = _previous_card(args.previous_card, args.preset)
    config = preset_config(args.preset, out, args.data_root, smoke=args.smoke, device=args.device,
                           num_workers=args.num_workers, stop_at=stop_at, init_weights=args.init_weights)
    card = run(args.preset, config, previous, concurrent=max(1, args.concurrent))
    print(json.dumps(card, indent=1, default=str))


def run(preset, config, previous=None, concurrent=1):
    """Train and evaluate ``config``; write and return its card (cumulative over calls)."""
    from benchmark.training import train

    t0 = time.time()
    summary = train(config)
    card = make_card(preset, config, summary, time.time() - t0, previous, concurrent)
    (Path(summary["out"]) / "card.json").write_text(json.dumps(card, indent=1, default=str))
    return card


def make_card(preset, config, summary, wall, previous=None, concurrent=1):
    """The card of one call: this call's record appended to the ``previous`` card's calls."""
    history = summary["history"]
    device = _device_name(config.device)
    train_seconds = sum(h["seconds"] for h in history)
    this_call = {
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "device": device, "concurrent_runs": concurrent,
        "wall_seconds": round(wall, 1), "train_seconds": round(train_seconds, 1),
        "epochs": len(history), "samples_seen": int(sum(h.get("samples", 0) for h in history)),
        "stopped_after_epoch": summary["stopped_after_epoch"],
        # The GPU is shared equally by the presets of one call.
        "gpu_minutes": round(train_seconds / 60 / concurrent, 2) if device != "cpu" else 0.0,
        "init_weights_sha256": file_sha256(config.init_weights) if config.init_weights else None,
        "weights_sha256": file_sha256(summary["weights"]),
    }
    calls = (previous or {}).get("calls", []) + [this_call]
    card = {
        "preset": preset,
        "config": dict(PRESETS[preset]),
        "calls": calls,
        "cumulative": {"calls": len(calls), "epochs": sum(c["epochs"] for c in calls),
                       "samples_seen": sum(c["samples_seen"] for c in calls),
                       "gpu_minutes": round(sum(c["gpu_minutes"] for c in calls), 2),
                       "train_minutes": round(sum(c["train_seconds"] for c in calls) / 60, 2)},
        "last_epoch": history[-1] if history else None,
        "results": summary["results"],
    }
    if summary["results"]:
        card["derived"] = json.loads(Path(summary["results"]).read_text()).get("derived")
    return card


def _previous_card(path, preset):
    if path is None:
        return None
    card = json.loads(Path(path).read_text())
    if card.get("preset") != preset:
        raise SystemExit(f"{path}: a card of preset {card.get('preset')!r}, not {preset!r}")
    return card


def _device_name(device):
    import torch

    if device in ("auto", "cuda") or str(device).startswith("cuda"):
        if torch.cuda.is_available():
            return torch.cuda.get_device_name()
    return "cpu"


if __name__ == "__main__":
    main()
