"""The evaluation grid metric[difficulty][steps], derived numbers, compute and provenance.

``evaluate(config)`` returns the results dict (see benchmark/results.schema.json) and
the per-sample scores and confidences at every step (for halting analyses).
"""
import dataclasses
import datetime
import platform
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from generators.version import __version__ as package_version

from . import budgets as bud
from . import contract, distributed, metrics, suite
from .data import ShardDataset, loader
from .devices import resolve_device
from .errors import ContractError, HarnessError

RESULTS_FORMAT = "recurrent-vision-bench/results"
RESULTS_FORMAT_VERSION = 1
RECIPES = ("standard recipe", "free")


@dataclass
class EvalConfig:
    model: str                               # model file path or baselines:NAME
    task: str
    sets: str = "standard"                   # suite regime: standard | quick
    train_difficulty: int = None
    train_steps: int = None
    difficulties: list = None
    steps: list = None
    weights: Path = None
    device: str = "cpu"
    batch_size: int = None                   # None: chosen automatically
    data_root: Path = suite.DEFAULT_DATA_ROOT
    budget_rule: str = "scale"
    amp: bool = None                         # None: on for CUDA
    channels_last: bool = None               # None: on for CUDA
    recipe: str = "free"
    name: str = None
    num_workers: int = 0
    n_boot: int = 1000
    progress: callable = field(default=None, repr=False)
    generate_workers: int = 1
    threads: int = None                      # torch CPU threads during evaluation (None: torch's)
    test_seed: int = None                    # fresh test sets: the suite's parameters, this base seed
    limit: int = None                        # score only the first N images of each set (a smoke check;
                                             # the board refuses such results: the counts differ)
    test_data: tuple = ()                    # dataset folders scored instead of the suite's test sets
                                             # (e.g. an imported LRA release); results say sets "custom"


class _Timer:
    def __init__(self, device):
        self.device = device
        self.seconds = 0.0
        self.images = 0

    def __enter__(self):
        self._sync()
        self._t = time.perf_counter()

    def __exit__(self, *exc):
        self._sync()
        self.seconds += time.perf_counter() - self._t

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def resolve(config):
    """Check every option and fill defaults; nothing is generated or run before this passes."""
    spec = suite.get(config.task)
    suite.check_regime(config.sets)
    if config.recipe not in RECIPES:
        raise HarnessError(f"recipe {config.recipe!r} is not one of: {', '.join(RECIPES)}")
    train_d = config.train_difficulty if config.train_difficulty is not None else spec.default_train
    if train_d not in spec.train_difficulties:
        raise HarnessError(f"train difficulty {train_d} is not a {config.task} training set; allowed: "
                           f"{', '.join(map(str, spec.train_difficulties))}")
    if config.test_data:
        if config.difficulties:
            raise HarnessError("--difficulties and --test-data exclude each other: each --test-data set "
                               "has its own difficulty")
        custom = _custom_sets(config, spec)
        # folders in the order of their difficulties, which the scoring zips them with
        config = dataclasses.replace(config, test_data=tuple(folder for _, folder in custom))
        diffs = [d for d, _ in custom]
    else:
        diffs = config.difficulties or list(suite.default_test_difficulties(config.task, config.sets))
        for d in diffs:
            suite.data_spec(config.task, config.sets, d, "test")
    rule = bud.BudgetRule(config.budget_rule)
    if config.threads is not None and config.threads < 1:
        raise HarnessError(f"threads {config.threads} is not allowed; must be >= 1")
    if config.batch_size is not None and config.batch_size < 1:
        raise HarnessError(f"batch size {config.batch_size} is not allowed; must be >= 1")
    device = resolve_device(config.device)
    return dataclasses.replace(config, train_difficulty=train_d, difficulties=sorted(diffs)), spec, rule, device


def _custom_sets(config, spec):
    """(difficulty, folder) of each --test-data folder, checked to hold ``spec``'s kind of data."""
    from generators import manifest as mf
    from generators.errors import DatasetError

    found = []
    for folder in map(Path, config.test_data):
        try:
            manifest = mf.load(folder)
        except DatasetError as exc:
            raise HarnessError(str(exc)) from None
        if manifest["task"] != spec.generator:
            raise HarnessError(f"{folder} holds {manifest['task']} data; {config.task} is scored on "
                               f"{spec.generator} data")
        if spec.target == "masks" and not manifest["params"].get("masks", True):
            raise HarnessError(f"{folder} has no masks; {config.task} scores masks")
        d = spec.difficulty_of(manifest["params"])
        if d in [seen for seen, _ in found]:
            raise HarnessError(f"two --test-data sets of difficulty {d}; give one per difficulty")
        found.append((d, folder))
    return sorted(found)


