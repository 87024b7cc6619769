"""Time of `bench analyze decode` at the issue's full size: 4 steps x 5 layers x 6 variables x
10 repeats (800 training / 200 test images, 1,024 features, plus the permuted-label fits),
on recorded activations that carry each variable weakly (so the solver works as on real ones).

Usage: python perf/decode.py [--steps 4 --layers 5 --repeats 10 --jobs 1]
Prints JSON: fits, seconds, seconds per fit, peak memory.
"""
import argparse
import json
import resource
import time

import numpy as np

from benchmark.analysis.decoding import decode

CLASSES = {"category": 20, "domain": 2, "location_x": 2, "location_y": 2, "scale": 2, "orientation": 2}


def activations(rng, n, steps, layers, features, labels):
    """Per step and layer: noise plus a small random projection of every variable."""
    codes = {name: rng.normal(size=(k, features)) for name, k in CLASSES.items()}
    signal = sum(codes[name][labels[name]] for name in CLASSES)
    return [{f"layer{l}": (rng.normal(size=(n, features)) + 0.1 * (s + 1) * signal).astype(np.float32)
             for l in range(layers)} for s in range(steps)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--features", type=int, default=1024)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = 1000
    labels = {name: rng.integers(0, k, n) for name, k in CLASSES.items()}
    recorded = activations(rng, n, args.steps, args.layers, args.features, labels)
    start = time.perf_counter()
    rows = decode(recorded, labels, 800, 200, args.repeats, seed=0, jobs=args.jobs)
    seconds = time.perf_counter() - start
    fits = 2 * len(rows) * args.repeats
    print(json.dumps({"steps": args.steps, "layers": args.layers, "variables": len(CLASSES),
                      "repeats": args.repeats, "features": args.features, "jobs": args.jobs, "fits": fits,
                      "seconds": round(seconds, 1), "seconds_per_fit": round(seconds / fits, 4),
                      "mean_accuracy_last_step": round(float(np.mean([r["accuracy"] for r in rows
                                                                      if r["step"] == args.steps])), 3),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
