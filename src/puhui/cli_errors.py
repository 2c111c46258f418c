"""One error format for every `puhui` command: `<stable code>: <one line>` on stderr. The exit status says
what happened, the same for every command:

- 0: done (a bare command group, `puhui` alone among them, shows its help and exits 0);
- 1: the command ran and failed: a check found a problem (`puhui audit`'s broken invariants,
  `puhui reserve-check`'s shortfall), a database error, a bug (`internal_error`);
- 2: bad usage, nothing done: bad input, an unusable database URL or schema, a missing PUHUI_ENV_FILE;
- 3: the command could not run: the database cannot be reached (`database_unavailable`) or another
  service it needs is unavailable (a 503 error); try again later.

`PUHUI_DEBUG=1` shows the traceback of an unexpected error."""

from __future__ import annotations

import os
import traceback
from typing import NoReturn

import click
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from puhui.errors import PuhuiError

FAILURE, USAGE, UNAVAILABLE = 1, 2, 3


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe(error: BaseException) -> tuple[str, str, int]:
    """(code, message, exit status) of an error that ends a command."""
    if isinstance(error, PuhuiError):
        status = getattr(error, "exit_status", None) or _status_of(error.status)
        return error.code, one_line(error.detail), status
    if is_bare_group(error):
        return "help", "", 0
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
        if error.connection_invalidated or _is_connect(error):
            return "database_unavailable", one_line(reason), UNAVAILABLE
        return "database_error", one_line(reason), FAILURE
    if isinstance(error, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return "file_unreadable", one_line(f"{error.strerror}: {error.filename}"), USAGE
    return (
        "internal_error",
        one_line(f"{type(error).__name__}: {error}") + " (PUHUI_DEBUG=1 shows the traceback)",
        FAILURE,
    )


def _status_of(http_status: int) -> int:
    """The exit status of a PuhuiError without its own `exit_status`, from its HTTP status."""
    if http_status == 503:
        return UNAVAILABLE
    return USAGE if http_status < 500 else FAILURE


def is_bare_group(error: BaseException) -> bool:
    """A command group called without a command (`puhui`, `puhui regtech`): click shows its help and stops with
    this error, which is no error at all."""
    return type(error).__name__ == "NoArgsIsHelpError" and _is_click_error(error)


def _is_click_error(error: BaseException) -> bool:
    return isinstance(error, click.ClickException) or (
        type(error).__module__.startswith("typer.") and hasattr(error, "format_message")
    )


def _is_connect(error: DBAPIError) -> bool:
    text = str(error.orig).lower()
    return any(word in text for word in ("connection", "connect", "could not translate host", "unable to open"))


def report(error: BaseException, echo) -> int:
    """Print `error` in the one format through `echo` (a stderr printer); returns the exit status."""
    if is_bare_group(error):
        shown = getattr(error, "format_message", lambda: "")()
        if shown.strip():  # the help as the message (plain click); the rich help was printed already
            print(shown)
        return 0
    code, message, status = describe(error)
    if code == "internal_error" and os.environ.get("PUHUI_DEBUG"):
        echo("".join(traceback.format_exception(error)).rstrip())
    echo(f"{code}: {message}")
    return status


def fail(error: BaseException) -> NoReturn:
    """For a command that catches a refusal itself: print it in the one format and stop with its status."""
    import sys

    import typer

    raise typer.Exit(report(error, lambda text: print(text, file=sys.stderr)))
