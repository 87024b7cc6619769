"""``benchgen export``: a dataset in the layouts other code reads as it is.

Each format names the tasks it takes and a writer ``(ds, out, progress) -> path``; every
folder export is built aside and renamed whole, with a manifest.json naming its source.
"""
from dataclasses import dataclass

ALL_TASKS = ("mazes", "pathfinder", "clutter")


@dataclass(frozen=True)
class Format:
    tasks: tuple
    help: str


FORMATS = {
    "easy-to-hard": Format(("mazes",), "inputs.npy, solutions.npy as the easy-to-hard (DeepThinking) code loads them"),
    "lra": Format(("pathfinder",), "the Long Range Arena PathFinder release layout (imgs/, metadata/)"),
    "parquet": Format(ALL_TASKS, "Hugging Face datasets parquet, images as Image features (needs the [hf] extra)"),
    "webdataset": Format(ALL_TASKS, "WebDataset tar shards: <key>.png, <key>.mask.png, <key>.json"),
    "imagefolder": Format(("pathfinder", "clutter"), "<split>/<class>/<index>.png for torchvision's ImageFolder"),
}


def export(ds, fmt, out, masks=False, progress=None):
    """Write ``ds`` in format ``fmt`` under ``out``; the path to report."""
    if fmt == "easy-to-hard":
        from .easy_to_hard import export_easy_to_hard
        return export_easy_to_hard(ds, out)
    if fmt == "lra":
        from ..pathfinder.lra import export_lra
        return export_lra(ds, out, masks=masks, progress=progress)
    if fmt == "parquet":
        from .parquet import export_parquet
        return export_parquet(ds, out, progress)
    if fmt == "webdataset":
        from .webdataset import export_webdataset
        return export_webdataset(ds, out, progress)
    from .imagefolder import export_imagefolder
    return export_imagefolder(ds, out, progress)
