"""Flows (资金流) read from outbox events, and the sliding windows of flows per party.

An event becomes one leg per party it moves money for: a P2P transfer is an `out` leg for the
payer and an `in` leg for the payee; a QR payment the same with the merchant as a non-natural
person; a refund the reverse; a posted bank order a leg between the customer and the bank; a
disbursed loan an `in` leg on channel `loan` from its lenders (joined by "+"). A payment from a
reported device is also an `out` leg of the pseudo-party `dev:<device>` (windows per device).
Events may carry `channel: "cash"` and `cross_border: true` (other channels' events, simulator).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from puhui.events.outbox import Event
from puhui.money import parse_minor

BANK = "bank"
PLATFORM = "platform"  # the platform as a lender (自营放款)
DEVICE = "device"  # the party kind of a device's window: only device rules look at it
LENDER = "lender"  # the counterparty kind of a loan's proceeds


@dataclass(frozen=True)
class Flow:
    position: int
    leg: int
    party: str
    counterparty: str | None
    direction: str  # in | out
    amount: int  # fen
    channel: str  # transfer | cash | loan
    party_kind: str  # natural | non_natural | device
    cross_border: bool
    at: int  # event commit time, UTC micros
    ref: str
    counterparty_kind: str = "natural"  # natural | non_natural | bank | lender

    def as_row(self) -> dict:
        return dict(self.__dict__)

    @property
    def lenders(self) -> frozenset[str]:
        """For a loan's leg: who lent (the platform, a funding partner, or both)."""
        return frozenset((self.counterparty or "").split("+")) if self.channel == "loan" else frozenset()

    @property
    def is_payment(self) -> bool:
        """Money between parties or with a bank: every flow but a loan's proceeds."""
        return self.channel != "loan"

    def evidence(self) -> dict:
        return {
            "ref": self.ref,
            "position": self.position,
            "direction": self.direction,
            "counterparty": self.counterparty,
            "amount": self.amount,
            "at": self.at,
        }


Leg = tuple[str, str | None, str, str, str, str]  # party, counterparty, direction, party kind, its kind, ref


def _legs(event: Event) -> list[Leg]:
    """Each leg of an event that moves money."""
    p = event.payload
    if event.type == "p2p.completed":
        return [
            (p["payer_id"], p["payee_id"], "out", "natural", "natural", p["id"]),
            (p["payee_id"], p["payer_id"], "in", "natural", "natural", p["id"]),
            *_device_leg(p),
        ]
    if event.type == "payment.succeeded":
        pay = p["payment"]
        return [
            (pay["payer_id"], pay["payee_id"], "out", "natural", "non_natural", pay["id"]),
            (pay["payee_id"], pay["payer_id"], "in", "non_natural", "natural", pay["id"]),
            *_device_leg(pay),
        ]
    if event.type == "lending.loan_disbursed":
        return [(p["customer_id"], "+".join(p.get("lenders") or [PLATFORM]), "in", "natural", LENDER, p["id"])]
    if event.type == "bank_order.posted" and event.key:
        direction = "in" if p.get("kind") in ("debit_card", "top_up") else "out"  # top-up: card → wallet
        return [(event.key, BANK, direction, "natural", BANK, p["order_id"])]
    return []


def device_party(device_id: str) -> str:
    """The pseudo-party whose window holds a device's payments (设备维度), within the id length."""
    if len(device_id) <= 60:
        return f"dev:{device_id}"
    return "dev:" + hashlib.sha256(device_id.encode()).hexdigest()[:40]


def _device_leg(payment: dict) -> list[Leg]:
    """A payment made from a reported device is also a leg of that device's window (payer as counterparty)."""
    device = payment.get("device_id")
    return [(device_party(device), payment["payer_id"], "out", DEVICE, "natural", payment["id"])] if device else []


def _amount_of(event: Event) -> str | None:
    p = event.payload
    if event.type == "payment.succeeded":
        return p["payment"]["amount"]
    if event.type == "lending.loan_disbursed":
        return p["principal"]
    return p.get("amount")


def flows_of(event: Event) -> list[Flow]:
    legs = _legs(event)
    amount = _amount_of(event)
    if not legs or amount is None:
        return []
    fen = parse_minor(str(amount), 2)
    channel = (
        "loan"
        if event.type == "lending.loan_disbursed"
        else ("cash" if event.payload.get("channel") == "cash" else "transfer")
    )
    cross = bool(event.payload.get("cross_border", False))
    return [
        Flow(event.position, i, party, other, direction, fen, channel, kind, cross, event.created_at, ref, other_kind)
        for i, (party, other, direction, kind, other_kind, ref) in enumerate(legs)
    ]


class Windows:
    """Each party's flows in time order, kept back to `horizon` microseconds before the newest."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon
        self._by_party: dict[str, deque[Flow]] = defaultdict(deque)
        self.newest = 0

    def add(self, flow: Flow) -> None:
        self._by_party[flow.party].append(flow)
        self.newest = max(self.newest, flow.at)

    def extend(self, flows: Iterable[Flow]) -> None:
        for flow in flows:
            self.add(flow)

    def parties(self) -> Iterator[tuple[str, deque[Flow]]]:
        """Each party with flows in the window, and those flows."""
        return ((party, flows) for party, flows in self._by_party.items() if flows)

    def history(self, party: str) -> tuple[Flow, ...]:
        """The party's flows within the horizon, oldest first (pruning older ones)."""
        flows = self._by_party.get(party)
        if not flows:
            return ()
        floor = self.newest - self.horizon
        while flows and flows[0].at < floor:
            flows.popleft()
        return tuple(flows)

    def recent(self, party: str, since: int) -> Iterator[Flow]:
        """The party's flows at or after `since`, oldest first."""
        return (f for f in self.history(party) if f.at >= since)

    def cutoff(self) -> int:
        return self.newest - self.horizon
