"""Speed of the cluttered-scene generator against the scipy reference, end to end into HDF5.

Prints one JSON object: scenes/s of
* ``ours_kernel``: generate_arrays alone (numba, one process);
* ``ours_hdf5_w1`` / ``ours_hdf5_w2``: ``engine.run`` writing shards with 1 and 2 workers;
* ``reference_hdf5_order1`` / ``_order3``: perf/clutter_reference.py (scipy zoom + rotate
  per object, bilinear and scipy's default cubic spline) writing the same shard format;
* ``stream_w0`` / ``stream_w2``: the on-the-fly ClutterStream through a DataLoader;
* ``kernel_us_per_scene``: generate_arrays alone at clutter 0, 3 and 7 (CPU time of this
  process, steadier than wall time on a shared machine);
* ``codecs``: ``engine.run`` with 1 worker per shard codec (scenes/s, KB per scene);
and the per-core speed ratios. Needs the real sources (RVB_SOURCES or --sources).

    python perf/clutter_speed.py --sources ../shared/data
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import clutter_reference as ref  # noqa: E402

from generators import engine  # noqa: E402
from generators.clutter import sources  # noqa: E402
from generators.clutter.task import ClutterTask, generate_arrays  # noqa: E402
from generators.codecs import CODECS  # noqa: E402
from generators.seeds import sample_seeds  # noqa: E402
from generators.shards import write_shard  # noqa: E402


def best_of(repeats, fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def ours_hdf5(params, n, shard_size, workers, tmp, codec=ClutterTask.default_codec):
    out = Path(tempfile.mkdtemp(dir=tmp))
    plan = engine.Plan(task_name="clutter", params=params, split="train", seed=0, count=n, shard_size=shard_size,
                       codec=codec, out=out)
    start = time.perf_counter()
    engine.run(plan, workers=workers)
    elapsed = time.perf_counter() - start
    size = sum(p.stat().st_size for p in out.glob("shard-*.h5"))
    # Removed at once: hundreds of MB of dirty pages left behind slow every later run.
    shutil.rmtree(out)
    return elapsed, size


def kernel_us(found, n, repeats):
    """CPU microseconds per scene of generate_arrays at clutter levels 0, 3 and 7."""
    out = {}
    for k in (0, 3, 7):
        params = ClutterTask.params(found, clutter_objects=k)
        seeds = sample_seeds(0, "clutter", str(k), "train", np.arange(n))
        generate_arrays(found, params, "train", seeds[:8])
        times = []
        for _ in range(repeats):
            start = time.process_time()
            generate_arrays(found, params, "train", seeds)
            times.append(time.process_time() - start)
        out[str(k)] = round(min(times) / n * 1e6, 2)
    return out


def reference_hdf5(found, n, order, tmp):
    images, labels = found.stacked()
    start = time.perf_counter()
    arrays = ref.generate(images, labels, found.split_ranges("train"), n, seed=0, order=order)
    write_shard(Path(tmp) / f"ref-{order}.h5", arrays, {"task": "clutter-reference"}, ClutterTask.default_codec)
    return time.perf_counter() - start


def stream_rate(n, workers):
    import torch
    from torch.utils.data import DataLoader

    from generators.clutter.stream import ClutterStream

    loader = DataLoader(ClutterStream(count=n, block=64), batch_size=32, num_workers=workers)
    start = time.perf_counter()
    seen = 0
    for images, _ in loader:
        seen += images.shape[0]
    assert seen == n and images.dtype == torch.float32
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", default=None, help="folder with mnist/ and fashion-mnist/")
    parser.add_argument("-n", type=int, default=20_000, help="scenes for our generator")
    parser.add_argument("--shard-size", type=int, default=5_000)
    parser.add_argument("--reference-n", type=int, default=500, help="scenes for the scipy reference")
    parser.add_argument("--stream-n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.sources:
        os.environ[sources.ENV_VAR] = str(Path(args.sources).resolve())
    start = time.perf_counter()
    found = sources.load()
    load_s = time.perf_counter() - start
    params = ClutterTask.params(found)
    seeds = sample_seeds(0, "clutter", "7", "train", np.arange(args.n))
    generate_arrays(found, params, "train", seeds[:8])  # compile (or load the numba cache)
    result = {"cpu_count": os.cpu_count(), "n": args.n, "reference_n": args.reference_n, "sources_load_s": load_s}
    result["ours_kernel"] = args.n / best_of(args.repeats, lambda: generate_arrays(found, params, "train", seeds))
    result["kernel_us_per_scene"] = kernel_us(found, min(args.n, 5_000), args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        for w in (1, 2):
            result[f"ours_hdf5_w{w}"] = args.n / min(ours_hdf5(params, args.n, args.shard_size, w, tmp)[0]
                                                     for _ in range(args.repeats))
        result["codecs"] = {}
        for codec in CODECS:
            runs = [ours_hdf5(params, args.n, args.shard_size, 1, tmp, codec) for _ in range(args.repeats)]
            result["codecs"][codec] = {"scenes_per_s": round(args.n / min(r[0] for r in runs), 1),
                                       "kb_per_scene": round(runs[0][1] / args.n / 1024, 2)}
        for order in (1, 3):
            result[f"reference_hdf5_order{order}"] = args.reference_n / min(
                reference_hdf5(found, args.reference_n, order, tmp) for _ in range(2))
    for w in (0, 2):
        result[f"stream_w{w}"] = args.stream_n / stream_rate(args.stream_n, w)
    result["ratio_per_core_vs_order1"] = result["ours_hdf5_w1"] / result["reference_hdf5_order1"]
    result["ratio_per_core_vs_order3"] = result["ours_hdf5_w1"] / result["reference_hdf5_order3"]
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}, indent=2))


if __name__ == "__main__":
    main()
