"""The transactional outbox: events written in the same transaction as the money they describe.

Rows get a `seq` when inserted but a consumer-visible `position` only after commit: the
sequencer numbers committed rows in one short transaction at a time, so positions grow in the
order events became visible and a consumer reading "after position N" never skips a late commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text, update

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.db.tables import event_offsets, outbox

SEQUENCER_LOCK = 0x7075_6875  # "puhu": the advisory lock that serialises numbering on PostgreSQL


@dataclass(frozen=True)
class Event:
    position: int
    topic: str
    type: str
    key: str | None
    payload: dict[str, Any]
    created_at: int


def publish(uow: UnitOfWork, topic: str, type: str, key: str | None, payload: dict[str, Any]) -> None:
    """Write an event in the caller's transaction; it is visible to consumers once committed."""
    uow.execute(
        outbox.insert().values(
            topic=topic,
            type=type,
            key=key,
            payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
            created_at=clock.now_micros(),
        )
    )


def assign_positions(uow: UnitOfWork, limit: int = 10_000) -> int:
    """Number committed, unnumbered events in `seq` order after the highest position so far."""
    if uow.postgres:
        uow.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEQUENCER_LOCK})
    result = uow.execute(
        text(
            """
            UPDATE outbox SET position = base.top + todo.rn
            FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rn
                  FROM outbox WHERE position IS NULL ORDER BY seq LIMIT :limit) AS todo,
                 (SELECT coalesce(max(position), 0) AS top FROM outbox) AS base
            WHERE outbox.seq = todo.seq
            """
        ),
        {"limit": limit},
    )
    return result.rowcount


def read_events(engine: Engine, after: int = 0, limit: int = 1000, topic: str | None = None) -> list[Event]:
    """Events with a position greater than `after`, in order (the consumer keeps its offset)."""
    transaction(engine, assign_positions)
    query = select(outbox).where(outbox.c.position > after)
    if topic is not None:
        query = query.where(outbox.c.topic == topic)
    with reading(engine) as connection:
        rows = connection.execute(query.order_by(outbox.c.position).limit(limit)).mappings().all()
    return [
        Event(r["position"], r["topic"], r["type"], r["key"], json.loads(r["payload"]), r["created_at"]) for r in rows
    ]


def consumer_offset(connection, consumer: str) -> int:
    """The last position `consumer` has taken effect for (0 if it never ran)."""
    found = connection.execute(select(event_offsets.c.position).where(event_offsets.c.consumer == consumer)).scalar()
    return int(found or 0)


def advance_offset(uow: UnitOfWork, consumer: str, position: int) -> None:
    """Record that `consumer` has applied every event up to `position`, in the caller's transaction
    (so the effects and the offset commit together, and a crash re-reads nothing twice)."""
    done = uow.execute(
        update(event_offsets)
        .where(event_offsets.c.consumer == consumer)
        .values(position=position, updated_at=clock.now_micros())
    )
    if done.rowcount == 0:
        uow.execute(event_offsets.insert().values(consumer=consumer, position=position, updated_at=clock.now_micros()))
