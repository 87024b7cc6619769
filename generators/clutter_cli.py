"""``benchgen clutter``: cluttered MNIST / Fashion-MNIST scenes as seeded HDF5 shards."""
import os
from pathlib import Path

import click

from . import sources
from .cli_common import check_common, generation_options, run_generation


def _pair(text):
    try:
        small, large = (float(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not SMALL,LARGE (two numbers, e.g. 0.9,1.5)", param_hint="'--scales'")
    return small, large


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
@click.option("--sources", "sources_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Folder holding mnist/ and fashion-mnist/ (else ${sources.ENV_VAR}, the user cache, Debian's).")
@generation_options
def clutter_command(clutter_objects, scales, scale_jitter, angle, angle_jitter, with_target_only, sources_dir,
                    **common):
    """Cluttered MNIST/Fashion-MNIST scenes (20 categories) with auxiliary-variable labels."""
    from .clutter_task import ClutterTask, validate

    check_common(common["count"], common["split"], common["seed"], common["shard_size"], common["workers"])
    scales = _pair(scales)
    problem = validate(clutter_objects, scales, scale_jitter, angle, angle_jitter)
    if problem:
        raise click.BadParameter(problem[1], param_hint=f"'{problem[0]}'")
    if sources_dir is not None:
        if not sources_dir.is_dir():
            raise click.BadParameter(f"{sources_dir} is not a folder", param_hint="'--sources'")
        # Workers (forked or spawned) and later 'verify' runs find the sources the same way.
        os.environ[sources.ENV_VAR] = str(sources_dir.resolve())
    try:
        found = sources.load()
    except sources.SourceError as exc:
        raise click.UsageError(str(exc))
    found.stacked()  # once here, so forked workers share it
    params = ClutterTask.params(found, clutter_objects, scales, scale_jitter, angle, angle_jitter, with_target_only)
    run_generation("clutter", params, **common)


COMMANDS = [clutter_command]
