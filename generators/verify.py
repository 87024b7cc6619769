"""Checks a dataset against its manifest: shard digests and regenerated samples."""
from pathlib import Path

import numpy as np

from .errors import DatasetError
from .shards import read_all, sha256_file


def verify(ds, sample=100, rng_seed=None):
    """Return (failures, summary); failures is a list of one-line strings."""
    failures = []
    expected_files = {rec["file"] for rec in ds.manifest["shards"]}
    for rec in ds.manifest["shards"]:
        path = ds.root / rec["file"]
        if not path.exists():
            failures.append(f"{path}: missing")
        elif sha256_file(path) != rec["sha256"]:
            failures.append(f"{path}: sha256 differs from the manifest")
    for extra in sorted(p.name for p in ds.root.glob("shard-*.h5")):
        if extra not in expected_files:
            failures.append(f"{ds.root / extra}: not listed in the manifest")
    if ds.manifest.get("imported"):
        # made from files, not from seeds: there is nothing to regenerate
        return failures, {"shards": len(ds.manifest["shards"]), "samples_regenerated": 0, "rng_seed": rng_seed,
                          "imported": ds.manifest["imported"]["format"]}
    rng = np.random.default_rng(rng_seed)
    n = len(ds)
    indices = np.sort(rng.choice(n, size=min(sample, n), replace=False)) if sample > 0 else []
    bad_shards = {f.split(":")[0] for f in failures}
    checked = 0
    for index in indices:
        k, local = ds.shards.locate(int(index))
        path = str(ds.root / ds.manifest["shards"][k]["file"])
        if path in bad_shards:
            continue
        failures.extend(_compare_sample(ds, int(index), path))
        checked += 1
    return failures, {"shards": len(ds.manifest["shards"]), "samples_regenerated": checked,
                      "rng_seed": rng_seed}


def _compare_sample(ds, index, path):
    fresh = ds.plan.generate([index])
    try:
        stored = ds.shards.sample(index)
    except DatasetError as exc:
        return [str(exc)]
    problems = []
    for name in sorted(set(fresh) | set(stored)):
        if name not in stored or name not in fresh:
            problems.append(f"{path}: sample {index}: array {name} present on one side only")
        elif not np.array_equal(np.asarray(fresh[name][0]), np.asarray(stored[name])):
            problems.append(f"{path}: sample {index}: {name} differs from a fresh generation")
    return problems


def check_readable(root, files):
    """Decode every array of the given shard files (used for a deep check)."""
    failures = []
    for name in files:
        try:
            read_all(Path(root) / name)
        except DatasetError as exc:
            failures.append(str(exc))
    return failures
