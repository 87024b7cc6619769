"""The standard suite: one versioned definition of every task's train and test sets.

"The mazes-13 test set of suite 1" means one thing: generator task, parameters, base seed,
split and count are fixed here (the CLRS / TFDS idea), so anyone regenerates the same
bytes and results can cite the manifest hash. Each task exists in two regimes: the
``standard`` sets of the spec and ``quick`` sets small enough for a laptop and for CI.

Adding a task is a matter of one ``TaskSpec`` entry in ``TASKS``.
"""
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from generators import engine, manifest as mf
from generators.errors import DatasetError

from . import taskinfo
from .errors import HarnessError

SUITE_VERSION = "1.0"
REGIMES = ("standard", "quick")
SPLITS = ("train", "val", "test")     # val: at the training difficulties, test-sized
DEFAULT_DATA_ROOT = Path("data") / "suite"


@dataclass(frozen=True)
class Counts:
    train: int
    test: int                # per test difficulty
    test_far: int = None     # per extrapolation difficulty (those in ``far``)
    far: tuple = ()


@dataclass(frozen=True)
class TaskSpec:
    name: str                    # suite task (what build_model's task.name says)
    generator: str               # generator task name in generators.tasks
    metric: str                  # primary metric name in benchmark.metrics
    target: str                  # 'masks' or 'labels': what the metric compares with
    train_difficulties: tuple
    test_difficulties: tuple     # in-distribution and extrapolation, evaluated by default
    default_train: int           # training difficulty of the standard recipe
    seed: int                    # base seed of every set of this task
    counts: dict                 # regime -> Counts
    make_params: callable        # difficulty -> generator parameters

    def info(self, difficulty=None):
        """The TaskInfo handed to build_model for training at ``difficulty``."""
        return taskinfo.BUILDERS[self.name](difficulty if difficulty is not None else self.default_train)

    def count(self, regime, split, difficulty):
        """Samples of a set; validation sets (at training difficulties) are test-sized."""
        c = self.counts[regime]
        if split == "train":
            return c.train
        return c.test_far if difficulty in c.far else c.test


def _maze_params(size):
    from generators.mazes_task import MazeTask

    return MazeTask.params(size)


TASKS = {
    "mazes": TaskSpec(
        name="mazes", generator="mazes", metric="maze_exact", target="masks",
        train_difficulties=(9, 11, 13), test_difficulties=tuple(range(9, 60, 2)),
        default_train=9, seed=20_251,
        counts={"standard": Counts(train=50_000, test=10_000, test_far=1_000, far=tuple(range(19, 60, 2))),
                "quick": Counts(train=2_000, test=200, test_far=100, far=tuple(range(19, 60, 2)))},
        make_params=_maze_params),
}
# Quick regime evaluates fewer extrapolation sizes by default (laptop minutes, not hours).
QUICK_TEST_DIFFICULTIES = {"mazes": (9, 11, 13, 15, 17)}


def task_names():
    """Suite tasks whose generator module is installed."""
    from generators import tasks

    have = set(tasks.names())
    return sorted(name for name, spec in TASKS.items() if spec.generator in have)


def get(name):
    if name not in task_names():
        raise HarnessError(f"unknown task {name!r}; the suite has: {', '.join(task_names())}")
    return TASKS[name]


def check_regime(regime):
    if regime not in REGIMES:
        raise HarnessError(f"unknown regime {regime!r}; allowed: {', '.join(REGIMES)}")


def default_test_difficulties(task, regime):
    if regime == "quick" and task in QUICK_TEST_DIFFICULTIES:
        return QUICK_TEST_DIFFICULTIES[task]
    return TASKS[task].test_difficulties


@dataclass(frozen=True)
class DataSpec:
    """One set of the suite: what to generate and where it lives under a data root."""

    task: str
    regime: str
    difficulty: int
    split: str

    @property
    def spec(self):
        return TASKS[self.task]

    @property
    def key(self):
        return f"{self.regime}/{self.task}/{self.difficulty}/{self.split}"

    def plan(self, data_root=DEFAULT_DATA_ROOT):
        spec = self.spec
        try:
            params = spec.make_params(self.difficulty)
        except (DatasetError, ValueError) as exc:
            raise HarnessError(f"{self.key}: {exc}") from None
        plan = engine.Plan(task_name=spec.generator, params=params, split=self.split, seed=spec.seed,
                           count=spec.count(self.regime, self.split, self.difficulty))
        out = Path(data_root) / self.regime / self.task / plan.variant / self.split
        return engine.Plan(**{**plan.__dict__, "out": out})


def data_spec(task, regime, difficulty, split):
    spec = get(task)
    check_regime(regime)
    if split not in SPLITS:
        raise HarnessError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    allowed = spec.test_difficulties if split == "test" else spec.train_difficulties
    if difficulty not in allowed:
        raise HarnessError(f"{task} has no standard {split} set at difficulty {difficulty}; "
                           f"allowed: {', '.join(map(str, allowed))}")
    return DataSpec(task, regime, int(difficulty), split)


def sets(task, regime, splits=SPLITS, difficulties=None):
    """Every DataSpec of a task and regime (optionally only some difficulties)."""
    spec = get(task)
    out = []
    for split in splits:
        pool = spec.test_difficulties if split == "test" else spec.train_difficulties
        for d in pool:
            if difficulties is None or d in difficulties:
                out.append(DataSpec(task, regime, d, split))
    return out


def is_ready(data, data_root=DEFAULT_DATA_ROOT):
    root = data.plan(data_root).out
    try:
        return mf.load(root, require_complete=True) is not None
    except DatasetError:
        return False


def ensure(data, data_root=DEFAULT_DATA_ROOT, workers=1, progress=None):
    """Generate whatever is missing of ``data`` (resumable); return its folder."""
    plan = data.plan(data_root)
    if not is_ready(data, data_root):
        try:
            engine.run(plan, workers=workers, progress=progress)
        except DatasetError as exc:
            raise HarnessError(str(exc)) from None
    return Path(plan.out)


def manifest_hash(data, data_root=DEFAULT_DATA_ROOT):
    """sha256 of the local manifest of ``data``, or None when it is not generated."""
    if not is_ready(data, data_root):
        return None
    return mf.manifest_sha256(data.plan(data_root).out)


def _add_optional_tasks():
    """Entries of other tasks live in ``benchmark.suite_<task>`` modules (each exposing
    ``entries()``), loaded once their generator module exists."""
    for generator, module in (("generators.pathfinder_task", "benchmark.suite_pathfinder"),
                              ("generators.clutter_task", "benchmark.suite_clutter")):
        if importlib.util.find_spec(generator) is not None and importlib.util.find_spec(module) is not None:
            extra = importlib.import_module(module)
            TASKS.update(extra.entries())
            QUICK_TEST_DIFFICULTIES.update(getattr(extra, "QUICK_TEST_DIFFICULTIES", {}))


_add_optional_tasks()
