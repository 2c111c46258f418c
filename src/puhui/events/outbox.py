"""The transactional outbox: events written in the same transaction as the money they describe.

Rows get a `seq` when inserted but a consumer-visible `position` only after commit: the
sequencer numbers committed rows in one short transaction at a time, so positions grow in the
order events became visible and a consumer reading "after position N" never skips a late commit.
A group-commit batch numbers its own events last, under the same lock, just before it commits (on
PostgreSQL it inserts them numbered, so they are written once), and under load readers find nothing
to number and stay readers; plain transactions leave theirs to the next reader, which numbers them
only when some are waiting, and one thread at a time.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, select, text, update

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.db.prepared import Prepared, run, run_all, run_sql_all
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


_INSERT = Prepared(outbox.insert())  # a payment writes two events
NUMBERING_LIMIT = 10_000  # events numbered at most in one pass


def publish(uow: UnitOfWork, topic: str, type: str, key: str | None, payload: dict[str, Any]) -> None:
    """Write an event in the caller's transaction; it is visible to consumers once committed."""
    row = {
        "topic": topic,
        "type": type,
        "key": key,
        "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        "created_at": clock.now_micros(),
    }
    if uow.batch_events is not None:  # a group-commit job on PostgreSQL: inserted numbered, with its batch's
        uow.batch_events.append(row)
    else:
        uow.write(_INSERT, row)
    if number_batch not in uow.before_batch_commit:
        uow.before_batch_commit.append(number_batch)


def assign_positions(uow: UnitOfWork, limit: int = NUMBERING_LIMIT) -> int:
    """Number committed, unnumbered events in `seq` order after the highest position so far."""
    if uow.postgres:  # the sequencer's lock and the numbering in one round trip
        [_, (_, numbered)] = run_sql_all(uow.connection, [(_LOCK_PG, (SEQUENCER_LOCK,)), (_NUMBER_PG, (limit,))])
        return numbered
    return uow.execute(_NUMBER, {"limit": limit}).rowcount


def number_batch(uow: UnitOfWork) -> None:
    """A group-commit batch's events numbered, its last work before COMMIT. On PostgreSQL its jobs' events
    (`UnitOfWork.batch_events`) are inserted with their positions, after the highest so far, under the
    sequencer's lock that the batch holds to its COMMIT: written once, never updated. The lock and the insert
    go with the batch's other last statements (`UnitOfWork.write_sql`); events of plain transactions still
    waiting are left to the next reader (`number_waiting`)."""
    if uow.postgres and uow.deferred is not None:
        if uow.batch_events:
            uow.write_sql(_LOCK_PG, (SEQUENCER_LOCK,))
            uow.write_sql(*_numbered_insert(uow.batch_events))
        return
    uow.flush()  # what the batch's work before it deferred goes first
    assign_positions(uow)


def _numbered_insert(events: list[dict[str, Any]]) -> tuple[str, tuple[Any, ...]]:
    """The events inserted in order, numbered after the highest position so far (driver SQL)."""
    sql = _NUMBERED_INSERTS.get(len(events))
    if sql is None:
        rows = ", ".join(f"({n}, %s, %s, %s, %s, %s::bigint)" for n in range(1, len(events) + 1))
        sql = _NUMBERED_INSERTS[len(events)] = (
            'INSERT INTO outbox ("position", topic, type, key, payload, created_at) '
            "SELECT top.p + v.n, v.topic, v.type, v.key, v.payload, v.created_at "
            "FROM (SELECT coalesce(max(position), 0) AS p FROM outbox) AS top, "
            f"(VALUES {rows}) AS v (n, topic, type, key, payload, created_at)"
        )
    values = tuple(e[name] for e in events for name in ("topic", "type", "key", "payload", "created_at"))
    return sql, values


_NUMBERED_INSERTS: dict[int, str] = {}  # by the number of events: a statement each, prepared once


