"""``benchgen mazes``: DFS perfect mazes in the easy-to-hard format."""
import click

from ..commands import generation_options, run_generation
from .kernel import MIN_DISJOINT_SIZE


@click.command("mazes")
@click.option("--size", type=int, required=True, help="Maze size s: odd, >= 3 (9, 11, 13 ... 201 ...).")
@click.option("--disjoint/--no-disjoint", default=None,
              help="Partition mazes by content so train/val/test never share one (default: on for size >= 5).")
@generation_options
def mazes_command(size, disjoint, **common):
    """DFS perfect mazes in the easy-to-hard format, with the solution path as mask."""
    from .task import MazeTask

    if size < 3 or size % 2 == 0:
        raise click.BadParameter(f"{size} is not allowed; the maze size must be odd and >= 3", param_hint="'--size'")
    if disjoint and size < MIN_DISJOINT_SIZE:
        raise click.BadParameter(f"size {size} has too few distinct mazes to split disjointly; "
                                 f"allowed with --disjoint: size >= {MIN_DISJOINT_SIZE}",
                                 param_hint="'--disjoint'")
    run_generation("mazes", MazeTask.params(size, disjoint), **common)


COMMANDS = [mazes_command]
