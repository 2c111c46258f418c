"""The fraud consumer on SQLite and PostgreSQL: payment events from a real outbox (payloads built by
the payments service's own serialisers) feed the window state in order; the offset is stored,
running again counts nothing twice, and an empty state rebuilt by replay equals the live one."""

from __future__ import annotations

import datetime as dt

from puhui import clock as time_source
from puhui.db import transaction
from puhui.events.outbox import publish
from puhui.payments import service
from puhui.payments.risk_hook import Outcome, PaymentRequest
from puhui.risk.fraud.consumer import NAME, FraudConsumer
from puhui.risk.fraud.engine import decide
from puhui.risk.fraud.models import rule_from
from puhui.risk.fraud.state import SECOND, WindowState


def row(payment_id: str, kind: str, payer: str, payee: str, amount: int, device: str | None = "phone-1") -> dict:
    return {
        "id": payment_id,
        "kind": kind,
        "payer_id": payer,
        "payee_id": payee,
        "qr_code_id": None,
        "amount": amount,
        "fee": 0,
        "fee_rate_bp": 0,
        "refunded": 0,
        "fee_refunded": 0,
        "transfer_id": payment_id + ".t",
        "fee_transfer_id": None,
        "created_at": time_source.now_micros(),
        "device_id": device,
        "location": "310000",
    }


def p2p(engine, payment_id: str, payer: str, payee: str, amount: int) -> None:  # type: ignore[no-untyped-def]
    transaction(
        engine,
        lambda uow: publish(
            uow,
            "payments",
            "p2p.completed",
            payment_id,
            service.payment_json(row(payment_id, "p2p", payer, payee, amount)),
        ),
    )


def qr(engine, payment_id: str, payer: str, merchant: str, amount: int) -> None:  # type: ignore[no-untyped-def]
    event = service.payment_event(row(payment_id, "qr", payer, merchant, amount))
    transaction(engine, lambda uow: publish(uow, "payments", "payment.succeeded", merchant, event))


def features(state: WindowState, customer_id: str, at: int) -> tuple:
    c = state.get(customer_id)
    assert c is not None
    return (c.first_seen, c.window(at - 3600 * SECOND), c.norm(at), c.devices, c.locations, c.payers)


def test_consumer_applies_events_once_and_resumes(engine, clock) -> None:  # type: ignore[no-untyped-def]
    transaction(
        engine,
        lambda uow: publish(
            uow,
            "payments",
            "bank_order.posted",
            "alice",
            {"order_id": "o1", "kind": "top_up", "amount": "500.00", "status": "posted"},
        ),
    )
    for i in range(3):
        clock.advance(seconds=60)
        p2p(engine, f"p{i}", "alice", "bob", 10_000)
    clock.advance(seconds=60)
    qr(engine, "q1", "alice", "m-shop", 2_550)
    transaction(
        engine,
        lambda uow: publish(
            uow,
            "payments",
            "refund.succeeded",
            "m-shop",
            {"refund_id": "r1", "payment_id": "q1", "amount": "25.50", "fee_returned": "0.00"},
        ),
    )
    transaction(engine, lambda uow: publish(uow, "identity", "customer.registered", "zoe", {"id": "zoe"}))
    transaction(engine, lambda uow: publish(uow, "identity", "identity.card_bound", "alice", {"card_id": "c1"}))
    bound = time_source.now_micros()

    state = WindowState()
    consumer = FraudConsumer(engine, state, batch=2, offset_every=0)  # small batches: the loop must page
    assert consumer.catch_up() == 8  # 6 payment events, 2 identity events
    assert state.get("alice").credentials_at == bound  # a newly bound card (绑卡)
    now = time_source.now_micros()
    assert state.get("alice").window(now - 3600 * SECOND) == (4, 32_550)  # the refund does not reduce it
    assert state.get("bob").payers == {"alice": state.get("alice").recent[2][0]}
    assert state.get("zoe") is None  # a registration is no evidence
    assert consumer.stored_offset() == state.position > 0
    before = features(state, "alice", now)

    assert consumer.catch_up() == 0  # again: nothing counted twice
    assert features(state, "alice", now) == before and consumer.lag() == 0

    clock.advance(seconds=60)
    p2p(engine, "p9", "alice", "carol", 5_000)
    assert consumer.lag() == 1
    assert consumer.catch_up() == 1
    now = time_source.now_micros()
    assert state.get("alice").window(now - 3600 * SECOND) == (5, 37_550)
    assert consumer.stored_offset() == state.position

    rebuilt = WindowState()
    assert FraudConsumer(engine, rebuilt).rebuild() == 9
    for who in ("alice", "bob", "carol", "m-shop"):
        assert features(rebuilt, who, now) == features(state, who, now)
    assert rebuilt.position == state.position and rebuilt.identity_position == state.identity_position
    assert rebuilt.get("alice").credentials_at == bound


