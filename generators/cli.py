"""The ``benchgen`` command: generate, verify, audit, export and preview datasets."""
import functools
import json
import sys
from pathlib import Path

import click

from . import engine, mazes
from .codecs import CODECS, DEFAULT_CODEC
from .errors import DatasetError
from .progress import progress_bar


def parse_shard_range(text):
    """'A:B' -> (A, B), shards A..B-1; validated against the plan later."""
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not A:B (two integers, shards A..B-1)", param_hint="'--shard-range'")
    return a, b


def generation_options(f):
    """Options shared by every generator command (split, seed, sharding, workers, output)."""
    options = [
        click.option("-n", "--count", "count", type=int, required=True, help="Number of samples."),
        click.option("--split", default="train", show_default=True,
                     help=f"One of {', '.join(engine.SPLITS)}; splits never share a seed stream."),
        click.option("--seed", default=0, show_default=True, type=int, help="Base seed (0..2**64-1)."),
        click.option("--shard-size", default=None, type=int,
                     help="Samples per shard file (default: up to 10,000, ~64 MB of raw images per shard)."),
        click.option("--workers", default=1, show_default=True, type=int, help="Worker processes."),
        click.option("--shard-range", default=None, help="Make only shards A..B-1 (e.g. 0:4), for job arrays."),
        click.option("--codec", default=DEFAULT_CODEC, show_default=True, type=click.Choice(sorted(CODECS)),
                     help="HDF5 compression of images and masks."),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Dataset folder (default data/<task>/<variant>/<split>)."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
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


def run_generation(task_name, params, count, split, seed, shard_size, workers, shard_range, codec, out, quiet):
    """Validate everything, then generate; no file is touched before validation passes."""
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
    total = sum(plan.shard_bounds(k)[1] for k in range(*(rng or (0, plan.n_shards))))
    with progress_bar(total, f"{task_name} {plan.variant} {split}", enabled=not quiet) as update:
        manifest = engine.run(plan, workers=workers, shard_range=rng, progress=update)
    state = "complete" if manifest["complete"] else \
        f"incomplete ({len(manifest['shards'])}/{plan.n_shards} shards; run the other shard ranges)"
    if not quiet:
        click.echo(f"{out}: {manifest['count']} samples, {state}")


def user_errors(f):
    """DatasetError -> one 'Error: ...' line and exit code 1 (a failed check, not usage)."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except DatasetError as exc:
            raise click.ClickException(str(exc))
    return wrapper


def open_or_fail(root):
    from .dataset import open_dataset

    try:
        return open_dataset(root)
    except DatasetError as exc:
        raise click.UsageError(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="recurrent-vision-bench")
def main():
    """Procedural datasets for recurrent vision models, as seeded HDF5 shards."""


@main.command("mazes")
@click.option("--size", type=int, required=True, help="Maze size s: odd, >= 3 (9, 11, 13 ... 201 ...).")
@click.option("--disjoint/--no-disjoint", default=None,
              help="Partition mazes by content so train/val/test never share one (default: on for size >= 5).")
@generation_options
def mazes_command(size, disjoint, **common):
    """DFS perfect mazes in the easy-to-hard format, with the solution path as mask."""
    from .mazes_task import MazeTask

    if size < 3 or size % 2 == 0:
        raise click.BadParameter(f"{size} is not allowed; the maze size must be odd and >= 3", param_hint="'--size'")
    if disjoint and size < mazes.MIN_DISJOINT_SIZE:
        raise click.BadParameter(f"size {size} has too few distinct mazes to split disjointly; "
                                 f"allowed with --disjoint: size >= {mazes.MIN_DISJOINT_SIZE}",
                                 param_hint="'--disjoint'")
    run_generation("mazes", MazeTask.params(size, disjoint), **common)


@main.command("verify")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--sample", default=100, show_default=True, type=click.IntRange(min=0),
              help="How many random samples to regenerate and compare byte for byte.")
@click.option("--check-seed", default=None, type=int, help="Seed of the random choice of samples.")
@user_errors
def verify_command(root, sample, check_seed):
    """Check shard sha256s against the manifest and regenerate random samples."""
    from .verify import verify

    ds = open_or_fail(root)
    failures, summary = verify(ds, sample=sample, rng_seed=check_seed)
    if failures:
        click.echo(f"{root}: FAILED ({len(failures)} problems)")
        for line in failures:
            click.echo(f"  {line}")
        sys.exit(1)
    click.echo(f"{root}: OK ({summary['shards']} shards match their sha256, "
               f"{summary['samples_regenerated']} samples regenerated identically)")


@main.command("audit")
@click.argument("roots", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write the JSON here.")
@click.option("--strict", is_flag=True, help="Exit 1 if any sample is shared between the datasets or a check fails.")
@user_errors
def audit_command(roots, out, strict):
    """Duplicates within and across datasets (and task checks), as JSON."""
    from .audit import audit
    from .manifest import write_json_atomic

    report = audit([open_or_fail(r) for r in roots])
    click.echo(json.dumps(report, indent=2))
    if out:
        write_json_atomic(out, report)
    leaked = any(c["shared_samples"] for c in report["cross"])
    failed_checks = any(not check.get("ok", True) for checks in report.get("task_checks", {}).values()
                        for check in (checks if isinstance(checks, list) else [checks]))
    if strict and (leaked or failed_checks):
        sys.exit(1)


@main.command("export")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True, type=click.Choice(["easy-to-hard"]))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@user_errors
def export_command(root, fmt, out):
    """Write a dataset in another suite's format (easy-to-hard: inputs.npy, solutions.npy)."""
    from .export import export_easy_to_hard

    ds = open_or_fail(root)
    if ds.manifest["task"] != "mazes":
        raise click.UsageError(f"{root} is a {ds.manifest['task']} dataset; --format easy-to-hard takes mazes only")
    for path in export_easy_to_hard(ds, out):
        click.echo(str(path))


@main.command("preview")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("-n", "count", default=16, show_default=True, type=click.IntRange(min=1), help="Samples shown.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PNG file to write.")
@user_errors
def preview_command(root, count, out):
    """A labelled grid of samples (mask overlaid in magenta) as a PNG."""
    import os

    from .preview import preview_grid

    if out.suffix.lower() != ".png":
        raise click.BadParameter(f"{out} does not end in .png; the preview is a PNG file", param_hint="'--out'")
    grid = preview_grid(open_or_fail(root), n=count)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}.png")
    grid.save(tmp)
    os.replace(tmp, out)
    click.echo(str(out))


# Commands of other tasks live in their own modules, each exposing ``COMMANDS``.
COMMAND_MODULES = ("generators.pathfinder_cli", "generators.clutter_cli", "generators.sources_cli")


def _add_task_commands():
    import importlib
    import importlib.util

    for module in COMMAND_MODULES:
        if importlib.util.find_spec(module) is not None:
            for command in importlib.import_module(module).COMMANDS:
                main.add_command(command)


_add_task_commands()
