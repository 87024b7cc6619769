"""Writing and reading HDF5 shards (layout in DESIGN.md).

A shard is one flat table: ``images`` [N,C,H,W] uint8, optional ``masks`` [N,H,W] and
``labels`` [N], and ``meta/<name>`` [N,...]. Files are written byte-deterministically:
no object timestamps, fixed chunking, fixed attribute order.
"""
import hashlib
import os
from collections import OrderedDict
from pathlib import Path

import h5py
import numpy as np

from .atomic import replacing
from .codecs import chunk_encoder, chunk_shape, filter_options
from .errors import ShardError

BULK = ("images", "masks", "target_only")  # image-sized arrays: chunked by sample, compressed


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _untimed_group(f, name):
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(f.id, name.encode(), gcpl=gcpl))


def write_shard(path, arrays, attrs, codec):
    """Write ``arrays`` (name -> array, 'meta/x' for metadata) atomically; return sha256.

    The file is written under a temporary name in the same folder and renamed once
    complete, so a shard that exists under its final name is always whole.
    """
    path = Path(path)
    # The host name in the temporary name keeps writers on machines sharing a folder apart.
    with replacing(path, tag=f"{os.uname().nodename}-{os.getpid()}") as tmp:
        with h5py.File(tmp, "w", libver=("earliest", "v110"), track_order=False) as f:
            meta = None
            for name in sorted(arrays):
                data = np.ascontiguousarray(arrays[name])
                if name.startswith("meta/"):
                    meta = meta if meta is not None else _untimed_group(f, "meta")
                    meta.create_dataset(name[5:], data=data, track_times=False)
                elif name in BULK:
                    _write_bulk(f, name, data, codec)
                else:
                    f.create_dataset(name, data=data, track_times=False)
            for key in sorted(attrs):
                f.attrs[key] = attrs[key]
        digest = sha256_file(tmp)
    return digest


def _write_bulk(f, name, data, codec):
    """An image-sized array, chunked by sample and compressed by ``codec``."""
    chunks = chunk_shape(data.shape)
    sample_bytes = data.nbytes // max(1, len(data))
    chunk_bytes = chunks[0] * sample_bytes
    encoder = chunk_encoder(codec, chunk_bytes)
    if encoder is None:
        f.create_dataset(name, data=data, chunks=chunks, track_times=False, **filter_options(codec))
        return
    ds = f.create_dataset(name, shape=data.shape, dtype=data.dtype, chunks=chunks, track_times=False,
                          **filter_options(codec))
    raw = data.reshape(-1).view(np.uint8)
    padded = np.zeros(chunk_bytes, np.uint8)  # a final partial chunk, filled out with the fill value 0
    for first in range(0, len(data), chunks[0]):
        piece = raw[first * sample_bytes:first * sample_bytes + chunk_bytes]
        if piece.size < chunk_bytes:
            padded[:piece.size] = piece
            piece = padded
        ds.id.write_direct_chunk((first,) + (0,) * (data.ndim - 1), encoder.encode(piece))


def open_shard(path):
    """Open a shard read-only; a missing, truncated or corrupt file raises ShardError."""
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise ShardError(f"{path}: shard file is missing") from None
    except OSError as exc:
        reason = str(exc).split("(")[0].strip().rstrip(",")
        raise ShardError(f"{path}: corrupt or truncated shard ({reason})") from None


def read_all(path):
    """Every array of a shard, decoded (name -> array), with ShardError on damage."""
    with open_shard(path) as f:
        out = {}
        try:
            f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        except (OSError, KeyError, RuntimeError) as exc:
            raise ShardError(f"{path}: corrupt shard, a dataset cannot be decoded ({exc})") from None
        return out


class ShardSet:
    """Random access by global sample index over the shards of one dataset.

    Files are opened lazily and reopened after a fork (one handle per process, as
    DataLoader workers need). Decoded chunks are kept in an LRU cache of ``cache_bytes``,
    so a shuffled pass decompresses each chunk about once.
    """

    def __init__(self, root, shards, cache_bytes=256 << 20):
        self.root = Path(root)
        self.shards = list(shards)
        self.firsts = np.array([s["first_index"] for s in self.shards], dtype=np.int64)
        self.counts = np.array([s["count"] for s in self.shards], dtype=np.int64)
        self.cache_bytes = cache_bytes
        self._files, self._datasets, self._names = {}, {}, None
        self._pid = None
        self._cache = OrderedDict()
        self._cached = 0

    def __len__(self):
        return int(self.counts.sum())

    def _file(self, k):
        if self._pid != os.getpid():
            self._files, self._datasets, self._names = {}, {}, None
            self._cache, self._cached, self._pid = OrderedDict(), 0, os.getpid()
        f = self._files.get(k)
        if f is None:
            f = self._files[k] = open_shard(self.root / self.shards[k]["file"])
        return f

    def locate(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"sample index {index} outside 0..{len(self) - 1}")
        k = int(np.searchsorted(self.firsts, index, side="right") - 1)
        return k, int(index - self.firsts[k])

    def names(self):
        if self._pid != os.getpid() or self._names is None:
            f = self._file(0)
            names = []
            f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
            self._names = sorted(names)
        return self._names

    def sample(self, index, names=None):
        k, local = self.locate(index)
        return {name: self._read(k, name, local) for name in (names or self.names())}

    def _dataset(self, k, name):
        """(h5py dataset, samples per chunk), looked up once: h5py lookups cost ~10 us."""
        entry = self._datasets.get((k, name))
        if entry is None:
            ds = self._file(k)[name]
            entry = self._datasets[(k, name)] = (ds, ds.chunks[0] if ds.chunks else ds.shape[0])
        return entry

    def _read(self, k, name, local):
        try:
            self._file(k)
            ds, rows = self._dataset(k, name)
            c = local // rows
            key = (k, name, c)
            block = self._cache.get(key)
            if block is None:
                block = ds[c * rows:(c + 1) * rows]
                self._remember(key, block)
            else:
                self._cache.move_to_end(key)
            return block[local - c * rows]
        except (OSError, RuntimeError) as exc:
            raise ShardError(f"{self.root / self.shards[k]['file']}: corrupt shard, cannot decode {name} ({exc})") from None

    def _remember(self, key, block):
        self._cache[key] = block
        self._cached += block.nbytes
        while self._cached > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= old.nbytes

    def close(self):
        for f in self._files.values():
            f.close()
        self._files, self._datasets = {}, {}
