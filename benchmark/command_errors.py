"""How every ``bench`` command reports bad input: one 'Error: ...' line, exit code 2."""
import click

from generators.commands import errors_as

from .errors import HarnessError


class InputError(click.ClickException):
    """Bad input: one 'Error: ...' line, exit code 2."""

    exit_code = 2


harness_errors = errors_as(HarnessError, InputError)
