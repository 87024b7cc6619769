"""Parquet tables that the Hugging Face ``datasets`` library opens with images as images.

``OUT/data/<split>-<k>-of-<n>.parquet``, one file per source shard (the Hub's file naming,
so ``datasets.load_dataset("parquet", data_files=...)`` and ``load_dataset(OUT)`` both find
the split). Pictures are columns of struct {bytes: PNG, path: null}, which ``datasets``
decodes as its ``Image`` feature because the schema's ``huggingface`` metadata says so;
``label``, ``index`` and every ``meta/`` field are plain columns. Needs pyarrow (the [hf]
extra).
"""
import json

import numpy as np

from ..errors import DatasetError
from .tree import PICTURES, built_aside, png_bytes, scalar_fields, shard_blocks, write_manifest

COLUMN = {"images": "image", "masks": "mask", "target_only": "target_only"}


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise DatasetError("--format parquet needs pyarrow; install it with: pip install -e '.[hf]'") from None
    return pyarrow


def export_parquet(ds, out, progress=None):
    pa = _pyarrow()
    n = len(ds.manifest["shards"])
    split = ds.manifest["split"]
    files = []
    with built_aside(out) as tmp:
        (tmp / "data").mkdir()
        for k, (first, arrays) in enumerate(shard_blocks(ds)):
            name = f"data/{split}-{k:05d}-of-{n:05d}.parquet"
            table = _table(pa, arrays, first)
            pa.parquet.write_table(table, tmp / name)
            files.append(name)
            if progress:
                progress(len(arrays["images"]))
        write_manifest(tmp, ds, "parquet", files=files, columns=sorted(table.column_names))
    return out


def _table(pa, arrays, first):
    count = len(arrays["images"])
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    columns = {}
    for name in PICTURES:
        if name in arrays:
            columns[COLUMN[name]] = pa.array([{"bytes": png_bytes(arrays[name][j], name), "path": None}
                                              for j in range(count)], type=image_type)
    rows = [scalar_fields(arrays, j, first + j) for j in range(count)]
    for field in rows[0]:
        if field in columns:
            raise DatasetError(f"meta/{field} clashes with the {field} column of the parquet export")
        columns[field] = _column(pa, field, arrays, [row[field] for row in rows])
    features = {COLUMN[name]: {"_type": "Image"} for name in PICTURES if name in arrays}
    table = pa.table(columns)
    return table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})


def _column(pa, field, arrays, values):
    """Scalars keep their dtype; per-object arrays become fixed-size lists of it."""
    source = arrays.get(f"meta/{field}", arrays.get("labels") if field == "label" else None)
    if source is None:
        return pa.array(values, type=pa.int64())
    kind = pa.from_numpy_dtype(np.asarray(source).dtype)
    for size in reversed(np.asarray(source).shape[1:]):
        kind = pa.list_(kind, size)
    return pa.array(values, type=kind)
