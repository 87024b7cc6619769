"""WebDataset tar shards: ``<key>.png``, ``<key>.mask.png`` (and ``<key>.target_only.png``)
and ``<key>.json`` (label, index, every ``meta/`` field) per sample, key = the index as
eight digits, one tar per source shard (``OUT/<split>-<k>.tar``), readable as a stream by
the ``webdataset`` library. The tars are byte-deterministic (no times, owners or modes of
this machine)."""
import io
import json
import tarfile

from .tree import built_aside, png_bytes, scalar_fields, shard_blocks, write_manifest

SUFFIX = {"images": "png", "masks": "mask.png", "target_only": "target_only.png"}


def export_webdataset(ds, out, progress=None):
    split = ds.manifest["split"]
    files = []
    with built_aside(out) as tmp:
        for k, (first, arrays) in enumerate(shard_blocks(ds)):
            name = f"{split}-{k:06d}.tar"
            with tarfile.open(tmp / name, "w", format=tarfile.USTAR_FORMAT) as tar:
                for j in range(len(arrays["images"])):
                    key = f"{first + j:08d}"
                    for array_name, suffix in SUFFIX.items():
                        if array_name in arrays:
                            _add(tar, f"{key}.{suffix}", png_bytes(arrays[array_name][j], array_name))
                    fields = scalar_fields(arrays, j, first + j)
                    _add(tar, f"{key}.json", json.dumps(fields, sort_keys=True).encode())
                    if progress:
                        progress(1)
            files.append(name)
        write_manifest(tmp, ds, "webdataset", files=files, pattern=_brace(split, len(files)))
    return out


def _brace(split, n):
    """The brace pattern ``webdataset.WebDataset`` expands to every tar of the export."""
    return f"{split}-{0:06d}.tar" if n == 1 else f"{split}-{{{0:06d}..{n - 1:06d}}}.tar"


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))