_NUMBERING = """
    UPDATE outbox SET position = base.top + todo.rn
    FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rn
          FROM outbox WHERE position IS NULL ORDER BY seq LIMIT {limit}) AS todo,
         (SELECT coalesce(max(position), 0) AS top FROM outbox) AS base
    WHERE outbox.seq = todo.seq
"""
_NUMBER = text(_NUMBERING.format(limit=":limit"))
_NUMBER_PG = _NUMBERING.format(limit="%s")  # driver SQL
_LOCK_PG = "SELECT pg_advisory_xact_lock(%s)"


class _Sequencer:
    """Numbers an engine's waiting events for the readers of this process, one thread at a time: a
    reader that arrives while another numbers waits for that pass if it began after the reader
    arrived, else runs the next one (so every event committed before a read is numbered by it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._passes = 0

    def number(self, engine: Engine) -> None:
        arrived = self._passes
        with self._lock:
            if self._passes > arrived + 1:
                return  # a whole pass began and ended after this reader arrived
            if _waiting(engine):
                transaction(engine, assign_positions)
            self._passes += 1


_SEQUENCERS: weakref.WeakKeyDictionary[Engine, _Sequencer] = weakref.WeakKeyDictionary()
_SEQUENCERS_LOCK = threading.Lock()


_WAITING = Prepared(select(outbox.c.seq).where(outbox.c.position.is_(None)).limit(1))  # readers ask often


def _waiting(engine: Engine) -> bool:
    """Whether a committed event waits for its position (a read on the partial index)."""
    with reading(engine) as connection:
        return run(connection, _WAITING).first() is not None


def number_waiting(engine: Engine) -> None:
    """Give every event committed so far its position."""
    with _SEQUENCERS_LOCK:
        sequencer = _SEQUENCERS.get(engine)
        if sequencer is None:
            sequencer = _SEQUENCERS[engine] = _Sequencer()
    sequencer.number(engine)


def read_events(
    engine: Engine, after: int = 0, limit: int = 1000, topic: str | None = None, *, number: bool = True
) -> list[Event]:
    """Events with a position greater than `after`, in order (the consumer keeps its offset). A consumer
    reading several pages or topics in one pass numbers once (`number_waiting`), then reads with `number=False`."""
    if number:
        number_waiting(engine)
    with reading(engine) as connection:
        if topic is None:
            rows = run(connection, _AFTER, {"after": after, "limit": limit}).mappings()
        else:
            rows = run(connection, _AFTER_IN_TOPIC, {"after": after, "limit": limit, "topic": topic}).mappings()
    return [_event(row) for row in rows]


def read_topics(engine: Engine, after: dict[str, int], limit: int = 1000) -> dict[str, list[Event]]:
    """Each topic's events after its own position (`after`), up to `limit` a topic, in order: read in one
    snapshot, and on PostgreSQL in one round trip with the check for events waiting for their position. Where
    some wait, they are numbered and the topics read again, so every event committed before the call is in
    it (as `read_events` has it). For a consumer that polls several topics often: one read a poll."""
    reads = [(_AFTER_IN_TOPIC, {"after": at, "limit": limit, "topic": topic}) for topic, at in after.items()]
    for attempt in range(2):
        with reading(engine) as connection:
            waiting, *found = run_all(connection, [(_WAITING, {}), *reads])
        if attempt or waiting.first() is None:
            break
        number_waiting(engine)
    return {topic: [_event(row) for row in rows.mappings()] for topic, rows in zip(after, found, strict=True)}


def _event(row: dict[str, Any]) -> Event:
    return Event(row["position"], row["topic"], row["type"], row["key"], json.loads(row["payload"]), row["created_at"])


# Consumers poll these several times a second: built once.
_AFTER = Prepared(
    select(outbox).where(outbox.c.position > bindparam("after")).order_by(outbox.c.position).limit(bindparam("limit"))
)
_AFTER_IN_TOPIC = Prepared(
    select(outbox)
    .where(outbox.c.position > bindparam("after"), outbox.c.topic == bindparam("topic"))
    .order_by(outbox.c.position)
    .limit(bindparam("limit"))
)


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
