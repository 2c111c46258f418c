"""The sandbox bank: acceptance, settlement against its books, notifications with faults, recovery
by query, statements and their faults, persistence, and a model-based test of its invariants.

`Platform` below is a minimal payments service following the recipe the real one must follow:
one hold per order, posted or voided exactly once, from a verified notification or a query.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from puhui import clock as clock_module
from puhui.errors import InvalidInput
from puhui.payments.bank.channel import BankChannel, BankOrder, FailureReason, OrderKind, OrderState
from puhui.payments.bank.sandbox.bank import DeliveryPump, SandboxBank
from puhui.payments.bank.sandbox.plan import (
    CARD_EMPTY,
    CARD_FROZEN,
    CARD_LOW,
    CARD_MERCHANT,
    CARD_RICH,
    RETRY_SCHEDULE,
    FaultPlan,
    OrderScript,
)
from puhui.payments.bank.sandbox.statement import StatementFault
from puhui.payments.bank.signing import MemoryNonceCache, verify_notification
from puhui.payments.bank.statement import Direction, parse_statement
from puhui.payments.errors import (
    BankChannelError,
    BankOrderConflict,
    BankOrderNotFound,
    ChannelUnavailable,
    InvalidFaultPlan,
    StatementNotReady,
)

KEY = b"sandbox-notification-key-0123456"
UNKNOWN_CARD = "6222020000000000067"
SECOND = dt.timedelta(seconds=1)
QUICK = OrderScript(processing=dt.timedelta(seconds=2), notify_delay=dt.timedelta(seconds=1))


class Platform:
    """The payments service's side, reduced to what the bank channel needs (see the module docstring)."""

    def __init__(self, bank: SandboxBank) -> None:
        self.bank = bank
        self.nonces = MemoryNonceCache()
        self.orders: dict[str, BankOrder] = {}
        self.holds: dict[str, str] = {}  # order id → pending / posted / voided
        self.received: list = []  # verified notifications, duplicates included
        self.refused: list[str] = []  # codes of refused notifications
        self.contradictions: list[str] = []
        self.failing = False  # the endpoint answers 500 (e.g. the database is down)
        bank.register_callback(self.callback)

    def send(self, order_id: str, kind: OrderKind | str, card: str, amount: int, *, retry: bool = True) -> None:
        """Hold, then submit; a lost acknowledgement is retried at once or left to `recover`."""
        order = BankOrder(order_id, kind, card, amount)
        self.orders[order_id] = order
        self.holds[order_id] = "pending"
        try:
            self.bank.submit(order)
        except ChannelUnavailable:
            if retry:
                self.bank.submit(order)

    def callback(self, body: bytes, header: str) -> int:
        if self.failing:
            return 500
        try:
            notification = verify_notification(body, header, KEY, nonces=self.nonces)
        except BankChannelError as error:
            self.refused.append(error.code)
            return 401
        self.received.append(notification)
        self.finish(notification.order_id, notification.state, notification.amount, notification.kind)
        return 200

    def finish(self, order_id: str, state: OrderState, amount: int, kind: OrderKind) -> None:
        order = self.orders[order_id]
        if (amount, kind) != (order.amount, order.kind):
            self.contradictions.append(f"{order_id}: the bank reports {amount} {kind}")
            return
        outcome = "posted" if state == OrderState.succeeded else "voided"
        if self.holds[order_id] == "pending":
            self.holds[order_id] = outcome
        elif self.holds[order_id] != outcome:
            self.contradictions.append(f"{order_id}: {self.holds[order_id]} then {outcome}")

    def recover(self) -> None:
        """The sweeper: query every order still pending; resubmit one the bank never got."""
        for order_id in [o for o, hold in self.holds.items() if hold == "pending"]:
            try:
                status = self.bank.query(order_id)
            except BankOrderNotFound:
                self.bank.submit(self.orders[order_id])
                continue
            if status.final:
                self.finish(order_id, status.state, status.amount, status.kind)

    def reserve_movement(self) -> int:
        """What the platform's ledger says moved on the reserve account."""
        sign = {OrderKind.debit_card: 1, OrderKind.credit_card: -1}
        return sum(sign[o.kind] * o.amount for o in self.orders.values() if self.holds[o.order_id] == "posted")


@pytest.fixture
def bank(clock: clock_module.ManualClock) -> SandboxBank:
    return SandboxBank(KEY, reserve_balance=10_000_00)


def topup(order_id: str = "topup-1", card: str = CARD_RICH, amount: int = 12_34) -> BankOrder:
    return BankOrder(order_id, OrderKind.debit_card, card, amount)


def payout(order_id: str = "payout-1", card: str = CARD_MERCHANT, amount: int = 12_34) -> BankOrder:
    return BankOrder(order_id, OrderKind.credit_card, card, amount)


