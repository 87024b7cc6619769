"""``bench train``: train a baseline (or a model file) with its recipe, checkpoint, resume, evaluate."""
import os
from pathlib import Path

import click

from ..command_errors import InputError
from ..errors import HarnessError


def _parse(parser, text):
    if text is None:
        return None
    from .. import budgets

    return getattr(budgets, parser)(text)


@click.command("train")
@click.argument("model")
@click.option("--task", required=True, help="Suite task (mazes, pathfinder, pathfinder-seg, clutter).")
@click.option("--difficulty", type=int, default=None, help="Training difficulty (default: the suite's).")
@click.option("--steps", type=int, default=None, help="Recurrent steps in training (default: the model's recipe).")
@click.option("--algorithm", type=click.Choice(["bptt", "progressive", "rbp", "crbp", "cbptt"]), default=None,
              help="Default: the recipe's (C-RBP for hGRU, progressive for DT-R, BPTT otherwise).")
@click.option("--epochs", type=int, default=None, help="Default: the recipe's.")
@click.option("--batch-size", type=int, default=None,
              help="The global batch (default: the recipe's); under torchrun it is split over the ranks.")
@click.option("--lr", type=float, default=None, help="Learning rate (default: the recipe's).")
@click.option("--warmup-epochs", type=float, default=None, help="Linear warmup epochs (default: the recipe's).")
@click.option("--lcp-weight", type=float, default=None, help="Lipschitz penalty weight (default 10).")
@click.option("--lcp-lambda", type=float, default=None, help="Lipschitz penalty threshold (default 0.9).")
@click.option("--neumann-steps", type=int, default=None, help="RBP Neumann terms (default 15).")
@click.option("--alpha", "progressive_alpha", type=float, default=None, help="Progressive loss weight (default 0.01).")
@click.option("--quick", is_flag=True, help="Train and evaluate on the quick sets (laptop/CI).")
@click.option("--train-count", type=int, default=None,
              help="Train on the first N samples of the training set (the same samples as in the full set).")
@click.option("--eval-sets", type=click.Choice(["standard", "quick"]), default=None,
              help="Test sets of the final evaluation (default: those of training).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default runs/<model>-<task><difficulty>-<algorithm>); rerun to resume.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Root of the suite's data (env RVB_DATA_ROOT; default data/suite).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ...")
@click.option("--amp/--no-amp", default=None, help="bfloat16 autocast (default: on for CUDA only).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--limit-batches", type=int, default=None, help="At most this many batches per epoch.")
@click.option("--val-limit", type=int, default=None, help="At most this many validation images per epoch.")
@click.option("--max-minutes", type=float, default=None,
              help="Time budget: no epoch is started that would end past it (then weights + evaluation).")
@click.option("--init-weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Start from these weights (a state dict) instead of a fresh initialisation.")
@click.option("--eval/--no-eval", "do_eval", default=True, help="Evaluate on the test sets at the end.")
@click.option("--eval-difficulties", default=None, help="Test difficulties, comma list (default: the suite's).")
@click.option("--eval-steps", default=None, help="Budgets A:B, A:B:STEP or a comma list (default 1:4T).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Generator processes for missing data.")
@click.option("--num-workers", type=click.IntRange(min=0), default=0, show_default=True, help="DataLoader workers.")
@click.option("--quiet", is_flag=True, help="No progress bar or epoch lines.")
def train_command(model, task, difficulty, steps, algorithm, epochs, batch_size, lr, warmup_epochs, lcp_weight,
                  lcp_lambda, neumann_steps, progressive_alpha, quick, train_count, eval_sets, out, data_root, device, amp, seed,
                  limit_batches, val_limit, max_minutes, init_weights, do_eval, eval_difficulties, eval_steps, workers, num_workers,
                  quiet):
    """Train MODEL (a baseline name, baselines:NAME or a model file) on a suite task.

    Checkpoints after every epoch into --out; running the same command again resumes.
    Writes log.jsonl, checkpoint.pt, model.pt (weights) and results.json (+ plot).
    Several processes: torchrun --nproc_per_node N $(which bench) train ... (DDP; NCCL on
    CUDA, gloo on CPU); the same global batches as one process, rank 0 writes every file.
    """
    from .. import suite
    from .loop import TrainConfig, train

    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    try:
        config = TrainConfig(
            model=model, task=task, difficulty=difficulty, steps=steps, algorithm=algorithm, epochs=epochs,
            batch_size=batch_size, lr=lr, warmup_epochs=warmup_epochs, lcp_weight=lcp_weight,
            lcp_lambda=lcp_lambda,
            neumann_steps=neumann_steps, progressive_alpha=progressive_alpha, out=out,
            sets="quick" if quick else "standard", train_count=train_count, eval_sets=eval_sets,
            data_root=Path(data_root or os.environ.get("RVB_DATA_ROOT") or suite.DEFAULT_DATA_ROOT),
            device=device, amp=amp, seed=seed, limit_batches=limit_batches, val_limit=val_limit,
            max_minutes=max_minutes, init_weights=init_weights,
            evaluate=do_eval, eval_difficulties=_parse("parse_difficulties", eval_difficulties),
            eval_steps=_parse("parse_steps", eval_steps), progress=not quiet, generate_workers=workers,
            num_workers=num_workers, echo=echo)
        summary = train(config)
    except HarnessError as exc:
        raise InputError(str(exc)) from None
    from ..distributed import current

    if current().main:                    # under torchrun, rank 0 speaks for the run
        click.echo(summary["results"] or summary["weights"])


COMMANDS = [train_command]
