"""Compatibility with easy-to-hard (DeepThinking) code: its inputs/solutions arrays."""
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ..atomic import replacing
from ..errors import DatasetError


def easy_to_hard_arrays(ds):
    """(inputs float32 0/1 [N,3,H,W], solutions int64 [N,H,W]) of a maze dataset, in memory."""
    _require_mazes(ds)
    inputs, solutions = [], []
    for k in range(len(ds.manifest["shards"])):
        block = _shard_arrays(ds, k)
        inputs.append(block["images"].astype(np.float32) / 255.0)
        solutions.append(block["masks"].astype(np.int64))
    return np.concatenate(inputs), np.concatenate(solutions)


def export_easy_to_hard(ds, out):
    """Write inputs.npy and solutions.npy under ``out`` shard by shard (atomically)."""
    _require_mazes(ds)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = len(ds)
    side = 2 * ds.manifest["params"]["size"] + 6
    targets = {"inputs.npy": ((n, 3, side, side), np.float32), "solutions.npy": ((n, side, side), np.int64)}
    with ExitStack() as stack:
        tmps = {name: stack.enter_context(replacing(out / name)) for name in targets}
        arrays = {name: np.lib.format.open_memmap(tmps[name], mode="w+", dtype=dt, shape=shape)
                  for name, (shape, dt) in targets.items()}
        for k, rec in enumerate(ds.manifest["shards"]):
            block = _shard_arrays(ds, k)
            rows = slice(rec["first_index"], rec["first_index"] + rec["count"])
            arrays["inputs.npy"][rows] = block["images"] / np.float32(255)
            arrays["solutions.npy"][rows] = block["masks"]
        for arr in arrays.values():
            arr.flush()
        arrays.clear()  # close the memory maps before the files are renamed
    return [out / name for name in targets]


def _require_mazes(ds):
    if ds.manifest["task"] != "mazes":
        raise DatasetError(f"{ds.root}: easy-to-hard export is for mazes, this dataset is {ds.manifest['task']}")


def _shard_arrays(ds, k):
    from ..shards import open_shard

    with open_shard(ds.root / ds.manifest["shards"][k]["file"]) as f:
        return {"images": f["images"][()], "masks": f["masks"][()]}
