"""Peak memory and time of one hGRU training step vs recurrent steps, BPTT vs C-RBP.

Prints JSON. On CUDA: torch's peak allocated bytes. On CPU: the peak resident set of a
fresh process per configuration, and its growth over the set-up (model, optimizer, data)
and, device-independent, the bytes of tensors autograd saves for backward.

    python perf/crbp_memory.py                       # CPU, reduced hGRU (fits a laptop)
    python perf/crbp_memory.py --device cuda --full  # the PathFinder-seg model, 150 px, batch 32
"""
import argparse
import json
import multiprocessing as mp
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing


def measure(args, algorithm, steps):
    import baselines
    from benchmark import taskinfo as ti
    from benchmark.training.algorithms import training_loss
    from benchmark.training.losses import focal
    from benchmark.training.recipes import Recipe

    torch.manual_seed(0)
    device = torch.device(args.device)
    task = ti.pathfinder_seg(14, side=args.side)
    model = baselines.get("hgru")(task, width=args.width, kernel=args.kernel, steps=steps).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(args.batch, 1, args.side, args.side, device=device)
    y = (torch.rand(args.batch, args.side, args.side, device=device) > 0.97).long()
    gen = torch.Generator().manual_seed(0)
    amp = device.type == "cuda" and args.amp

    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    def one_step(count_saved=False):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            if count_saved:
                with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                    loss, _, _ = training_loss(model, x, y, focal, algorithm, steps, Recipe(), gen)
            else:
                loss, _, _ = training_loss(model, x, y, focal, algorithm, steps, Recipe(), gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    rss_setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    one_step(count_saved=True)                        # warm-up, and the saved-tensor count
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        one_step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    out = {"algorithm": algorithm, "steps": steps, "seconds_per_step": round(statistics.median(times), 4),
           "saved_tensor_bytes": int(sum(saved))}
    if device.type == "cuda":
        out["cuda_peak_bytes"] = int(torch.cuda.max_memory_allocated())
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out["peak_rss_bytes"] = int(peak)
        out["step_rss_bytes"] = int(peak - rss_setup)    # growth of the peak over model + data setup
    return out


def _child(args, algorithm, steps, queue):
    torch.set_num_threads(args.threads) if args.threads else None
    queue.put(measure(args, algorithm, steps))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", default="6,20,80")
    p.add_argument("--algorithms", default="bptt,crbp")
    p.add_argument("--full", action="store_true", help="published size: 150 px, 25 ch, 15x15 kernels, batch 32")
    p.add_argument("--side", type=int, default=40)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--kernel", type=int, default=7)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--no-amp", dest="amp", action="store_false")
    args = p.parse_args()
    if args.full:
        args.side, args.width, args.kernel, args.batch = 150, 25, 15, 32
    rows = []
    for algorithm in args.algorithms.split(","):
        for steps in (int(s) for s in args.steps.split(",")):
            if args.device == "cpu":
                # A fresh process per configuration, so its peak RSS is this configuration's.
                ctx = mp.get_context("spawn")
                queue = ctx.Queue()
                proc = ctx.Process(target=_child, args=(args, algorithm, steps, queue))
                proc.start()
                rows.append(queue.get())
                proc.join()
            else:
                rows.append(measure(args, algorithm, steps))
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(json.dumps({"benchmark": "crbp_memory", "device": device, "torch": torch.__version__,
                      "model": {"name": "hgru", "side": args.side, "width": args.width, "kernel": args.kernel,
                                "batch": args.batch, "amp": args.amp and args.device != "cpu"},
                      "results": rows}, indent=1))


if __name__ == "__main__":
    main()
