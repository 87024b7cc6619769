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
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import dumps
from ..errors import DatasetError
from ..exports.tree import built_aside, picture, shard_blocks, write_manifest

PER_FOLDER = 1000        # images per imgs/<k> folder (and lines per metadata file)


def difficulty_folder(length):
    return "curv_baseline" if int(length) == 6 else f"curv_contour_length_{int(length)}"


def export_lra(ds, out, masks=False, progress=None):
    """Write ``ds`` (a PathFinder dataset) under ``out`` in the LRA layout; returns the
    difficulty folder. ``out`` appears whole or not at all; an existing ``out`` is refused."""
    if ds.manifest["task"] != "pathfinder":
        raise DatasetError(f"{ds.root} is a {ds.manifest['task']} dataset; --format lra takes PathFinder only")
    params = ds.manifest["params"]
    rel = Path(f"pathfinder{params['size']}") / difficulty_folder(params["length"])
    with built_aside(out) as tmp:
        _write_tree(ds, tmp / rel, masks, progress)
        write_manifest(tmp, ds, "lra", folder=str(rel), masks=bool(masks), per_folder=PER_FOLDER)
    return Path(out) / rel


def _write_tree(ds, root, masks, progress):
    (root / "metadata").mkdir(parents=True)
    lines = []
    for first, arrays in shard_blocks(ds):
        for j, label in enumerate(arrays["labels"]):
            index = first + j
            k, i = divmod(index, PER_FOLDER)
            if i == 0:
                _flush(root, lines)
                (root / "imgs" / str(k)).mkdir(parents=True)
                if masks:
                    (root / "masks" / str(k)).mkdir(parents=True)
            picture(arrays["images"][j], "images").save(root / "imgs" / str(k) / f"sample_{i}.png", compress_level=1)
            if masks:
                picture(arrays["masks"][j], "masks").save(root / "masks" / str(k) / f"sample_{i}.png",
                                                          compress_level=1)
            lines.append((k, f"imgs/{k} sample_{i}.png {index} {int(label)}"))
            if progress:
                progress(1)
    _flush(root, lines)


def _flush(root, lines):
    """Write the metadata file of the folder just finished."""
    if lines:
        (root / "metadata" / f"{lines[0][0]}.npy").write_text("".join(line + "\n" for _, line in lines))
        lines.clear()


# ---------------------------------------------------------------- import

IMPORT_VERSION = "lra-import-1"
SHARD_SIZE = 10_000


def find_difficulty_folder(root):
    """``root`` itself when it holds metadata/, else its one pathfinder<size>/<difficulty>."""
    root = Path(root)
    if (root / "metadata").is_dir():
        return root
    found = sorted(p.parent for p in root.glob("*/metadata") if p.is_dir()) + \
        sorted(p.parent for p in root.glob("*/*/metadata") if p.is_dir())
    if len(found) != 1:
        what = f"{len(found)} of them: {', '.join(map(str, found[:4]))}" if found else "none"
        raise DatasetError(f"{root}: need one LRA difficulty folder (holding imgs/ and metadata/), found {what}")
    return found[0]


def length_of(folder, length=None):
    name = Path(folder).name
    if length is not None:
        return int(length)
    if name == "curv_baseline":
        return 6
    if name.startswith("curv_contour_length_") and name.rsplit("_", 1)[1].isdigit():
        return int(name.rsplit("_", 1)[1])
    raise DatasetError(f"{folder}: the folder name {name!r} does not give the contour length "
                       "(curv_baseline or curv_contour_length_<L>); pass --length")


