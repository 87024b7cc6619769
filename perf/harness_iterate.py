"""Cost of scoring every budget 1..T in one pass (iterate) vs one T-step run; prints JSON.

    python perf/harness_iterate.py [--model baselines:convgru] [--size 13] [--batch 16] [--steps 30] [--device cpu]

Figures: seconds of one forward(x, T); of the harness's single pass over budgets 1..T
(iterate plus per-step argmax, metric and confidence, as evaluate does); and of one
forward per budget (what a model without iterate costs). Target: single pass <= 1.2x.
"""
import argparse
import json
import time

import numpy as np
import torch

from benchmark import contract, metrics, taskinfo


def timed(fn, device, repeats):
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="baselines:convgru")
    ap.add_argument("--size", type=int, default=13, help="maze size (image side 2s+6)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--per-budget", action="store_true", help="also time one forward per budget (slow: T(T+1)/2 steps)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    task = taskinfo.mazes(args.size)
    model = contract.build(contract.load_source(args.model), task).to(device).eval()
    x = torch.rand(args.batch, 3, task.height, task.width, device=device)
    x[:, :, ::4] = 0                                   # some wall pixels for the maze metric
    y = torch.zeros(args.batch, task.height, task.width, dtype=torch.int64)
    budgets = list(range(1, args.steps + 1))

    def one_run():
        with torch.inference_mode():
            contract.forward(model, x, args.steps)

    def single_pass():
        with torch.inference_mode():
            for _, out in contract.budgets_outputs(model, x, budgets):
                out = out.float()
                pred = metrics.predictions(out).cpu()
                metrics.maze_exact(pred, y, x.cpu())
                metrics.confidence(out).cpu()

    def per_budget():
        with torch.inference_mode():
            for t in budgets:
                contract.forward(model, x, t)

    one_run()                                         # warm-up (allocator, cudnn choice)
    t_one = timed(one_run, device, args.repeats)
    t_pass = timed(single_pass, device, args.repeats)
    out = {"model": args.model, "iterate": contract.has_iterate(model), "device": str(device),
           "threads": torch.get_num_threads(), "batch": args.batch, "image_side": task.height,
           "steps": args.steps, "one_T_step_run_s": round(t_one, 4), "all_budgets_single_pass_s": round(t_pass, 4),
           "ratio_single_pass_over_one_run": round(t_pass / t_one, 3), "target_ratio": 1.2}
    if args.per_budget:
        t_each = timed(per_budget, device, 1)
        out.update({"one_forward_per_budget_s": round(t_each, 4),
                    "ratio_per_budget_over_one_run": round(t_each / t_one, 3)})
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
