"""The training loop: recipe defaults, epochs with validation, checkpoints every epoch and
exact resume, a JSON-lines log, and at the end the weights and the harness's results file.

Everything random is seeded from ``seed`` (model initialisation, batch order per epoch,
the progressive loss's draws per batch), so an interrupted run resumed from its last
checkpoint continues exactly as an uninterrupted one (on the same device).
"""
import contextlib
import dataclasses
import fcntl
import json
import math
import os
import resource
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from generators import engine
from generators.atomic import replacing
from generators.progress import progress_bar

from .. import contract, distributed, metrics, suite
from ..data import ShardDataset
from ..devices import resolve_device
from ..errors import HarnessError
from . import algorithms, losses
from .recipes import recipe_for

CHECKPOINT = "checkpoint.pt"
WEIGHTS = "model.pt"
LOG = "log.jsonl"
RESULTS = "results.json"
LOCK = ".lock"


@dataclass
class TrainConfig:
    model: str                          # baseline name, baselines:NAME, or a model file
    task: str
    difficulty: int = None              # default: the suite's training difficulty
    steps: int = None                   # default: the model's recipe
    algorithm: str = None               # default: the recipe's
    epochs: int = None
    batch_size: int = None
    lr: float = None
    warmup_epochs: float = None
    lcp_weight: float = None
    lcp_lambda: float = None
    neumann_steps: int = None
    progressive_alpha: float = None
    out: Path = None
    sets: str = "standard"
    train_count: int = None             # train on the first N samples of the training set
    eval_sets: str = None               # regime of the final test sets (default: ``sets``)
    data_root: Path = suite.DEFAULT_DATA_ROOT
    device: str = "auto"
    amp: bool = None                    # None: bfloat16 autocast on CUDA only
    seed: int = 0
    limit_batches: int = None           # at most this many batches per epoch
    val_limit: int = None               # at most this many validation images
    num_workers: int = 0
    evaluate: bool = True
    eval_difficulties: list = None
    eval_steps: list = None
    eval_limit: int = None              # evaluate on the first N images of each test set only (smoke checks)
    log_every: int = 10
    max_minutes: float = None           # stop before an epoch that would end past this budget
    stop_at: float = None               # wall-clock time (time.time()) at which training stops, mid-epoch too
    init_weights: Path = None           # start from these weights (fine-tuning, or continuing a bundled run)
    progress: bool = True
    generate_workers: int = 1
    echo: callable = field(default=None, repr=False)


@dataclass
class Run:
    config: TrainConfig
    spec: object
    source: object
    baseline: str
    recipe: object
    algorithm: str
    info: object
    device: torch.device
    out: Path


def _source_spec(model):
    if model in contract.named_models():
        return f"{contract.BASELINE_PREFIX}{model}", model
    if model.startswith(contract.BASELINE_PREFIX):
        return model, model[len(contract.BASELINE_PREFIX):]
    return model, None


def _positive(name, value):
    if value is not None and value < 1:
        raise HarnessError(f"{name} {value} is not allowed; must be >= 1")


