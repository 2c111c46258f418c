"""The sandbox bank: an in-memory `BankChannel` that behaves like a real bank's payment gateway.

- `submit` only accepts (idempotent by order id). The order settles `script.processing` later
  against the bank's own books: the customer's card balance and the platform's reserve account.
- The outcome is pushed as signed notifications to the registered callback by `deliver_due`,
  which does everything due at the clock's time (settlements first, then pushes). Late, lost and
  duplicated pushes and declines follow the `FaultPlan`. A push the callback does not answer
  with a 2xx is retried on `RETRY_SCHEDULE`, then abandoned; `query` always tells the truth.
- `statement(date)` publishes the reserve account's statement file for an ended China business
  date; `inject_statement_fault` makes that file wrong on purpose.
- `save(path)` / `SandboxBank.load(path, key=...)` keep the state in a JSON file across restarts
  (the signing key and the callback are not stored; card numbers are stored only as digests).

Time comes from `puhui.clock`; tests and the simulator move a `ManualClock` and call
`deliver_due()`, or `run_until(clock, until)` to jump from event to event. `DeliveryPump` calls
`deliver_due()` periodically in a background thread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import tempfile
import threading
from pathlib import Path

from puhui import clock
from puhui.errors import InvalidInput
from puhui.payments.bank.channel import (
    CURRENCY,
    Acknowledgement,
    BankNotification,
    BankOrder,
    FailureReason,
    NotificationCallback,
    OrderKind,
    OrderState,
    OrderStatus,
    mask_card,
)
from puhui.payments.bank.sandbox.plan import (
    RETRY_SCHEDULE,
    TEST_CARDS,
    FaultPlan,
    OrderScript,
)
from puhui.payments.bank.sandbox.records import (
    STATE_VERSION,
    BankState,
    Books,
    Card,
    DeliveryAttempt,
    Order,
    Push,
    ReserveAdjustment,
    card_key,
)
from puhui.payments.bank.sandbox.statement import StatementFault, apply_faults, make_fault
from puhui.payments.bank.signing import sign_notification, signing_key
from puhui.payments.bank.statement import (
    Direction,
    StatementLine,
    format_statement,
)
from puhui.payments.errors import (
    BankOrderConflict,
    BankOrderNotFound,
    ChannelUnavailable,
    StatementNotReady,
)

__all__ = ["SandboxBank", "DeliveryPump", "DeliveryAttempt", "Books", "StatementNotReady"]


def _is_2xx(status: object) -> bool:
    return isinstance(status, int) and not isinstance(status, bool) and 200 <= status < 300


def _check_fen(amount: object, *, allow_zero: bool = False) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput("amounts are positive integers of fen")
    return amount


def _utc_bounds(business_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a China business date as UTC datetimes, the bank's own times."""
    start, end = clock.day_bounds(business_date)
    return clock.from_micros(start), clock.from_micros(end)


