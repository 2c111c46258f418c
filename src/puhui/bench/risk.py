"""`puhui bench risk`: placeholder, filled in by its owner."""

from __future__ import annotations


def command() -> None:
    """Fraud decisions per second and p50/p99 latency in-process."""
    raise SystemExit("not built yet")
