"""``benchgen clutter`` (cluttered MNIST / Fashion-MNIST scenes as seeded HDF5 shards) and
``benchgen sources fetch|check`` (obtain and check the MNIST / Fashion-MNIST files)."""
import os
from pathlib import Path

import click

from ..commands import check_common, generation_options, parse_pair, run_generation
from . import sources


def _check_folder(sources_dir):
    if sources_dir is not None and not sources_dir.is_dir():
        raise click.BadParameter(f"{sources_dir} is not a folder", param_hint="'--sources'")


sources_option = click.option(
    "--sources", "sources_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help=f"Folder holding mnist/ and fashion-mnist/ (else ${sources.ENV_VAR}, the user cache, Debian's).")


@click.command("clutter")
@click.option("--clutter", "clutter_objects", default=7, show_default=True, type=click.IntRange(0, 7),
              help="Clutter objects besides the target (0..7; the reference uses 7).")
@click.option("--scales", default="0.9,1.5", show_default=True, help="Small and large scale factors.")
@click.option("--scale-jitter", default=0.1, show_default=True, type=float, help="Uniform jitter added to the scale.")
@click.option("--angle", default=30.0, show_default=True, type=float,
              help="Rotation magnitude in degrees (sign random).")
@click.option("--angle-jitter", default=5.0, show_default=True, type=float,
              help="Uniform jitter of the angle, degrees.")
@click.option("--with-target-only", is_flag=True, help="Also store the target-only image of every scene.")
@sources_option
@generation_options
def clutter_command(clutter_objects, scales, scale_jitter, angle, angle_jitter, with_target_only, sources_dir,
                    **common):
    """Cluttered MNIST/Fashion-MNIST scenes (20 categories) with auxiliary-variable labels."""
    from .task import ClutterTask, validate

    check_common(common["count"], common["split"], common["seed"], common["shard_size"], common["workers"])
    scales = parse_pair(scales, ",", float, "--scales", "SMALL,LARGE (two numbers, e.g. 0.9,1.5)")
    problem = validate(clutter_objects, scales, scale_jitter, angle, angle_jitter)
    if problem:
        raise click.BadParameter(problem[1], param_hint=f"'{problem[0]}'")
    _check_folder(sources_dir)
    if sources_dir is not None:
        # Workers (forked or spawned) and later 'verify' runs find the sources the same way.
        os.environ[sources.ENV_VAR] = str(sources_dir.resolve())
    try:
        found = sources.load()
    except sources.SourceError as exc:
        raise click.UsageError(str(exc))
    found.stacked()  # once here, so forked workers share it
    params = ClutterTask.params(found, clutter_objects, scales, scale_jitter, angle, angle_jitter, with_target_only)
    run_generation("clutter", params, **common)


@click.group("sources")
def sources_group():
    """The MNIST and Fashion-MNIST files the cluttered scenes are made from."""


@sources_group.command("check")
@sources_option
def check_command(sources_dir):
    """Say which sources are found, where, and whether their checksums are right (exit 1 if not all)."""
    _check_folder(sources_dir)
    bad = 0
    for name, folder, problem in sources.check(sources_dir):
        if problem is None:
            click.echo(f"{name}: OK ({folder})")
        else:
            bad += 1
            click.echo(f"{name}: {'INVALID' if folder else 'MISSING'}: {problem}")
    if bad:
        click.echo("provide the missing files with 'benchgen sources fetch', or copy them into DIR/mnist/ and "
                   f"DIR/fashion-mnist/ and pass --sources DIR (or set {sources.ENV_VAR}=DIR)")
        raise SystemExit(1)


@sources_group.command("fetch")
@click.option("--dir", "dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Where to put mnist/ and fashion-mnist/ (default {sources.cache_dir()}).")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(min=1), help="Attempts per mirror.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1), help="Seconds per attempt.")
@click.option("--quiet", is_flag=True, help="Print only errors.")
def fetch_command(dest, retries, timeout, quiet):
    """Download the source files from the official mirrors (with fallbacks), checksums verified."""
    log = None if quiet else (lambda line: click.echo(line, err=True))
    try:
        written = sources.fetch(dest, retries=retries, timeout=timeout, log=log)
    except sources.SourceError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{len(written)} files downloaded; all sources present and valid in {dest or sources.cache_dir()}")


COMMANDS = [clutter_command, sources_group]