def resolve(config):
    """Check every option before any data is generated or any file written."""
    spec = suite.get(config.task)
    suite.check_regime(config.sets)
    difficulty = config.difficulty if config.difficulty is not None else spec.default_train
    if difficulty not in spec.train_difficulties:
        raise HarnessError(f"difficulty {difficulty} is not a {config.task} training set; allowed: "
                           f"{', '.join(map(str, spec.train_difficulties))}")
    if config.eval_sets is not None:
        suite.check_regime(config.eval_sets)
    for name in ("steps", "epochs", "batch_size", "limit_batches", "val_limit", "train_count"):
        _positive(name.replace("_", "-"), getattr(config, name))
    if config.neumann_steps is not None and config.neumann_steps < 0:
        raise HarnessError(f"neumann-steps {config.neumann_steps} is not allowed; must be >= 0")
    if config.algorithm is not None and config.algorithm not in algorithms.ALGORITHMS:
        raise HarnessError(f"unknown algorithm {config.algorithm!r}; allowed: {', '.join(algorithms.ALGORITHMS)}")
    source_spec, baseline = _source_spec(str(config.model))
    source = contract.load_source(source_spec)
    recipe = recipe_for(baseline, config.task).replace(
        epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, warmup_epochs=config.warmup_epochs,
        lcp_weight=config.lcp_weight,
        lcp_lambda=config.lcp_lambda, neumann_steps=config.neumann_steps, progressive_alpha=config.progressive_alpha)
    algorithm = config.algorithm or recipe.algorithm
    info = spec.info(difficulty)
    if config.steps is not None:
        info = dataclasses.replace(info, train_steps=int(config.steps))
    name = baseline or source.name
    out = Path(config.out) if config.out else Path("runs") / f"{name}-{config.task}{difficulty}-{algorithm}"
    config = dataclasses.replace(config, difficulty=difficulty, algorithm=algorithm)
    return Run(config, spec, source, baseline, recipe, algorithm, info, resolve_device(config.device, allow_auto=True), out)


def _build(run):
    torch.manual_seed(run.config.seed)
    model = contract.build(run.source, run.info)
    if run.config.init_weights is not None:
        contract.load_weights(model, run.config.init_weights)
    problem = algorithms.check(model, run.algorithm)
    if problem:
        raise HarnessError(f"--algorithm {run.algorithm}: {problem}")
    recurrent = getattr(model, "recurrent", True)
    steps = int(getattr(model, "train_steps", None) or run.info.train_steps) if recurrent else 1
    return model.to(run.device), steps


def _param_groups(model, recipe):
    """Weight-shared block at lr * recurrent_lr_factor (DT-R), everything else at lr."""
    prefixes = tuple(getattr(model, "recurrent_prefixes", ()))
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if recipe.recurrent_lr_factor == 1 or not prefixes:
        return [{"params": [p for _, p in params], "lr": recipe.lr}]
    rec = [p for n, p in params if n.startswith(prefixes)]
    rest = [p for n, p in params if not n.startswith(prefixes)]
    return [{"params": rest, "lr": recipe.lr}, {"params": rec, "lr": recipe.lr * recipe.recurrent_lr_factor}]


def _optimizer(model, recipe):
    groups = _param_groups(model, recipe)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.Adam(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)


def _schedule(warmup, total):
    """Linear warmup over ``warmup`` iterations, then cosine decay to zero at ``total``."""
    def factor(i):
        if i < warmup:
            return (i + 1) / warmup
        span = max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (i - warmup) / span)))
    return factor


def _mix(*words):
    """A 63-bit seed from integers (batch order and draws of one epoch/batch)."""
    return int(np.random.SeedSequence([int(w) for w in words]).generate_state(2, np.uint32).view(np.uint64)[0] >> 1)


def _batches(n, batch_size, seed, epoch, limit):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(_mix(seed, epoch, 1)))
    full = n // batch_size if n >= batch_size else 1
    batches = [order[i * batch_size:(i + 1) * batch_size] for i in range(full)]
    return batches[:limit] if limit else batches


def _identity(run, steps):
    c = run.config
    return {"model": run.source.spec, "model_sha256": run.source.sha256, "task": c.task,
            "difficulty": c.difficulty, "sets": c.sets, "steps": steps, "algorithm": run.algorithm,
            "recipe": dataclasses.asdict(run.recipe), "seed": c.seed, "limit_batches": c.limit_batches,
            "train_count": c.train_count,
            "init_weights_sha256": contract.file_sha256(c.init_weights) if c.init_weights else None}


class Log:
    """JSON lines appended to ``log.jsonl`` (one object per event, flushed each time); with no
    path (ranks other than 0) nothing is written."""

    def __init__(self, path):
        self.path = Path(path) if path is not None else None

    def write(self, event, **fields):
        record = {"event": event, "time": round(time.time(), 3), **fields}
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")
        return record


def _save_atomic(obj, path):
    with replacing(path) as tmp:
        torch.save(obj, tmp)