def prepare(config):
    """Generate (or find) the test sets an evaluation with ``config`` reads; their folders."""
    config, _, _, _ = resolve(config)
    return _shared_sets(_test_sets(config), config, distributed.current())


def _test_sets(config):
    """The DataSpecs of the test sets of a resolved config (fresh ones with ``test_seed``)."""
    return [dataclasses.replace(suite.data_spec(config.task, config.sets, d, "test"), seed=config.test_seed)
            for d in config.difficulties]


def evaluate(config):
    """(results dict, {difficulty: (scores [steps, N], confidence [steps, N])})."""
    if config.threads is None:
        return _evaluate(config)
    # Small per-step tensor ops suffer badly from OpenMP threads on a busy CPU; let the user
    # choose, and leave the process as it was.
    before = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _evaluate(config)
    finally:
        torch.set_num_threads(before)


def _evaluate(config):
    config, spec, rule, device = resolve(config)
    source = contract.load_source(config.model)
    info = spec.info(config.train_difficulty)
    model = contract.build(source, info)
    train_steps = config.train_steps or getattr(model, "train_steps", None) or info.train_steps
    info = dataclasses.replace(info, train_steps=int(train_steps))
    if info.train_steps != spec.info(config.train_difficulty).train_steps:
        model = contract.build(source, info)       # rebuild with the declared training budget
    weights_sha = contract.load_weights(model, config.weights) if config.weights else None
    recurrent = contract.is_recurrent(model)
    steps = [1] if not recurrent else (config.steps or list(range(1, 4 * info.train_steps + 1)))
    use_cuda = device.type == "cuda"
    amp = use_cuda if config.amp is None else (config.amp and use_cuda)
    channels_last = use_cuda if config.channels_last is None else config.channels_last
    model = model.to(device).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if use_cuda:
        torch.cuda.reset_peak_memory_stats(device)

    metric = metrics.METRICS[spec.metric]
    secondary = {name: metrics.METRICS[name] for name in metrics.SECONDARY.get(spec.metric, ())}
    timer = _Timer(device)
    per_difficulty, datasets, samples = [], [], {}
    batch_size = config.batch_size or (256 if use_cuda else 32)
    # Under torchrun every rank scores whole batches (block k to rank k mod N) and the
    # per-sample scores are gathered: the grid is the one-process grid.
    ranks = distributed.current()
    for d, key, folder, digest in _scored_sets(config, spec, ranks):
        ds = ShardDataset(folder, target=spec.target, limit=config.limit, verify="always")
        datasets.append({"difficulty": d, "split": "test", "key": key, "count": len(ds), "manifest_sha256": digest})
        block = batch_size
        mine = ds if ranks.world == 1 else ds.part(ranks.blocks(len(ds), block))
        scores, conf, extra, batch_size = _run_difficulty(
            model, mine, steps, metric, secondary, device, batch_size, amp, channels_last, timer, config)
        if ranks.world > 1:
            scores, conf, extra = _gathered(ranks, (scores, conf, extra), len(ds), block)
        samples[d] = (scores, conf)
        per_difficulty.append((d, scores, conf, extra))

    grid = _grid(per_difficulty, steps, spec.metric, config.n_boot)
    results = {
        "format": RESULTS_FORMAT, "format_version": RESULTS_FORMAT_VERSION,
        "task": config.task,
        "suite": {"version": suite.SUITE_VERSION, "sets": "custom" if config.test_data else config.sets},
        "model": {
            "name": config.name or source.name, "source": source.spec, "sha256": source.sha256,
            "weights_sha256": weights_sha, "recurrent": recurrent, "iterate": contract.has_iterate(model),
            "parameters": int(sum(p.numel() for p in model.parameters())),
            "train": {"difficulty": config.train_difficulty, "steps": info.train_steps},
            "recipe": config.recipe,
        },
        "datasets": datasets,
        "grid": grid,
        "derived": _derived(grid, samples, steps, rule, config.train_difficulty, info.train_steps, recurrent,
                            config.n_boot),
        "compute": _compute(model, info, device, timer, batch_size, amp, channels_last, steps, recurrent),
        "provenance": {
            "suite_version": suite.SUITE_VERSION, "package_version": package_version,
            "torch_version": torch.__version__, "python_version": platform.python_version(),
            "device": _device_name(device),
            "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
            "command": " ".join(sys.argv) if sys.argv else "",
        },
    }
    return results, samples


