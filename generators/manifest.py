"""manifest.json: the identity of a dataset and the list of its shards.

The manifest holds no timestamps or host names, so the same parameters and seed give the
same manifest bytes and results can cite its sha256.
"""
import hashlib
import json
from pathlib import Path

from .errors import DatasetError

MANIFEST = "manifest.json"
FORMAT = "recurrent-vision-bench/dataset"
FORMAT_VERSION = 1
# Keys that name what the data is; the rest (shards, completeness, stats) describe progress.
IDENTITY_KEYS = ("format", "format_version", "task", "variant", "split", "generator_version",
                 "params", "seed", "count", "shard_size", "codec")


def identity(manifest):
    return {k: manifest[k] for k in IDENTITY_KEYS}


def first_difference(old, new, prefix=""):
    """Name of the first key whose values differ, with both values, or None."""
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = first_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key}", a, b
    return None


def load(root, require_complete=True):
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DatasetError(f"{root}: no {MANIFEST}; not a dataset folder made by benchgen")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    missing = [k for k in IDENTITY_KEYS + ("shards", "complete") if k not in manifest]
    if missing or manifest.get("format") != FORMAT:
        raise DatasetError(f"{path}: not a benchgen manifest (missing {', '.join(missing) or 'format'})")
    if require_complete and not manifest["complete"]:
        raise DatasetError(f"{root}: dataset is incomplete; rerun the benchgen command that made it to finish it")
    return manifest


def manifest_sha256(root):
    return hashlib.sha256((Path(root) / MANIFEST).read_bytes()).hexdigest()
