"""Duplicate (leakage) audit within and across datasets, plus task-specific figures."""
import hashlib
from itertools import combinations

import numpy as np

from . import tasks
from .shards import open_shard


def content_digests(ds):
    """A 16-byte digest per sample of the task's canonical content, in index order."""
    task = tasks.get(ds.manifest["task"])
    digests = []
    for rec in ds.manifest["shards"]:
        with open_shard(ds.root / rec["file"]) as f:
            arrays = {name: f[name][()] for name in ("images", "masks", "labels") if name in f}
        digests.extend(hashlib.blake2b(key, digest_size=16).digest() for key in task.canonical_keys(arrays))
    return digests


def audit(datasets):
    """JSON-ready report over [Dataset]: duplicates within each and across each pair."""
    digests = [content_digests(ds) for ds in datasets]
    entries = []
    for ds, dig in zip(datasets, digests):
        unique = len(set(dig))
        entries.append({"path": str(ds.root), "task": ds.manifest["task"], "variant": ds.manifest["variant"],
                        "split": ds.manifest["split"], "seed": ds.manifest["seed"], "count": len(dig),
                        "unique": unique, "duplicates_within": len(dig) - unique,
                        "retries_for_disjointness": ds.manifest.get("stats", {}).get("retries", 0)})
    cross = []
    for (i, a), (j, b) in combinations(enumerate(digests), 2):
        shared = set(a) & set(b)
        cross.append({"a": str(datasets[i].root), "b": str(datasets[j].root), "shared_samples": len(shared),
                      "a_indices": [int(k) for k in np.flatnonzero([d in shared for d in a])[:20]]})
    report = {"datasets": entries, "cross": cross}
    by_task = {}
    for ds in datasets:
        # an imported set has no generator metadata (marker positions, ...) to check cues on
        if not ds.manifest.get("imported"):
            by_task.setdefault(ds.manifest["task"], []).append(ds)
    extra = {name: tasks.get(name).audit_extra(group) for name, group in by_task.items()}
    extra = {k: v for k, v in extra.items() if v}
    if extra:
        report["task_checks"] = extra
    return report
