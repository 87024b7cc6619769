"""The registry of generator tasks (timm-style: every task is built the same way by name).

A task turns parameters and per-sample seeds into arrays; the engine, the shard writer,
``verify``, ``audit``, ``export`` and ``preview`` work on any registered task.
"""
import importlib
import importlib.util

import numpy as np

from .codecs import DEFAULT_CODEC

# task name -> module defining TASK (imported lazily so one task's import cost or optional
# dependencies never slow another's command).
_MODULES = {
    "mazes": "generators.mazes.task",
    "pathfinder": "generators.pathfinder.task",
    "clutter": "generators.clutter.task",
}


_ONE_SEED = np.array([1], dtype=np.uint64)
_ONE_INDEX = np.array([0], dtype=np.int64)


class Task:
    """Base of a task. Subclasses set ``name`` and ``version`` and implement the rest."""

    name = ""
    version = ""
    # Codec when --codec is not given: bit-shuffle LZ4 suits binary images (mazes); grey
    # images compress 2-3.5x better with zstd at about the same speed (perf/codecs.py,
    # perf/pathfinder_speed.py, perf/clutter_speed.py).
    default_codec = DEFAULT_CODEC

    def variant(self, params):
        """Short folder name of the difficulty variant (e.g. '9' for a 9x9 maze)."""
        raise NotImplementedError

    def generate(self, params, split, seeds, indices, plan):
        """Arrays for the samples at ``indices`` with ``seeds`` (name -> array [n, ...])."""
        raise NotImplementedError

    def sample_bytes(self, params):
        """Uncompressed bytes of one sample's images and masks (sizes the default shard)."""
        arrays = self.generate(params, "train", _ONE_SEED, _ONE_INDEX, None)
        return sum(arrays[k][0].nbytes for k in ("images", "masks") if k in arrays)

    def canonical_keys(self, arrays):
        """One bytes key per sample naming its content, for duplicate audits."""
        images = arrays["images"]
        return [images[i].tobytes() for i in range(images.shape[0])]

    def audit_extra(self, datasets):
        """Task-specific audit figures (dict), given [(root, manifest, ShardSet)]."""
        return {}


def names():
    return sorted(name for name, module in _MODULES.items() if importlib.util.find_spec(module) is not None)


def get(name):
    if name not in names():
        raise KeyError(f"unknown task {name!r}; known: {', '.join(names())}")
    return importlib.import_module(_MODULES[name]).TASK


def register(name, module):
    _MODULES[name] = module
