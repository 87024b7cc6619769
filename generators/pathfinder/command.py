"""``benchgen pathfinder``: PathFinder datasets (classification labels and target masks)."""
import click

from ..commands import generation_options, run_generation

# Spelled out rather than read from .task, which would load numba at every CLI start-up;
# a test keeps them equal to task.PRESETS and task.SAMPLERS.
PRESET_NAMES = ("linsley2018", "lra32", "lra64", "lra128", "lra256")
SAMPLER_NAMES = ("ghost", "rhombus")


def parse_margins(text):
    """'3' -> [3.0]; '2,3' -> [2.0, 3.0] (one drawn per image, as in LRA Path-X)."""
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a number or a comma-separated list of numbers (e.g. 3 or 2,3)",
                                 param_hint="'--margin'")


@click.command("pathfinder")
@click.option("--length", type=int, required=True,
              help="Dashes per target contour (difficulty): 6, 9, 14, 18, 25 ... up to what the canvas holds.")
@click.option("--preset", default="linsley2018", show_default=True, type=click.Choice(PRESET_NAMES),
              help="Published settings: linsley2018 (300 px canvas, 150 px output) or the LRA sizes.")
@click.option("--size", type=int, default=None, help="Output side in px (default: the preset's; <= canvas).")
@click.option("--markers", type=int, default=2, show_default=True,
              help="2: both markers (classification); 1: origin marker only (segmentation, C-RBP).")
@click.option("--canvas", type=int, default=None, help="Rendering canvas side in px.")
@click.option("--padding", type=int, default=None, help="Empty border in px (canvas pixels).")
@click.option("--paddle-length", type=float, default=None, help="Dash length in px.")
@click.option("--thickness", type=float, default=None, help="Dash thickness in px.")
@click.option("--margin", default=None, help="Margin in px (gap between dashes = 2 x margin); '2,3' draws one per image.")
@click.option("--continuity", type=float, default=None, help="Max turn between dashes = 90 deg / continuity (>= 1).")
@click.option("--distractor-length", type=int, default=None, help="Dashes per distractor (default: preset's).")
@click.option("--distractors", type=int, default=None, help="Distractor snakes tried per image.")
@click.option("--seed-distance", type=float, default=None, help="Minimum distance between ends of different target contours, px.")
@click.option("--marker-radius", type=float, default=None, help="Marker disk radius in px.")
@click.option("--contrast", type=float, default=None, help="Ink intensity of every snake, (0, 1]; markers are 1.")
@click.option("--sampler", type=click.Choice(SAMPLER_NAMES), default=None,
              help="How the two target contours are laid out: ghost (default) or rhombus (lra32/lra64: the four "
                   "ends on a rhombus, contours grown as bridges; see docs/pathfinder.md).")
@click.option("--mirror-test/--no-mirror-test", default=None,
              help="Ghost sampler: also require a contour to fit after target A's far end (removes a "
                   "marker-position cue; on for linsley2018/lra128/lra256).")
@generation_options
def pathfinder_command(length, preset, size, markers, canvas, padding, paddle_length, thickness, margin, continuity,
                       distractor_length, distractors, seed_distance, marker_radius, contrast, sampler, mirror_test,
                       **common):
    """PathFinder: are the two markers on one contour? Labels (balanced per shard) and the
    mask of the contour under the first marker are stored for every image."""
    from .task import ParamError, make_params, probe

    if common["count"] % 2:
        raise click.BadParameter(f"{common['count']} is odd; PathFinder sets hold exactly half positives, "
                                 "so the sample count must be even", param_hint="'-n'")
    if common.get("shard_size") is not None and common["shard_size"] % 2:
        raise click.BadParameter(f"{common['shard_size']} is odd; PathFinder shards hold exactly half positives, "
                                 "so the shard size must be even", param_hint="'--shard-size'")
    try:
        params = make_params(length, preset, markers, size=size, canvas=canvas, padding=padding,
                             paddle_length=paddle_length, thickness=thickness, margin=parse_margins(margin),
                             continuity=continuity, distractor_length=distractor_length, distractors=distractors,
                             seed_distance=seed_distance, marker_radius=marker_radius, contrast=contrast,
                             sampler=sampler, mirror_test=mirror_test)
    except ParamError as exc:
        raise click.BadParameter(str(exc), param_hint=f"'--{exc.param.replace('_', '-')}'")
    if not probe(params):
        from .task import too_long_message

        raise click.BadParameter(too_long_message(params), param_hint="'--length'")
    run_generation("pathfinder", params, **common)


COMMANDS = [pathfinder_command]
