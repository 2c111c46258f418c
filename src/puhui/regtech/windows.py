"""Flows (资金流) read from outbox events, and the sliding windows of flows per party.

One flow model over every product: an event that moves a party's value becomes one leg per party,
with its channel and the kind of its counterparty (对手类型):
- `person` / `merchant`: a P2P transfer (out for the payer, in for the payee), a QR payment or its
  refund (the merchant's leg has the payer as a person);
- `own_card`: a top-up from (充值) or a withdrawal to (提现) the customer's own bank card;
- `own_product`: the party's own money moving between its wallet and its own holdings: money-market
  fund subscriptions and (fast) redemptions, fund orders, insurance premiums and claim pay-outs,
  securities cash (银证转账) — value the party still owns, so rules look through it;
- `lender`: loan proceeds (in, from its lenders joined by "+") and repayments (out).
A payment from a reported device is also an `out` leg of the pseudo-party `dev:<device>`.
A bank order's party is a customer (自然人) or a merchant (非自然人: its settlement payouts and its top-ups
of refund funds); the event does not say which, so the caller passes the kinds it looked up
(`puhui.identity.queries.party_types`, the function the large-value report uses); a party it does not
know stays natural.
Events may carry `channel: "cash"` and `cross_border: true` (other channels' events, simulator).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

from puhui.events.outbox import Event
from puhui.money import parse_minor

BANK = "bank"
PLATFORM = "platform"  # the platform as a lender (自营放款)
DEVICE = "device"  # the party kind of a device's window: only device rules look at it
LENDER = "lender"  # the counterparty kind of a loan's proceeds and repayments
PERSON, MERCHANT, OWN_CARD, OWN_PRODUCT = "person", "merchant", "own_card", "own_product"
PAYMENT_CHANNELS = frozenset({"transfer", "cash"})
THIRD_PARTY = frozenset({PERSON, MERCHANT})
ONWARD = frozenset({PERSON, OWN_CARD, BANK})  # where money goes on to someone else or off the platform
LEGACY_KINDS = {"natural": PERSON, "non_natural": MERCHANT, "bank": OWN_CARD}  # rows stored before 0036


class Flow(NamedTuple):
    """One leg of an event for one party: a tuple, the cheapest value to make a hundred thousand times a second."""

    position: int
    leg: int
    party: str
    counterparty: str | None
    direction: str  # in | out
    amount: int  # fen
    channel: str  # transfer | cash | loan | mmf | fund | policy (insurance) | broker (securities cash); ≤ 8
    party_kind: str  # natural | non_natural | device
    cross_border: bool
    at: int  # event commit time, UTC micros
    ref: str
    counterparty_kind: str = PERSON  # person | merchant | bank | lender | own_card | own_product
    purpose: str | None = None  # a P2P transfer's declared purpose (用途), the payer's word

    def as_row(self) -> dict:
        return self._asdict()

    @property
    def lenders(self) -> frozenset[str]:
        """For a loan's leg: who lent (the platform, a funding partner, or both)."""
        return frozenset((self.counterparty or "").split("+")) if self.channel == "loan" else frozenset()

    @property
    def is_payment(self) -> bool:
        """Money between parties or with a bank: not a loan, nor the party's own products."""
        return self.channel in PAYMENT_CHANNELS

    @property
    def third_party_in(self) -> bool:
        """Someone else's money arriving (a person's transfer), not the party's own card or products."""
        return self.direction == "in" and self.counterparty_kind == PERSON and self.channel in PAYMENT_CHANNELS

    @property
    def onward(self) -> bool:
        """Money leaving to another person or off the platform (not a purchase, not into own products)."""
        return self.direction == "out" and self.counterparty_kind in ONWARD and self.channel in PAYMENT_CHANNELS

    def evidence(self) -> dict:
        return {
            "ref": self.ref,
            "position": self.position,
            "direction": self.direction,
            "counterparty": self.counterparty,
            "amount": self.amount,
            "at": self.at,
            "channel": self.channel,
            **({"purpose": self.purpose} if self.purpose else {}),
        }


Leg = tuple[str, str | None, str, str, str, str]  # party, counterparty, direction, party kind, its kind, ref