def _scored_sets(config, spec, ranks):
    """(difficulty, key, folder, manifest sha256) of each test set: the suite's, or --test-data's."""
    if config.test_data:
        from generators.manifest import manifest_sha256

        return [(d, f"custom/{folder.resolve()}", folder, manifest_sha256(folder))
                for d, folder in zip(config.difficulties, config.test_data)]
    sets = _test_sets(config)
    return [(d, data.key, folder, suite.manifest_hash(data, config.data_root))
            for d, data, folder in zip(config.difficulties, sets, _shared_sets(sets, config, ranks))]


def _shared_sets(sets, config, ranks):
    """Rank 0 generates the missing test sets, then every rank opens them."""
    if ranks.main:
        folders = [suite.ensure(data, config.data_root, workers=config.generate_workers) for data in sets]
    ranks.barrier()
    return folders if ranks.main else [suite.ensure(data, config.data_root) for data in sets]


def _gathered(ranks, arrays, n, block):
    """Every rank's (scores, confidence, extra metrics) joined back in sample order."""
    parts = ranks.gather(arrays)
    scores = ranks.unblock([p[0] for p in parts], n, block)
    conf = ranks.unblock([p[1] for p in parts], n, block)
    extra = {k: ranks.unblock([p[2][k] for p in parts], n, block) for k in arrays[2]}
    return scores, conf, extra


def _run_difficulty(model, ds, steps, metric, secondary, device, batch_size, amp, channels_last, timer, config):
    n = len(ds)
    cols = steps if contract.is_recurrent(model) else steps[:1]
    scores = np.zeros((len(cols), n), np.float32)
    conf = np.zeros((len(cols), n), np.float32)
    extra = {name: np.zeros((len(cols), n), np.float32) for name in secondary}
    while True:
        try:
            _fill(model, ds, cols, metric, secondary, device, batch_size, amp, channels_last, timer, config,
                  scores, conf, extra)
            return scores, conf, extra, batch_size
        except torch.cuda.OutOfMemoryError:
            # Automatic batch size: halve on out-of-memory until a batch fits.
            if config.batch_size is not None or batch_size == 1:
                raise HarnessError(f"out of GPU memory at batch size {batch_size}; pass a smaller --batch-size") from None
            batch_size //= 2
            torch.cuda.empty_cache()


def _fill(model, ds, cols, metric, secondary, device, batch_size, amp, channels_last, timer, config,
          scores, conf, extra):
    index = {t: i for i, t in enumerate(cols)}
    first = 0
    dl = loader(ds, batch_size, num_workers=config.num_workers, pin_memory=device.type == "cuda")
    for x, y in dl:
        b = x.shape[0]
        xd = x.to(device, non_blocking=True)
        if channels_last:
            xd = xd.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            outputs = contract.budgets_outputs(model, xd, cols)
            while True:
                # Only the model's own work is timed; each step is scored as soon as it is
                # yielded, so memory never holds more than one step's logits.
                with timer:
                    item = _next_output(outputs, x)
                if item is None:
                    break
                t, out = item
                out = out.float()
                _check_output(out, b, x, ds, t)
                pred = metrics.predictions(out).cpu()
                i = index[t]
                scores[i, first:first + b] = metric(pred, y, x)
                conf[i, first:first + b] = metrics.confidence(out).cpu().numpy()
                for name, fn in secondary.items():
                    extra[name][i, first:first + b] = fn(pred, y, x)
        timer.images += b
        first += b
        if config.progress:
            config.progress(b)


def _next_output(outputs, x):
    try:
        return next(outputs, None)
    except (ContractError, torch.cuda.OutOfMemoryError):
        raise
    except Exception as exc:  # the user's model failed: one line, not a traceback
        raise ContractError("P01", f"the model raised {type(exc).__name__} on {x.shape[2]}x{x.shape[3]} inputs: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''}") from None


def _check_output(out, b, x, ds, t):
    expected_seg = (b, 2, x.shape[2], x.shape[3])
    if ds.target == "masks" and tuple(out.shape) != expected_seg:
        raise ContractError("P02", f"output shape {list(out.shape)} at step {t} on {x.shape[2]}x{x.shape[3]} inputs, "
                                   f"expected {list(expected_seg)} (segmentation logits)")
    if ds.target == "labels" and (out.dim() != 2 or out.shape[0] != b):
        raise ContractError("P02", f"output shape {list(out.shape)} at step {t}, expected [{b}, classes]")
    if not torch.isfinite(out).all():
        raise ContractError("P03", f"NaN or inf in the outputs at step {t}; expected finite logits")


def _grid(per_difficulty, steps, metric_name, n_boot):
    rows = []
    for d, scores, conf, extra in per_difficulty:
        mean, low, high = metrics.summarise(scores, n_boot=n_boot)
        row = {"difficulty": d, "n": int(scores.shape[1]), "mean": _floats(mean), "ci_low": _floats(low),
               "ci_high": _floats(high)}
        if extra:
            row["secondary"] = {name: _floats(v.mean(axis=1)) for name, v in extra.items()}
        rows.append(row)
    cols = steps[:len(per_difficulty[0][1])] if per_difficulty else steps
    return {"metric": metric_name, "steps": [int(t) for t in cols], "ci_level": 0.95, "n_boot": n_boot,
            "rows": rows}


