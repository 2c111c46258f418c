"""The sandbox bank's state: its cards, orders, pending pushes and statement faults; its books
and their audit; and the JSON form of it all (for `SandboxBank.save` / `load`).

Cards are filed under a digest of the card number, so the state file holds no clear card numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from puhui import clock
from puhui.payments.bank.channel import (
    CURRENCY,
    FailureReason,
    OrderKind,
    OrderState,
    OrderStatus,
    check_card,
)
from puhui.payments.bank.sandbox.plan import FaultPlan, OrderScript
from puhui.payments.bank.sandbox.statement import InjectedFault
from puhui.payments.bank.statement import Direction, StatementLine

STATE_VERSION = 1


def card_key(card: str) -> str:
    """How the sandbox files a card: a digest, so its state file holds no clear card numbers."""
    return hashlib.sha256(b"puhui-sandbox-card\x00" + check_card(card, account=True).encode()).hexdigest()


@dataclass
class Card:
    balance: int
    frozen: bool
    masked: str
    funded: int  # money put on the card from outside the bank's books (opening, deposits)


@dataclass
class Order:
    order_id: str
    kind: OrderKind
    card_key: str
    masked_card: str
    amount: int
    created_at: dt.datetime
    bank_reference: str
    accepted_at: dt.datetime
    seq: int
    script: OrderScript
    state: OrderState = OrderState.processing
    failure_reason: FailureReason | None = None
    settled_at: dt.datetime | None = None

    @property
    def settle_at(self) -> dt.datetime:
        return self.accepted_at + self.script.processing

    def status(self) -> OrderStatus:
        return OrderStatus(
            self.order_id, self.bank_reference, self.kind, self.amount, CURRENCY, self.state,
            self.failure_reason, self.accepted_at, self.settled_at,
        )  # fmt: skip

    def statement_line(self) -> StatementLine:
        assert self.settled_at is not None and self.state == OrderState.succeeded
        direction = Direction.credit if self.kind == OrderKind.debit_card else Direction.debit
        return StatementLine(
            self.bank_reference, self.order_id, direction, self.amount, CURRENCY,
            clock.china_date(self.settled_at), self.settled_at,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["script"] = self.script.to_json()
        for name in ("created_at", "accepted_at", "settled_at"):
            document[name] = None if document[name] is None else clock.to_micros(document[name])
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Order:
        values = dict(document)
        values["kind"] = OrderKind(values["kind"])
        values["state"] = OrderState(values["state"])
        reason = values["failure_reason"]
        values["failure_reason"] = None if reason is None else FailureReason(reason)
        values["script"] = OrderScript.from_json(values["script"])
        for name in ("created_at", "accepted_at", "settled_at"):
            values[name] = None if values[name] is None else clock.from_micros(values[name])
        return cls(**values)


@dataclass
class Push:
    """The next delivery attempt of one copy of an order's notification."""

    order_id: str
    copy: int
    attempt: int
    due_at: dt.datetime


@dataclass(frozen=True)
class DeliveryAttempt:
    order_id: str
    copy: int
    attempt: int  # 0 for the first try of a copy
    at: dt.datetime
    status: int | None  # what the callback answered (None: it raised, or no callback registered)
    error: str | None
    delivered: bool  # the callback answered 2xx
    abandoned: bool  # the last retry failed; no more pushes of this copy


@dataclass(frozen=True)
class Books:
    reserve_balance: int
    reserve_funded: int  # put on the reserve account from outside (the platform's own deposits)
    reserve_credits: int  # = total debited from cards by succeeded top-ups
    reserve_debits: int  # = total paid out to cards
    card_balances: int
    cards_funded: int


@dataclass(frozen=True)
class ReserveAdjustment:
    """Money the platform put on (or took off) its reserve account other than through an order, and why."""

    at: dt.datetime
    amount: int  # fen; negative: taken off
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"at": clock.to_micros(self.at), "amount": self.amount, "reason": self.reason}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ReserveAdjustment:
        return cls(clock.from_micros(document["at"]), document["amount"], document["reason"])


