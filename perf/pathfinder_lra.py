"""PathFinder at the Long Range Arena presets: kernel speed and restarts per image.

Usage: python perf/pathfinder_lra.py [--presets lra32,lra64,lra128] [--lengths 6,9,14]
           [--count 400] [--baseline REF] [--mirror-test] [--audit]
Prints JSON: per preset and contour length, images/s of the kernel alone (one process,
images + masks + metadata in memory, no HDF5) by wall clock and per CPU second, and the
mean restarts (full target-pair restarts) per image. ``--baseline REF`` also runs the
kernel of a git revision (``git show REF:generators/pathfinder/kernel.py``, e.g. HEAD or
a commit before a speed change) on the same seeds and labels, and reports its figures,
the CPU-time speedup and whether the outputs are byte-identical (``--count`` images for
both kernels; a slow baseline setting takes its time). ``--mirror-test`` measures the
presets with the mirror test on. ``--audit`` also scores the shortcut audit
(``generators/pathfinder/audit.py``) on the images made, without writing a dataset: its
verdict, the worst judged cue and the not-judged classifiers, a quick loop for work on
the layout samplers (the audit's verdict wants 20,000 images per setting).
"""
import argparse
import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from generators.pathfinder import kernel as pf
from generators.pathfinder.audit import score_cues
from generators.pathfinder.task import kernel_args, make_params
from generators.seeds import sample_seeds

ROOT = Path(__file__).resolve().parent.parent


def load_kernel(ref):
    """The kernel module of git revision ``ref`` (cached compiled code lives beside it)."""
    src = subprocess.run(["git", "show", f"{ref}:generators/pathfinder/kernel.py"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    src = src.replace("from ..rng import", "from generators.rng import")
    digest = hashlib.sha256(src.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"pathfinder_kernel_{digest}.py"
    if not path.exists():
        path.write_text(src)
    spec = importlib.util.spec_from_file_location(f"pathfinder_kernel_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's cache looks the module up by name
    spec.loader.exec_module(module)
    return module


def run(kernel, params, count):
    """(wall s, cpu s, restarts per image, sha256 of all outputs, arrays) for ``count`` images."""
    side = params["size"]
    seeds = sample_seeds(0, "pathfinder", "perf-lra", "train", np.arange(count)).astype(np.uint64)
    labels = pf.shard_labels(np.uint64(1), count)
    out = [np.zeros((count, 1, side, side), np.uint8), np.zeros((count, side, side), np.uint8),
           np.zeros((count, 2), np.float32), np.zeros((count, 2), np.float32), np.zeros(count, np.int32),
           np.zeros(count, np.int32)]
    args = kernel_args(params)
    small = [a[:2] for a in out]
    kernel.generate_into(seeds[:2], labels[:2], *args, *small)  # compile / load outside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    bad = kernel.generate_into(seeds, labels, *args, *out)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if bad >= 0:
        raise RuntimeError(f"sample {bad} exhausted the attempts")
    digest = hashlib.sha256(b"".join(a.tobytes() for a in out)).hexdigest()
    arrays = {"images": out[0], "labels": labels, "meta/marker0": out[2], "meta/marker1": out[3],
              "meta/n_distractors": out[4]}
    return wall, cpu, float(out[5].mean()), digest, arrays


def audit(arrays, params):
    report = score_cues(arrays, params)
    worst = report["worst_cue"]
    return {"ok": report["ok"], "tolerance": report["tolerance"], "worst_cue": worst,
            "worst_accuracy": report["accuracy"].get(worst), "not_judged": report["not_judged"]}


def figures(wall, cpu, restarts, count):
    return {"images": count, "images_per_s": round(count / wall, 1), "images_per_cpu_s": round(count / cpu, 1),
            "restarts_per_image": round(restarts, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="lra32,lra64,lra128")
    ap.add_argument("--lengths", default="6,9,14")
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--baseline", default=None, help="git revision whose kernel is measured too (e.g. HEAD)")
    ap.add_argument("--mirror-test", action="store_true", help="the presets with the mirror test on")
    ap.add_argument("--audit", action="store_true", help="also score the shortcut audit on the images made")
    opts = ap.parse_args()
    base = load_kernel(opts.baseline) if opts.baseline else None
    report = {"kernel_version": pf.VERSION, "baseline": opts.baseline, "results": {}}
    for preset in opts.presets.split(","):
        for length in (int(x) for x in opts.lengths.split(",")):
            params = make_params(length, preset, mirror_test=True if opts.mirror_test else None)
            count = opts.count
            wall, cpu, restarts, digest, arrays = run(pf, params, count)
            entry = {"current": figures(wall, cpu, restarts, count)}
            if opts.audit:
                entry["audit"] = audit(arrays, params)
            if base is not None:
                bw, bc, br, bd, _ = run(base, params, count)
                entry["baseline"] = figures(bw, bc, br, count)
                entry["speedup_cpu"] = round(bc / cpu, 2)
                entry["byte_identical"] = bd == digest
            report["results"][f"{preset}/len{length}"] = entry
            print(json.dumps({f"{preset}/len{length}": entry}), flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
