"""The ``bench`` command: standard data, preflight, evaluate, submit, leaderboard."""
import importlib
import importlib.util
import os
import sys
from pathlib import Path

import click

from generators.progress import progress_bar

from .command_errors import harness_errors
from .errors import HarnessError

DATA_ROOT_HELP = "Root of the suite's data (env RVB_DATA_ROOT; default data/suite)."


def _data_root(value):
    from . import suite

    return Path(value or os.environ.get("RVB_DATA_ROOT") or suite.DEFAULT_DATA_ROOT)


def data_root_option(f):
    return click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=DATA_ROOT_HELP)(f)


def _tasks():
    from . import suite

    return suite.task_names()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="recurrent-vision-bench")
def main():
    """Benchmark recurrent vision models on the standard suite; keep a leaderboard."""


# --- data -------------------------------------------------------------------------------

@main.group("data")
def data_group():
    """The suite's standard datasets: list, prepare (generate what is missing), pin."""


@data_group.command("prepare")
@click.option("--task", required=True, help="Suite task (mazes, pathfinder, ...).")
@click.option("--quick", is_flag=True, help="The quick sets (laptop and CI sized).")
@click.option("--split", "splits", type=click.Choice(["train", "val", "test", "all"]), default="all", show_default=True)
@click.option("--difficulties", default=None, help="Only these difficulties (comma list).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Generator processes.")
@data_root_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@harness_errors
def data_prepare(task, quick, splits, difficulties, workers, data_root, quiet):
    """Generate every missing set of a task (resumable: complete shards are kept)."""
    from . import suite
    from .budgets import parse_difficulties

    suite.get(task)
    regime = "quick" if quick else "standard"
    wanted = parse_difficulties(difficulties) if difficulties else None
    chosen = suite.SPLITS if splits == "all" else (splits,)
    sets = suite.sets(task, regime, chosen, wanted)
    if not sets:
        raise HarnessError(f"no {regime} {task} set matches --split {splits} --difficulties {difficulties}")
    root = _data_root(data_root)
    for data in sets:
        plan = data.plan(root)
        if suite.is_ready(data, root):
            click.echo(f"{plan.out}: ready")
            continue
        with progress_bar(plan.count, data.key, enabled=not quiet) as update:
            suite.ensure(data, root, workers=workers, progress=update)
        click.echo(f"{plan.out}: generated {plan.count} samples")


@data_group.command("list")
@click.option("--task", default=None, help="One task (default all).")
@click.option("--quick", is_flag=True, help="The quick sets.")
@data_root_option
@harness_errors
def data_list(task, quick, data_root):
    """Every set of the suite: key, samples, folder and manifest sha256 if generated."""
    from . import suite

    root = _data_root(data_root)
    regime = "quick" if quick else "standard"
    for name in [task] if task else _tasks():
        for data in suite.sets(name, regime):
            digest = suite.manifest_hash(data, root)
            click.echo(f"{data.key:28s} {data.plan(root).count:>8d}  {digest or 'not generated'}")


@data_group.command("pin")
@click.option("--task", required=True)
@click.option("--quick", is_flag=True)
@data_root_option
@harness_errors
def data_pin(task, quick, data_root):
    """Record the local test sets' manifest sha256 as the suite's (maintainers only)."""
    import json

    from leaderboard.board import PINNED_MANIFESTS
    from generators.atomic import write_json_atomic

    from . import suite

    root = _data_root(data_root)
    regime = "quick" if quick else "standard"
    pinned = json.loads(PINNED_MANIFESTS.read_text()) if PINNED_MANIFESTS.is_file() else \
        {"suite_version": suite.SUITE_VERSION, "manifests": {}}
    added = 0
    for data in suite.sets(task, regime, splits=("test",)):
        digest = suite.manifest_hash(data, root)
        if digest:
            pinned["manifests"][data.key] = digest
            added += 1
    if not added:
        raise HarnessError(f"no generated {regime} {task} test set under {root}; run bench data prepare first")
    write_json_atomic(PINNED_MANIFESTS, pinned)
    click.echo(f"{PINNED_MANIFESTS}: {added} {regime} {task} test manifests pinned")