def scripted(**scripts: OrderScript) -> FaultPlan:
    return FaultPlan(scripts={k.replace("_", "-"): v for k, v in scripts.items()})


# ---------------------------------------------------------------------------------------------
# Acceptance


def test_the_sandbox_bank_is_a_bank_channel(bank: SandboxBank) -> None:
    assert isinstance(bank, BankChannel)


def test_submit_only_accepts_and_the_same_order_again_gets_the_same_acknowledgement(
    bank: SandboxBank, clock: clock_module.ManualClock
) -> None:
    first = bank.submit(topup())
    assert first.accepted_at == clock.now() and first.bank_reference.startswith("SBX20260105")
    assert bank.query("topup-1").state == OrderState.processing
    clock.advance(seconds=1)
    rebuilt = topup()  # rebuilt later: another created_at, the same order
    assert bank.submit(rebuilt) == first
    assert len(bank.orders()) == 1
    bank.run_until(clock)
    assert bank.submit(topup()) == first  # even after it settled
    assert bank.books().reserve_credits == 12_34  # moved once


@pytest.mark.parametrize(
    "other, differs",
    [
        (topup(amount=12_35), "amount"),
        (topup(card=CARD_LOW), "card"),
        (BankOrder("topup-1", OrderKind.credit_card, CARD_RICH, 12_34), "kind"),
    ],
)
def test_a_different_order_under_the_same_id_is_refused(bank: SandboxBank, other: BankOrder, differs: str) -> None:
    bank.submit(topup())
    with pytest.raises(BankOrderConflict) as caught:
        bank.submit(other)
    assert caught.value.code == "bank_order_conflict" and differs in caught.value.detail
    assert [(o.order_id, o.amount) for o in bank.orders()] == [("topup-1", 12_34)]


def test_a_lost_acknowledgement_leaves_the_order_accepted_and_a_retry_gets_its_acknowledgement(
    clock: clock_module.ManualClock,
) -> None:
    bank = SandboxBank(KEY, plan=scripted(topup_1=OrderScript(ack_lost=True)))
    with pytest.raises(ChannelUnavailable) as caught:
        bank.submit(topup())
    assert caught.value.status == 503
    status = bank.query("topup-1")
    ack = bank.submit(topup())
    assert ack.bank_reference == status.bank_reference
    bank.run_until(clock)
    assert bank.query("topup-1").state == OrderState.succeeded
    assert bank.books().reserve_credits == 12_34


def test_querying_an_order_the_bank_never_got_says_so(bank: SandboxBank) -> None:
    with pytest.raises(BankOrderNotFound) as caught:
        bank.query("never-sent")
    assert caught.value.code == "bank_order_not_found" and caught.value.status == 404


def test_an_order_settles_after_its_processing_time(clock: clock_module.ManualClock) -> None:
    bank = SandboxBank(KEY, plan=scripted(topup_1=OrderScript(processing=dt.timedelta(seconds=30))))
    bank.submit(topup())
    clock.advance(seconds=29)
    assert bank.query("topup-1").state == OrderState.processing
    assert bank.card_balance(CARD_RICH) == 1_000_000_00
    clock.advance(seconds=1)
    status = bank.query("topup-1")
    assert (status.state, status.failure_reason, status.final) == (OrderState.succeeded, None, True)
    assert status.settled_at == clock.now()
    assert bank.card_balance(CARD_RICH) == 1_000_000_00 - 12_34
    assert bank.reserve_balance == 12_34


# ---------------------------------------------------------------------------------------------
# Outcomes against the bank's books


@pytest.mark.parametrize(
    "order, reason",
    [
        (topup(card=CARD_EMPTY, amount=1), FailureReason.insufficient_funds),
        (topup(card=CARD_LOW, amount=100_01), FailureReason.insufficient_funds),
        (topup(card=CARD_FROZEN, amount=1), FailureReason.card_frozen),
        (payout(card=CARD_FROZEN, amount=1), FailureReason.card_frozen),
        (topup(card=UNKNOWN_CARD), FailureReason.invalid_card),
        (payout(card="tok_unknown-card"), FailureReason.invalid_card),
        (payout(amount=10_000_01), FailureReason.reserve_insufficient),
    ],
)
def test_special_cards_and_balances_fail_deterministically_and_move_nothing(
    bank: SandboxBank, clock: clock_module.ManualClock, order: BankOrder, reason: FailureReason
) -> None:
    before = bank.books()
    bank.submit(order)
    bank.run_until(clock)
    status = bank.query(order.order_id)
    assert (status.state, status.failure_reason) == (OrderState.failed, reason)
    assert bank.books() == before
    assert bank.audit() == []


