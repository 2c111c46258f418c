"""How the sandbox bank misbehaves: a seeded `FaultPlan` and the special test cards.

Each order's behaviour is an `OrderScript`, either given explicitly for its order id or drawn
from the plan's probabilities with a random generator seeded by `(seed, order id)`, so an order
behaves the same however many other orders came before it, and a run is reproducible.

- processing: time from acceptance to settlement (the order's final state at the bank)
- notify_delay: time from settlement to the first push of the notification (hours when "late")
- copies: how many times the notification is pushed (0: lost, only a query finds the outcome;
  2 or more: duplicates, `duplicate_gap` apart). Each copy is retried with back-off until the
  platform's callback answers 2xx.
- decline: the bank refuses the order whatever the balances (`FailureReason.declined`)
- ack_lost: the first `submit` records the order but raises `ChannelUnavailable`, as when the
  acceptance times out on the way back; submitting the same order again returns its acknowledgement.

Test cards (测试卡) behave deterministically, whatever the plan draws: `TEST_CARDS` gives each its
opening balance, whether it is frozen, a one-line behaviour and the script fields it forces
(`TestCard.script`). `docs/sandbox-bank.md` and the README's table describe them; a test keeps
the README's table in step with this module.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from puhui.payments.errors import InvalidFaultPlan

CARD_RICH = "6222020000000000018"  # 1,000,000.00 CNY
CARD_LOW = "6222020000000000026"  # 100.00 CNY
CARD_EMPTY = "6222020000000000034"  # 0.00 CNY: every top-up fails insufficient_funds
CARD_FROZEN = "6222020000000000042"  # frozen: every order fails card_frozen
CARD_MERCHANT = "6222020000000000059"  # 0.00 CNY, receives payouts
CARD_DECLINED = "6222020000000001016"  # the bank declines every order
CARD_SLOW = "6222020000000001024"  # settles 10 minutes after acceptance instead of seconds
CARD_SILENT = "6222020000000001032"  # settles but never notifies: only a query finds the outcome
CARD_TWICE = "6222020000000001040"  # every notification is pushed twice, a minute apart

SLOW_PROCESSING = dt.timedelta(minutes=10)
TWICE_GAP = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class TestCard:
    """A sandbox test card (测试卡): its opening balance (fen), frozen flag and forced behaviour."""

    __test__ = False  # not a pytest test class

    name: str
    balance: int
    frozen: bool
    behaviour: str  # one line, as the README's table shows it
    processing: dt.timedelta | None = None  # forced settlement delay
    copies: int | None = None  # forced number of notification copies (0: never notifies)
    duplicate_gap: dt.timedelta | None = None
    decline: bool = False

    def script(self, drawn: OrderScript) -> OrderScript:
        """The order's script with this card's forced fields over the plan's draw."""
        forced: dict[str, Any] = {"decline": drawn.decline or self.decline}
        for name in ("processing", "copies", "duplicate_gap"):
            if getattr(self, name) is not None:
                forced[name] = getattr(self, name)
        return replace(drawn, **forced)


TEST_CARDS: dict[str, TestCard] = {
    CARD_RICH: TestCard("rich", 1_000_000_00, False, "succeeds"),
    CARD_LOW: TestCard("low", 100_00, False, "a top-up above what is left on the card fails `insufficient_funds`"),
    CARD_EMPTY: TestCard("empty", 0, False, "every top-up fails `insufficient_funds`"),
    CARD_FROZEN: TestCard("frozen", 500_00, True, "frozen: every top-up and withdrawal fails `card_frozen`"),
    CARD_MERCHANT: TestCard(
        "merchant", 0, False, "holds nothing, so a top-up fails `insufficient_funds`; receives withdrawals and payouts"
    ),
    CARD_DECLINED: TestCard(
        "declined", 1_000_000_00, False, "the bank declines every order: fails `declined`", decline=True
    ),
    CARD_SLOW: TestCard(
        "slow",
        1_000_000_00,
        False,
        "delayed: settles 10 minutes after the order (not after the bank's usual delay), then notifies",
        processing=SLOW_PROCESSING,
    ),
    CARD_SILENT: TestCard(
        "silent", 1_000_000_00, False, "never notifies: succeeds at the bank; the sweeper's query finishes it", copies=0
    ),
    CARD_TWICE: TestCard(
        "twice", 1_000_000_00, False, "notifies twice, a minute apart: credited once", copies=2, duplicate_gap=TWICE_GAP
    ),
}
# Any other valid card number opens on first use in the server's sandbox bank with this balance.
OTHER_CARD_BALANCE = 1_000_000_00

