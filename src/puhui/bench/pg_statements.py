"""What each SQL statement cost PostgreSQL over a benchmark's timed phases (`pg_stat_statements`, 语句开销).

`puhui bench payments --backend postgresql --pg-statements N` starts its embedded server with the extension
loaded (`puhui.db.embedded.track_statements`), empties the view as the timed phases begin and reads its N
costliest statements as they end: calls, the server's time in them (waits for locks included, the client's
round trips not), rows, and the time a payment. Where a payment's share of the database goes, by statement:
the figure the client's profile (`--profile`) cannot give.
"""

from __future__ import annotations

import re
from typing import Any

from puhui.db.embedded import admin_connect

_COSTLIEST = """
    SELECT calls, total_exec_time, rows, query FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY total_exec_time DESC LIMIT %s
"""
_SPACE = re.compile(r"\s+")
SHOWN = 160  # characters of a statement's text


def reset(url: str) -> None:
    """Empty the view: what follows is what gets counted."""
    with admin_connect(url) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        connection.execute("SELECT pg_stat_statements_reset()")


def costliest(url: str, top: int, payments: int) -> list[dict[str, Any]]:
    """The `top` statements by the server's time in them since `reset`, each with its time a payment."""
    with admin_connect(url) as connection:
        rows = connection.execute(_COSTLIEST, (top,)).fetchall()
    return [
        {
            "calls": calls,
            "total_ms": round(total, 3),
            "us_each": round(1000 * total / calls, 1) if calls else 0.0,
            "us_a_payment": round(1000 * total / payments, 1) if payments else 0.0,
            "rows": found,
            "statement": _SPACE.sub(" ", query).strip()[:SHOWN],
        }
        for calls, total, found, query in rows
    ]