# --- preflight and evaluate ---------------------------------------------------------------

def _task_info(task, train_difficulty, train_steps):
    from . import suite

    return suite.train_info(task, train_difficulty, train_steps)


def _model_argument(f):
    return click.argument("model")(f)


@main.command("preflight")
@_model_argument
@click.option("--task", required=True, help="Suite task.")
@click.option("--train-difficulty", type=int, default=None, help="Training difficulty (default: the recipe's).")
@click.option("--train-steps", type=click.IntRange(min=1), default=None, help="Steps the model was trained with.")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="State dict to load (weights_only=True).")
@harness_errors
def preflight_command(model, task, train_difficulty, train_steps, weights):
    """Check the model contract in seconds: MODEL is a .py file or baselines:NAME.

    One line per rule; exit code 1 if any rule fails.
    """
    from .contract import BASELINE_PREFIX
    from .preflight import preflight

    if not model.startswith(BASELINE_PREFIX) and not Path(model).is_file():
        raise HarnessError(f"{model}: no such model file (expected a .py file defining build_model(task), "
                           f"or {BASELINE_PREFIX}NAME)")
    info = _task_info(task, train_difficulty, train_steps)
    checks = preflight(model, info, weights=weights)
    for check in checks:
        click.echo(check.line())
    if not all(c.ok for c in checks):
        sys.exit(1)


def _board_option(f):
    return click.option("--board", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="Leaderboard file (default: the public leaderboard/leaderboard.json).")(f)


@main.command("evaluate")
@_model_argument
@click.option("--task", required=True, help="Suite task.")
@click.option("--quick", is_flag=True, help="Evaluate on the quick sets (laptop/CI); default the standard sets.")
@click.option("--train-difficulty", type=int, default=None, help="Difficulty the model was trained on.")
@click.option("--train-steps", type=click.IntRange(min=1), default=None,
              help="Steps the model was trained with (default: model.train_steps or the recipe's).")
@click.option("--difficulties", default=None, help="Test difficulties, comma list (default: the suite's).")
@click.option("--test-data", "test_data", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Score on this dataset folder instead of the suite's sets (repeatable, one per difficulty; "
                   "e.g. from `benchgen import lra`); the results say sets 'custom' and are not board entries.")
@click.option("--steps", default=None, help="Budgets: A:B, A:B:STEP or a comma list (default 1:4T).")
@click.option("--budget-rule", default="scale", show_default=True,
              help="Label-free budget declared before evaluation: fixed:T, scale, table:D=T,..., confidence.")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="State dict to load (weights_only=True).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ...")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Default: automatic.")
@click.option("--amp/--no-amp", default=None, help="bfloat16 autocast (default: on for CUDA).")
@click.option("--channels-last/--no-channels-last", default=None, help="Default: on for CUDA.")
@click.option("--recipe", type=click.Choice(["standard", "free"]), default="free", show_default=True,
              help="'standard': trained with the suite's recipe and budget.")
