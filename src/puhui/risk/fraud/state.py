"""Per-customer window state (窗口状态) for fraud decisions, kept in memory and fed by the events.

Sized for hundreds of thousands of customers, so each customer holds only:
- `recent`: its outgoing payments of the last 7 days as (at, amount, payee) tuples (velocity,
  night bursts), trimmed when it pays again;
- `buckets`: 13 weekly buckets of outgoing count and sum in fen, a ring in one `array('q')`,
  with running totals (the 91-day norm);
- `devices` / `locations`: last-seen time of each device and location it paid from, `firsts` the
  first-seen time of each (keyed `d:<device>`, `l:<location>`: a device new today is still new);
- `first_seen`: the first time any event named it (payer, payee, or a bank top-up/withdrawal);
- `payers`: while it is younger than 30 days, the last time each distinct payer paid it (fan-in);
- `payees`: the last time it paid each payee (a first payment to a payee, 首次收款方);
- `credentials_at`: the last time a bank card was bound to it (绑卡), `password_at`: the last time its
  password was changed (改密), `failed_at`: the last time it failed a step-up challenge (核身失败) —
  account-takeover evidence.
Times are UTC microseconds; amounts are integer fen. Refunds are ignored: a burst of payments that
is later refunded was still a burst, and the norm is about what the customer tries to pay.
A decision reads the state without changing it; the caller holds `lock` around reads and writes.
"""

from __future__ import annotations

import threading
from array import array
from bisect import insort

from puhui.payments.risk_hook import PaymentRequest

SECOND = 1_000_000
DAY = 86_400 * SECOND
WEEK = 7 * DAY
RECENT = 7 * DAY  # longest window a velocity, fan-in or night rule may use
WEEKS = 13  # the norm covers 13 weeks = 91 days
YOUNG = 30 * DAY  # fan-in is tracked for payees younger than this