# own-product events: type → (party field, direction, channel, counterparty, amount field, ref field);
# fund orders name their customer in the event's key
_OWN: dict[str, tuple[str, str, str, str, str, str]] = {
    "mmf.subscribe": ("", "out", "mmf", "mmf", "amount", "id"),
    "mmf.redeem": ("", "in", "mmf", "mmf", "amount", "id"),
    "mmf.fast_redeem": ("", "in", "mmf", "mmf", "amount", "id"),
    "fund.purchase": ("", "out", "fund", "fund", "amount", "id"),
    "fund.redeem": ("", "in", "fund", "fund", "amount", "id"),
    "insurance.policy_bought": ("customer_id", "out", "policy", "insurer", "premium", "policy_id"),
    "insurance.policy_renewed": ("customer_id", "out", "policy", "insurer", "premium", "policy_id"),
    "insurance.claim_paid": ("customer_id", "in", "policy", "insurer", "benefit", "claim_id"),
    "insurance.return_shipping.policy_bought": ("customer_id", "out", "policy", "insurer", "premium", "id"),
    "insurance.return_shipping.claim_paid": ("customer_id", "in", "policy", "insurer", "amount", "id"),
}
_CHANNEL = {t: spec[2] for t, spec in _OWN.items()} | {
    "lending.loan_disbursed": "loan",
    "lending.line_drawn": "loan",
    "lending.repayment_received": "loan",
    "securities.cash_transferred": "broker",
}


NATURAL = "natural"
NO_KINDS: Mapping[str, str] = {}


def _legs(event: Event, kinds: Mapping[str, str]) -> list[Leg]:
    """Each leg of an event that moves money; `kinds` the party kinds of bank orders' parties."""
    p, kind = event.payload, event.type
    if kind == "p2p.completed":
        return [
            (p["payer_id"], p["payee_id"], "out", "natural", PERSON, p["id"]),
            (p["payee_id"], p["payer_id"], "in", "natural", PERSON, p["id"]),
            *_device_leg(p),
        ]
    if kind == "payment.succeeded":
        pay = p["payment"]
        return [
            (pay["payer_id"], pay["payee_id"], "out", "natural", MERCHANT, pay["id"]),
            (pay["payee_id"], pay["payer_id"], "in", "non_natural", PERSON, pay["id"]),
            *_device_leg(pay),
        ]
    if kind in ("lending.loan_disbursed", "lending.line_drawn"):
        lenders = "+".join(p.get("lenders") or [PLATFORM])
        return [(p["customer_id"], lenders, "in", "natural", LENDER, p["id"])]
    if kind == "lending.repayment_received":
        return [(p["customer_id"], PLATFORM, "out", "natural", LENDER, p["id"])]
    if kind == "bank_order.posted" and event.key:
        direction = "in" if p.get("kind") in ("debit_card", "top_up") else "out"  # top-up: card → wallet
        kind = kinds.get(event.key, NATURAL)  # a merchant's settlement payout or top-up is non-natural
        return [(event.key, BANK, direction, kind, OWN_CARD, p["order_id"])]
    if kind == "securities.cash_transferred":
        direction = "out" if p["direction"] == "in" else "in"  # "in": into the brokerage, out of the wallet
        return [(p["customer_id"], "securities", direction, "natural", OWN_PRODUCT, event.key or "")]
    own = _OWN.get(kind)
    party = (p.get(own[0]) if own[0] else event.key) if own is not None else None
    if own is not None and party:
        return [(party, own[3], own[1], "natural", OWN_PRODUCT, str(p.get(own[5]) or event.key))]
    return []


def bank_order_parties(events: Iterable[Event]) -> set[str]:
    """The parties of the events' bank orders: whose kind (customer or merchant) `flows_of` needs."""
    return {e.key for e in events if e.type == "bank_order.posted" and e.key}


def device_party(device_id: str) -> str:
    """The pseudo-party whose window holds a device's payments (设备维度), within the id length."""
    if len(device_id) <= 60:
        return f"dev:{device_id}"
    return "dev:" + hashlib.sha256(device_id.encode()).hexdigest()[:40]


def _device_leg(payment: dict) -> list[Leg]:
    """A payment made from a reported device is also a leg of that device's window (payer as counterparty)."""
    device = payment.get("device_id")
    return [(device_party(device), payment["payer_id"], "out", DEVICE, PERSON, payment["id"])] if device else []