# Back-off between delivery attempts of one notification copy (as WeChat Pay documents for its
# callbacks: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h); after the last, the bank gives up.
RETRY_SCHEDULE: tuple[dt.timedelta, ...] = tuple(
    dt.timedelta(seconds=s)
    for s in (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
)

Span = tuple[dt.timedelta, dt.timedelta]


@dataclass(frozen=True)
class OrderScript:
    processing: dt.timedelta = dt.timedelta(seconds=2)
    notify_delay: dt.timedelta = dt.timedelta(seconds=1)
    copies: int = 1
    duplicate_gap: dt.timedelta = dt.timedelta(seconds=30)
    decline: bool = False
    ack_lost: bool = False

    def __post_init__(self) -> None:
        zero = dt.timedelta(0)
        if min(self.processing, self.notify_delay, self.duplicate_gap) < zero:
            raise InvalidFaultPlan("script durations must not be negative")
        if isinstance(self.copies, bool) or not isinstance(self.copies, int) or not 0 <= self.copies <= 10:
            raise InvalidFaultPlan("copies must be an integer from 0 to 10")

    @property
    def lost(self) -> bool:
        return self.copies == 0

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        for name in ("processing", "notify_delay", "duplicate_gap"):
            document[name] = _micros(document[name])
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> OrderScript:
        values = dict(document)
        for name in ("processing", "notify_delay", "duplicate_gap"):
            values[name] = dt.timedelta(microseconds=values[name])
        return cls(**values)


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _span(a: float, b: float) -> Span:
    return dt.timedelta(seconds=a), dt.timedelta(seconds=b)


@dataclass(frozen=True)
class FaultPlan:
    seed: int = 0
    p_decline: float = 0.0
    p_late: float = 0.0
    p_lost: float = 0.0
    p_duplicate: float = 0.0
    p_ack_lost: float = 0.0
    processing: Span = _span(1, 30)
    notify_delay: Span = _span(0, 5)
    late_delay: Span = _span(3600, 6 * 3600)
    duplicate_gap: Span = _span(1, 600)
    max_copies: int = 3
    scripts: Mapping[str, OrderScript] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("p_decline", "p_late", "p_lost", "p_duplicate", "p_ack_lost"):
            p = getattr(self, name)
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
                raise InvalidFaultPlan(f"{name} must be a probability between 0 and 1")
        for name in ("processing", "notify_delay", "late_delay", "duplicate_gap"):
            low, high = getattr(self, name)
            if not dt.timedelta(0) <= low <= high:
                raise InvalidFaultPlan(f"{name} must be a span 0 <= low <= high")
        if not 2 <= self.max_copies <= 10:
            raise InvalidFaultPlan("max_copies must be from 2 to 10")
        object.__setattr__(self, "scripts", dict(self.scripts))

    @classmethod
    def reliable(cls, seed: int = 0) -> FaultPlan:
        """Every notification arrives once, within seconds."""
        return cls(seed=seed)

    @classmethod
    def chaotic(cls, seed: int = 0) -> FaultPlan:
        """A bad day at the bank: declines, late, lost and duplicated notifications, lost acknowledgements."""
        return cls(seed=seed, p_decline=0.1, p_late=0.2, p_lost=0.15, p_duplicate=0.3, p_ack_lost=0.1)

    def with_script(self, order_id: str, script: OrderScript) -> FaultPlan:
        return FaultPlan(**{**self._fields(), "scripts": {**self.scripts, order_id: script}})

    def script_for(self, order_id: str) -> OrderScript:
        if order_id in self.scripts:
            return self.scripts[order_id]
        rng = random.Random(f"{self.seed}:{order_id}")
        # Always draw every value in the same order, so one probability never shifts another's draws.
        decline = rng.random() < self.p_decline
        late = rng.random() < self.p_late
        lost = rng.random() < self.p_lost
        duplicate = rng.random() < self.p_duplicate
        ack_lost = rng.random() < self.p_ack_lost
        processing = _draw(rng, self.processing)
        delay = _draw(rng, self.late_delay) if late else _draw(rng, self.notify_delay)
        gap = _draw(rng, self.duplicate_gap)
        extra = rng.randint(2, self.max_copies)
        copies = 0 if lost else (extra if duplicate else 1)
        return OrderScript(processing, delay, copies, gap, decline, ack_lost)

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def to_json(self) -> dict[str, Any]:
        document = self._fields()
        for name in ("processing", "notify_delay", "late_delay", "duplicate_gap"):
            document[name] = [_micros(d) for d in document[name]]
        document["scripts"] = {k: v.to_json() for k, v in self.scripts.items()}
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> FaultPlan:
        values = dict(document)
        for name in ("processing", "notify_delay", "late_delay", "duplicate_gap"):
            low, high = values[name]
            values[name] = (dt.timedelta(microseconds=low), dt.timedelta(microseconds=high))
        values["scripts"] = {k: OrderScript.from_json(v) for k, v in values["scripts"].items()}
        return cls(**values)


def _draw(rng: random.Random, span: Span) -> dt.timedelta:
    low, high = (_micros(d) // 1000 for d in span)
    return dt.timedelta(milliseconds=rng.randint(low, high))


def markdown_card_table() -> str:
    """The Markdown table of the test cards, as the README and `docs/sandbox-bank.md` show it (a test
    keeps both equal to this)."""
    from puhui.money import format_minor

    rows = ["| Card number | Opening balance (CNY) | Behaviour |", "|---|---:|---|"]
    rows += [
        f"| `{number}` | {format_minor(card.balance, 2)} | {card.behaviour} |" for number, card in TEST_CARDS.items()
    ]
    rows.append(f"| any other valid card | {format_minor(OTHER_CARD_BALANCE, 2)} | succeeds (opened on first use) |")
    return "\n".join(rows)