@click.option("--name", default=None, help="Model name on the board (default: file stem).")
@click.option("--num-workers", type=click.IntRange(min=0), default=0, show_default=True, help="DataLoader workers.")
@click.option("--n-boot", type=click.IntRange(min=10), default=1000, show_default=True, help="Bootstrap resamples.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch CPU threads (default: torch's; 1 is often fastest on a busy machine).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Results JSON (default results/<name>-<task>-<sets>.json); plot and per-sample file beside it.")
@_board_option
@data_root_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@harness_errors
def evaluate_command(model, task, quick, train_difficulty, train_steps, difficulties, test_data, steps, budget_rule,
                     weights, device, batch_size, amp, channels_last, recipe, name, num_workers, n_boot, threads, out,
                     board, data_root, quiet):
    """Score MODEL (a .py file or baselines:NAME) over difficulty x step budget, and print it
    beside the board's entries for the same task and sets (--board; the public one by default)."""
    from leaderboard.board import PUBLIC_BOARD, load_board

    from . import budgets, distributed
    from .evaluate import EvalConfig, evaluate, resolve
    from .outputs import companion, write_all

    board = board or PUBLIC_BOARD
    board_data = load_board(board)        # a bad board file fails before any work

    config = EvalConfig(
        model=model, task=task, sets="quick" if quick else "standard", train_difficulty=train_difficulty,
        train_steps=train_steps, difficulties=budgets.parse_difficulties(difficulties) if difficulties else None,
        steps=budgets.parse_steps(steps) if steps else None, weights=weights, device=device,
        batch_size=batch_size, data_root=_data_root(data_root), budget_rule=budget_rule, amp=amp,
        channels_last=channels_last, recipe="standard recipe" if recipe == "standard" else "free", name=name,
        num_workers=num_workers, n_boot=n_boot, threads=threads, test_data=tuple(test_data))
    if out is not None and out.suffix != ".json":
        raise HarnessError(f"--out {out} does not end in .json")
    resolved, spec, _, device_used = resolve(config)
    # Under torchrun the ranks score whole batches each and rank 0 gathers, writes and prints.
    ranks = distributed.from_environment(cuda=device_used.type == "cuda")
    if ranks.world > 1 and device_used.type == "cuda":
        config.device = f"cuda:{ranks.local}"
    if test_data:
        from generators.manifest import load as load_manifest
        total = sum(load_manifest(folder)["count"] for folder in test_data)
    else:
        total = sum(spec.count(config.sets, "test", d) for d in resolved.difficulties)
    with progress_bar(total, f"{task} {config.sets}", enabled=not quiet and ranks.main) as update:
        config.progress = update
        results, samples = evaluate(config)
    if not ranks.main:
        return
    stem = name or results["model"]["name"]
    out = out or Path("results") / f"{stem}-{task}-{results['suite']['sets']}.json"
    paths = write_all(results, samples, out)
    d = results["derived"]
    if d["in_distribution"]:
        i = d["in_distribution"]
        click.echo(f"in-distribution (difficulty {i['difficulty']}, {i['steps']} steps): {100 * i['score']:.1f}% "
                   f"[{100 * i['ci'][0]:.1f}, {100 * i['ci'][1]:.1f}]")
    else:
        click.echo(f"in-distribution: not scored ({_no_in_distribution(results)})")
    for lf, best in zip(d["label_free"]["per_difficulty"], d["oracle"]["per_difficulty"]):
        at = f"{lf['steps']} steps" if lf["steps"] else f"a mean of {lf['mean_steps']:g} steps"
        if lf.get("rule_steps") and lf["rule_steps"] != lf["steps"]:
            at += f" (the rule's {lf['rule_steps']} is not in the grid; nearest)"
        click.echo(f"difficulty {lf['difficulty']:>3}: label-free {100 * lf['score']:5.1f}% at {at}; "
                   f"oracle {100 * best['score']:5.1f}% at {best['steps']}")
    paths.append(_compare_with_board(results, board, board_data, companion(out, ".board.png")))
    for p in paths:
        if p is not None:
            click.echo(str(p))


def _no_in_distribution(results):
    """Why a results file has no in-distribution score."""
    train = results["model"]["train"]
    evaluated = [row["difficulty"] for row in results["grid"]["rows"]]
    if train["difficulty"] not in evaluated:
        return (f"the training difficulty {train['difficulty']} is not among the evaluated "
                f"{', '.join(map(str, evaluated))}")
    return (f"the training budget, {train['steps']} steps, is not in the step grid "
            f"({', '.join(map(str, results['grid']['steps']))}); add it to --steps")