def metadata_lines(folder):
    """(image path, label) of every metadata line, files in numeric order, as LRA readers
    take them: fields 0 and 1 name the image, field 3 is the label."""
    def order(path):
        return (int(path.stem), "") if path.stem.isdigit() else (float("inf"), path.stem)

    for meta in sorted((folder / "metadata").glob("*.npy"), key=order):
        for n, line in enumerate(meta.read_text().splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 4 or fields[3] not in ("0", "1"):
                raise DatasetError(f"{meta}:{n}: not an LRA metadata line (want 'imgs/<k> <file> <n> <0|1> ...'): "
                                   f"{line[:80]!r}")
            yield Path(fields[0]) / fields[1], int(fields[3])


def read_release(source, length=None):
    """(difficulty folder, contour length, [(image path, label)] of every metadata line) of an
    LRA-layout folder: what an import reads before any image."""
    folder = find_difficulty_folder(source)
    length = length_of(folder, length)
    entries = list(metadata_lines(folder))
    if not entries:
        raise DatasetError(f"{folder}/metadata: no metadata lines; nothing to import")
    return folder, length, entries


def import_lra(release, out, split="test", skip_broken=False, codec="zstd", progress=None):
    """Shards of an LRA-layout PathFinder folder (``read_release``'s result; labels, and masks
    where masks/ mirrors imgs/), as a dataset the harness reads; returns (out, images
    imported, broken images skipped)."""
    from ..engine import SPLITS
    from ..manifest import FORMAT, FORMAT_VERSION
    from ..version import __version__

    if split not in SPLITS:
        raise DatasetError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    folder, length, entries = release
    has_masks = (folder / "masks").is_dir()
    with built_aside(out) as tmp:
        shards, skipped, kept, size = [], [], 0, None
        block = {"images": [], "labels": [], "masks": [], "meta/line": []}
        for line, (path, label) in enumerate(entries):
            image = _read_grey(folder / path, skip_broken)
            if image is not None and size is None:
                size = image.shape
            if image is not None and image.shape != size:
                raise DatasetError(f"{folder / path}: {image.shape[1]}x{image.shape[0]} px, the others "
                                   f"{size[1]}x{size[0]}; an imported set has one image size")
            mask = _read_grey(folder / "masks" / Path(*path.parts[1:]), skip_broken) \
                if has_masks and image is not None else None
            if image is None or (has_masks and mask is None):
                skipped.append(str(path))
            else:
                block["images"].append(image[None])
                block["labels"].append(label)
                block["meta/line"].append(line)
                if has_masks:
                    block["masks"].append((mask > 127).astype(np.uint8))
                kept += 1
            if progress:
                progress(1)
            if len(block["labels"]) == SHARD_SIZE or (line == len(entries) - 1 and block["labels"]):
                shards.append(_write_import_shard(tmp, len(shards), kept - len(block["labels"]), block, codec))
        if not kept:
            raise DatasetError(f"{folder}: every image is broken; nothing imported")
        params = {"source": "lra", "folder": folder.name, "length": length, "size": int(size[0]),
                  "markers": 2, "masks": has_masks}
        (tmp / "manifest.json").write_text(dumps({
            "format": FORMAT, "format_version": FORMAT_VERSION, "task": "pathfinder",
            "variant": f"lra-{folder.name}-{size[0]}px", "split": split, "generator_version": IMPORT_VERSION,
            "package_version": __version__, "params": params, "seed": None, "count": kept,
            "shard_size": SHARD_SIZE, "codec": codec, "complete": True, "shards": shards, "stats": {},
            "imported": {"format": "lra", "from": str(folder.resolve()), "metadata_lines": len(entries),
                         "skipped": skipped}}))
    return Path(out), kept, skipped


def _read_grey(path, skip_broken):
    """uint8 [H, W] of a PNG; None for a missing, empty or unreadable file when skipping
    (the LRA release holds some empty files)."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"))
    except (OSError, ValueError) as exc:
        if skip_broken:
            return None
        raise DatasetError(f"{path}: not a readable image ({type(exc).__name__}); --skip-broken leaves such "
                           "files out (their lines are recorded in the manifest)") from None


def _write_import_shard(folder, k, first, block, codec):
    from ..shards import write_shard

    arrays = {"images": np.stack(block["images"]), "labels": np.asarray(block["labels"], np.int64),
              "meta/line": np.asarray(block["meta/line"], np.int64)}
    if block["masks"]:
        arrays["masks"] = np.stack(block["masks"])
    name = f"shard-{k:05d}.h5"
    digest = write_shard(folder / name, arrays, {"task": "pathfinder", "first_index": first,
                                                 "count": len(block["labels"]), "imported": "lra"}, codec)
    for values in block.values():
        values.clear()
    return {"file": name, "first_index": first, "count": len(arrays["labels"]), "sha256": digest, "retries": 0}
