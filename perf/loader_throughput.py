"""Data loading vs model speed: is the loader the bottleneck? Prints JSON.

    python perf/loader_throughput.py [--size 13] [--count 4000] [--batch 64] [--workers 0,2]
                                     [--model baselines:convgru] [--steps 15] [--device cpu]

Makes a maze test set of ``--count`` samples in a temporary folder (or reads ``--root``),
then measures images/s of ShardDataset + DataLoader (full pass, every worker count), and
images/s of the model at ``--steps`` steps on the same batches (inputs kept in memory).
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from benchmark import contract, taskinfo
from benchmark.data import ShardDataset, loader
from generators import engine
from generators.mazes.task import MazeTask


def loader_rate(root, batch, workers):
    ds = ShardDataset(root)
    dl = loader(ds, batch, num_workers=workers)
    t = time.perf_counter()
    n = 0
    for x, _ in dl:
        n += x.shape[0]
    return n / (time.perf_counter() - t)


def model_rate(spec, size, batch, steps, device, batches=4):
    task = taskinfo.mazes(size)
    model = contract.build(contract.load_source(spec), task).to(device).eval()
    x = torch.rand(batch, 3, task.height, task.width, device=device)
    with torch.inference_mode():
        contract.forward(model, x, steps)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(batches):
            contract.forward(model, x, steps)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return batch * batches / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=13)
    ap.add_argument("--count", type=int, default=4000)
    ap.add_argument("--root", type=Path, default=None, help="an existing dataset folder instead")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", default="0,2")
    ap.add_argument("--model", default="baselines:convgru", help="a maze model, or none (loader only)")
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model-batches", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root
        if root is None:
            root = Path(tmp) / "mazes"
            plan = engine.Plan("mazes", MazeTask.params(args.size), "test", 0, args.count, out=root)
            engine.run(plan, workers=1)
        ds = ShardDataset(root)
        side = ds[0][0].shape[-1]
        rates = {f"workers_{w}": round(loader_rate(root, args.batch, int(w)), 1) for w in args.workers.split(",")}
    best = max(rates.values())
    if args.model == "none":                 # loader only (e.g. a PathFinder or clutter folder)
        print(json.dumps({"dataset": str(args.root), "image_side": side, "batch": args.batch,
                          "loader_images_per_s": rates}, indent=2))
        return
    size = (side - 6) // 2
    m = model_rate(args.model, size, args.batch, args.steps, device, args.model_batches)
    print(json.dumps({"dataset": str(args.root or f"mazes {args.size}, {args.count} samples (temporary)"),
                      "image_side": side, "batch": args.batch, "loader_images_per_s": rates,
                      "model": args.model, "model_steps": args.steps, "device": str(device),
                      "threads": torch.get_num_threads(), "model_images_per_s": round(m, 1),
                      "loader_over_model": round(best / m, 1),
                      "loader_is_bottleneck": best < m}, indent=2))


if __name__ == "__main__":
    main()