def _autocast(device, amp):
    on = device.type == "cuda" and (amp is None or amp)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=on)


def _stack(ds, idx):
    items = [ds[int(i)] for i in idx]
    return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


def prepare(config):
    """Generate (or find) every set a training run reads (train, val and the final test sets)
    without training; several runs can then start at once without generating the same data."""
    from .. import evaluate as ev

    run = resolve(config)
    _data(run)
    c = run.config
    if c.evaluate:
        ev.prepare(ev.EvalConfig(model=run.source.spec, task=c.task, sets=c.eval_sets or c.sets,
                                 train_difficulty=c.difficulty, difficulties=c.eval_difficulties,
                                 data_root=c.data_root, generate_workers=c.generate_workers))
    return run.out


def _data(run):
    c = run.config
    folders = {}
    for split in ("train", "val"):
        data = suite.DataSpec(c.task, c.sets, c.difficulty, split)
        if split == "train" and c.train_count and c.train_count < data.plan(c.data_root).count:
            folders[split] = _train_prefix(data, c)
        else:
            folders[split] = suite.ensure(data, c.data_root, workers=c.generate_workers)
    target = getattr(run.spec, "target", "auto")      # PathFinder classification sets also hold masks
    return ShardDataset(folders["train"], target=target), ShardDataset(folders["val"], target=target)


def _train_prefix(data, c):
    """The first ``train_count`` samples of a training set, in a folder of their own.

    A sample's seed depends only on its index, so these are exactly the first samples of
    the full set (a smaller plan of the same task, parameters, seed and split)."""
    full = data.plan(c.data_root)
    out = Path(full.out).with_name(f"train-first{c.train_count}")
    plan = dataclasses.replace(full, count=int(c.train_count), out=out)
    try:
        from generators.errors import DatasetError
        engine.run(plan, workers=c.generate_workers)
    except DatasetError as exc:
        raise HarnessError(str(exc)) from None
    return out


def validate(model, ds, steps, loss_fn, metric, device, batch_size, amp, limit=None, ranks=distributed.Ranks()):
    """Mean loss and mean metric of ``model`` at ``steps`` on (the first ``limit`` of) ``ds``.

    Over several ranks each takes whole batches (those one process would form) and the
    per-sample scores are gathered, so the metric is the one-process metric."""
    model.eval()
    n = min(len(ds), limit or len(ds))
    mine = ranks.blocks(n, batch_size)
    total_loss, scores = 0.0, []
    with torch.no_grad(), _autocast(device, amp):
        for lo in range(0, len(mine), batch_size):
            x, y = _stack(ds, mine[lo:lo + batch_size])
            x, y = x.to(device), y.to(device)
            logits = model(x, steps) if getattr(model, "recurrent", True) else model(x)
            total_loss += float(loss_fn(logits, y, x)) * len(x)
            scores.append(metric(metrics.predictions(logits).cpu(), y.cpu(), x.cpu()))
    model.train()
    local = np.concatenate(scores) if scores else np.zeros(0)
    parts = ranks.gather((total_loss, local))
    return sum(p[0] for p in parts) / n, float(ranks.unblock([p[1] for p in parts], n, batch_size).mean())


class _Step(torch.nn.Module):
    """One batch's training loss as a module's forward, so DistributedDataParallel sees (and
    all-reduces the gradients of) every parameter the algorithm uses."""

    def __init__(self, model, loss_fn, algorithm, steps, recipe):
        super().__init__()
        self.model, self.loss_fn, self.algorithm, self.steps, self.recipe = model, loss_fn, algorithm, steps, recipe

    def forward(self, x, y, generator):
        return algorithms.training_loss(self.model, x, y, self.loss_fn, self.algorithm, self.steps, self.recipe,
                                        generator)


