"""``OUT/<split>/<class>/<index>.png`` for the classification tasks, the layout that
``torchvision.datasets.ImageFolder`` (and many training scripts) read. Class folders are
the labels, zero-padded so that their sorted order (ImageFolder's class index) is the
label itself: ``0``/``1`` for PathFinder (negative/positive), ``00``..``19`` for clutter
(domain * 10 + class)."""
from ..errors import DatasetError
from .tree import built_aside, picture, shard_blocks, write_manifest

CLASSES = {"pathfinder": 2, "clutter": 20}


def export_imagefolder(ds, out, progress=None):
    task = ds.manifest["task"]
    if task not in CLASSES:
        raise DatasetError(f"{ds.root} is a {task} dataset, which has no class labels; --format imagefolder "
                           f"takes {' or '.join(sorted(CLASSES))}")
    width = len(str(CLASSES[task] - 1))
    split = ds.manifest["split"]
    counts = {}
    with built_aside(out) as tmp:
        for first, arrays in shard_blocks(ds):
            for j, label in enumerate(arrays["labels"]):
                name = f"{int(label):0{width}d}"
                folder = tmp / split / name
                if name not in counts:
                    folder.mkdir(parents=True)
                counts[name] = counts.get(name, 0) + 1
                picture(arrays["images"][j], "images").save(folder / f"{first + j}.png", compress_level=1)
                if progress:
                    progress(1)
        # ImageFolder numbers the folders present; with a class missing, its indices shift.
        write_manifest(tmp, ds, "imagefolder", split=split, classes=CLASSES[task], counts=counts,
                       all_classes_present=len(counts) == CLASSES[task])
    return out
