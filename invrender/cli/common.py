"""What every command shares: one-line user errors, the variant option's choices."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from invrender.config.names import VARIANTS
from invrender.errors import InvrenderError

VARIANT_CHOICE = click.Choice(list(VARIANTS))


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn InvrenderError into its message on stderr and exit code 2, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvrenderError as exc:
            lines, code = str(exc).splitlines() or [type(exc).__name__], exc.exit_code
        # Exit outside the except block: the SystemExit then chains no traceback, whose frames
        # would keep the half-loaded scene (and its Dr.Jit graph) alive.
        for line in lines:
            click.echo(f"error: {line}", err=True)
        sys.exit(code)

    return wrapper
