"""Placeholder benchmark, filled in by its owner."""

from __future__ import annotations


def command() -> None:
    """Not built yet."""
    raise SystemExit("not built yet")
