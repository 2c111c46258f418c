"""Feeds the window state from the payments outbox, in order, and keeps the consumer's offset.

The state lives in memory and remembers the outbox position it reflects (`state.position`), so
running the consumer again applies only newer events and nothing is counted twice. The offset is
also written to `event_offsets` (in its own transaction, after the events took effect in memory,
at most once every `offset_every` seconds: a write takes SQLite's one writer from the payments)
so operators see how far fraud state has got; a process that starts with an empty state rebuilds
it by replaying the outbox from the beginning (`rebuild`).

Events used: `p2p.completed` and `payment.succeeded` (a payment: payer, payee, amount, time,
device, location); `bank_order.posted` marks its customer as seen (an account's age for fan-in);
`payment.challenge_failed` marks a failed step-up challenge of the payer; from the identity topic
(its own position, `state.identity_position`), `identity.card_bound` a newly bound card and
`identity.password_changed` a changed password (改密).
Refunds and voided bank orders are skipped (see `state`).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, func, select

from puhui import clock
from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.events.outbox import (
    Event,
    advance_offset,
    consumer_offset,
    number_waiting,
    read_topics,
)
from puhui.money import parse_minor
from puhui.payments.risk_hook import PaymentRequest
from puhui.risk.fraud.state import WindowState

NAME = "risk.fraud"
TOPIC = "payments"
IDENTITY = "identity"


def payment_of(payload: dict[str, Any]) -> PaymentRequest:
    """A payment event's payload as the request the payment was decided on."""
    return PaymentRequest(
        kind=payload["kind"],
        payer_id=payload["payer_id"],
        payee_id=payload["payee_id"],
        amount=parse_minor(payload["amount"], 2),
        tier=None,
        device_id=payload.get("device_id"),
        location=payload.get("location"),
        at=clock.micros_of(payload["created_at"]),
    )


def apply(state: WindowState, event: Event) -> None:
    """Take one event into the state (the caller holds `state.lock`)."""
    if event.type == "p2p.completed":
        state.observe(payment_of(event.payload))
    elif event.type == "payment.succeeded":
        state.observe(payment_of(event.payload["payment"]))
    elif event.type == "bank_order.posted" and event.key:
        state.seen(event.key, event.created_at)
    elif event.type == "payment.challenge_failed":
        state.challenge_failed(event.payload["payer_id"], event.created_at)
    state.position = max(state.position, event.position)


def apply_identity(state: WindowState, event: Event) -> None:
    """Take one identity event into the state (the caller holds `state.lock`)."""
    if event.type == "identity.card_bound" and event.key:
        state.credentials_changed(event.key, event.created_at)
    elif event.type == "identity.password_changed" and event.key:
        state.password_changed(event.key, event.created_at)
    state.identity_position = max(state.identity_position, event.position)


class FraudConsumer:
    """Reads payment events after `state.position` and applies them to `state`."""

    def __init__(
        self, engine: Engine, state: WindowState, name: str = NAME, batch: int = 1000, offset_every: float = 1.0
    ) -> None:
        self.engine, self.state, self.name, self.batch = engine, state, name, batch
        self.offset_every = offset_every
        self._offset_written: tuple[int, float] | None = None  # (position, monotonic seconds)

    def catch_up(self) -> int:
        """Apply every event committed so far, the identity topic's before the payments'; returns how many
        were applied. A poll that finds none costs one read (`read_topics`)."""
        applied = 0
        while True:
            found = read_topics(
                self.engine, {IDENTITY: self.state.identity_position, TOPIC: self.state.position}, self.batch
            )
            with self.state.lock:
                for event in found[IDENTITY]:
                    if event.position > self.state.identity_position:
                        apply_identity(self.state, event)
                        applied += 1
                for event in found[TOPIC]:
                    if event.position > self.state.position:
                        apply(self.state, event)
                        applied += 1
            if all(len(events) < self.batch for events in found.values()):
                break
        self._write_offset()
        return applied

    def _write_offset(self) -> None:
        last, now = self.state.position, time.monotonic()
        written = self._offset_written
        if written is not None and (written[0] == last or now - written[1] < self.offset_every):
            return
        transaction(self.engine, lambda uow: advance_offset(uow, self.name, last))
        self._offset_written = (last, now)

    def stored_offset(self) -> int:
        with reading(self.engine) as connection:
            return consumer_offset(connection, self.name)

    def rebuild(self) -> int:
        """Start from an empty state and replay the whole outbox (at process start)."""
        with self.state.lock:
            self.state.customers.clear()
            self.state.position = self.state.identity_position = 0
        return self.catch_up()

    def lag(self) -> int:
        """Payment events committed but not yet in the state (for monitoring)."""
        number_waiting(self.engine)
        with reading(self.engine) as connection:
            return connection.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.topic == TOPIC, outbox.c.position > self.state.position)
            ).scalar_one()
