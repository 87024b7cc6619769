"""PathFinder images generated on the fly, as a torch IterableDataset (no storage).

Sample ``i`` of a ``PathFinderStream`` is byte-identical to sample ``i`` of the dataset that
``benchgen pathfinder`` writes with the same parameters, split and seed, label included
(``generators/stream.py`` has the machinery: blocks dealt to DataLoader workers,
per-sample and batched modes)::

    stream = PathFinderStream(14, split="train", seed=0)               # endless, labels
    loader = DataLoader(stream, batch_size=32, num_workers=2)          # float [B,1,150,150], labels [B]

    stream = PathFinderStream(14, batch_size=128)                       # batched
    loader = DataLoader(stream, batch_size=None, num_workers=2)        # uint8 [128,1,150,150], labels [128]

Labels depend on the shard: each shard of a stored dataset holds an exactly balanced,
seed-shuffled permutation of labels (``PathFinderTask.labels``), so the label of sample
``i`` is a function of the seed, split, variant, the shard size and the size of ``i``'s
shard. The stream therefore reproduces a dataset's labels when

* ``shard_size`` is that dataset's (default: ``benchgen``'s default shard size for these
  parameters, e.g. 1,000 at 150 px and 10,000 at 32 px; pass ``shard_size=`` for a set
  written with ``--shard-size``), and
* the stream ends where the dataset ends: a stream of ``count`` samples from ``start`` is
  the dataset of ``start + count`` samples (``benchgen pathfinder -n start+count``); an
  endless stream agrees with every dataset on its full shards (all but a short last one).
  ``benchgen`` writes only even counts; a stream ending at an odd index ends in a shard
  with one positive more or less than negatives, as no stored set does.

Images do not depend on any of this beyond the label they are drawn for.
"""
from ..stream import Stream
from .task import GEOMETRY_KEYS, ParamError, make_params, probe, too_long_message


class PathFinderStream(Stream):
    """PathFinder samples ``start``, ``start + 1``, ... with contour ``length`` (dashes).

    ``preset`` (linsley2018, lra32, lra64, lra128, lra256), ``markers`` (2: classification,
    1: segmentation) and the geometry overrides (``size``, ``canvas``, ``padding``,
    ``paddle_length``, ``thickness``, ``margin`` (a number or a list), ``continuity``,
    ``distractor_length``, ``distractors``, ``seed_distance``, ``marker_radius``,
    ``contrast``, ``sampler``, ``mirror_test``; None = the preset's) as ``benchgen pathfinder``'s
    options. The target is the label with 2 markers and the mask with 1 (``target=``
    chooses). Per sample it yields ``(image float32 [1,S,S] in [0,1], target int64)``; with
    ``batch_size=B`` ``(images uint8 [B,1,S,S], labels int64 [B] or masks uint8 [B,S,S])``.
    Other options (``split``, ``seed``, ``count``, ``start``, ``block``, ``batch_size``,
    ``with_meta``, ``shard_size``): see ``generators.stream.Stream`` and the module docstring
    on labels.
    """

    task_name = "pathfinder"

    def __init__(self, length, preset="linsley2018", markers=2, **options):
        geometry = {key: options.pop(key) for key in GEOMETRY_KEYS if key in options}
        if isinstance(geometry.get("margin"), (int, float)):
            geometry["margin"] = [geometry["margin"]]
        try:
            params = make_params(length, preset, markers, **geometry)
        except ParamError as exc:
            raise ValueError(f"{exc.param}: {exc}") from None
        except (TypeError, ValueError) as exc:   # a value of the wrong type, e.g. size="big"
            raise ValueError(f"PathFinder parameters: a value of the wrong type ({exc}); numbers are expected") from None
        if not probe(params):
            raise ValueError(f"length: {too_long_message(params)}")
        self.targets = ("labels", "masks") if params["markers"] == 2 else ("masks", "labels")
        super().__init__(params, **options)