def test_a_card_holding_exactly_the_amount_can_pay_it(bank: SandboxBank, clock: clock_module.ManualClock) -> None:
    bank.submit(topup(card=CARD_LOW, amount=100_00))
    bank.run_until(clock)
    assert bank.query("topup-1").state == OrderState.succeeded
    assert bank.card_balance(CARD_LOW) == 0


def test_orders_settle_in_order_against_the_balance_left(clock: clock_module.ManualClock) -> None:
    bank = SandboxBank(KEY, plan=scripted(a=OrderScript(processing=5 * SECOND), b=OrderScript(processing=3 * SECOND)))
    bank.submit(topup("a", CARD_LOW, 60_00))
    bank.submit(topup("b", CARD_LOW, 60_00))  # settles first
    clock.advance(minutes=1)
    assert bank.query("b").state == OrderState.succeeded
    assert bank.query("a").failure_reason == FailureReason.insufficient_funds


def test_a_payout_credits_the_card_from_the_reserve(bank: SandboxBank, clock: clock_module.ManualClock) -> None:
    bank.submit(payout(amount=500_00))
    bank.run_until(clock)
    assert bank.card_balance(CARD_MERCHANT) == 500_00
    assert bank.reserve_balance == 9_500_00
    assert bank.books().reserve_debits == 500_00 and bank.audit() == []


def test_the_audit_finds_books_that_do_not_balance(bank: SandboxBank, clock: clock_module.ManualClock) -> None:
    bank.submit(topup())
    bank.run_until(clock)
    assert bank.audit() == []
    state = bank._state  # corrupt the books behind the bank's back
    rich = next(c for c in state.cards.values() if c.masked.endswith("0018"))
    rich.balance += 1
    assert bank.audit() == [
        "money was created or destroyed: cards + reserve != everything funded",
        "card 6222***********0018: balance 99998767 != funded + movements",
    ]
    rich.balance -= 1
    state.reserve -= 1
    assert bank.audit()[0].startswith("reserve 1001233 != funded")
    state.reserve += 1
    state.orders["topup-1"].failure_reason = FailureReason.declined
    assert bank.audit() == ["order topup-1: failure reason and state disagree"]


def test_a_declined_order_fails_whatever_the_balance(clock: clock_module.ManualClock) -> None:
    bank = SandboxBank(KEY, plan=scripted(topup_1=OrderScript(decline=True)))
    bank.submit(topup())
    bank.run_until(clock)
    assert bank.query("topup-1").failure_reason == FailureReason.declined


def test_unknown_cards_open_on_first_use_when_asked(clock: clock_module.ManualClock) -> None:
    bank = SandboxBank(KEY, auto_open_balance=50_00, test_cards=False)
    bank.submit(topup(card=UNKNOWN_CARD, amount=20_00))
    bank.run_until(clock)
    assert bank.card_balance(UNKNOWN_CARD) == 30_00
    assert bank.audit() == []
    with pytest.raises(InvalidInput):
        bank.card_balance(CARD_RICH)  # not opened: test_cards=False


def test_freezing_a_card_fails_its_next_order(bank: SandboxBank, clock: clock_module.ManualClock) -> None:
    bank.set_frozen(CARD_RICH)
    bank.submit(topup())
    bank.run_until(clock)
    assert bank.query("topup-1").failure_reason == FailureReason.card_frozen


# ---------------------------------------------------------------------------------------------
# Notifications


def test_a_notification_arrives_signed_once_after_settlement(
    bank: SandboxBank, clock: clock_module.ManualClock
) -> None:
    platform = Platform(bank)
    platform.send("topup-1", OrderKind.debit_card, CARD_RICH, 12_34)
    assert bank.deliver_due() == []  # nothing is due yet
    attempts = bank.run_until(clock)
    assert [(a.order_id, a.status, a.delivered) for a in attempts] == [("topup-1", 200, True)]
    [notification] = platform.received
    assert notification.bank_reference == bank.query("topup-1").bank_reference
    assert notification.settled_at == bank.query("topup-1").settled_at < notification.notified_at
    assert platform.holds == {"topup-1": "posted"}
    assert bank.next_event_at() is None


def test_duplicate_notifications_are_each_signed_afresh_and_post_once(clock: clock_module.ManualClock) -> None:
    bank = SandboxBank(KEY, plan=scripted(topup_1=OrderScript(copies=3, duplicate_gap=dt.timedelta(seconds=40))))
    platform = Platform(bank)
    platform.send("topup-1", OrderKind.debit_card, CARD_RICH, 12_34)
    attempts = bank.run_until(clock)
    assert [a.copy for a in attempts] == [0, 1, 2]
    assert attempts[1].at - attempts[0].at == dt.timedelta(seconds=40)
    assert len({n.nonce for n in platform.received}) == 3 and platform.refused == []
    assert platform.holds == {"topup-1": "posted"} and platform.contradictions == []
    assert platform.reserve_movement() == bank.books().reserve_credits == 12_34


