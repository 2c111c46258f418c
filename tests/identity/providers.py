"""Verification provider doubles for the self-verification tests: one that counts its calls, answers as told and,
while it answers, probes whether anyone holds the customer's row (the unit of work that records the answer must
not be open yet), and can change the database meanwhile, as another request would."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from puhui.identity.verifier import Answer, Check

PROBE_SECONDS = 0.3


def row_is_free(engine: Engine, customer_id: str) -> bool:
    """Whether another connection can at once take the customer's row for writing: on SQLite the one write lock
    (a connection of its own, with a short busy timeout), on PostgreSQL the row (`FOR UPDATE NOWAIT`)."""
    if engine.dialect.name == "sqlite":
        connection = sqlite3.connect(str(engine.url.database), timeout=PROBE_SECONDS, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE customers SET status = status WHERE id = ?", (customer_id,))
            connection.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            connection.close()
    try:
        with engine.connect() as connection, connection.begin():
            connection.execute(text("SELECT id FROM customers WHERE id = :id FOR UPDATE NOWAIT"), {"id": customer_id})
        return True
    except OperationalError:
        return False


def in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@dataclass
class Probing:
    """A provider that answers `answer` (a fresh reference each call, or raises `raises`), counting its calls; each
    call probes whether the customer's row was free and whether it ran on the event loop, then runs `meanwhile`."""

    engine: Engine
    customer_id: str = ""
    answer: Answer = field(default_factory=lambda: Answer(True, "PROBE"))
    raises: Exception | None = None
    meanwhile: Callable[[], object] | None = None
    name: str = "probing"
    calls: int = 0
    row_free: list[bool] = field(default_factory=list)
    on_loop: list[bool] = field(default_factory=list)

    def verify(self, check: Check) -> Answer:
        self.calls += 1
        self.row_free.append(row_is_free(self.engine, self.customer_id))
        self.on_loop.append(in_event_loop())
        if self.meanwhile is not None:
            self.meanwhile()
        if self.raises is not None:
            raise self.raises
        return Answer(self.answer.passed, f"{self.answer.reference}-{self.calls}", self.answer.reason)