def _compare_with_board(results, board, board_data, plot):
    """Print the board's table with this run ranked in it and plot both; the plot's path, or
    None when the board has no entry of this task and sets."""
    from leaderboard.compare import comparison_plot, comparison_table, peers

    entries = peers(board_data, results)
    if not entries:
        click.echo(f"no entry of {results['task']} ({results['suite']['sets']} sets) on {board} to compare with")
        return None
    click.echo(f"against {board}:")
    for line in comparison_table(results, entries):
        click.echo(line)
    return comparison_plot(results, entries, plot)


# --- submit and leaderboard ---------------------------------------------------------------

def _rescore_options(f):
    options = [
        click.option("--model", default=None,
                     help="Model file or baselines:NAME (default: the source the results cite)."),
        click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="The weights the results were computed with (required when they cite weights)."),
        click.option("--seed", type=int, default=None,
                     help="Base seed of the fresh test sets (default: drawn from OS entropy; recorded)."),
        click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ..."),
        click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _run_rescore(results, model, weights, seed, device, threads, data_root, out):
    """Rescore ``results``, print the comparison, write the report; return the report."""
    from . import rescore as rc

    config = rc.RescoreConfig(results=results, model=model, weights=weights, seed=seed, data_root=_data_root(data_root),
                              device=device, threads=threads)
    report, _ = rc.rescore(config)
    for line in rc.lines(report):
        click.echo(line)
    path = rc.write(report, out or Path(results).with_suffix(".rescore.json"))
    click.echo(str(path))
    return report


@main.command("rescore")
@click.argument("results", type=click.Path(path_type=Path))
@_rescore_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Report JSON (default: RESULTS with .rescore.json).")
@data_root_option
@harness_errors
def rescore_command(results, model, weights, seed, device, threads, out, data_root):
    """Re-run the model of RESULTS on fresh test sets (same suite parameters, a new seed) and
    check its claimed scores; exit 1 when a claim is above what the model does there."""
    report = _run_rescore(results, model, weights, seed, device, threads, data_root, out)
    if not report["passed"]:
        sys.exit(1)


@main.command("submit")
@click.argument("results", type=click.Path(path_type=Path))
@_board_option
@click.option("--rescore", "do_rescore", is_flag=True,
              help="Re-score the model on fresh test sets first (bench rescore); refuse the entry if a claim fails.")
@_rescore_options
@data_root_option
@harness_errors
def submit_command(results, board, do_rescore, model, weights, seed, device, threads, data_root):
    """Validate RESULTS, check its data hashes against the suite, merge into the board."""
    from leaderboard.board import PUBLIC_BOARD, check_submission, submit

    board = board or PUBLIC_BOARD
    report = None
    if do_rescore:
        check_submission(results, board, _data_root(data_root))     # cheap refusals before the fresh evaluation
        report = _run_rescore(results, model, weights, seed, device, threads, data_root, None)
        if not report["passed"]:
            click.echo(f"{board}: not added; the claimed scores fail the rescore")
            sys.exit(1)
    entry = submit(results, board, _data_root(data_root), rescore=report)
    click.echo(f"{board}: added {entry['name']} ({entry['task']}, {entry['sets']} sets, {entry['recipe']}) "
               f"as entry {entry['id']}{' (re-scored)' if report else ''}")


@main.command("leaderboard")
@_board_option
@click.option("--html", "html_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write a static HTML page with the plots into this folder.")
@harness_errors
def leaderboard_command(board, html_dir):
    """Print one table per task; optionally write the HTML page."""
    from leaderboard.board import PUBLIC_BOARD, load_board
    from leaderboard.render import text, write_html

    board_data = load_board(board or PUBLIC_BOARD)
    click.echo(text(board_data), nl=False)
    if html_dir:
        click.echo(str(write_html(board_data, html_dir)))


# Commands of other parts (training: benchmark/training/command.py) live in their own modules.
COMMAND_MODULES = ("benchmark.training.command", "benchmark.analysis.command")


def _add_commands():
    for module in COMMAND_MODULES:
        if importlib.util.find_spec(module) is not None:
            for command in importlib.import_module(module).COMMANDS:
                main.add_command(command)


_add_commands()

if __name__ == "__main__":
    main()