def test_state_fed_by_events_trips_velocity(engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(dt.datetime(2026, 3, 2, 4, 0, tzinfo=dt.UTC))
    for i in range(5):
        clock.advance(seconds=30)
        p2p(engine, f"v{i}", "mallory", f"x{i}", 1_000)
    state = WindowState()
    FraudConsumer(engine, state).catch_up()
    fast = rule_from(
        {"rule_id": "fast", "kind": "velocity", "action": "review", "params": {"window_seconds": 300, "max_count": 5}}
    )
    at = time_source.now_micros() + SECOND
    assert (
        decide(PaymentRequest("p2p", "mallory", "y", 1_000, 2, None, None, at), [fast], state)[0].outcome
        == Outcome.review
    )
    later = at + 300 * SECOND
    assert (
        decide(PaymentRequest("p2p", "mallory", "y", 1_000, 2, None, None, later), [fast], state)[0].outcome
        == Outcome.approve
    )
    with engine.connect() as connection:
        from puhui.events.outbox import consumer_offset

        assert consumer_offset(connection, NAME) == state.position


def test_a_block_list_change_made_by_another_process_reaches_this_one(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Another API process adds a payee to the block list (here: straight into the table, without
    this process's change counter): after the next catch-up, this process declines the payee."""
    from puhui.risk.fraud.hook import FraudHook
    from puhui.risk.fraud.tables import risk_blocklists

    hook = FraudHook.start(engine)
    request = PaymentRequest("p2p", "cus_a", "cus_b", 10_00, 3, None, None, time_source.now_micros())
    assert hook.assess(request).decision.outcome == Outcome.approve
    transaction(
        engine,
        lambda uow: uow.execute(
            risk_blocklists.insert().values(
                list_name="payees", value="cus_b", added_by="other-process", added_at=time_source.now_micros()
            )
        ),
    )
    assert hook.assess(request).decision.outcome == Outcome.approve  # not seen yet: rules are cached
    hook.catch_up()
    assert hook.assess(request).decision.outcome == Outcome.decline


def test_the_offset_is_written_at_most_once_an_interval_and_a_restart_still_rebuilds(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """The stored offset is for operators (each write takes SQLite's one writer from payments): a
    busy consumer writes it once per `offset_every`, while its state still takes every event."""
    clock.set(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC))
    p2p(engine, "o1", "alice", "bob", 1_000)
    state = WindowState()
    consumer = FraudConsumer(engine, state, offset_every=3600)
    assert consumer.catch_up() == 1
    first = consumer.stored_offset()
    assert first == state.position > 0
    p2p(engine, "o2", "alice", "bob", 2_000)
    assert consumer.catch_up() == 1
    assert state.position > first and consumer.stored_offset() == first  # not yet an interval later
    assert state.get("alice").window(time_source.now_micros() - 3600 * SECOND) == (2, 3_000)
    consumer.offset_every = 0
    consumer.catch_up()
    assert consumer.stored_offset() == state.position
