"""Opening a finished dataset folder: its manifest, plan and shards together."""
from dataclasses import dataclass
from pathlib import Path

from . import manifest as mf
from .engine import Plan, plan_from_manifest
from .shards import ShardSet


@dataclass
class Dataset:
    root: Path
    manifest: dict
    plan: Plan
    shards: ShardSet

    def __len__(self):
        return self.manifest["count"]


def open_dataset(root, require_complete=True, cache_bytes=256 << 20):
    root = Path(root)
    manifest = mf.load(root, require_complete=require_complete)
    return Dataset(root, manifest, plan_from_manifest(root, manifest),
                   ShardSet(root, manifest["shards"], cache_bytes=cache_bytes))
