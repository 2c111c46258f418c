"""The risk decision hook every payment passes before it posts (approve / challenge / review /
decline).

It starts with the rules the payment form itself knows (the payer must hold a wallet class; the
amount must be positive); the limits are counted atomically by `limits` in the same unit of work.
Risk control plugs in per database: `install(engine, check)` puts a fraud check (rules and model
over live window state, `puhui.risk.fraud.hook.FraudHook`) in front of every payment made on
that engine, and its decisions are recorded with the payment — or, for a decline, after it.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from puhui.payments.errors import PaymentDeclined, PaymentUnderReview


class Outcome(enum.StrEnum):
    """From mildest to strictest: `challenge` parks the payment for its payer's step-up (核身),
    `review` for a risk officer (人工审核)."""

    approve = "approve"
    challenge = "challenge"
    review = "review"
    decline = "decline"


@dataclass(frozen=True)
class PaymentContext:
    """What the client reports about where a payment comes from (used by fraud rules)."""

    device_id: str | None = None
    location: str | None = None
    # What another product knows about this payment's parties, e.g. insurance's "serial_returner" (恶意退货):
    # fraud rules of kind `product_signal` act on them.
    signals: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaymentRequest:
    kind: str  # p2p | qr_static | qr_dynamic
    payer_id: str
    payee_id: str
    amount: int  # fen
    tier: int | None
    device_id: str | None = None
    location: str | None = None
    at: int = 0  # UTC microseconds, from `puhui.clock`
    signals: tuple[str, ...] = ()  # from the context: other products' signals about the parties


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[str, ...] = field(default_factory=tuple)
    factor: str | None = None  # for a challenge: what the payer must give (sms, password); sms if none


Rule = Callable[[PaymentRequest], Decision | None]


def _payer_has_tier(p: PaymentRequest) -> Decision | None:
    if p.tier is None:
        return Decision(Outcome.decline, ("payer_unverified",))
    return None


def _positive(p: PaymentRequest) -> Decision | None:
    return Decision(Outcome.decline, ("amount_not_positive",)) if p.amount <= 0 else None


RULES: list[Rule] = [_positive, _payer_has_tier]


def decide(payment: PaymentRequest) -> Decision:
    """Run every rule; the strictest outcome wins (see `worst`), and every reason is kept."""
    decision = Decision(Outcome.approve)
    for rule in RULES:
        found = rule(payment)
        if found is not None and found.outcome != Outcome.approve:
            decision = worst(decision, found)
    return decision


PAYER_VISIBLE_REASONS = frozenset({"payer_unverified", "amount_not_positive"})
RISK_CONTROL = "risk_control"
"""The reason a payer is told for a decline whose reasons all stay with risk control: a decline never comes
with no reason at all."""


def enforce(decision: Decision, reference: str) -> None:
    """Refuse a declined payment. The payer is told only what they can act on; which fraud rule fired,
    its score and its weights stay with risk control (the decision log, under `reference`), or a
    fraudster would learn how to pass: such a decline names only `risk_control`."""
    if decision.outcome == Outcome.decline:
        told = [r for r in decision.reasons if r in PAYER_VISIBLE_REASONS] or [RISK_CONTROL]
        detail = (
            f"the payment was declined by risk control and moved no money; quote {reference} to customer service"
            if told == [RISK_CONTROL]
            else ", ".join(told)
        )
        raise PaymentDeclined(detail, reasons=told, reference=reference)
    if decision.outcome == Outcome.review:
        raise PaymentUnderReview("the payment needs a manual review", reference=reference)


class FraudCheck(Protocol):
    """What payments needs of a fraud check: an assessment with a `decision`, and a way to record it."""

    def assess(self, request: PaymentRequest, connection: Any = None) -> Any: ...

    def record(self, uow: Any, request: PaymentRequest, assessment: Any, payment_ref: str | None = None) -> Any: ...


_CHECKS: weakref.WeakKeyDictionary[Engine, FraudCheck] = weakref.WeakKeyDictionary()


def install(engine: Engine, check: FraudCheck) -> None:
    _CHECKS[engine] = check


def uninstall(engine: Engine) -> None:
    _CHECKS.pop(engine, None)


def check_for(engine: Engine) -> FraudCheck | None:
    return _CHECKS.get(engine)


def worst(a: Decision, b: Decision) -> Decision:
    """Both decisions' reasons; decline beats review beats challenge beats approve."""
    order = {Outcome.approve: 0, Outcome.challenge: 1, Outcome.review: 2, Outcome.decline: 3}
    outcome = a.outcome if order[a.outcome] >= order[b.outcome] else b.outcome
    return Decision(outcome, a.reasons + b.reasons, a.factor or b.factor)