def test_a_late_notification_arrives_hours_later_and_still_verifies(clock: clock_module.ManualClock) -> None:
    late = OrderScript(processing=2 * SECOND, notify_delay=dt.timedelta(hours=3))
    bank = SandboxBank(KEY, plan=scripted(topup_1=late))
    platform = Platform(bank)
    platform.send("topup-1", OrderKind.debit_card, CARD_RICH, 12_34)
    start = clock.now()
    bank.run_until(clock, start + dt.timedelta(hours=2))
    assert platform.received == [] and bank.query("topup-1").state == OrderState.succeeded
    bank.run_until(clock, start + dt.timedelta(hours=4))
    [notification] = platform.received
    assert notification.notified_at - notification.settled_at == dt.timedelta(hours=3)
    assert platform.holds == {"topup-1": "posted"}


def test_a_lost_notification_is_never_pushed_and_the_platform_recovers_by_query(
    clock: clock_module.ManualClock,
) -> None:
    bank = SandboxBank(KEY, plan=scripted(topup_1=OrderScript(copies=0)))
    platform = Platform(bank)
    platform.send("topup-1", OrderKind.debit_card, CARD_RICH, 12_34)
    assert bank.run_until(clock, clock.now() + dt.timedelta(days=2)) == []
    assert platform.holds == {"topup-1": "pending"}
    platform.recover()
    assert platform.holds == {"topup-1": "posted"}
    assert platform.reserve_movement() == bank.books().reserve_credits


def test_a_failing_callback_is_retried_with_back_off_until_it_answers_2xx(
    bank: SandboxBank, clock: clock_module.ManualClock
) -> None:
    answers = iter([500, 404, RuntimeError("database is down"), None, 204])

    def flaky(body: bytes, header: str) -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        verify_notification(body, header, KEY)  # every retry is fresh enough to verify
        return answer  # type: ignore[return-value]

    bank.register_callback(flaky)
    bank.submit(topup())
    attempts = bank.run_until(clock)
    assert [a.status for a in attempts] == [500, 404, None, None, 204]
    assert attempts[2].error == "RuntimeError: database is down"
    assert [a.attempt for a in attempts] == [0, 1, 2, 3, 4]
    assert [b.at - a.at for a, b in zip(attempts, attempts[1:])] == list(RETRY_SCHEDULE[:4])
    assert [a.delivered for a in attempts] == [False] * 4 + [True]
    assert bank.next_event_at() is None


def test_a_callback_that_never_answers_is_abandoned_after_the_schedule(
    bank: SandboxBank, clock: clock_module.ManualClock
) -> None:
    bank.register_callback(lambda body, header: 503)
    bank.submit(topup())
    attempts = bank.run_until(clock)
    assert len(attempts) == len(RETRY_SCHEDULE) + 1
    assert attempts[-1].abandoned and not any(a.abandoned for a in attempts[:-1])
    assert attempts[-1].at - attempts[0].at == sum(RETRY_SCHEDULE, dt.timedelta(0))
    assert bank.query("topup-1").state == OrderState.succeeded  # a query still tells


@pytest.mark.parametrize("answer, delivered", [(200, True), (299, True), (300, False), (True, False), ("200", False)])
def test_only_an_integer_2xx_counts_as_received(
    bank: SandboxBank, clock: clock_module.ManualClock, answer: object, delivered: bool
) -> None:
    bank.register_callback(lambda body, header: answer)  # type: ignore[arg-type, return-value]
    bank.submit(topup())
    clock.advance(minutes=1)
    assert [a.delivered for a in bank.deliver_due()] == [delivered]


def test_without_a_callback_the_bank_retries_until_one_is_registered(
    bank: SandboxBank, clock: clock_module.ManualClock
) -> None:
    bank.submit(topup())
    clock.advance(minutes=1)
    [attempt] = bank.deliver_due()
    assert (attempt.delivered, attempt.error) == (False, "no callback registered")
    platform = Platform(bank)
    platform.send("topup-1", OrderKind.debit_card, CARD_RICH, 12_34)  # the same order again: idempotent
    bank.run_until(clock)
    assert [a.delivered for a in bank.attempts] == [False, True]
    assert platform.holds == {"topup-1": "posted"} and bank.books().reserve_credits == 12_34


def test_the_callback_may_query_the_bank(bank: SandboxBank, clock: clock_module.ManualClock) -> None:
    seen = []
    bank.register_callback(lambda body, header: seen.append(bank.query("topup-1").state) or 200)
    bank.submit(topup())
    bank.run_until(clock)
    assert seen == [OrderState.succeeded]