@dataclass
class BankState:
    cards: dict[str, Card] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    pushes: list[Push] = field(default_factory=list)
    faults: dict[str, list[InjectedFault]] = field(default_factory=dict)  # business date → faults
    reserve: int = 0
    reserve_funded: int = 0
    seq: int = 0
    adjustments: list[ReserveAdjustment] = field(default_factory=list)  # of `reserve_funded`, with reasons
    ledger_mark: int | None = None  # the platform's ledger position the reserve was last aligned to (`align_reserve`)

    def books(self) -> Books:
        done = [o for o in self.orders.values() if o.state == OrderState.succeeded]
        return Books(
            reserve_balance=self.reserve,
            reserve_funded=self.reserve_funded,
            reserve_credits=sum(o.amount for o in done if o.kind == OrderKind.debit_card),
            reserve_debits=sum(o.amount for o in done if o.kind == OrderKind.credit_card),
            card_balances=sum(c.balance for c in self.cards.values()),
            cards_funded=sum(c.funded for c in self.cards.values()),
        )

    def audit(self) -> list[str]:
        """Every way the books fail to balance (empty when they do)."""
        problems: list[str] = []
        books = self.books()
        if books.reserve_balance != books.reserve_funded + books.reserve_credits - books.reserve_debits:
            problems.append(f"reserve {books.reserve_balance} != funded + credits - debits")
        if books.card_balances + books.reserve_balance != books.cards_funded + books.reserve_funded:
            problems.append("money was created or destroyed: cards + reserve != everything funded")
        if self.reserve < 0:
            problems.append(f"the reserve account is overdrawn: {self.reserve}")
        moved: dict[str, int] = {}
        for o in self.orders.values():
            if o.state == OrderState.succeeded:
                moved[o.card_key] = moved.get(o.card_key, 0) + (
                    o.amount if o.kind == OrderKind.credit_card else -o.amount
                )
            if (o.state != OrderState.processing) != (o.settled_at is not None):
                problems.append(f"order {o.order_id}: settled time and state disagree")
            if (o.state == OrderState.failed) != (o.failure_reason is not None):
                problems.append(f"order {o.order_id}: failure reason and state disagree")
        for key, card in self.cards.items():
            if card.balance != card.funded + moved.get(key, 0):
                problems.append(f"card {card.masked}: balance {card.balance} != funded + movements")
            if card.balance < 0:
                problems.append(f"card {card.masked} is overdrawn")
        if set(moved) - set(self.cards):
            problems.append("money moved on a card the bank does not hold")
        return problems

    def to_json(self, plan: FaultPlan, **settings: Any) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            **settings,
            "plan": plan.to_json(),
            "reserve": self.reserve,
            "reserve_funded": self.reserve_funded,
            "seq": self.seq,
            "cards": {k: asdict(c) for k, c in self.cards.items()},
            "orders": [o.to_json() for o in self.orders.values()],
            "pushes": [{**asdict(p), "due_at": clock.to_micros(p.due_at)} for p in self.pushes],
            "faults": {d: [f.to_json() for f in fs] for d, fs in self.faults.items()},
            "reserve_adjustments": [a.to_json() for a in self.adjustments],
            "ledger_mark": self.ledger_mark,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> BankState:
        return cls(
            cards={k: Card(**c) for k, c in document["cards"].items()},
            orders={o["order_id"]: Order.from_json(o) for o in document["orders"]},
            pushes=[Push(**{**p, "due_at": clock.from_micros(p["due_at"])}) for p in document["pushes"]],
            faults={d: [InjectedFault.from_json(f) for f in fs] for d, fs in document["faults"].items()},
            reserve=document["reserve"],
            reserve_funded=document["reserve_funded"],
            seq=document["seq"],
            adjustments=[ReserveAdjustment.from_json(a) for a in document.get("reserve_adjustments", [])],
            ledger_mark=document.get("ledger_mark"),
        )
