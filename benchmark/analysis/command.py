"""``bench analyze``: analyses of a trained model, one command each (JSON report + figure)."""
import os
from pathlib import Path

import click

from ..command_errors import harness_errors
from ..errors import HarnessError


def _common(f):
    """The model, its task and weights, the test set, and where the report goes."""
    options = [
        click.argument("model"),
        click.option("--task", required=True, help="Suite task (mazes, pathfinder, pathfinder-seg, clutter)."),
        click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="State dict to load (weights_only=True)."),
        click.option("--train-difficulty", type=int, default=None, help="Difficulty the model was trained on."),
        click.option("--train-steps", type=click.IntRange(min=1), default=None,
                     help="Steps the model was trained with (default: model.train_steps or the recipe's)."),
        click.option("--difficulty", type=int, default=None,
                     help="Test difficulty the images come from (default: the training difficulty)."),
        click.option("-n", "count", type=click.IntRange(min=1), default=None, help="Test images used."),
        click.option("--quick", is_flag=True, help="The quick test sets."),
        click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ..."),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Report JSON (default analyses/<model>-<task>-<analysis>.json); the PNG beside it."),
        click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Root of the suite's data (env RVB_DATA_ROOT; default data/suite)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _prepare(model, task, weights, train_difficulty, train_steps, difficulty, count, default_count, quick, device,
             data_root):
    from .. import suite
    from .inputs import subject, test_batch

    sets = "quick" if quick else "standard"
    who = subject(model, task, weights, train_difficulty, train_steps, device)
    d = difficulty if difficulty is not None else who.info.difficulty
    root = Path(data_root or os.environ.get("RVB_DATA_ROOT") or suite.DEFAULT_DATA_ROOT)
    x, y, data, ds = test_batch(task, sets, d, count or default_count, root)
    return who, x, y, data, sets, ds


