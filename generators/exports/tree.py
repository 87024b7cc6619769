"""What every folder export shares: built aside and renamed whole, a manifest.json tracing it
to the source dataset, the samples read shard by shard, and images as PNG bytes."""
import io
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import dumps
from ..errors import DatasetError
from ..manifest import manifest_sha256
from ..shards import read_all

EXPORT_FORMAT = "recurrent-vision-bench/export"
# Image-sized arrays of a shard, written as PNG: the input, its mask and clutter's target alone.
PICTURES = ("images", "masks", "target_only")


@contextmanager
def built_aside(out):
    """Yield a temporary folder beside ``out`` that becomes ``out`` when the block succeeds;
    an existing ``out`` is refused, so an export is never merged into older files."""
    out = Path(out)
    if out.exists():
        raise DatasetError(f"{out} exists; remove it or choose another --out (an export is never merged)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_manifest(target, ds, export_format, **details):
    """manifest.json of an export: its format and layout details, and the source dataset's
    manifest sha256, seed and parameters, so the export can be traced to its seeds."""
    m = ds.manifest
    (Path(target) / "manifest.json").write_text(dumps({
        "format": EXPORT_FORMAT, "export_format": export_format, "count": len(ds), **details,
        "source": {"root": str(ds.root), "manifest_sha256": manifest_sha256(ds.root), "task": m["task"],
                   "variant": m["variant"], "params": m["params"], "seed": m["seed"], "split": m["split"]}}))


def shard_blocks(ds):
    """(first index, every array of the shard) for each shard in order."""
    for rec in ds.manifest["shards"]:
        yield rec["first_index"], read_all(ds.root / rec["file"])


def picture(array, name):
    """A PIL image of one sample's ``name`` array: masks (0/1) as 0/255 grey, one channel as
    grey, three as RGB."""
    if name == "masks":
        return Image.fromarray((array * 255).astype(np.uint8))
    if array.shape[0] == 1:
        return Image.fromarray(array[0])
    return Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)))


def png_bytes(array, name):
    buffer = io.BytesIO()
    picture(array, name).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def scalar_fields(arrays, j, index):
    """Label, index and every meta/ field of sample ``j`` of a block as plain Python values."""
    fields = {"index": int(index)}
    if "labels" in arrays:
        fields["label"] = int(arrays["labels"][j])
    for name, values in arrays.items():
        if name.startswith("meta/"):
            fields[name[5:]] = values[j].tolist()
    return fields