def test_the_pump_delivers_in_the_background(bank: SandboxBank, clock: clock_module.ManualClock) -> None:
    arrived = threading.Event()
    bank.register_callback(lambda body, header: arrived.set() or 200)
    bank.submit(topup())
    with DeliveryPump(bank, interval=0.005):
        assert not arrived.wait(0.05)  # nothing is due: the clock has not moved
        clock.advance(minutes=1)
        assert arrived.wait(5)


def test_a_pump_error_is_raised_by_stop(bank: SandboxBank) -> None:
    pump = DeliveryPump(bank, interval=0.005)
    bank.deliver_due = lambda now=None: 1 / 0  # type: ignore[method-assign]
    pump.start()
    pump._thread.join(5)  # type: ignore[union-attr]  # the thread ends on the error
    with pytest.raises(ZeroDivisionError):
        pump.stop()


# ---------------------------------------------------------------------------------------------
# The fault plan


def test_a_fault_plan_draws_the_same_script_for_an_order_whatever_came_before() -> None:
    plan = FaultPlan.chaotic(seed=7)
    first = [plan.script_for(f"o-{i}") for i in range(50)]
    assert [plan.script_for(f"o-{i}") for i in reversed(range(50))] == first[::-1]
    assert [FaultPlan.chaotic(seed=8).script_for(f"o-{i}") for i in range(50)] != first
    kinds = Counter((s.decline, s.lost, s.copies > 1, s.notify_delay >= dt.timedelta(hours=1)) for s in first)
    assert len(kinds) > 3
    pinned = plan.with_script("o-1", OrderScript(copies=0))
    assert pinned.script_for("o-1").lost and pinned.script_for("o-2") == first[2]
    assert FaultPlan.from_json(json.loads(json.dumps(pinned.to_json()))) == pinned


def test_a_fault_plan_refuses_nonsense() -> None:
    for bad in [dict(p_lost=1.5), dict(p_late=-0.1), dict(max_copies=1), dict(processing=(2 * SECOND, SECOND))]:
        with pytest.raises(InvalidFaultPlan):
            FaultPlan(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidFaultPlan):
        OrderScript(copies=-1)


def test_a_chaotic_day_ends_with_every_order_final_once_and_the_books_balanced(clock: clock_module.ManualClock) -> None:
    bank = SandboxBank(KEY, plan=FaultPlan.chaotic(seed=3), reserve_balance=2_000_00)
    platform = Platform(bank)
    cards = [CARD_RICH, CARD_RICH, CARD_LOW, CARD_EMPTY, CARD_FROZEN, CARD_MERCHANT, UNKNOWN_CARD]
    for i in range(80):
        kind = OrderKind.credit_card if i % 3 == 0 else OrderKind.debit_card
        platform.send(f"o-{i}", kind, cards[i % len(cards)], 10_00 + 97 * i, retry=i % 2 == 0)
        platform.failing = i % 10 == 5  # the endpoint is down now and then
        bank.run_until(clock, clock.now() + dt.timedelta(minutes=7))
    platform.failing = False
    bank.run_until(clock)
    platform.recover()  # lost notifications; acknowledgements lost and never retried
    bank.run_until(clock)
    platform.recover()
    statuses = {s.order_id: s for s in bank.orders()}
    assert len(statuses) == 80 and all(s.final for s in statuses.values())
    assert {o: h for o, h in platform.holds.items()} == {
        o: "posted" if s.state == OrderState.succeeded else "voided" for o, s in statuses.items()
    }
    assert platform.contradictions == [] and platform.refused == []
    assert bank.audit() == []
    books = bank.books()
    assert platform.reserve_movement() == books.reserve_credits - books.reserve_debits
    assert books.reserve_balance == 2_000_00 + platform.reserve_movement()
    # The plan really misbehaved: duplicates, late and lost notifications, declines, lost acks.
    per_order = Counter(n.order_id for n in platform.received)
    scripts = [bank.plan.script_for(o) for o in statuses]
    assert max(per_order.values()) >= 2
    assert any(s.lost for s in scripts) and any(s.ack_lost for s in scripts)
    assert any(s.notify_delay >= dt.timedelta(hours=1) for s in scripts)
    assert {s.failure_reason for s in statuses.values()} >= {
        FailureReason.declined, FailureReason.insufficient_funds, FailureReason.card_frozen, FailureReason.invalid_card,
    }  # fmt: skip
    assert any(not a.delivered for a in bank.attempts) and any(a.attempt > 0 for a in bank.attempts)


# ---------------------------------------------------------------------------------------------
# Statements

DAY = dt.date(2026, 1, 5)
MIDNIGHT = dt.datetime(2026, 1, 5, 16, tzinfo=clock_module.UTC)  # 2026-01-06 00:00 China time
AT_ONCE = OrderScript(processing=dt.timedelta(0), notify_delay=dt.timedelta(0))


