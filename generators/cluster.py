"""One dataset's shards as a job array: planned here, run by submitit (Slurm, or local processes).

Every array task makes one contiguous block of shards (the ``--shard-range`` rules: a shard
is a pure function of the plan and its index, written whole or not at all), so tasks can
run anywhere and in any order; the manifest is completed here once they are done. Failed
tasks are resubmitted (only their missing shards are made) up to a limit.
"""
import math
import re
from pathlib import Path

from . import engine
from .errors import DatasetError

EXECUTORS = ("local", "slurm")
DEFAULT_TASKS = 64


def blocks(n_shards, tasks):
    """(first, end) shard ranges of the array tasks: contiguous, as even as possible."""
    tasks = max(1, min(tasks, n_shards))
    edges = [round(k * n_shards / tasks) for k in range(tasks + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def describe(plan, tasks=DEFAULT_TASKS):
    """What a run of ``plan`` will make, without making it (for ``benchgen plan``)."""
    per_sample = plan.task.sample_bytes(plan.params)
    return {
        "task": plan.task_name, "variant": plan.variant, "split": plan.split, "seed": plan.seed,
        "count": plan.count, "shards": plan.n_shards, "samples_per_shard": plan.shard_size,
        "last_shard_samples": plan.shard_bounds(plan.n_shards - 1)[1],
        "raw_bytes": per_sample * plan.count, "raw_bytes_per_shard": per_sample * plan.shard_size,
        "codec": plan.codec, "out": str(plan.out),
        "array_tasks": [{"task": k, "shard_range": f"{a}:{b}", "samples": _samples(plan, a, b)}
                        for k, (a, b) in enumerate(blocks(plan.n_shards, tasks))],
    }


def _samples(plan, a, b):
    return sum(plan.shard_bounds(k)[1] for k in range(a, b))


def make_block(plan, first, end, workers):
    """One array task: the missing shards first..end-1 (what ``--shard-range`` does)."""
    # The job runner's process has threads of its own: its workers must not be forked from it.
    engine.run(plan, workers=workers, shard_range=(first, end), start_method="forkserver")
    return _samples(plan, first, end)


def _reason(exc):
    """The task's own error line out of submitit's report (which holds the job's traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt)\b.*", line)]
    return errors[-1] if errors else (lines[0] if lines else type(exc).__name__)


def executor(kind, folder, minutes=60, partition=None, parallelism=None, cpus=1):
    """A submitit executor for ``kind`` ('slurm' or 'local'), logs under ``folder``."""
    try:
        import submitit
    except ImportError:
        raise DatasetError("--executor needs the submitit package: pip install 'recurrent-vision-bench[cluster]'") \
            from None
    if kind not in EXECUTORS:
        raise DatasetError(f"unknown executor {kind!r}; allowed: {', '.join(EXECUTORS)}")
    ex = submitit.AutoExecutor(folder=str(folder), cluster=kind)
    params = {"timeout_min": int(math.ceil(minutes)), "cpus_per_task": cpus}
    if kind == "slurm":
        params.update({k: v for k, v in (("slurm_partition", partition), ("slurm_array_parallelism", parallelism))
                       if v is not None})
    ex.update_parameters(**params)
    return ex


def run_array(plan, ex, tasks=DEFAULT_TASKS, retries=2, workers=1, task=make_block, echo=None):
    """Run the plan's shards as array tasks on ``ex``; resubmit failed ones up to ``retries``
    times; complete the manifest. Returns the manifest; DatasetError if tasks still fail."""
    echo = echo or (lambda msg: None)
    engine.check_folder(plan)
    Path(plan.out).mkdir(parents=True, exist_ok=True)
    todo = blocks(plan.n_shards, tasks)
    for attempt in range(retries + 1):
        jobs = ex.map_array(task, [plan] * len(todo), [a for a, _ in todo], [b for _, b in todo],
                            [workers] * len(todo))
        echo(f"submitted {len(jobs)} array task(s){' (retry ' + str(attempt) + ')' if attempt else ''}: "
             f"{', '.join(str(j.job_id) for j in jobs[:4])}{' ...' if len(jobs) > 4 else ''}")
        failed = []
        for job, block in zip(jobs, todo):
            try:
                job.result()
            except Exception as exc:      # the task's own error, as submitit reports it
                failed.append(block)
                echo(f"array task {job.job_id} (shards {block[0]}:{block[1]}) failed: {_reason(exc)}")
        if not failed:
            break
        todo = failed
    else:
        ranges = ", ".join(f"{a}:{b}" for a, b in todo)
        raise DatasetError(f"{plan.out}: shards {ranges} still fail after {retries} retries; see the logs in "
                           f"{getattr(ex, 'folder', 'the executor folder')}, then rerun (made shards are kept)")
    # Completing the manifest makes no shard: it records those the tasks wrote.
    return engine.run(plan, workers=1, shard_range=(0, 0))