def _amount_of(event: Event) -> str | None:
    p = event.payload
    if event.type == "payment.succeeded":
        return p["payment"]["amount"]
    if event.type in ("lending.loan_disbursed", "lending.line_drawn"):
        return p["principal"]
    own = _OWN.get(event.type)
    return p.get(own[4] if own is not None else "amount")


FLOW_TYPES = frozenset(
    {"p2p.completed", "payment.succeeded", "bank_order.posted", "securities.cash_transferred"}
    | {"lending.loan_disbursed", "lending.line_drawn", "lending.repayment_received"}
    | set(_OWN)
)
"""The event types that can move a party's value: only their payloads need decoding."""

_PLAIN_FEN = re.compile(r"(\d{1,15})\.(\d\d)")


def fen_of(amount: object) -> int:
    """Integer fen of an amount; the usual "123.45" without going through Decimal."""
    if isinstance(amount, str) and (plain := _PLAIN_FEN.fullmatch(amount)):
        return int(plain[1]) * 100 + int(plain[2])
    return parse_minor(str(amount), 2)


def flows_of(event: Event, kinds: Mapping[str, str] = NO_KINDS) -> list[Flow]:
    """The event's flows; `kinds`: party id → natural | non_natural for the parties of bank orders
    (`bank_order_parties`), from `puhui.identity.queries.party_types`; a party not there is natural."""
    if event.type not in FLOW_TYPES:
        return []
    legs = _legs(event, kinds)
    if not legs:
        return []
    amount = _amount_of(event)
    if amount is None:
        return []
    fen = fen_of(amount)
    if fen <= 0:
        return []  # a fund redemption is valued in cash when confirmed; an order of units alone moves no cash yet
    channel = _CHANNEL.get(event.type) or ("cash" if event.payload.get("channel") == "cash" else "transfer")
    cross = bool(event.payload.get("cross_border", False))
    purpose = event.payload.get("purpose") if event.type == "p2p.completed" else None
    at = event.created_at
    return [
        Flow(event.position, i, party, other, direction, fen, channel, kind, cross, at, ref, other_kind, purpose)
        for i, (party, other, direction, kind, other_kind, ref) in enumerate(legs)
    ]


_NONE: deque[Flow] = deque(maxlen=0)


class Windows:
    """Each party's flows in time order, kept back to `horizon` microseconds before the newest."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon
        self._by_party: dict[str, deque[Flow]] = defaultdict(deque)
        self._payments: dict[tuple[str, str, str], int] = {}
        self.newest = 0

    def add(self, flow: Flow) -> None:
        self._by_party[flow.party].append(flow)
        if flow.at > self.newest:
            self.newest = flow.at
        if flow.channel in PAYMENT_CHANNELS:
            key = (flow.party, flow.direction, flow.counterparty_kind)
            self._payments[key] = self._payments.get(key, 0) + 1

    def payments(self, party: str, direction: str, counterparty_kind: str) -> int:
        """How many payments (transfer or cash) of the party's window go that way with that kind of
        counterparty: a count kept as flows come and go, never a scan."""
        return self._payments.get((party, direction, counterparty_kind), 0)

    def extend(self, flows: Iterable[Flow]) -> None:
        for flow in flows:
            self.add(flow)

    def parties(self) -> Iterator[tuple[str, deque[Flow]]]:
        """Each party with flows in the window, and those flows."""
        return ((party, flows) for party, flows in self._by_party.items() if flows)

    def history(self, party: str) -> deque[Flow]:
        """The party's flows within the horizon, oldest first (pruning older ones); the window itself,
        not a copy: read it, never change it."""
        flows = self._by_party.get(party)
        if not flows:
            return _NONE
        floor = self.newest - self.horizon
        while flows and flows[0].at < floor:
            gone = flows.popleft()
            if gone.channel in PAYMENT_CHANNELS:
                key = (party, gone.direction, gone.counterparty_kind)
                self._payments[key] -= 1
                if not self._payments[key]:
                    del self._payments[key]
        return flows

    def recent(self, party: str, since: int) -> Iterator[Flow]:
        """The party's flows at or after `since`, oldest first."""
        return (f for f in self.history(party) if f.at >= since)

    def cutoff(self) -> int:
        return self.newest - self.horizon
