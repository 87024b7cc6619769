"""Errors of the harness that reach the user as one line."""


class HarnessError(Exception):
    """Bad input to the harness (unknown task, missing data, bad option value)."""


class ContractError(HarnessError):
    """A model file or builder breaks the model contract; ``rule`` names the broken rule."""

    def __init__(self, rule, message):
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.detail = message


class ResultsError(HarnessError):
    """A results or leaderboard file is malformed, duplicated or cites other data."""