class SandboxBank:
    """A `BankChannel` with its own books, driven by `puhui.clock` and a seeded `FaultPlan`.

    `key` signs notifications (at least 16 bytes; from config). `reserve_balance` opens the
    platform's reserve account with that much (fen). With `test_cards` the cards of
    `sandbox_plan.TEST_CARDS` are open; `auto_open_balance` opens any other card on first use
    with that balance (None: an unknown card fails `invalid_card`).
    """

    def __init__(
        self,
        key: bytes | str,
        *,
        key_id: str = "k1",
        plan: FaultPlan | None = None,
        callback: NotificationCallback | None = None,
        reserve_balance: int = 0,
        test_cards: bool = True,
        auto_open_balance: int | None = None,
        reference_prefix: str = "SBX",
    ) -> None:
        self._key = signing_key(key)
        self._key_id = key_id
        self.plan = plan or FaultPlan.reliable()
        self._callback = callback
        if auto_open_balance is not None:
            _check_fen(auto_open_balance, allow_zero=True)
        self.auto_open_balance = auto_open_balance
        self.reference_prefix = reference_prefix
        self._lock = threading.RLock()
        self._state = BankState()
        self._attempts: list[DeliveryAttempt] = []
        if reserve_balance:
            self.fund_reserve(reserve_balance, "the reserve account opened with this balance")
        if test_cards:
            for card, test_card in TEST_CARDS.items():
                self.open_card(card, test_card.balance, frozen=test_card.frozen)

    # -- the bank's customers and the reserve account ------------------------------------------

    def open_card(self, card: str, balance: int = 0, *, frozen: bool | None = None) -> None:
        """Open a card with `balance` fen, or deposit `balance` on an open one (`frozen`: set the flag)."""
        _check_fen(balance, allow_zero=True)
        key = card_key(card)
        with self._lock:
            existing = self._state.cards.get(key)
            if existing is None:
                self._state.cards[key] = Card(balance, bool(frozen), mask_card(card), balance)
            else:
                existing.balance += balance
                existing.funded += balance
                existing.frozen = existing.frozen if frozen is None else frozen

    def set_frozen(self, card: str, frozen: bool = True) -> None:
        with self._lock:
            self._card(card).frozen = frozen

    def card_balance(self, card: str) -> int:
        with self._lock:
            self._settle_due(clock.now())
            return self._card(card).balance

    def fund_reserve(self, amount: int, reason: str = "the platform's own money deposited") -> None:
        """The platform deposits its own money on the reserve account (e.g. to fund payouts), recorded with `reason`."""
        _check_fen(amount)
        with self._lock:
            self._adjust_reserve(amount, reason)

    def align_reserve(self, balance: int, reason: str, ledger_mark: int | None = None) -> int:
        """Make the reserve account hold `balance` fen (e.g. what the platform's ledger says it holds here) by one
        deposit, or one withdrawal, of the platform's own, recorded with `reason` (`books().reserve_funded` and
        the state's `reserve_adjustments`); returns the amount moved (0: it held that already). Orders due are
        settled first; call it when nothing is in flight, or an order the platform has not heard of yet counts.
        `ledger_mark`: the platform's position in its ledger that `balance` was read at, kept as `ledger_mark`
        (the platform's clearing, `bank.clearing`, sends the bank only what its ledger moved after it)."""
        _check_fen(balance, allow_zero=True)
        with self._lock:
            self._settle_due(clock.now())
            change = balance - self._state.reserve
            if change:
                self._adjust_reserve(change, reason)
            if ledger_mark is not None:
                self._state.ledger_mark = ledger_mark
            return change

    @property
    def ledger_mark(self) -> int | None:
        """The platform's ledger position its reserve was last aligned to (None: never aligned by the platform)."""
        with self._lock:
            return self._state.ledger_mark

    def record_settled(self, order_id: str, kind: OrderKind, card: str, amount: int, at: dt.datetime) -> bool:
        """An order the platform booked as this bank's answer without sending it (a simulated market's past,
        `sim.agents`), put on the statement of its date as settled at `at`, so reconciling that day matches it.
        The reserve's balance does not move (it was aligned to the ledger that holds the money, `align_reserve`):
        the order takes its part of that funding, and its card (filed under the platform's card id) gives or
        receives the money, so the books still balance. False when the bank knows the order already."""
        _check_fen(amount)
        with self._lock:
            state = self._state
            if order_id in state.orders:
                return False
            state.seq += 1
            reference = f"{self.reference_prefix}{clock.china_date(at):%Y%m%d}{state.seq:08d}"
            key = _booked_card(card)
            holder = state.cards.setdefault(key, Card(0, False, mask_card(card), 0))
            if kind == OrderKind.debit_card:  # money came in from the card: funded from outside, then moved
                holder.funded += amount
                state.reserve_funded -= amount
            else:  # money went out to the card
                holder.balance += amount
                state.reserve_funded += amount
            state.orders[order_id] = Order(
                order_id, kind, key, mask_card(card), amount, at, reference, at, state.seq, OrderScript(),
                OrderState.succeeded, None, at,
            )  # fmt: skip
            return True

    def _adjust_reserve(self, amount: int, reason: str) -> None:
        state = self._state
        state.reserve += amount
        state.reserve_funded += amount
        state.adjustments.append(ReserveAdjustment(clock.now(), amount, reason))

    @property
    def reserve_balance(self) -> int:
        with self._lock:
            self._settle_due(clock.now())
            return self._state.reserve

    def _card(self, card: str) -> Card:
        try:
            return self._state.cards[card_key(card)]
        except KeyError:
            raise InvalidInput(f"the sandbox bank has no card {mask_card(card)}") from None

    # -- BankChannel ---------------------------------------------------------------------------

    def register_callback(self, callback: NotificationCallback | None) -> None:
        with self._lock:
            self._callback = callback

    def submit(self, order: BankOrder) -> Acknowledgement:
        if not isinstance(order, BankOrder):
            raise InvalidInput("submit takes a BankOrder")
        now = clock.now()
        key = card_key(order.card)
        with self._lock:
            self._settle_due(now)
            existing = self._state.orders.get(order.order_id)
            if existing is not None:
                same = {"kind": existing.kind == order.kind, "card": existing.card_key == key,
                        "amount": existing.amount == order.amount}  # fmt: skip
                differs = [name for name, equal in same.items() if not equal]
                if differs:
                    raise BankOrderConflict(
                        f"order {order.order_id} was submitted before with a different {', '.join(differs)}"
                    )
                return Acknowledgement(existing.order_id, existing.bank_reference, existing.accepted_at)
            self._state.seq += 1
            seq = self._state.seq
            reference = f"{self.reference_prefix}{clock.china_date(now):%Y%m%d}{seq:08d}"
            script = self._script_for(order)
            self._state.orders[order.order_id] = Order(
                order.order_id, order.kind, key, order.masked_card, order.amount, order.created_at,
                reference, now, seq, script,
            )  # fmt: skip
            if script.ack_lost:
                raise ChannelUnavailable(f"timed out waiting for the bank to acknowledge {order.order_id}")
            return Acknowledgement(order.order_id, reference, now)

    def _script_for(self, order: BankOrder) -> OrderScript:
        """The plan's script for the order; a test card forces its behaviour unless the plan
        scripts this order id explicitly."""
        drawn = self.plan.script_for(order.order_id)
        test_card = TEST_CARDS.get(order.card)
        if test_card is None or order.order_id in self.plan.scripts:
            return drawn
        return test_card.script(drawn)

    def query(self, order_id: str) -> OrderStatus:
        with self._lock:
            self._settle_due(clock.now())
            order = self._state.orders.get(order_id)
            if order is None:
                raise BankOrderNotFound(f"no order {order_id!r}")
            return order.status()

    def statement(self, business_date: dt.date) -> str:
        return format_statement(self.statement_lines(business_date))

    def statement_lines(self, business_date: dt.date) -> list[StatementLine]:
        """The lines of `statement(business_date)`, injected faults included."""
        now = clock.now()
        start, end = _utc_bounds(business_date)
        if now < end:
            raise StatementNotReady(f"the statement of {business_date} is published after {end.isoformat()}")
        with self._lock:
            self._settle_due(now)
            return apply_faults(self._true_lines(start, end), self._state.faults.get(business_date.isoformat(), []))

    def _true_lines(self, start: dt.datetime, end: dt.datetime) -> list[StatementLine]:
        settled = [
            o
            for o in self._state.orders.values()
            if o.state == OrderState.succeeded and o.settled_at is not None and start <= o.settled_at < end
        ]
        settled.sort(key=lambda o: (o.settled_at, o.seq))
        return [o.statement_line() for o in settled]

    def inject_statement_fault(
        self,
        business_date: dt.date,
        kind: StatementFault | str,
        *,
        order_id: str | None = None,
        amount: int | None = None,
        direction: Direction | str = Direction.credit,
    ) -> StatementLine:
        """Make `statement(business_date)` wrong; returns the affected line as the file shows it.

        See `sandbox_statement.make_fault` for the kinds and their defaults. The bank's books
        do not change: only the published file is wrong.
        """
        with self._lock:
            self._settle_due(clock.now())
            reference = f"{self.reference_prefix}X{business_date:%Y%m%d}{self._state.seq + 1:08d}"
            fault = make_fault(
                kind, business_date, self._true_lines(*_utc_bounds(business_date)),
                extra_reference=reference, order_id=order_id, amount=amount, direction=direction,
            )  # fmt: skip
            self._state.seq += 1
            self._state.faults.setdefault(business_date.isoformat(), []).append(fault)
            return fault.line

    # -- time passing --------------------------------------------------------------------------

    def next_event_at(self) -> dt.datetime | None:
        """When the next settlement or push is due (None: nothing left to do)."""
        with self._lock:
            times = [o.settle_at for o in self._state.orders.values() if o.state == OrderState.processing]
            times += [p.due_at for p in self._state.pushes]
            return min(times, default=None)

    def deliver_due(self, now: dt.datetime | None = None) -> list[DeliveryAttempt]:
        """Settle every order due by `now`, then push every notification due (one attempt each).

        The callback runs outside the bank's lock, so it may call `query` or `submit`.
        """
        now = now or clock.now()
        if now.tzinfo is None:
            raise InvalidInput("deliver_due needs an aware datetime")
        with self._lock:
            self._settle_due(now)
            due = sorted((p for p in self._state.pushes if p.due_at <= now), key=self._push_order)
            self._state.pushes = [p for p in self._state.pushes if p.due_at > now]
            callback = self._callback
            messages = [self._sign(p.order_id, now) for p in due]
        answers = [self._call(callback, body, header) for body, header in messages]
        attempts = []
        with self._lock:
            for push, (status, error) in zip(due, answers):
                delivered = _is_2xx(status)
                abandoned = not delivered and push.attempt >= len(RETRY_SCHEDULE)
                if not delivered and not abandoned:
                    retry = now + RETRY_SCHEDULE[push.attempt]
                    self._state.pushes.append(Push(push.order_id, push.copy, push.attempt + 1, retry))
                code = status if isinstance(status, int) and not isinstance(status, bool) else None
                attempts.append(
                    DeliveryAttempt(push.order_id, push.copy, push.attempt, now, code, error, delivered, abandoned)
                )
            self._attempts.extend(attempts)
        return attempts

    def run_until(self, manual_clock: clock.ManualClock, until: dt.datetime | None = None) -> list[DeliveryAttempt]:
        """Jump `manual_clock` from event to event, delivering, up to `until` (None: until nothing is left)."""
        attempts: list[DeliveryAttempt] = []
        while (next_at := self.next_event_at()) is not None and (until is None or next_at <= until):
            if next_at > manual_clock.now():
                manual_clock.set(next_at)
            attempts += self.deliver_due()
        if until is not None and manual_clock.now() < until:
            manual_clock.set(until)
        return attempts

    @property
    def attempts(self) -> list[DeliveryAttempt]:
        """Every delivery attempt made by this object (not persisted)."""
        with self._lock:
            return list(self._attempts)

    def _push_order(self, push: Push) -> tuple[dt.datetime, int, int]:
        return push.due_at, self._state.orders[push.order_id].seq, push.copy

    def _sign(self, order_id: str, now: dt.datetime) -> tuple[bytes, str]:
        o = self._state.orders[order_id]
        assert o.settled_at is not None
        notification = BankNotification(
            o.order_id, o.bank_reference, o.kind, o.state, o.failure_reason, o.amount, CURRENCY,
            o.settled_at, now, secrets.token_hex(16),
        )  # fmt: skip
        return sign_notification(notification, self._key, self._key_id)

    @staticmethod
    def _call(callback: NotificationCallback | None, body: bytes, header: str) -> tuple[object, str | None]:
        if callback is None:
            return None, "no callback registered"
        try:
            return callback(body, header), None
        except Exception as error:  # noqa: BLE001 - the far side of an HTTP call: any failure is a 5xx to the bank
            return None, f"{type(error).__name__}: {error}"

    def _settle_due(self, now: dt.datetime) -> None:
        due = [o for o in self._state.orders.values() if o.state == OrderState.processing and o.settle_at <= now]
        for order in sorted(due, key=lambda o: (o.settle_at, o.seq)):
            self._settle(order)

    def _settle(self, order: Order) -> None:
        """Decide and book one order at its settlement time, and schedule its pushes."""
        state = self._state
        card = state.cards.get(order.card_key)
        if card is None and self.auto_open_balance is not None:
            balance = self.auto_open_balance
            card = state.cards[order.card_key] = Card(balance, False, order.masked_card, balance)
        reason = None
        if order.script.decline:
            reason = FailureReason.declined
        elif card is None:
            reason = FailureReason.invalid_card
        elif card.frozen:
            reason = FailureReason.card_frozen
        elif order.kind == OrderKind.debit_card and card.balance < order.amount:
            reason = FailureReason.insufficient_funds
        elif order.kind == OrderKind.credit_card and state.reserve < order.amount:
            reason = FailureReason.reserve_insufficient
        if reason is None:
            assert card is not None
            into_reserve = order.amount if order.kind == OrderKind.debit_card else -order.amount
            card.balance -= into_reserve
            state.reserve += into_reserve
            order.state = OrderState.succeeded
        else:
            order.state, order.failure_reason = OrderState.failed, reason
        order.settled_at = order.settle_at
        first = order.settled_at + order.script.notify_delay
        for copy in range(order.script.copies):
            state.pushes.append(Push(order.order_id, copy, 0, first + copy * order.script.duplicate_gap))

    # -- books ---------------------------------------------------------------------------------

    def orders(self) -> list[OrderStatus]:
        with self._lock:
            self._settle_due(clock.now())
            return [o.status() for o in sorted(self._state.orders.values(), key=lambda o: o.seq)]

    def books(self) -> Books:
        with self._lock:
            self._settle_due(clock.now())
            return self._state.books()

    def audit(self) -> list[str]:
        """Every way the bank's books fail to balance (empty when they do)."""
        with self._lock:
            self._settle_due(clock.now())
            return self._state.audit()

    # -- persistence ---------------------------------------------------------------------------

    def document(self) -> dict:
        """The whole state as `save` writes it."""
        with self._lock:
            return self._state.to_json(
                self.plan, reference_prefix=self.reference_prefix, auto_open_balance=self.auto_open_balance
            )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the whole state to a JSON file atomically (a temporary file, fsync, rename)."""
        document = self.document()
        target = Path(path)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        key: bytes | str,
        key_id: str = "k1",
        plan: FaultPlan | None = None,
        callback: NotificationCallback | None = None,
    ) -> SandboxBank:
        """A bank with the state saved at `path` (and the plan saved with it unless `plan` is given)."""
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
            raise InvalidInput(f"{path} is not a sandbox bank state of version {STATE_VERSION}")
        bank = cls(
            key,
            key_id=key_id,
            plan=plan or FaultPlan.from_json(document["plan"]),
            callback=callback,
            test_cards=False,
            auto_open_balance=document["auto_open_balance"],
            reference_prefix=document["reference_prefix"],
        )
        bank._state = BankState.from_json(document)
        return bank


class DeliveryPump:
    """Calls `bank.deliver_due()` every `interval` seconds in a background thread (a context manager).

    An error raised by `deliver_due` stops the pump and is raised again by `stop()`.
    """

    def __init__(self, bank: SandboxBank, interval: float = 1.0) -> None:
        if interval <= 0:
            raise InvalidInput("the interval must be positive")
        self.bank, self.interval = bank, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> DeliveryPump:
        if self._thread is not None:
            raise InvalidInput("the pump was already started")
        self._thread = threading.Thread(target=self._run, name="sandbox-bank-pump", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.bank.deliver_due()
            except BaseException as error:  # noqa: BLE001 - handed to stop()
                self.error = error
                return

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error

    def __enter__(self) -> DeliveryPump:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _booked_card(card_id: str) -> str:
    """How a booked order's card is filed: a digest of the platform's card id (the simulated market's are ids
    such as `card-1`, not numbers), so the state file holds nothing in clear."""
    return hashlib.sha256(b"puhui-sandbox-booked-card\x00" + card_id.encode()).hexdigest()