def test_a_statement_lists_exactly_the_day_s_settled_movements_by_china_time(clock: clock_module.ManualClock) -> None:
    plan = FaultPlan(
        scripts={
            "before": AT_ONCE,
            "last": AT_ONCE,
            "first-next": AT_ONCE,
            "across": OrderScript(processing=dt.timedelta(seconds=20)),
            "failed": AT_ONCE,
            "payout": AT_ONCE,
        }
    )
    bank = SandboxBank(KEY, plan=plan, reserve_balance=1_000_00)
    bank.submit(topup("before", amount=1_00))  # 09:30 China, 5 January
    bank.submit(payout("payout", amount=2_00))
    bank.submit(topup("failed", card=CARD_EMPTY))
    clock.set(MIDNIGHT - dt.timedelta(seconds=10))
    bank.submit(topup("across", amount=3_00))  # accepted on the 5th, settles on the 6th
    clock.set(MIDNIGHT - dt.timedelta(microseconds=1))
    bank.submit(topup("last", amount=4_00))
    with pytest.raises(StatementNotReady) as caught:
        bank.statement(DAY)
    assert caught.value.code == "statement_not_ready"
    clock.set(MIDNIGHT)
    bank.submit(topup("first-next", amount=5_00))
    lines = parse_statement(bank.statement(DAY), DAY)
    assert [(x.order_id, x.direction, x.amount) for x in lines] == [
        ("before", Direction.credit, 1_00),
        ("payout", Direction.debit, 2_00),
        ("last", Direction.credit, 4_00),
    ]
    assert lines[-1].value_time == MIDNIGHT - dt.timedelta(microseconds=1)
    assert {x.bank_reference for x in lines} == {bank.query(x.order_id).bank_reference for x in lines}
    clock.set(MIDNIGHT + dt.timedelta(days=1))
    assert [x.order_id for x in parse_statement(bank.statement(DAY + dt.timedelta(days=1)))] == ["first-next", "across"]
    assert parse_statement(bank.statement(dt.date(2026, 1, 4))) == []


def test_a_late_notification_does_not_move_its_movement_to_another_day(clock: clock_module.ManualClock) -> None:
    bank = SandboxBank(KEY, plan=scripted(topup_1=OrderScript(processing=SECOND, notify_delay=dt.timedelta(hours=3))))
    platform = Platform(bank)
    clock.set(MIDNIGHT - dt.timedelta(hours=1))
    platform.send("topup-1", OrderKind.debit_card, CARD_RICH, 12_34)
    bank.run_until(clock)
    assert platform.received[0].notified_at > MIDNIGHT > platform.received[0].settled_at
    assert [x.order_id for x in parse_statement(bank.statement(DAY))] == ["topup-1"]


@pytest.fixture
def day_of_movements(clock: clock_module.ManualClock) -> SandboxBank:
    bank = SandboxBank(KEY, reserve_balance=1_000_00)
    for i in range(4):
        bank.submit(topup(f"t-{i}", amount=(i + 1) * 1_00))
    bank.submit(payout("p-0", amount=50_00))
    clock.set(MIDNIGHT)
    return bank


def _rows(bank: SandboxBank) -> list[tuple[str, str, int]]:
    return [(x.bank_reference, x.order_id, x.amount) for x in parse_statement(bank.statement(DAY), DAY)]


def test_statement_faults_produce_the_advertised_differences(day_of_movements: SandboxBank) -> None:
    bank = day_of_movements
    truth = _rows(bank)
    books = bank.books()
    by_order = {order_id: (reference, amount) for reference, order_id, amount in truth}

    missing = bank.inject_statement_fault(DAY, StatementFault.missing, order_id="t-1")
    assert (missing.order_id, missing.amount) == ("t-1", 2_00)
    assert _rows(bank) == [row for row in truth if row[1] != "t-1"]

    doubled = bank.inject_statement_fault(DAY, "duplicate", order_id="t-2")
    assert Counter(_rows(bank))[(doubled.bank_reference, "t-2", 3_00)] == 2

    differs = bank.inject_statement_fault(DAY, StatementFault.amount_differs, order_id="p-0")
    assert differs.amount == 50_01 and differs.direction == Direction.debit
    assert (by_order["p-0"][0], "p-0", 50_01) in _rows(bank)

    extra = bank.inject_statement_fault(DAY, StatementFault.extra, amount=7_77, direction="debit")
    assert extra.order_id.startswith("UNMATCHED-") and extra.bank_reference not in {r for r, _, _ in truth}
    assert (extra.bank_reference, extra.order_id, 7_77) in _rows(bank)

    faulty = _rows(bank)
    assert len(faulty) == len(truth) - 1 + 1 + 1
    assert sorted(set(faulty) ^ set(truth)) == sorted(
        {(by_order["t-1"][0], "t-1", 2_00), (by_order["p-0"][0], "p-0", 50_00), (by_order["p-0"][0], "p-0", 50_01),
         (extra.bank_reference, extra.order_id, 7_77)}
    )  # fmt: skip
    assert bank.books() == books and bank.audit() == []  # only the file is wrong


