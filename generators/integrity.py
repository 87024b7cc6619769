"""Shards checked against their manifest before use, with a stamp so large sets are hashed once.

Readers that score or train on a dataset (``bench evaluate``, ``bench train``,
``ShardDataset``) call ``check_shards`` first: every shard must exist and hash to the
sha256 its manifest records, or the one-line error names the file and what to do. A
flipped bit inside a compressed chunk can decode without any error to wrong pixels, so
decoding is no check.

Hashing costs about a second per GB here, too slow for a large training set at every
start: a verified file is remembered in ``.verified.json`` beside the manifest by its
(size, mtime in ns, inode), and hashed again only when one of these changes. Test sets
are small and always hashed (``always=True``).
"""
import json
from pathlib import Path

from . import manifest as mf
from .atomic import dumps, replacing
from .errors import DatasetError
from .shards import sha256_file

STAMP = ".verified.json"
STAMP_FORMAT = "recurrent-vision-bench/verified-shards"


def check_shards(root, manifest, always=False):
    """Raise DatasetError naming the first shard that is missing or differs from the manifest.

    Returns the number of shards hashed (0 when every one was vouched for by the stamp)."""
    root = Path(root)
    identity = mf.manifest_sha256(root)
    known = {} if always else _read_stamp(root, identity)
    verified, hashed = {}, 0
    for rec in manifest["shards"]:
        path = root / rec["file"]
        try:
            st = path.stat()
        except FileNotFoundError:
            raise DatasetError(f"{path}: shard file is missing; {_advice(root)}") from None
        key = [st.st_size, st.st_mtime_ns, st.st_ino]
        if known.get(rec["file"]) != key + [rec["sha256"]]:
            hashed += 1
            if sha256_file(path) != rec["sha256"]:
                raise DatasetError(f"{path}: sha256 differs from the manifest (damaged, truncated or replaced); "
                                   f"{_advice(root)}")
        verified[rec["file"]] = key + [rec["sha256"]]
    if hashed:
        _write_stamp(root, identity, verified)
    return hashed


def _advice(root):
    return (f"run 'benchgen verify {root}' to list the damage, then delete the bad shards and rerun the "
            "command that made the dataset (it regenerates only what is missing)")


def _read_stamp(root, identity):
    try:
        stamp = json.loads((root / STAMP).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stamp, dict) or stamp.get("format") != STAMP_FORMAT or stamp.get("manifest") != identity:
        return {}
    files = stamp.get("files")
    return files if isinstance(files, dict) else {}


def _write_stamp(root, identity, files):
    """Best effort: a read-only data folder is checked by hashing every time."""
    try:
        with replacing(root / STAMP) as tmp:
            tmp.write_text(dumps({"format": STAMP_FORMAT, "manifest": identity, "files": files}))
    except OSError:
        pass