def _floats(a):
    return [round(float(v), 6) for v in np.asarray(a).ravel()]


def _derived(grid, samples, steps, rule, train_d, train_steps, recurrent, n_boot):
    cols = grid["steps"]
    by_d = {row["difficulty"]: row for row in grid["rows"]}
    in_dist = None
    if train_d in by_d:
        t = train_steps if recurrent else cols[0]
        if t in cols:
            row = by_d[train_d]
            i = cols.index(t)
            in_dist = {"difficulty": train_d, "steps": t, "score": row["mean"][i],
                       "ci": [row["ci_low"][i], row["ci_high"][i]]}
    oracle, label_free = [], []
    for d, row in by_d.items():
        i = int(np.argmax(row["mean"]))            # first step reaching the best score
        best_t = cols[i]
        entry = {"difficulty": d, "steps": best_t, "score": row["mean"][i]}
        for factor in (2, 4):
            t = best_t * factor
            if recurrent and t in cols:
                s = row["mean"][cols.index(t)]
                entry[f"at_{factor}x"] = {"steps": t, "score": s, "drop": round(entry["score"] - s, 6)}
            else:
                entry[f"at_{factor}x"] = None
        oracle.append(entry)
        label_free.append(_label_free(rule, d, samples[d], cols, train_d, train_steps, n_boot))
    return {
        "in_distribution": in_dist,
        "oracle": {"label": "oracle: budget chosen with test labels", "per_difficulty": oracle},
        "label_free": {"rule": rule.text, "description": rule.describe(train_d, train_steps),
                       "per_difficulty": label_free},
    }


def _label_free(rule, d, sample_arrays, cols, train_d, train_steps, n_boot):
    scores, conf = sample_arrays
    if rule.kind == "confidence":
        pick = np.argmax(conf, axis=0)                      # earliest step of highest confidence
        chosen = scores[pick, np.arange(scores.shape[1])]
        _, low, high = metrics.summarise(chosen, n_boot=n_boot)
        return {"difficulty": d, "steps": None, "rule_steps": None,
                "mean_steps": round(float(np.mean(np.asarray(cols)[pick])), 3),
                "score": round(float(chosen.mean()), 6), "ci": [round(float(low), 6), round(float(high), 6)]}
    wanted = rule.budget(d, train_d, train_steps)
    t = bud.snap(cols, wanted)
    i = cols.index(t)
    mean, low, high = metrics.summarise(scores[i], n_boot=n_boot)
    # ``steps`` is what was scored: the rule's budget, or the nearest step of the grid when
    # the grid lacks it (``rule_steps`` says what the rule asked).
    return {"difficulty": d, "steps": t, "rule_steps": int(wanted), "mean_steps": float(t), "score": round(float(mean), 6),
            "ci": [round(float(low), 6), round(float(high), 6)]}


def flops(model, info, device, recurrent):
    """FLOPs of one image at the training size: first step and each further step."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(1, info.in_channels, info.height, info.width, device=device)

    def count(steps):
        mode = FlopCounterMode(display=False)
        with torch.inference_mode(), mode:
            contract.forward(model, x, steps)
        return int(mode.get_total_flops())

    one = count(1)
    if not recurrent:
        return {"input_shape": list(x.shape[1:]), "first_step": one, "per_step": None}
    return {"input_shape": list(x.shape[1:]), "first_step": one, "per_step": count(2) - one}


def _compute(model, info, device, timer, batch_size, amp, channels_last, steps, recurrent):
    if device.type == "cuda":
        peak, kind = int(torch.cuda.max_memory_allocated(device)), "cuda_max_allocated"
    else:
        # ru_maxrss is in KiB on Linux, bytes on macOS.
        scale = 1 if sys.platform == "darwin" else 1024
        peak, kind = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale), "process_max_rss"
    return {
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "flops": flops(model, info, device, recurrent),
        "images_per_s": round(timer.images / timer.seconds, 3) if timer.seconds > 0 else None,
        "images_per_s_note": f"images through every budget up to {max(steps) if recurrent else 1} steps, "
                             "per second of model time (data loading excluded)",
        "model_seconds": round(timer.seconds, 3),
        "peak_memory_bytes": peak, "peak_memory_kind": kind,
        "batch_size": batch_size, "amp": bool(amp), "channels_last": bool(channels_last),
    }


def _device_name(device):
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"