def test_a_statement_fault_defaults_to_the_first_line_and_needs_a_line_to_alter(day_of_movements: SandboxBank) -> None:
    bank = day_of_movements
    first = _rows(bank)[0]
    line = bank.inject_statement_fault(DAY, StatementFault.amount_differs, amount=9)
    assert (line.bank_reference, line.order_id, line.amount) == (first[0], first[1], 9)
    assert _rows(bank)[0] == (first[0], first[1], 9)
    with pytest.raises(InvalidInput):
        bank.inject_statement_fault(DAY, StatementFault.missing, order_id="nope")
    with pytest.raises(InvalidInput):
        bank.inject_statement_fault(dt.date(2026, 1, 1), StatementFault.duplicate)
    with pytest.raises(InvalidInput):
        bank.inject_statement_fault(DAY, StatementFault.amount_differs, order_id="t-3", amount=4_00)
    with pytest.raises(ValueError):
        bank.inject_statement_fault(DAY, "shuffled")


# ---------------------------------------------------------------------------------------------
# Persistence


def test_a_restarted_bank_keeps_its_books_orders_pushes_and_faults(
    tmp_path: Path, clock: clock_module.ManualClock
) -> None:
    plan = FaultPlan(seed=5, p_late=0.5, p_lost=0.3, p_duplicate=0.5)
    bank = SandboxBank(KEY, plan=plan, reserve_balance=1_000_00)
    for i in range(6):
        bank.submit(topup(f"t-{i}", amount=(i + 1) * 1_00))
    bank.run_until(clock, clock.now() + dt.timedelta(seconds=3))
    bank.submit(topup("t-late", card=CARD_LOW, amount=1_00))  # still processing at the restart
    path = tmp_path / "bank.json"
    bank.save(path)
    assert CARD_RICH not in path.read_text() and CARD_LOW not in path.read_text()

    restarted = SandboxBank.load(path, key=KEY)
    assert restarted.orders() == bank.orders() and restarted.books() == bank.books()
    assert restarted.plan == plan and restarted.next_event_at() == bank.next_event_at()
    assert (
        restarted.submit(topup("t-late", card=CARD_LOW, amount=1_00)).bank_reference
        == bank.query("t-late").bank_reference
    )
    with pytest.raises(BankOrderConflict):
        restarted.submit(topup("t-late", card=CARD_LOW, amount=2_00))
    platform = Platform(restarted)
    platform.orders = {o.order_id: topup(o.order_id, CARD_LOW if o.order_id == "t-late" else CARD_RICH, o.amount)
                       for o in restarted.orders()}  # fmt: skip
    platform.holds = dict.fromkeys(platform.orders, "pending")
    restarted.run_until(clock)
    platform.recover()
    assert set(platform.holds.values()) == {"posted"}
    assert restarted.audit() == [] and restarted.card_balance(CARD_LOW) == 99_00

    clock.set(MIDNIGHT)
    restarted.inject_statement_fault(DAY, StatementFault.missing, order_id="t-late")
    restarted.save(path)
    again = SandboxBank.load(path, key=KEY)
    assert again.statement(DAY) == restarted.statement(DAY)
    assert "t-late" not in again.statement(DAY)
    assert again.submit(topup("t-new")).bank_reference not in {s.bank_reference for s in restarted.orders()}


def test_loading_refuses_a_file_of_another_version(tmp_path: Path) -> None:
    path = tmp_path / "bank.json"
    path.write_text(json.dumps({"version": 99}))
    with pytest.raises(InvalidInput):
        SandboxBank.load(path, key=KEY)


# ---------------------------------------------------------------------------------------------
# Invariants under random sequences of orders, faults and time


CARDS = [CARD_RICH, CARD_LOW, CARD_EMPTY, CARD_FROZEN, CARD_MERCHANT, UNKNOWN_CARD]


