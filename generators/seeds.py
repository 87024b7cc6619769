"""Per-sample seeds: one fixed 64-bit mix of (base seed, task, variant, split, index).

Nothing here depends on worker ids, Python's ``hash()`` or global state, so a sample can
be regenerated alone and any split of the work into shards or processes gives the same
seeds.
"""
import hashlib

import numpy as np

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


def mix64(z):
    """SplitMix64 finaliser on a uint64 array (a bijection of 64-bit words)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def stream_key(base_seed, task, variant, split):
    """64-bit key of one stream; a different split, variant or task is a different stream."""
    if not 0 <= int(base_seed) <= MASK64:
        raise ValueError(f"seed must be in 0..2**64-1, got {base_seed}")
    name = "\x1f".join([str(task), str(variant), str(split)]).encode()
    name_key = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "little")
    base = int(mix64(np.uint64(int(base_seed))))
    return int(mix64(np.uint64(base ^ name_key)))


def sample_seeds(base_seed, task, variant, split, indices):
    """Seeds (uint64) of the samples at ``indices`` of one stream; distinct within a stream."""
    key = np.uint64(stream_key(base_seed, task, variant, split))
    idx = np.asarray(indices, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix64(key + (idx + np.uint64(1)) * np.uint64(GOLDEN))