def train(config):
    """Train (or resume) one model; returns a summary dict (paths, history, results).

    The run folder is held for the whole run: a second ``train`` into it is refused. Under
    torchrun the processes train one model with DistributedDataParallel: the same global
    batches as one process, each rank a slice of every batch; rank 0 writes every file."""
    run = resolve(config)
    ranks = distributed.from_environment(cuda=run.device.type == "cuda")
    if ranks.world > 1 and run.device.type == "cuda":
        run = dataclasses.replace(run, device=torch.device("cuda", ranks.local))
    with contextlib.ExitStack() as stack:
        problem = None
        if ranks.main:
            try:
                stack.enter_context(_exclusive(run.out))
            except HarnessError as exc:
                problem = exc
        if ranks.agree(problem is not None):
            raise problem or HarnessError(f"{run.out}: rank 0 could not hold the run folder")
        return _train(run, ranks)


@contextlib.contextmanager
def _exclusive(folder):
    """Hold ``folder/.lock`` (an flock, released by the system even if the process is killed)."""
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise HarnessError(f"{folder}: another bench train is using this run folder ({holder}); "
                               "wait for it to end or choose another --out") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        except BaseException:
            if created and [p.name for p in folder.iterdir()] == [LOCK]:
                shutil.rmtree(folder)          # a run that failed before writing anything leaves no folder
            raise
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _shared_data(run, ranks):
    """Rank 0 generates what is missing, then every rank opens the sets."""
    if ranks.main:
        sets = _data(run)
    ranks.barrier()
    return sets if ranks.main else _data(run)


def _wrap(model, step, ranks, device):
    """The module whose forward gives the loss: DDP around it over several ranks."""
    if ranks.world == 1:
        return step
    return torch.nn.parallel.DistributedDataParallel(step, device_ids=[device.index] if device.type == "cuda" else None)


