"""One error format for every `puhui` command: `<stable code>: <one line>` on stderr, exit status 2 for
bad usage (bad input, an unusable database URL or schema) and 1 for failures (a database that cannot
be reached, a check that failed, a bug). `PUHUI_DEBUG=1` shows the traceback of an unexpected error."""

from __future__ import annotations

import os
import traceback
from typing import NoReturn

import click
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from puhui.errors import PuhuiError

USAGE, FAILURE = 2, 1


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe(error: BaseException) -> tuple[str, str, int]:
    """(code, message, exit status) of an error that ends a command."""
    if isinstance(error, PuhuiError):
        status = getattr(error, "exit_status", None) or (USAGE if error.status < 500 else FAILURE)
        return error.code, one_line(error.detail), status
    if _is_click_error(error):  # Typer's own click or the click package: a bad option, argument or value
        ctx = getattr(error, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        usage = getattr(error, "exit_code", USAGE) == USAGE
        return (
            ("usage_error" if usage else "command_error"),
            one_line(error.format_message()) + where,
            (USAGE if usage else FAILURE),
        )
    if isinstance(error, (ArgumentError, NoSuchModuleError)):
        return "database_url_invalid", one_line(str(error)), USAGE
    if isinstance(error, DBAPIError):
        reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
        code = "database_unavailable" if error.connection_invalidated or _is_connect(error) else "database_error"
        return code, one_line(reason), FAILURE
    if isinstance(error, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return "file_unreadable", one_line(f"{error.strerror}: {error.filename}"), USAGE
    return (
        "internal_error",
        one_line(f"{type(error).__name__}: {error}") + " (PUHUI_DEBUG=1 shows the traceback)",
        FAILURE,
    )


def _is_click_error(error: BaseException) -> bool:
    return isinstance(error, click.ClickException) or (
        type(error).__module__.startswith("typer.") and hasattr(error, "format_message")
    )


def _is_connect(error: DBAPIError) -> bool:
    text = str(error.orig).lower()
    return any(word in text for word in ("connection", "connect", "could not translate host", "unable to open"))


def report(error: BaseException, echo) -> int:
    """Print `error` in the one format through `echo` (a stderr printer); returns the exit status."""
    code, message, status = describe(error)
    if code == "internal_error" and os.environ.get("PUHUI_DEBUG"):
        echo("".join(traceback.format_exception(error)).rstrip())
    if message and not message.startswith("("):  # no message: the help was shown (a bare group)
        echo(f"{code}: {message}")
    return status


def fail(error: BaseException) -> NoReturn:
    """For a command that catches a refusal itself: print it in the one format and stop with its status."""
    import sys

    import typer

    raise typer.Exit(report(error, lambda text: print(text, file=sys.stderr)))