class Customer:
    """One customer's windows, as payer and as payee."""

    __slots__ = (
        "buckets",
        "count91",
        "devices",
        "first_seen",
        "firsts",
        "latest_week",
        "locations",
        "credentials_at",
        "failed_at",
        "password_at",
        "payees",
        "payers",
        "recent",
        "sum91",
    )

    def __init__(self, first_seen: int) -> None:
        self.first_seen = first_seen
        self.recent: list[tuple[int, int, str]] = []
        self.buckets = array("q", bytes(16 * WEEKS))  # counts in [0, 13), sums in [13, 26)
        self.latest_week = -1
        self.count91 = 0
        self.sum91 = 0
        self.devices: dict[str, int] | None = None
        self.locations: dict[str, int] | None = None
        self.payers: dict[str, int] | None = {}
        self.payees: dict[str, int] | None = None
        self.firsts: dict[str, int] | None = None
        self.credentials_at = -1
        self.password_at = -1
        self.failed_at = -1

    # -- writing ---------------------------------------------------------------------------------

    def paid(self, at: int, amount: int, payee: str, device: str | None, location: str | None) -> None:
        recent = self.recent
        if not recent or recent[-1][0] <= at:
            recent.append((at, amount, payee))
        else:  # events may arrive slightly out of time order (commit order is not start order)
            insort(recent, (at, amount, payee))
        if recent[0][0] <= recent[-1][0] - RECENT:
            cut = recent[-1][0] - RECENT
            keep = next((i for i, item in enumerate(recent) if item[0] > cut), len(recent))
            del recent[:keep]
        self._count(at // WEEK, amount)
        if self.payees is None:
            self.payees = {}
        if self.payees.get(payee, -1) < at:
            self.payees[payee] = at
        if device is not None:
            if self.devices is None:
                self.devices = {}
            if self.devices.get(device, -1) < at:
                self.devices[device] = at
            self._first("d:" + device, at)
        if location is not None:
            if self.locations is None:
                self.locations = {}
            if self.locations.get(location, -1) < at:
                self.locations[location] = at
            self._first("l:" + location, at)

    def _first(self, key: str, at: int) -> None:
        if self.firsts is None:
            self.firsts = {}
        if self.firsts.get(key, at + 1) > at:
            self.firsts[key] = at

    def _count(self, week: int, amount: int) -> None:
        buckets = self.buckets
        if week > self.latest_week:
            for w in range(max(self.latest_week + 1, week - WEEKS + 1), week + 1):
                slot = w % WEEKS
                self.count91 -= buckets[slot]
                self.sum91 -= buckets[WEEKS + slot]
                buckets[slot] = buckets[WEEKS + slot] = 0
            self.latest_week = week
        elif week <= self.latest_week - WEEKS:
            return  # older than the norm's window
        slot = week % WEEKS
        buckets[slot] += 1
        buckets[WEEKS + slot] += amount
        self.count91 += 1
        self.sum91 += amount

    def received(self, at: int, payer: str) -> None:
        payers = self.payers
        if payers is None:
            return
        if at - self.first_seen >= YOUNG:
            self.payers = None  # grown up: fan-in rules no longer look at it
            return
        if payers.get(payer, -1) < at:
            payers[payer] = at

    # -- reading (no changes) ----------------------------------------------------------------------

    def norm(self, at: int) -> tuple[int, int]:
        """(count, sum in fen) of outgoing payments in the 13 weeks up to `at`'s week."""
        week = at // WEEK
        if week == self.latest_week:
            return self.count91, self.sum91
        if week < self.latest_week or self.latest_week < 0:
            return (self.count91, self.sum91) if self.latest_week >= 0 else (0, 0)
        count = total = 0
        buckets = self.buckets
        for w in range(max(week - WEEKS + 1, self.latest_week - WEEKS + 1), self.latest_week + 1):
            slot = w % WEEKS
            count += buckets[slot]
            total += buckets[WEEKS + slot]
        return count, total

    def window(self, since: int) -> tuple[int, int]:
        """(count, sum in fen) of outgoing payments after `since` (exclusive)."""
        count = total = 0
        for at, amount, _ in reversed(self.recent):
            if at <= since:
                break
            count += 1
            total += amount
        return count, total

    def first_used(self, key: str) -> int | None:
        """When the device (`d:…`) or place (`l:…`) was first used by this payer, None if never."""
        return self.firsts.get(key) if self.firsts is not None else None

    def paid_before(self, payee: str, since: int) -> bool:
        """Whether it paid `payee` after `since`."""
        return self.payees is not None and self.payees.get(payee, -1) > since

    def distinct_payers(self, since: int) -> int:
        if not self.payers:
            return 0
        return sum(1 for last in self.payers.values() if last > since)


class WindowState:
    """Every customer's windows, and the outbox position they reflect."""

    def __init__(self) -> None:
        self.customers: dict[str, Customer] = {}
        self.position = 0
        self.identity_position = 0
        self.lock = threading.RLock()

    def get(self, customer_id: str) -> Customer | None:
        return self.customers.get(customer_id)

    def seen(self, customer_id: str, at: int) -> Customer:
        """The customer's windows, created (first seen at `at`) if it is new."""
        found = self.customers.get(customer_id)
        if found is None:
            found = self.customers[customer_id] = Customer(at)
        elif at < found.first_seen:
            found.first_seen = at
        return found

    def observe(self, payment: PaymentRequest) -> None:
        """Take a completed payment into the windows of its payer and its payee."""
        at = payment.at
        self.seen(payment.payer_id, at).paid(at, payment.amount, payment.payee_id, payment.device_id, payment.location)
        self.seen(payment.payee_id, at).received(at, payment.payer_id)

    def credentials_changed(self, customer_id: str, at: int) -> None:
        """A bank card bound to the customer (绑卡): a takeover often binds the fraudster's card first."""
        found = self.seen(customer_id, at)
        found.credentials_at = max(found.credentials_at, at)

    def password_changed(self, customer_id: str, at: int) -> None:
        """The customer's password was changed (改密): a takeover often changes it to lock the owner out."""
        found = self.seen(customer_id, at)
        found.password_at = max(found.password_at, at)

    def challenge_failed(self, customer_id: str, at: int) -> None:
        """The customer's payer failed a step-up challenge (核身失败)."""
        found = self.seen(customer_id, at)
        found.failed_at = max(found.failed_at, at)

    def __len__(self) -> int:
        return len(self.customers)