def _train(run, ranks):
    c, recipe, device = run.config, run.recipe, run.device
    echo = (c.echo or (lambda msg: None)) if ranks.main else (lambda msg: None)
    model, steps = _build(run)
    if ranks.world > 1 and device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)     # one set of batch statistics
    train_ds, val_ds = _shared_data(run, ranks)
    loss_fn = losses.LOSSES[losses.default_loss(c.task, run.info.output)]
    metric = metrics.METRICS[run.spec.metric]
    batch_size = min(recipe.batch_size, len(train_ds))
    if batch_size % ranks.world:
        raise HarnessError(f"batch size {batch_size} (the global batch) does not split over {ranks.world} ranks; "
                           f"use a multiple of {ranks.world}")
    per_epoch = len(_batches(len(train_ds), batch_size, c.seed, 0, c.limit_batches))
    total = per_epoch * recipe.epochs
    opt = _optimizer(model, recipe)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _schedule(round(recipe.warmup_epochs * per_epoch), total))
    step_module = _wrap(model, _Step(model, loss_fn, run.algorithm, steps, recipe), ranks, device)

    log = Log(run.out / LOG) if ranks.main else Log(None)
    identity = _identity(run, steps)
    start, history, step = 0, [], 0
    ckpt_path = run.out / CHECKPOINT
    if ckpt_path.exists():
        start, step, history, saved_ranks = _resume(ckpt_path, identity, model, opt, sched)
        log.write("resume", epoch=start, step=step, ranks=ranks.world, checkpoint_ranks=saved_ranks)
        echo(f"{run.out}: resuming after epoch {start}")
        if saved_ranks != ranks.world:
            echo(f"the checkpoint was made with {saved_ranks} rank(s), this run has {ranks.world}: the same global "
                 "batches follow, equal up to rounding (bit for bit only with the same number)")
    else:
        log.write("start", identity=identity, parameters=sum(p.numel() for p in model.parameters()),
                  train_count=len(train_ds), val_count=len(val_ds), batches_per_epoch=per_epoch,
                  device=str(device), ranks=ranks.world)

    began = time.perf_counter()
    stopped_early = None
    for epoch in range(start, recipe.epochs):
        t0 = time.perf_counter()
        if ranks.agree(_past(c.stop_at)):
            stopped_early = epoch
            log.write("time_limit", epochs_done=epoch, stop_at=c.stop_at)
            echo(f"stopping after epoch {epoch}: the stop time has passed")
            break
        # The last epoch's duration predicts the next one's.
        if ranks.agree(c.max_minutes and history and epoch > start and
                       (t0 - began) + history[-1]["seconds"] > 60 * c.max_minutes):
            stopped_early = epoch
            log.write("time_limit", epochs_done=epoch, minutes=round((t0 - began) / 60, 2))
            echo(f"stopping after epoch {epoch}: --max-minutes {c.max_minutes} would be exceeded")
            break
        # A shard changed since the run started (removed, truncated, replaced) stops it here,
        # with the last checkpoint intact; one stat per shard when nothing changed.
        train_ds.check()
        val_ds.check()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        batches = _batches(len(train_ds), batch_size, c.seed, epoch, c.limit_batches)
        done, step, losses_seen, skipped = _epoch(step_module, opt, sched, train_ds, batches, ranks, run, epoch,
                                                  step, log)
        if done == 0:                  # the stop time came before this epoch's first batch
            stopped_early = epoch
            log.write("time_limit", epochs_done=epoch, stop_at=c.stop_at)
            break
        val_loss, val_metric = validate(model, val_ds, steps, loss_fn, metric, device, batch_size, c.amp, c.val_limit,
                                        ranks)
        record = {"epoch": epoch + 1, "step": step, "batches": done, "samples": done * batch_size,
                  "partial": done < len(batches),
                  "train_loss": float(np.mean(losses_seen)) if losses_seen else None,
                  "val_loss": val_loss, f"val_{run.spec.metric}": val_metric, "skipped_batches": skipped,
                  "seconds": round(time.perf_counter() - t0, 3), **_memory(device)}
        history.append(record)
        log.write("epoch", **record)
        if ranks.main:
            _save_atomic({"identity": identity, "epoch": epoch + 1, "step": step, "history": history,
                          "model": model.state_dict(), "optimizer": opt.state_dict(),
                          "scheduler": sched.state_dict(), "ranks": ranks.world}, ckpt_path)
        train_loss = "n/a" if record["train_loss"] is None else f"{record['train_loss']:.4f}"
        echo(f"epoch {epoch + 1}/{recipe.epochs}: train loss {train_loss}, val loss {val_loss:.4f}, "
             f"val {run.spec.metric} {val_metric:.4f} (checkpoint saved)")
        if record["partial"]:
            # The stop time ended this epoch early; the checkpoint counts it as done.
            stopped_early = epoch + 1
            log.write("time_limit", epochs_done=epoch + 1, batches=done, stop_at=c.stop_at)
            echo(f"stopped in epoch {epoch + 1} after {done} of {len(batches)} batches: the stop time has passed")
            break

    weights = run.out / WEIGHTS
    if ranks.main:
        _save_atomic(model.state_dict(), weights)
    ranks.barrier()
    summary = {"out": str(run.out), "weights": str(weights), "history": history, "steps": steps,
               "algorithm": run.algorithm, "results": None, "stopped_after_epoch": stopped_early}
    if c.evaluate:
        results = _evaluate(run, steps, weights, log, model, ranks)
        summary["results"] = str(results) if results else None
    log.write("end", **{k: v for k, v in summary.items() if k != "history"})
    return summary