class BankMachine(RuleBasedStateMachine):
    """Random orders, resubmissions, a flaky platform endpoint and time passing, against a chaotic plan."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = clock_module.ManualClock()
        self.previous = clock_module.install(self.clock)
        self.bank: SandboxBank | None = None
        self.platform: Platform | None = None
        self.final: dict[str, tuple[OrderState, FailureReason | None]] = {}
        self.count = 0

    @precondition(lambda self: self.bank is None)
    @rule(
        seed=st.integers(0, 2**16),
        p=st.tuples(*[st.sampled_from([0.0, 0.3, 1.0])] * 5),
        reserve=st.sampled_from([0, 100_00, 10_000_00]),
    )
    def open_bank(self, seed: int, p: tuple[float, ...], reserve: int) -> None:
        plan = FaultPlan(seed, p_decline=p[0] / 3, p_late=p[1], p_lost=p[2] / 2, p_duplicate=p[3], p_ack_lost=p[4])
        self.bank = SandboxBank(KEY, plan=plan, reserve_balance=reserve)
        self.platform = Platform(self.bank)

    @precondition(lambda self: self.bank is not None)
    @rule(
        kind=st.sampled_from(OrderKind), card=st.sampled_from(CARDS), amount=st.integers(1, 200_00), retry=st.booleans()
    )
    def send(self, kind: OrderKind, card: str, amount: int, retry: bool) -> None:
        self.count += 1
        self.platform.send(f"o-{self.count}", kind, card, amount, retry=retry)  # type: ignore[union-attr]

    @precondition(lambda self: self.bank is not None and self.count > 0)
    @rule(data=st.data())
    def resubmit(self, data: st.DataObject) -> None:
        order = self.platform.orders[f"o-{data.draw(st.integers(1, self.count))}"]  # type: ignore[union-attr]
        ack = self.bank.submit(order)  # type: ignore[union-attr]
        assert ack.bank_reference == self.bank.query(order.order_id).bank_reference  # type: ignore[union-attr]
        with pytest.raises(BankOrderConflict):
            self.bank.submit(BankOrder(order.order_id, order.kind, order.card, order.amount + 1))  # type: ignore[union-attr]

    @precondition(lambda self: self.bank is not None)
    @rule(failing=st.booleans())
    def endpoint(self, failing: bool) -> None:
        self.platform.failing = failing  # type: ignore[union-attr]

    @precondition(lambda self: self.bank is not None)
    @rule(seconds=st.sampled_from([0, 1, 5, 15, 60, 600, 3600, 6 * 3600, 30 * 3600]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)
        self.bank.deliver_due()  # type: ignore[union-attr]

    @precondition(lambda self: self.bank is not None)
    @rule()
    def sweep(self) -> None:
        self.platform.recover()  # type: ignore[union-attr]

    @invariant()
    def books_balance_and_outcomes_never_change(self) -> None:
        if self.bank is None:
            return
        assert self.bank.audit() == []
        assert self.platform.contradictions == [] and self.platform.refused == []  # type: ignore[union-attr]
        for status in self.bank.orders():
            if status.final:
                outcome = (status.state, status.failure_reason)
                assert self.final.setdefault(status.order_id, outcome) == outcome
        for order_id, hold in self.platform.holds.items():  # type: ignore[union-attr]
            if hold != "pending":
                assert self.final[order_id][0] == (OrderState.succeeded if hold == "posted" else OrderState.failed)

    def teardown(self) -> None:
        try:
            if self.bank is not None:
                self.platform.failing = False  # type: ignore[union-attr]
                self.platform.recover()  # type: ignore[union-attr]  # resubmits acknowledgements never retried
                self.bank.run_until(self.clock)
                self.platform.recover()  # type: ignore[union-attr]
                assert all(s.final for s in self.bank.orders())
                assert "pending" not in self.platform.holds.values()  # type: ignore[union-attr]
                books = self.bank.books()
                assert self.platform.reserve_movement() == books.reserve_credits - books.reserve_debits  # type: ignore[union-attr]
                assert self.bank.audit() == []
        finally:
            clock_module.install(self.previous)


BankMachine.TestCase.settings = settings(
    max_examples=80, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_the_bank_s_invariants_hold_under_random_orders_faults_and_time = BankMachine.TestCase


def test_concurrent_submissions_of_one_order_make_one_order(bank: SandboxBank, clock: clock_module.ManualClock) -> None:
    start = threading.Barrier(8)
    acks = []

    def send() -> None:
        start.wait()
        for _ in range(50):
            acks.append(bank.submit(topup()))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(acks) == 400 and len(set(acks)) == 1
    bank.run_until(clock)
    assert len(bank.orders()) == 1 and bank.books().reserve_credits == 12_34


def test_a_servers_banks_never_hand_out_the_same_reference(engine, clock: clock_module.ManualClock) -> None:
    """Each worker, and a restarted server, makes a bank of its own: their first orders of the day may not
    share a bank reference, as they did when every bank counted from 1."""
    from puhui.payments.bank import worker as bank_worker
    from puhui.settings import Settings

    banks = [bank_worker.make_bank(engine, Settings(sandbox=True)) for _ in range(3)]
    references = [bank.submit(topup()).bank_reference for bank in banks]
    assert len(set(references)) == 3, references
    assert all(reference.startswith("SBX") and reference.endswith("2026010500000001") for reference in references)
