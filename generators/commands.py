"""Options and steps shared by every ``benchgen`` generator command.

Task commands (``generators/<task>/command.py``) import from here, never from cli.py,
which imports them.
"""
import functools
from pathlib import Path

import click

from . import cluster, engine
from .atomic import dumps
from .codecs import CODECS, DEFAULT_CODEC
from .errors import DatasetError
from .progress import progress_bar


def parse_pair(text, sep, convert, option, form):
    """'xSEPy' -> (convert(x), convert(y)); else one line naming ``option`` and the ``form`` allowed."""
    try:
        a, b = (convert(x) for x in text.split(sep))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not {form}", param_hint=f"'{option}'")
    return a, b


def parse_shard_range(text):
    """'A:B' -> (A, B), shards A..B-1; validated against the plan later."""
    return parse_pair(text, ":", int, "--shard-range", "A:B (two integers, shards A..B-1)")


def generation_options(f):
    """Options shared by every generator command (split, seed, sharding, workers, output)."""
    options = [
        click.option("-n", "--count", "count", type=int, required=True, help="Number of samples."),
        click.option("--split", default="train", show_default=True,
                     help=f"One of {', '.join(engine.SPLITS)}; splits never share a seed stream."),
        click.option("--seed", default=0, show_default=True, type=int, help="Base seed (0..2**64-1)."),
        click.option("--shard-size", default=None, type=int,
                     help="Samples per shard file (default: up to 10,000, ~64 MB of raw images per shard)."),
        click.option("--workers", default=engine.workers_default(), show_default=True, type=int,
                     help="Worker processes (default: the usable cores; output is the same for any number)."),
        click.option("--shard-range", default=None, help="Make only shards A..B-1 (e.g. 0:4), for job arrays."),
        click.option("--codec", default=None, type=click.Choice(sorted(CODECS)),
                     help=f"HDF5 compression of images and masks (default: the task's; {DEFAULT_CODEC} for mazes, "
                          "zstd for PathFinder, lz4-zeros for clutter)."),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Dataset folder (default data/<task>/<variant>/<split>)."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
        click.option("--executor", type=click.Choice(cluster.EXECUTORS), default=None,
                     help="Run the shards as a job array through submitit: 'slurm', or 'local' processes "
                          "(needs the [cluster] extra). Default: here, in this process and its --workers."),
        click.option("--slurm", "slurm", is_flag=True, help="Same as --executor slurm."),
        click.option("--array-tasks", type=click.IntRange(min=1), default=cluster.DEFAULT_TASKS, show_default=True,
                     help="Array tasks the shards are dealt to (contiguous blocks; at most one per shard)."),
        click.option("--slurm-array-parallelism", type=click.IntRange(min=1), default=None,
                     help="Array tasks running at once on Slurm."),
        click.option("--slurm-partition", default=None, help="Slurm partition."),
        click.option("--slurm-time", type=click.FloatRange(min=1), default=60, show_default=True,
                     help="Time limit of one array task, minutes."),
        click.option("--max-retries", type=click.IntRange(min=0), default=2, show_default=True,
                     help="Resubmissions of failed array tasks (each makes only its missing shards)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def check_common(count, split, seed, shard_size, workers):
    if count <= 0:
        raise click.BadParameter(f"{count} is not allowed; the sample count must be >= 1", param_hint="'-n'")
    if split not in engine.SPLITS:
        raise click.BadParameter(f"{split!r} is not a split; allowed: {', '.join(engine.SPLITS)}", param_hint="'--split'")
    if not 0 <= seed < 2 ** 64:
        raise click.BadParameter(f"{seed} is outside 0..2**64-1", param_hint="'--seed'")
    if shard_size is not None and shard_size < 1:
        raise click.BadParameter(f"{shard_size} is not allowed; must be >= 1", param_hint="'--shard-size'")
    if workers < 1:
        raise click.BadParameter(f"{workers} is not allowed; must be >= 1", param_hint="'--workers'")


def run_generation(task_name, params, count, split, seed, shard_size, workers, shard_range, codec, out, quiet,
                   executor=None, slurm=False, array_tasks=cluster.DEFAULT_TASKS, slurm_array_parallelism=None,
                   slurm_partition=None, slurm_time=60, max_retries=2):
    """Validate everything, then generate (or, under ``benchgen plan``, describe what would be
    made); no file is touched before validation passes."""
    check_common(count, split, seed, shard_size, workers)
    shard_size = shard_size or engine.default_shard_size(task_name, params)
    plan = engine.Plan(task_name=task_name, params=params, split=split, seed=seed, count=count,
                       shard_size=shard_size, codec=codec)
    out = out or engine.default_out(task_name, plan.variant, split)
    plan = engine.Plan(**{**plan.__dict__, "out": out})
    rng = None
    if shard_range:
        rng = parse_shard_range(shard_range)
        if not 0 <= rng[0] < rng[1] <= plan.n_shards:
            raise click.BadParameter(f"{shard_range} is outside the {plan.n_shards} shards of this dataset "
                                     f"(allowed A:B with 0 <= A < B <= {plan.n_shards})", param_hint="'--shard-range'")
    try:
        engine.check_folder(plan)
    except DatasetError as exc:
        raise click.UsageError(str(exc))
    if (click.get_current_context().obj or {}).get("plan_only"):
        click.echo(dumps(cluster.describe(plan, array_tasks)), nl=False)
        return
    executor = "slurm" if slurm else executor
    if executor:
        if rng:
            raise click.BadParameter("a job array makes every shard; leave out --shard-range", param_hint="'--executor'")
        _run_array(plan, executor, array_tasks, slurm_array_parallelism, slurm_partition, slurm_time, max_retries,
                   workers, quiet)
        return
    total = sum(plan.shard_bounds(k)[1] for k in range(*(rng or (0, plan.n_shards))))
    with progress_bar(total, f"{task_name} {plan.variant} {split}", enabled=not quiet) as update:
        manifest = engine.run(plan, workers=workers, shard_range=rng, progress=update)
    state = "complete" if manifest["complete"] else \
        f"incomplete ({len(manifest['shards'])}/{plan.n_shards} shards; run the other shard ranges)"
    if not quiet:
        click.echo(f"{out}: {manifest['count']} samples, {state}")


def _run_array(plan, kind, tasks, parallelism, partition, minutes, retries, workers, quiet):
    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    logs = Path(f"{plan.out}.submitit")
    try:
        ex = cluster.executor(kind, logs, minutes=minutes, partition=partition, parallelism=parallelism, cpus=workers)
        manifest = cluster.run_array(plan, ex, tasks=tasks, retries=retries, workers=workers, echo=echo)
    except DatasetError as exc:
        raise click.ClickException(str(exc))
    if not quiet:
        click.echo(f"{plan.out}: {manifest['count']} samples, "
                   f"{'complete' if manifest['complete'] else 'incomplete'} (logs in {logs})")


def errors_as(caught, raised):
    """A decorator turning ``caught`` exceptions of a command into ``raised`` click exceptions
    (one 'Error: ...' line with that exception's exit code)."""
    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except caught as exc:
                raise raised(str(exc)) from None
        return wrapper
    return decorate


# DatasetError -> one line and exit code 1 (a failed check, not usage).
user_errors = errors_as(DatasetError, click.ClickException)


def open_or_fail(root):
    from .dataset import open_dataset

    try:
        return open_dataset(root)
    except DatasetError as exc:
        raise click.UsageError(str(exc))
