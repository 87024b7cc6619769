"""The standard suite: one versioned definition of every task's train and test sets.

"The mazes-13 test set of suite 1" means one thing: generator task, parameters, base seed,
split and count are fixed here (the CLRS / TFDS idea), so anyone regenerates the same
bytes and results can cite the manifest hash. Each task exists in two regimes: the
``standard`` sets of the spec and ``quick`` sets small enough for a laptop and for CI.

Each task's entries are one module of this folder (``mazes.py``, ``pathfinder.py``,
``clutter.py``) returning ``TaskSpec`` entries; adding a task is adding one such module.
"""
import dataclasses
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from generators import engine, manifest as mf
from generators.errors import DatasetError

from ..errors import HarnessError

SUITE_VERSION = "1.0"
REGIMES = ("standard", "quick")
SPLITS = ("train", "val", "test")     # val: at the training difficulties, test-sized
DEFAULT_DATA_ROOT = Path("data") / "suite"


TASKS = {}
QUICK_TEST_DIFFICULTIES = {}


def task_names():
    """Suite tasks whose generator module is installed."""
    from generators import tasks

    have = set(tasks.names())
    return sorted(name for name, spec in TASKS.items() if spec.generator in have)


def get(name):
    if name not in task_names():
        raise HarnessError(f"unknown task {name!r}; the suite has: {', '.join(task_names())}")
    return TASKS[name]


def train_info(task, difficulty=None, steps=None):
    """The TaskInfo of a model trained on ``task`` at ``difficulty`` (default: the suite's
    training difficulty) with ``steps`` recurrent steps (default: the task's)."""
    spec = get(task)
    d = difficulty if difficulty is not None else spec.default_train
    if d not in spec.train_difficulties:
        raise HarnessError(f"train difficulty {d} is not a {task} training set; allowed: "
                           f"{', '.join(map(str, spec.train_difficulties))}")
    info = spec.info(d)
    return dataclasses.replace(info, train_steps=int(steps)) if steps else info


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
    seed: int = None          # another base seed: a fresh set of the same parameters (re-scoring)

    @property
    def spec(self):
        return TASKS[self.task]

    @property
    def key(self):
        key = f"{self.regime}/{self.task}/{self.difficulty}/{self.split}"
        return key if self.seed is None else f"{key}@seed{self.seed}"

    def plan(self, data_root=DEFAULT_DATA_ROOT):
        spec = self.spec
        try:
            params = spec.make_params(self.difficulty)
        except (DatasetError, ValueError) as exc:
            raise HarnessError(f"{self.key}: {exc}") from None
        seed = spec.seed if self.seed is None else self.seed
        plan = engine.Plan(task_name=spec.generator, params=params, split=self.split, seed=seed,
                           count=spec.count(self.regime, self.split, self.difficulty))
        fresh = () if self.seed is None else (f"fresh-seed{self.seed}",)
        out = Path(data_root).joinpath(*fresh) / self.regime / self.task / plan.variant / self.split
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


def _add_tasks():
    """Each task's entries live in ``benchmark/suite/<task>.py`` (exposing ``entries()``),
    loaded once its generator module exists."""
    for generator, module in (("generators.mazes.task", "benchmark.suite.mazes"),
                              ("generators.pathfinder.task", "benchmark.suite.pathfinder"),
                              ("generators.clutter.task", "benchmark.suite.clutter")):
        if importlib.util.find_spec(generator) is not None and importlib.util.find_spec(module) is not None:
            extra = importlib.import_module(module)
            TASKS.update(extra.entries())
            QUICK_TEST_DIFFICULTIES.update(getattr(extra, "QUICK_TEST_DIFFICULTIES", {}))


_add_tasks()