def _epoch(step_module, opt, sched, train_ds, batches, ranks, run, epoch, step, log):
    """One epoch of global batches, each rank training on its slice of every batch;
    returns (batches done, global step, mean losses, skipped batches)."""
    c, recipe, device = run.config, run.recipe, run.device
    share = len(batches[0]) // ranks.world
    mine = [b[ranks.rank * share:(ranks.rank + 1) * share].tolist() for b in batches]
    # The batches are fixed by (seed, epoch); workers only read them.
    loader = torch.utils.data.DataLoader(train_ds, batch_sampler=mine, num_workers=c.num_workers,
                                         pin_memory=device.type == "cuda")
    done, losses_seen, skipped = 0, [], 0
    with progress_bar(len(batches), f"epoch {epoch + 1}/{recipe.epochs}", enabled=c.progress and ranks.main) as tick:
        for b, (x, y) in enumerate(loader):
            # Only with a stop time: the agreement is one all-reduce a batch over several ranks.
            if c.stop_at is not None and ranks.agree(_past(c.stop_at)):
                break
            done = b + 1
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            gen = torch.Generator().manual_seed(_mix(c.seed, epoch, b, 2))
            with _autocast(device, c.amp):
                loss, _, stats = step_module(x, y, gen)
            opt.zero_grad(set_to_none=True)
            # Every rank skips a batch whose loss is not finite on any (a lone backward would hang).
            if ranks.agree(not torch.isfinite(loss)):
                skipped += 1                   # keep the weights; the log says how often
                mean_loss = float("nan")
            else:
                loss.backward()
                if recipe.clip_grad_norm:
                    torch.nn.utils.clip_grad_norm_(step_module.parameters(), recipe.clip_grad_norm)
                opt.step()
                mean_loss = ranks.mean(loss.detach())
                losses_seen.append(mean_loss)
            sched.step()
            step += 1
            if c.log_every and (b % c.log_every == 0 or b == len(batches) - 1):
                fields = {"epoch": epoch + 1, "batch": b, "step": step, "loss": mean_loss,
                          "lr": opt.param_groups[0]["lr"]}
                if "lcp" in stats:
                    fields["lcp"] = stats["lcp"]
                if "neumann" in stats and "neumann_steps" in stats["neumann"]:
                    fields["neumann_steps"] = stats["neumann"]["neumann_steps"]
                log.write("batch", **fields)
            if tick:
                tick(1)
    return done, step, losses_seen, skipped


def _past(stop_at):
    return stop_at is not None and time.time() >= stop_at


def _resume(path, identity, model, opt, sched):
    state = torch.load(path, map_location="cpu", weights_only=True)
    saved = state.get("identity", {})
    for key in identity:
        if saved.get(key) != identity[key]:
            raise HarnessError(f"{path}: belongs to another run ({key} = {saved.get(key)!r} there, "
                               f"{identity[key]!r} now); use another --out or delete that folder")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    return state["epoch"], state["step"], state["history"], state.get("ranks", 1)


def _memory(device):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024      # Linux: KiB
    out = {"max_rss_bytes": int(rss)}
    if device.type == "cuda":
        out["cuda_peak_bytes"] = int(torch.cuda.max_memory_allocated(device))
    return out


def _standard(run):
    c = run.config
    overrides = (c.epochs, c.batch_size, c.lr, c.warmup_epochs, c.lcp_weight, c.lcp_lambda, c.neumann_steps, c.progressive_alpha,
                 c.limit_batches, c.steps, c.max_minutes, c.train_count, c.stop_at, c.init_weights)
    default_algorithm = recipe_for(run.baseline, c.task).algorithm
    return c.sets == "standard" and all(v is None for v in overrides) and run.algorithm == default_algorithm


def _evaluate(run, steps, weights, log, model, ranks=distributed.Ranks()):
    """The harness's evaluation of the trained weights (split over the ranks); rank 0 writes
    the results beside them and returns their path."""
    from .. import evaluate as ev
    from .. import outputs

    c = run.config
    cfg = ev.EvalConfig(model=run.source.spec, task=c.task, sets=c.eval_sets or c.sets, train_difficulty=c.difficulty,
                        train_steps=steps if getattr(model, "recurrent", True) else None,
                        difficulties=c.eval_difficulties, steps=c.eval_steps, weights=weights,
                        device=str(run.device), data_root=c.data_root,
                        recipe="standard recipe" if _standard(run) else "free",
                        name=f"{run.baseline or run.source.name} ({run.algorithm})",
                        generate_workers=c.generate_workers, num_workers=c.num_workers, limit=c.eval_limit)
    results, samples = ev.evaluate(cfg)
    if not ranks.main:
        return None
    path = run.out / RESULTS
    outputs.write_all(results, samples, path)
    log.write("results", path=str(path), derived=results.get("derived"))
    return path
