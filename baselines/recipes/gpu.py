"""One device call: generate the data, train one baseline with its recipe, evaluate it.

Each preset fits one call of at most 10 minutes on one H100 (data generation, a shortened
training run bounded by ``--minutes``, evaluation); checkpoint, weights, log, results and a
card (``card.json``: preset, device, timings, final figures) go to ``--out`` (default
$OUT/<preset>), the data to ``--data-root`` (default /tmp/rvb-data, not brought back).

    python -m baselines.recipes.gpu dt-recall-mazes              # on the GPU machine
    python -m baselines.recipes.gpu dt-recall-mazes --smoke      # CPU check of the same path

The presets shorten the published recipes (fewer epochs, a prefix of the training set):
they reproduce the training path, not the published accuracy (issue 7 trains to that).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

# Presets: TrainConfig fields. eval_* keep the evaluation within the call's time.
MAZE_EVAL = dict(eval_difficulties=[9, 11, 13, 15, 17, 21, 33])
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
             val_limit=8, device="cpu")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("preset", choices=sorted(PRESETS))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--data-root", type=Path, default=Path("/tmp/rvb-data"))
    p.add_argument("--minutes", type=float, default=6.0, help="training time budget (data and evaluation excluded)")
    p.add_argument("--device", default="auto")
    p.add_argument("--smoke", action="store_true", help="tiny CPU run of the same path (quick sets, 2 batches)")
    args = p.parse_args(argv)

    from benchmark.training import TrainConfig, train

    preset = dict(PRESETS[args.preset])
    if args.smoke:
        preset.update(SMOKE)
        preset["eval_difficulties"] = None if preset["task"] != "mazes" else [9, 11]
        preset["eval_steps"] = preset["eval_steps"][:3]
    out = args.out or Path(os.environ.get("OUT", "runs")) / args.preset
    preset.setdefault("device", args.device)
    t0 = time.time()
    preset.setdefault("num_workers", 0 if args.smoke else min(8, os.cpu_count() or 1))
    config = TrainConfig(out=out, data_root=args.data_root, max_minutes=args.minutes,
                         generate_workers=os.cpu_count() or 1, progress=False,
                         echo=lambda msg: print(msg, file=sys.stderr, flush=True), **preset)
    summary = train(config)
    card = {"preset": args.preset, "config": {k: v for k, v in preset.items()}, "minutes": args.minutes,
            "wall_seconds": round(time.time() - t0, 1), "device": _device_name(config.device),
            "epochs_done": len(summary["history"]), "last_epoch": summary["history"][-1] if summary["history"] else None,
            "stopped_after_epoch": summary["stopped_after_epoch"], "results": summary["results"]}
    if summary["results"]:
        results = json.loads(Path(summary["results"]).read_text())
        card["derived"] = results.get("derived")
    (Path(out) / "card.json").write_text(json.dumps(card, indent=1, default=str))
    print(json.dumps(card, indent=1, default=str))


def _device_name(device):
    import torch

    if device in ("auto", "cuda") or str(device).startswith("cuda"):
        if torch.cuda.is_available():
            return torch.cuda.get_device_name()
    return "cpu"


if __name__ == "__main__":
    main()
