"""Step-budget lists and the label-free budget rules a user declares before evaluation."""
import numpy as np

from .errors import HarnessError

MAX_STEPS = 100_000


def parse_steps(text):
    """'1:60' (1..60), '1:60:5' (1, 6, ..., 56 and 60 is not added), '1,2,5' -> sorted list."""
    text = str(text).strip()
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            lo, hi = parts[0], parts[1]
            step = parts[2] if len(parts) == 3 else 1
            if step < 1:
                raise ValueError
            values = list(range(lo, hi + 1, step))
        else:
            values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise HarnessError(f"steps {text!r} is not A:B, A:B:STEP or a comma list of integers") from None
    if not values or min(values) < 1 or max(values) > MAX_STEPS:
        raise HarnessError(f"steps {text!r} must give budgets between 1 and {MAX_STEPS}")
    return sorted(set(values))


def parse_difficulties(text):
    try:
        values = [int(p) for p in str(text).split(",") if p.strip()]
    except ValueError:
        raise HarnessError(f"difficulties {text!r} is not a comma list of integers") from None
    if not values:
        raise HarnessError("difficulties: give at least one")
    return sorted(set(values))


class BudgetRule:
    """A label-free way to pick the step budget per difficulty (or per sample).

    ``fixed:T`` the same budget everywhere; ``scale`` the training budget scaled with
    difficulty / training difficulty; ``table:9=30,13=45`` explicit budgets;
    ``confidence`` per sample, the step where the model's own confidence is highest.
    Budgets are snapped to the nearest evaluated step.
    """

    def __init__(self, text):
        self.text = str(text)
        kind, _, arg = self.text.partition(":")
        self.kind = kind
        self.table = {}
        try:
            if kind == "fixed":
                self.fixed = int(arg)
                if self.fixed < 1:
                    raise ValueError
            elif kind == "table":
                for item in arg.split(","):
                    d, t = item.split("=")
                    self.table[int(d)] = int(t)
                if not self.table or min(self.table.values()) < 1:
                    raise ValueError
            elif kind in ("scale", "confidence"):
                if arg:
                    raise ValueError
            else:
                raise ValueError
        except ValueError:
            raise HarnessError(f"budget rule {self.text!r} is not one of fixed:T, scale, table:D=T,..., "
                               "confidence") from None

    def describe(self, train_difficulty, train_steps):
        if self.kind == "fixed":
            return f"the same budget {self.fixed} at every difficulty"
        if self.kind == "scale":
            return f"round({train_steps} * difficulty / {train_difficulty}) steps"
        if self.kind == "table":
            return "declared table " + ", ".join(f"{d}->{t}" for d, t in sorted(self.table.items()))
        return "per sample, the step of highest confidence (max softmax probability)"

    def budget(self, difficulty, train_difficulty, train_steps):
        if self.kind == "fixed":
            return self.fixed
        if self.kind == "scale":
            return max(1, int(round(train_steps * difficulty / train_difficulty)))
        if self.kind == "table":
            if difficulty not in self.table:
                raise HarnessError(f"budget rule {self.text!r} declares no budget for difficulty {difficulty}")
            return self.table[difficulty]
        return None


def snap(steps, wanted):
    """The evaluated step nearest to ``wanted`` (the smaller one on ties)."""
    steps = np.asarray(steps)
    return int(steps[np.argmin(np.abs(steps - wanted) + 1e-9 * steps)])

