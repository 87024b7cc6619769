"""Generation of a dataset as shards: parallel, resumable, byte-identical for any workers.

Every shard is a pure function of (task, params, split, seed, shard index), so shards can
be made in any order, by any number of processes or machines, and merged in one folder.
"""
import multiprocessing
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import manifest as mf
from .atomic import dumps, write_json_atomic
from . import tasks
from .errors import DatasetError
from .seeds import sample_seeds
from .shards import sha256_file, write_shard
from .version import __version__

SPLITS = ("train", "val", "test")
# Default shard: the largest of these sizes whose raw images and masks fit SHARD_BYTES, so
# a worker holds at most ~64 MB per shard and small samples still get few, large files.
SHARD_SIZES = (10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10)
SHARD_BYTES = 64 << 20


def default_shard_size(task_name, params):
    per_sample = tasks.get(task_name).sample_bytes(params)
    return next((s for s in SHARD_SIZES if s * per_sample <= SHARD_BYTES), SHARD_SIZES[-1])


@dataclass(frozen=True)
class Plan:
    task_name: str
    params: dict
    split: str
    seed: int
    count: int
    shard_size: int = SHARD_SIZES[0]
    codec: str = None         # None: the task's default codec
    out: Path = field(default=None)

    def __post_init__(self):
        if self.codec is None:
            object.__setattr__(self, "codec", self.task.default_codec)

    @property
    def task(self):
        return tasks.get(self.task_name)

    @property
    def variant(self):
        return self.task.variant(self.params)

    @property
    def n_shards(self):
        return -(-self.count // self.shard_size)

    def shard_bounds(self, k):
        first = k * self.shard_size
        return first, min(self.shard_size, self.count - first)

    def shard_file(self, k):
        return f"shard-{k:05d}.h5"

    def seeds(self, indices):
        return sample_seeds(self.seed, self.task_name, self.variant, self.split, indices)

    def generate(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        arrays = self.task.generate(self.params, self.split, self.seeds(indices), indices, self)
        arrays["meta/seed"] = self.seeds(indices)
        return arrays

    def header(self):
        return {
            "format": mf.FORMAT, "format_version": mf.FORMAT_VERSION,
            "task": self.task_name, "variant": self.variant, "split": self.split,
            "generator_version": self.task.version, "package_version": __version__,
            "params": self.params, "seed": self.seed, "count": self.count,
            "shard_size": self.shard_size, "codec": self.codec,
        }

    def shard_attrs(self, k):
        first, count = self.shard_bounds(k)
        return {"task": self.task_name, "variant": self.variant, "split": self.split,
                "generator_version": self.task.version, "seed": self.seed,
                "params": dumps(self.params), "first_index": first, "count": count}


def default_out(task_name, variant, split, base="data"):
    return Path(base) / task_name / variant / split


def check_folder(plan):
    """Refuse a folder that holds another dataset; say which parameter differs."""
    path = Path(plan.out) / mf.MANIFEST
    if not path.exists():
        if Path(plan.out).exists() and any(Path(plan.out).glob("shard-*.h5")):
            raise DatasetError(f"{plan.out}: holds shards but no {mf.MANIFEST}; choose an empty folder")
        return
    old = mf.load(plan.out, require_complete=False)
    diff = mf.first_difference(mf.identity(old), mf.identity(plan.header()))
    if diff:
        key, was, now = diff
        raise DatasetError(f"{plan.out} holds a different dataset ({key} = {was!r} there, {now!r} asked); "
                           "use another --out or delete that folder")


def _make_shard(args):
    plan, k = args
    first, count = plan.shard_bounds(k)
    arrays = plan.generate(np.arange(first, first + count))
    retries = int(arrays["meta/retries"].sum()) if "meta/retries" in arrays else 0
    digest = write_shard(Path(plan.out) / plan.shard_file(k), arrays, plan.shard_attrs(k), plan.codec)
    return k, digest, retries


def _pool_context(method=None):
    # fork shares the parent's compiled numba kernels; elsewhere spawn is the safe choice.
    method = method or ("fork" if sys.platform.startswith("linux") else "spawn")
    return multiprocessing.get_context(method)


def run(plan, workers=1, shard_range=None, progress=None, start_method=None):
    """Make the missing shards of ``shard_range`` (default all); finalise when all exist.

    ``progress(n_samples)`` is called as shards complete. Returns the manifest dict.
    ``start_method`` of the worker processes: fork by default on Linux; a process that
    runs threads (a job runner's) needs 'forkserver' or 'spawn', as a fork there can hang.
    """
    check_folder(plan)
    out = Path(plan.out)
    out.mkdir(parents=True, exist_ok=True)
    state = _load_state(plan)
    lo, hi = shard_range or (0, plan.n_shards)
    todo = [k for k in range(lo, hi) if not (out / plan.shard_file(k)).exists()]
    for k in range(lo, hi):
        if k not in todo and progress:
            progress(plan.shard_bounds(k)[1])
    if todo:
        if workers == 1 or len(todo) == 1:
            results = map(_make_shard, [(plan, k) for k in todo])
            _collect(plan, state, results, progress)
        else:
            with _pool_context(start_method).Pool(min(workers, len(todo))) as pool:
                _collect(plan, state, pool.imap_unordered(_make_shard, [(plan, k) for k in todo]), progress)
    return finalise(plan, state)


def _load_state(plan):
    """Shard records known so far (from an earlier run's manifest), keyed by shard index."""
    path = Path(plan.out) / mf.MANIFEST
    records = {}
    if path.exists():
        old = mf.load(plan.out, require_complete=False)
        for rec in old.get("shards", []):
            records[rec["first_index"] // plan.shard_size] = rec
    else:
        write_json_atomic(path, {**plan.header(), "complete": False, "shards": [], "stats": {}})
    return records


def _collect(plan, state, results, progress):
    written = 0
    for k, digest, retries in results:
        first, count = plan.shard_bounds(k)
        state[k] = {"file": plan.shard_file(k), "first_index": first, "count": count,
                    "sha256": digest, "retries": retries}
        written += 1
        if progress:
            progress(count)
        # Record progress now and then so a killed run keeps its shards' digests.
        if written % 8 == 0:
            _write_manifest(plan, state, complete=False)
    _write_manifest(plan, state, complete=False)


def finalise(plan, state):
    """Write the complete manifest if every shard exists, else the partial one."""
    out = Path(plan.out)
    present = [k for k in range(plan.n_shards) if (out / plan.shard_file(k)).exists()]
    complete = len(present) == plan.n_shards
    if complete:
        for k in present:
            if k not in state:
                state[k] = _record_from_file(plan, k)
        for stray in out.glob(".shard-*.tmp-*"):
            stray.unlink(missing_ok=True)
    return _write_manifest(plan, state, complete)


def _record_from_file(plan, k):
    """A shard made elsewhere (another process, machine or an interrupted run)."""
    from .shards import open_shard

    path = Path(plan.out) / plan.shard_file(k)
    with open_shard(path) as f:
        expected = plan.shard_attrs(k)
        for key in ("task", "split", "seed", "first_index", "count", "params"):
            got = f.attrs.get(key)
            got = got.decode() if isinstance(got, bytes) else got
            if got != expected[key]:
                raise DatasetError(f"{path}: shard belongs to another dataset ({key} = {got!r}, expected {expected[key]!r})")
        retries = int(f["meta/retries"][()].sum()) if "meta/retries" in f else 0
    first, count = plan.shard_bounds(k)
    return {"file": plan.shard_file(k), "first_index": first, "count": count,
            "sha256": sha256_file(path), "retries": retries}


def _write_manifest(plan, state, complete):
    shards = [state[k] for k in sorted(state)]
    manifest = {**plan.header(), "complete": bool(complete), "shards": shards,
                "stats": {"retries": int(sum(s.get("retries", 0) for s in shards))}}
    write_json_atomic(Path(plan.out) / mf.MANIFEST, manifest)
    return manifest


def plan_from_manifest(root, manifest):
    return Plan(task_name=manifest["task"], params=manifest["params"], split=manifest["split"],
                seed=manifest["seed"], count=manifest["count"], shard_size=manifest["shard_size"],
                codec=manifest["codec"], out=Path(root))


def workers_default():
    """The cores this process may use (output bytes do not depend on the worker count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
