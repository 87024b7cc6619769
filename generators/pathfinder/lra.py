"""PathFinder datasets in the layout of the Long Range Arena release, which long-range-model
code reads as it is:

    OUT/pathfinder<size>/<difficulty>/imgs/<k>/sample_<i>.png      8-bit grey PNG
    OUT/pathfinder<size>/<difficulty>/metadata/<k>.npy             a text file despite its name

Each metadata line describes one image of ``imgs/<k>``, fields separated by spaces: the image
folder relative to the difficulty folder, the file name, the image's index in the dataset,
and the label (0/1); readers take fields 0, 1 and 3. Difficulty folders are named as the
release names them: ``curv_baseline`` for length 6, ``curv_contour_length_<L>`` otherwise.
With masks, ``masks/<k>/sample_<i>.png`` (0/255) hold the traced contour beside the images.
"""
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import dumps
from ..errors import DatasetError
from ..manifest import manifest_sha256
from ..shards import open_shard

PER_FOLDER = 1000        # images per imgs/<k> folder (and lines per metadata file)


def difficulty_folder(length):
    return "curv_baseline" if int(length) == 6 else f"curv_contour_length_{int(length)}"


def export_lra(ds, out, masks=False, progress=None):
    """Write ``ds`` (a PathFinder dataset) under ``out`` in the LRA layout; returns the
    difficulty folder. The tree is built beside ``out`` and renamed at the end, so ``out``
    appears whole or not at all; an existing ``out`` is refused."""
    if ds.manifest["task"] != "pathfinder":
        raise DatasetError(f"{ds.root} is a {ds.manifest['task']} dataset; --format lra takes PathFinder only")
    out = Path(out)
    if out.exists():
        raise DatasetError(f"{out} exists; remove it or choose another --out (an export is never merged)")
    params = ds.manifest["params"]
    rel = Path(f"pathfinder{params['size']}") / difficulty_folder(params["length"])
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write_tree(ds, tmp / rel, masks, progress)
        (tmp / "manifest.json").write_text(dumps({
            "format": "recurrent-vision-bench/export", "export_format": "lra", "folder": str(rel),
            "count": len(ds), "masks": bool(masks), "per_folder": PER_FOLDER,
            "source": {"root": str(ds.root), "manifest_sha256": manifest_sha256(ds.root),
                       "task": ds.manifest["task"], "params": params, "seed": ds.manifest["seed"],
                       "split": ds.manifest["split"]}}))
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / rel


def _write_tree(ds, root, masks, progress):
    (root / "metadata").mkdir(parents=True)
    index, lines = 0, []
    for rec in ds.manifest["shards"]:
        with open_shard(ds.root / rec["file"]) as f:
            images, labels = f["images"][()], f["labels"][()]
            mask_arrays = f["masks"][()] if masks else None
        for j in range(len(labels)):
            k, i = divmod(index, PER_FOLDER)
            if i == 0:
                _flush(root, lines)
                (root / "imgs" / str(k)).mkdir(parents=True)
                if masks:
                    (root / "masks" / str(k)).mkdir(parents=True)
            Image.fromarray(images[j, 0]).save(root / "imgs" / str(k) / f"sample_{i}.png", compress_level=1)
            if masks:
                Image.fromarray((mask_arrays[j] * 255).astype(np.uint8)).save(
                    root / "masks" / str(k) / f"sample_{i}.png", compress_level=1)
            lines.append((k, f"imgs/{k} sample_{i}.png {index} {int(labels[j])}"))
            index += 1
            if progress:
                progress(1)
    _flush(root, lines)


def _flush(root, lines):
    """Write the metadata file of the folder just finished."""
    if lines:
        (root / "metadata" / f"{lines[0][0]}.npy").write_text("".join(line + "\n" for _, line in lines))
        lines.clear()
