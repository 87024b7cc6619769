"""``benchgen sources fetch|check``: obtain and check the MNIST / Fashion-MNIST files."""
from pathlib import Path

import click

from . import sources


@click.group("sources")
def sources_group():
    """The MNIST and Fashion-MNIST files the cluttered scenes are made from."""


@sources_group.command("check")
@click.option("--sources", "sources_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Folder holding mnist/ and fashion-mnist/ (else ${sources.ENV_VAR}, the user cache, Debian's).")
def check_command(sources_dir):
    """Say which sources are found, where, and whether their checksums are right (exit 1 if not all)."""
    if sources_dir is not None and not sources_dir.is_dir():
        raise click.BadParameter(f"{sources_dir} is not a folder", param_hint="'--sources'")
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


COMMANDS = [sources_group]