def _out(out, who, task, kind):
    path = out or Path("analyses") / f"{who.source.name}-{task}-{kind}.json"
    if path.suffix != ".json":
        raise HarnessError(f"--out {path} does not end in .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@click.group("analyze")
def analyze_group():
    """Analyses of a trained model that the seed papers run (JSON report + figure each)."""


@analyze_group.command("stability")
@_common
@click.option("--horizon", type=click.IntRange(min=2), default=200, show_default=True,
              help="T: the late step compared with the trained step N.")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Converged: ||h_T - h_(T-1)|| / ||h_T|| below this.")
@harness_errors
def stability_command(model, task, weights, train_difficulty, train_steps, difficulty, count, quick, device, out,
                      data_root, horizon, tolerance):
    """State distance ||h_N - h_T|| per image, the step Jacobian's spectral norm at h_T, the
    share of converged images and the curve of ||h_t - h_(t-1)|| (C-RBP's stability test).
    Needs the model's step function (encode, init_state, step, readout)."""
    from ..recurrence import STEP_FUNCTION, has_step_function
    from .reports import stability_plot, stability_report, write

    who, x, _, data, sets, _ = _prepare(model, task, weights, train_difficulty, train_steps, difficulty, count,
                                        64, quick, device, data_root)
    if not has_step_function(who.model):
        raise HarnessError(f"{model}: stability needs the model's step function ({', '.join(STEP_FUNCTION)}); "
                           "this model has only forward")
    if horizon < who.info.train_steps:
        raise HarnessError(f"--horizon {horizon} is below the trained steps {who.info.train_steps}")
    path = _out(out, who, task, "stability")
    report = stability_report(who, x, task, sets, data, horizon, tolerance)
    write(report, "stability", path)
    stability_plot(report, path.with_suffix(".png"))
    s = report["summary"]
    click.echo(f"{data['key']}, {data['images']} images, N = {report['trained_steps']}, T = {horizon}: "
               f"||h_N - h_T|| median {_fmt(s['distance']['median'])} (C-RBP paper: BPTT 43.55, C-BPTT 1.96, "
               f"C-RBP 0.11); Jacobian norm median {_fmt(s['jacobian_norm']['median'])}; "
               f"converged {100 * s['converged_share']:.0f}%")
    click.echo(str(path))
    click.echo(str(path.with_suffix(".png")))


@analyze_group.command("predictions")
@_common
@click.option("--steps", default=None, help="Budgets shown: A:B, A:B:STEP or a comma list (default: 8 up to 2T).")
@harness_errors
def predictions_command(model, task, weights, train_difficulty, train_steps, difficulty, count, quick, device, out,
                        data_root, steps):
    """The model's output after each budget for a few test images, as one PNG (rows =
    images, columns = steps): watch a maze being solved or a contour being traced."""
    from .. import budgets, suite
    from .reports import predictions_plot, predictions_report, write

    who, x, y, data, sets, _ = _prepare(model, task, weights, train_difficulty, train_steps, difficulty, count,
                                        8, quick, device, data_root)
    if x.shape[0] > 32:
        raise HarnessError(f"-n {x.shape[0]}: a picture of at most 32 images; allowed 1..32")
    t = who.info.train_steps
    grid = budgets.parse_steps(steps) if steps else sorted({max(1, round(k * 2 * t / 8)) for k in range(1, 9)})
    if len(grid) > 16:
        raise HarnessError(f"--steps gives {len(grid)} budgets; a picture shows at most 16")
    path = _out(out, who, task, "predictions")
    report, arrays = predictions_report(who, x, y, task, sets, data, grid, suite.get(task).metric)
    write(report, "predictions", path)
    predictions_plot(report, x, y, arrays, path.with_suffix(".png"))
    last = report["budgets"][-1]
    click.echo(f"{data['key']}, {data['images']} images at {len(report['budgets'])} budgets; at {last['steps']} "
               f"steps {sum(v >= 0.999 for v in last['score'])} of {data['images']} correct")
    click.echo(str(path))
    click.echo(str(path.with_suffix(".png")))


@analyze_group.command("decode")
@_common
@click.option("--split", default="800:200", show_default=True,
              help="Decoder training and test images per repeat (drawn from the -n recorded test images).")
@click.option("--repeats", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Steps recorded (default: the trained steps).")
@click.option("--max-features", type=click.IntRange(min=2), default=1024, show_default=True,
              help="Larger layers are average-pooled over space to at most this many values per image.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the draws and label permutations.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Decoders fitted at once (threads; default: the usable cores). Results do not depend on it.")
@harness_errors
def decode_command(model, task, weights, train_difficulty, train_steps, difficulty, count, quick, device, out,
                   data_root, split, repeats, steps, max_features, seed, jobs):
    """Linear decoders (LinearSVC, as the clutter study) of the task's variables from every
    recorded layer at every step, with chance level and a permuted-label baseline. Needs
    trace(x, steps) or the model's step function."""
    from generators.engine import workers_default

    from .decoding import variables
    from .reports import decode_plot, decode_report, write

    n_train, n_test = _split(split)
    who, x, _, data, sets, ds = _prepare(model, task, weights, train_difficulty, train_steps, difficulty, count,
                                         n_train + n_test, quick, device, data_root)
    if x.shape[0] < n_train + n_test:
        raise HarnessError(f"--split {split} needs {n_train + n_test} images; -n gives {x.shape[0]}")
    path = _out(out, who, task, "decode")
    report = decode_report(who, x, task, sets, data, variables(task, ds, x.shape[0]), steps or who.info.train_steps,
                           n_train, n_test, repeats, max_features, seed, jobs or workers_default())
    write(report, "decode", path)
    decode_plot(report, path.with_suffix(".png"))
    last = max(r["step"] for r in report["rows"])
    for name in report["variables"]:
        best = max((r for r in report["rows"] if r["variable"] == name and r["step"] == last),
                   key=lambda r: r["accuracy"])
        click.echo(f"{name}: {100 * best['accuracy']:.1f}% at step {last} ({best['layer']}); chance "
                   f"{100 * best['chance']:.1f}%, permuted labels {100 * best['permutation']:.1f}%")
        inputs = [r for r in report["rows"] if r["variable"] == name and r["step"] == last
                  and r["layer"] in report["recurrent_input_layers"]]
        if inputs:
            best = max(inputs, key=lambda r: r["accuracy"])
            click.echo(f"  from recurrent inputs alone: {100 * best['accuracy']:.1f}% ({best['layer']})")
    click.echo(f"recording {report['seconds']['record']:.1f} s, decoding {report['seconds']['decode']:.1f} s")
    click.echo(str(path))
    click.echo(str(path.with_suffix(".png")))


@analyze_group.command("perturb")
@_common
@click.option("--variables", "names", default=",".join(("location", "scale", "orientation", "category-within",
                                                        "category-across")), show_default=True,
              help="Variables whose twins give the injected feedback (comma list).")
@click.option("--repeats", type=click.IntRange(min=2), default=5, show_default=True,
              help="Control permutations drawn per layer and step.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Steps run (default: the trained steps).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the control permutations.")
@harness_errors
def perturb_command(model, task, weights, train_difficulty, train_steps, difficulty, count, quick, device, out,
                    data_root, names, repeats, steps, seed):
    """The clutter study's functional importance of feedback: the recurrent input of a twin
    scene (one variable changed) injected at each layer and step, against a permuted control.
    Needs trace(x, steps, inject=...) giving 'feedback' and 'logits' per step."""
    import time

    from .perturb import check_model
    from .reports import perturb_plot, perturb_report, write

    if task != "clutter":
        raise HarnessError(f"perturbation takes --task clutter (twins are clutter scenes); {task} has no twins")
    variables = _variables(names)
    who, x, y, data, sets, ds = _prepare(model, task, weights, train_difficulty, train_steps, difficulty, count,
                                         1000, quick, device, data_root)
    problem = check_model(who.model)
    if problem:
        raise HarnessError(f"{model}: {problem}")
    path = _out(out, who, task, "perturb")
    t0 = time.perf_counter()
    twins = _twins(ds, x.shape[0], variables)
    report = perturb_report(who, x, y, twins, task, sets, data, steps or who.info.train_steps, repeats, seed,
                            time.perf_counter() - t0)
    write(report, "perturb", path)
    perturb_plot(report, path.with_suffix(".png"))
    for name in variables:
        best = max((r for r in report["rows"] if r["variable"] == name), key=lambda r: r["importance"])
        click.echo(f"{name}: largest importance {best['importance']:.2f} [{best['ci'][0]:.2f}, {best['ci'][1]:.2f}] "
                   f"(layer {best['layer']}, step {best['step']})")
    click.echo(f"twins {report['seconds']['twins']:.1f} s, perturbation {report['seconds']['perturb']:.1f} s")
    click.echo(str(path))
    click.echo(str(path.with_suffix(".png")))


def _variables(text):
    from generators.clutter.twins import VARIABLES

    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIABLES]
    if unknown or not names:
        raise HarnessError(f"--variables {text!r}: {', '.join(unknown) or 'none given'}; allowed: "
                           f"{', '.join(VARIABLES)}")
    return names


def _twins(ds, n, variables):
    """Twin images (float, as the harness reads images) of the first ``n`` scenes of ``ds``."""
    import numpy as np
    import torch

    from generators.clutter import sources
    from generators.clutter.twins import twin_arrays
    from generators.errors import DatasetError

    manifest = ds.manifest
    seeds = np.stack([np.asarray(ds.shards.sample(i, ["meta/seed"])["meta/seed"]) for i in range(n)]).ravel()
    try:
        found = sources.load()
    except DatasetError as exc:
        raise HarnessError(f"twins are regenerated from the MNIST sources: {exc}") from None
    return {v: torch.from_numpy(twin_arrays(found, manifest["params"], manifest["split"], seeds, v)["images"]
                                .astype(np.float32) / 255.0) for v in variables}


def _split(text):
    try:
        a, b = (int(v) for v in text.split(":"))
    except ValueError:
        raise HarnessError(f"--split {text!r} is not TRAIN:TEST (two integers, e.g. 800:200)") from None
    if a < 2 or b < 1:
        raise HarnessError(f"--split {text}: at least 2 training and 1 test image")
    return a, b


def _fmt(v):
    return "n/a" if v is None else f"{v:.3g}"


COMMANDS = [analyze_group]
