"""What one suite task fixes: its generator, metric, difficulties, seed and set sizes."""
from dataclasses import dataclass

from .. import taskinfo


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
    difficulty_of: callable = None   # a dataset's generator parameters -> its difficulty

    def info(self, difficulty=None):
        """The TaskInfo handed to build_model for training at ``difficulty``."""
        return taskinfo.BUILDERS[self.name](difficulty if difficulty is not None else self.default_train)

    def count(self, regime, split, difficulty):
        """Samples of a set; validation sets (at training difficulties) are test-sized."""
        c = self.counts[regime]
        if split == "train":
            return c.train
        return c.test_far if difficulty in c.far else c.test
