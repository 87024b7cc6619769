"""The ``benchgen`` command: generate, verify, audit, export and preview datasets."""
import json
import sys
from pathlib import Path

import click

from .atomic import replacing
from .commands import open_or_fail, user_errors
from .exports import FORMATS as EXPORT_FORMATS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="recurrent-vision-bench")
def main():
    """Procedural datasets for recurrent vision models, as seeded HDF5 shards."""


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
    regenerated = (f"imported from {summary['imported']}, so no sample can be regenerated" if "imported" in summary
                   else f"{summary['samples_regenerated']} samples regenerated identically")
    click.echo(f"{root}: OK ({summary['shards']} shards match their sha256, {regenerated})")


@main.command("audit")
@click.argument("roots", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write the JSON here.")
@click.option("--strict", is_flag=True, help="Exit 1 if any sample is shared between the datasets or a check fails.")
@user_errors
def audit_command(roots, out, strict):
    """Duplicates within and across datasets (and task checks), as JSON."""
    from .audit import audit
    from .atomic import write_json_atomic

    report = audit([open_or_fail(r) for r in roots])
    click.echo(json.dumps(report, indent=2))
    if out:
        write_json_atomic(out, report)
    leaked = any(c["shared_samples"] for c in report["cross"])
    failed_checks = any(not check.get("ok", True) for checks in report.get("task_checks", {}).values()
                        for check in (checks if isinstance(checks, list) else [checks]))
    if strict and (leaked or failed_checks):
        sys.exit(1)


def _format_help():
    return "; ".join(f"{name}: {f.help} ({', '.join(f.tasks)})" for name, f in EXPORT_FORMATS.items())


@main.command("export")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True,
              type=click.Choice(list(EXPORT_FORMATS)), help=_format_help())
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to create (refused if it exists; easy-to-hard writes its two files into it).")
@click.option("--masks", is_flag=True, help="lra: also write each contour mask as masks/<k>/sample_<i>.png.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def export_command(root, fmt, out, masks, quiet):
    """Write a dataset in the layout other code reads (easy-to-hard, LRA, Hugging Face parquet,
    WebDataset, ImageFolder); a manifest.json beside it names the source dataset."""
    from .exports import export
    from .progress import progress_bar

    ds = open_or_fail(root)
    allowed = EXPORT_FORMATS[fmt].tasks
    if ds.manifest["task"] not in allowed:
        raise click.UsageError(f"{root} is a {ds.manifest['task']} dataset; --format {fmt} takes "
                               f"{' or '.join(allowed)} only")
    if masks and fmt != "lra":
        raise click.BadParameter(f"--masks is for --format lra; {fmt} writes masks whenever the dataset has them",
                                 param_hint="'--masks'")
    with progress_bar(len(ds), f"export {fmt}", enabled=not quiet) as update:
        written = export(ds, fmt, out, masks=masks, progress=update)
    for path in written if isinstance(written, list) else [written]:
        click.echo(str(path))


@main.group("import")
def import_group():
    """Turn a dataset published in another layout into shards the harness reads."""


@import_group.command("lra")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Dataset folder to create (refused if it exists).")
@click.option("--length", type=click.IntRange(min=1), default=None,
              help="Contour length (default: from the folder name, curv_baseline = 6, curv_contour_length_<L>).")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "val", "test"]))
@click.option("--skip-broken", is_flag=True, help="Leave out empty or unreadable images (the release has some); "
                                                 "their paths are listed in the manifest.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def import_lra_command(source, out, length, split, skip_broken, quiet):
    """An LRA PathFinder folder (pathfinder<size>/<difficulty> with imgs/ and metadata/, masks/
    if present) as our shards; evaluate on it with `bench evaluate ... --test-data OUT`."""
    from .pathfinder.lra import import_lra, read_release
    from .progress import progress_bar

    release = read_release(source, length)
    with progress_bar(len(release[2]), "import lra", enabled=not quiet) as update:
        out, kept, skipped = import_lra(release, out, split=split, skip_broken=skip_broken, progress=update)
    click.echo(f"{out}: {kept} images" + (f" ({len(skipped)} broken ones left out)" if skipped else ""))


@main.command("preview")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("-n", "count", default=16, show_default=True, type=click.IntRange(min=1), help="Samples shown.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PNG file to write.")
@user_errors
def preview_command(root, count, out):
    """A labelled grid of samples (mask overlaid in magenta) as a PNG."""
    from .preview import preview_grid

    if out.suffix.lower() != ".png":
        raise click.BadParameter(f"{out} does not end in .png; the preview is a PNG file", param_hint="'--out'")
    grid = preview_grid(open_or_fail(root), n=count)
    with replacing(out, suffix=".png") as tmp:
        grid.save(tmp)
    click.echo(str(out))


# Commands that generate a dataset (the ones ``benchgen plan`` describes).
GENERATORS = ("mazes", "pathfinder", "clutter")


@main.command("plan", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                       "help_option_names": []})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def plan_command(ctx, command):
    """What a generator command would make, as JSON, without making it: shards, samples per
    shard, bytes, and the --shard-range of each array task (--array-tasks N).

    Example: benchgen plan mazes --size 9 -n 50000 --array-tasks 8
    """
    if not command or command[0] in ("-h", "--help"):
        click.echo(ctx.get_help())
        return
    if command[0] not in GENERATORS or command[0] not in main.commands:
        raise click.UsageError(f"{command[0]!r} is not a generator command; plan one of: "
                               f"{', '.join(sorted(c for c in main.commands if c in GENERATORS))}")
    main.main(list(command), prog_name="benchgen plan", obj={"plan_only": True}, standalone_mode=False)


# Each task's commands live in its own folder (``generators/<task>/command.py``, exposing
# ``COMMANDS``); a task folder that is absent simply adds no command.
COMMAND_MODULES = ("generators.mazes.command", "generators.pathfinder.command", "generators.clutter.command")


def _add_task_commands():
    import importlib
    import importlib.util

    for module in COMMAND_MODULES:
        if importlib.util.find_spec(module) is not None:
            for command in importlib.import_module(module).COMMANDS:
                main.add_command(command)


_add_task_commands()
