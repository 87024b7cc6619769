"""PathFinder at the Long Range Arena presets: kernel speed and restarts per image.

Usage: python perf/pathfinder_lra.py [--presets lra32,lra64,lra128] [--lengths 6,9,14]
           [--count 400] [--baseline REF] [--repeat N] [--sampler ghost|rhombus] [--mirror-test]
           [--audit] [--histograms]
Prints JSON: per preset and contour length, images/s of the kernel alone (one process,
images + masks + metadata in memory, no HDF5) by wall clock and per CPU second, and the
mean restarts (full target-pair restarts) per image. ``--baseline REF`` also runs the
kernel of a git revision (``git show REF:generators/pathfinder/kernel.py``, e.g. HEAD or
a commit before a speed change) on the same seeds and labels, and reports its figures,
the CPU-time speedup and whether the outputs are byte-identical (``--count`` images for
both kernels; a slow baseline setting takes its time; a baseline from before the rhombus
sampler runs the ghost sampler, so identity is then reported only where the current run does
too; a later one runs the same parameters). ``--repeat N`` runs
both kernels N times, alternating, and reports medians (and the median of the N paired
speedups): on a shared machine one run of each can differ by a third. ``--mirror-test``
measures the presets with the mirror test on, ``--sampler`` with another layout sampler,
``--histograms`` adds marker distance and position histograms by label (and the
baseline's), to compare what two samplers draw. ``--audit`` also scores the shortcut audit
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
from generators.pathfinder.task import SAMPLERS, kernel_args, make_params
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


def kernel_args_for(kernel, params):
    """``kernel_args`` in the signature of ``kernel``: kernels before the rhombus sampler
    take the mirror test as a bool where the sampler code is, and no bridge tables."""
    args = kernel_args(params)
    if hasattr(kernel, "bridge_table"):
        return args
    if params.get("sampler", "ghost") != "ghost":
        raise ValueError("kernels before the rhombus sampler only have the ghost sampler")
    return args[:11] + (bool(params["mirror_test"]),) + args[13:]


def run(kernel, params, count):
    """(wall s, cpu s, restarts per image, sha256 of all outputs, arrays) for ``count`` images."""
    side = params["size"]
    seeds = sample_seeds(0, "pathfinder", "perf-lra", "train", np.arange(count)).astype(np.uint64)
    labels = pf.shard_labels(np.uint64(1), count)
    out = pf.output_arrays(count, side)
    args = kernel_args_for(kernel, params)
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


def median_run(runs):
    """The run of median CPU time among repeats of ``run`` (same seeds, so same outputs)."""
    return sorted(runs, key=lambda r: r[1])[len(runs) // 2]


def audit(arrays, params):
    report = score_cues(arrays, params)
    worst = report["worst_cue"]
    return {"ok": report["ok"], "tolerance": report["tolerance"], "worst_cue": worst,
            "worst_accuracy": report["accuracy"].get(worst), "not_judged": report["not_judged"]}


def figures(wall, cpu, restarts, count):
    return {"images": count, "images_per_s": round(count / wall, 1), "images_per_cpu_s": round(count / cpu, 1),
            "restarts_per_image": round(restarts, 2)}


def distributions(arrays, params):
    """Histograms of what the layout sampler decides: marker distance and marker positions
    (output px, 8 bins over the image side), by label."""
    side = params["size"]
    m0, m1, y = arrays["meta/marker0"], arrays["meta/marker1"], arrays["labels"]
    dist = np.hypot(*(m1 - m0).T)
    bins = np.linspace(0, side, 9)
    out = {}
    for label, name in ((1, "positive"), (0, "negative")):
        pick = y == label
        out[name] = {"marker distance quartiles": np.percentile(dist[pick], [25, 50, 75]).round(2).tolist(),
                     "marker distance histogram": np.histogram(dist[pick], bins=bins)[0].tolist(),
                     "marker1 row histogram": np.histogram(m1[pick, 0], bins=bins)[0].tolist(),
                     "marker1 col histogram": np.histogram(m1[pick, 1], bins=bins)[0].tolist()}
    out["marker0 row histogram"] = np.histogram(m0[:, 0], bins=bins)[0].tolist()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="lra32,lra64,lra128")
    ap.add_argument("--lengths", default="6,9,14")
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--baseline", default=None, help="git revision whose kernel is measured too (e.g. HEAD); "
                    "a kernel from before the rhombus sampler runs the ghost sampler, the only one it has")
    ap.add_argument("--repeat", type=int, default=1, help="with --baseline: alternate both kernels this many "
                    "times and report medians")
    ap.add_argument("--sampler", choices=SAMPLERS, default=None, help="instead of the preset's")
    ap.add_argument("--mirror-test", action="store_true", help="the presets with the mirror test on")
    ap.add_argument("--audit", action="store_true", help="also score the shortcut audit on the images made")
    ap.add_argument("--histograms", action="store_true",
                    help="also report marker distance / position histograms (and the baseline's)")
    opts = ap.parse_args()
    base = load_kernel(opts.baseline) if opts.baseline else None
    if opts.repeat < 1:
        ap.error("--repeat must be >= 1")
    report = {"kernel_version": pf.VERSION, "baseline": opts.baseline, "repeat": opts.repeat, "results": {}}
    mirror = True if opts.mirror_test else None
    for preset in opts.presets.split(","):
        for length in (int(x) for x in opts.lengths.split(",")):
            params = make_params(length, preset, sampler=opts.sampler, mirror_test=mirror)
            count = opts.count
            same = base is not None and hasattr(base, "bridge_table")  # has every sampler
            ghost = params if same else make_params(length, preset, sampler="ghost", mirror_test=mirror)
            runs, base_runs = [], []
            for _ in range(opts.repeat if base is not None else 1):
                runs.append(run(pf, params, count))
                if base is not None:
                    base_runs.append(run(base, ghost, count))
            wall, cpu, restarts, digest, arrays = median_run(runs)
            entry = {"sampler": params.get("sampler", "ghost"), "current": figures(wall, cpu, restarts, count)}
            if opts.audit:
                entry["audit"] = audit(arrays, params)
            if opts.histograms:
                entry["distributions"] = distributions(arrays, params)
            if base is not None:
                bw, bc, br, bd, barrays = median_run(base_runs)
                entry["baseline"] = figures(bw, bc, br, count)
                entry["speedup_cpu"] = round(float(np.median([b[1] / c[1] for b, c in zip(base_runs, runs)])), 2)
                entry["byte_identical"] = bd == digest if same or "sampler" not in params else None
                if opts.histograms:
                    entry["baseline_distributions"] = distributions(barrays, ghost)
            report["results"][f"{preset}/len{length}"] = entry
            print(json.dumps({f"{preset}/len{length}": entry}), flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
