"""One progress bar for every command: click's bar on a terminal, nothing otherwise."""
import sys

import click


class progress_bar:
    """Context manager giving ``update(n)``, or None when disabled or stderr is not a TTY."""

    def __init__(self, total, label, enabled=True):
        self.bar = None
        if enabled and sys.stderr.isatty():
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)

    def __enter__(self):
        return self.bar.__enter__().update if self.bar else None

    def __exit__(self, *exc):
        if self.bar:
            self.bar.__exit__(*exc)
