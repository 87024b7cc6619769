"""Cluttered scenes generated on the fly, as a torch IterableDataset (no storage).

Sample ``i`` of a stream is exactly sample ``i`` of the dataset that ``benchgen clutter``
writes with the same parameters, split and seed (same per-sample seed), so training on
fresh scenes and evaluating on stored ones use one definition. Indices are dealt to
DataLoader workers in blocks (block b goes to worker b mod W), so no two workers make
the same scene and the set of scenes does not depend on the number of workers
(``generators/stream.py`` has the machinery and the two modes).

Per sample::

    stream = ClutterStream(split="train", seed=0, clutter=7)            # endless
    loader = DataLoader(stream, batch_size=32, num_workers=2)           # float [B,1,100,100], labels [B]

Batched (2-2.5x faster through worker processes on a 2-core machine, ``perf/streams.py``:
one uint8 batch crosses the process boundary instead of 256 float samples)::

    stream = ClutterStream(split="train", seed=0, clutter=7, batch_size=256)
    loader = DataLoader(stream, batch_size=None, num_workers=2)         # uint8 [256,1,100,100], labels [256]
    for images, labels in loader:
        x = images.to(device).float().div_(255)
"""
from ..stream import Stream
from . import sources
from .task import ClutterTask, generate_arrays, validate


class ClutterStream(Stream):
    """Scenes ``start``, ``start + 1``, ... (``count`` of them, or endlessly if None).

    Scene parameters as ``benchgen clutter``'s options (``clutter``, ``scales``,
    ``scale_jitter``, ``angle``, ``angle_jitter``, ``with_target_only``); ``sources_dir``
    as ``--sources`` (default: RVB_SOURCES, then the user cache). Per sample it yields
    ``(image, label)``: float32 [1, 100, 100] in [0, 1] and int64; with ``batch_size=B``
    ``(images uint8 [B,1,100,100], labels int64 [B])``; ``with_meta=True`` gives dicts of
    every stored array (``target_only`` too, float per sample). Other options (``block``,
    ``batch_size``, ``with_meta``, ``count``, ``start``): see ``generators.stream.Stream``.
    """

    task_name = "clutter"
    targets = ("labels",)
    image_arrays = ("images", "target_only")

    def __init__(self, split="train", seed=0, clutter=7, count=None, start=0, scales=(0.9, 1.5), scale_jitter=0.1,
                 angle=30.0, angle_jitter=5.0, with_target_only=False, with_meta=False, block=None,
                 sources_dir=None, **options):
        problem = validate(clutter, scales, scale_jitter, angle, angle_jitter)
        if problem:
            raise ValueError(f"{problem[0].lstrip('-').replace('-', '_')}: {problem[1]}")
        self.source_set = sources.load(sources_dir)
        self.source_set.stacked()  # once here, so forked DataLoader workers share it
        params = ClutterTask.params(self.source_set, clutter, scales, scale_jitter, angle, angle_jitter,
                                    with_target_only)
        super().__init__(params, split=split, seed=seed, count=count, start=start, with_meta=with_meta, block=block,
                         **options)

    def generate(self, indices):
        """Arrays of the scenes at ``indices`` (as the stored dataset holds them), from this
        stream's sources (the stored dataset's generation looks them up itself)."""
        seeds = self.seeds(indices)
        arrays = generate_arrays(self.source_set, self.params, self.split, seeds)
        arrays["meta/seed"] = seeds
        return arrays
