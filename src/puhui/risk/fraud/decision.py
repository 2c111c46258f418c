"""Fraud actions by a cost model (按损失定处置): allow, challenge (核身), hold (人工审核) or decline.

Each action a has a share of fraud it stops, `catch[a]`, and a friction it puts on an honest
customer, `friction[a]` (their time, a lost purchase, an analyst's review), in fen. For a payment of
`amount` fen with fraud probability p the expected cost of a is

    cost(a) = p × amount × (1 − catch[a]) + (1 − p) × friction[a]

and the cheapest action wins, the stronger on a tie. With catch and friction both non-decreasing
from allow to decline, cost(stronger) − cost(weaker) falls as p or the amount rises, so a higher
probability or amount never gives a weaker action (Topkis). The arithmetic is exact (fractions);
the costs are data (`risk/data/fraud_costs.json`, overridable per platform through `costs_from`).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from typing import Any

from puhui.money import format_minor, parse_minor
from puhui.risk.errors import MalformedCosts


class Action(enum.StrEnum):
    """From weakest to strongest; the order is the enum's."""

    allow = "allow"
    challenge = "challenge"
    hold = "hold"
    decline = "decline"

    @property
    def rank(self) -> int:
        return ORDER.index(self)


ORDER = tuple(Action)


@dataclass(frozen=True)
class Costs:
    """Per action: the share of fraud it stops and the honest customer's friction in fen."""

    catch: dict[Action, Fraction]
    friction: dict[Action, int]

    def __post_init__(self) -> None:
        if set(self.catch) != set(ORDER) or set(self.friction) != set(ORDER):
            raise MalformedCosts("give catch and friction for allow, challenge, hold and decline")
        if self.catch[Action.allow] != 0 or self.friction[Action.allow] != 0:
            raise MalformedCosts("allowing stops no fraud and costs an honest customer nothing")
        for weaker, stronger in zip(ORDER, ORDER[1:]):
            if not 0 <= self.catch[weaker] <= self.catch[stronger] <= 1:
                raise MalformedCosts(f"catch must be within 0-1 and not fall from {weaker} to {stronger}")
            if not 0 <= self.friction[weaker] <= self.friction[stronger]:
                raise MalformedCosts(f"friction must not be negative nor fall from {weaker} to {stronger}")


def costs_from(data: Any) -> Costs:
    """Costs given as JSON: {"catch": {action: "0.95"}, "friction": {action: "2.00" CNY}}."""
    if not isinstance(data, dict) or set(data) != {"catch", "friction"}:
        raise MalformedCosts("costs are an object with catch and friction")
    catch, friction = data["catch"], data["friction"]
    if not isinstance(catch, dict) or not isinstance(friction, dict):
        raise MalformedCosts("catch and friction are objects keyed by action")
    try:
        return Costs(
            {Action(k): Fraction(Decimal(str(v))) for k, v in catch.items()},
            {Action(k): parse_minor(str(v), 2) for k, v in friction.items()},
        )
    except (ValueError, ArithmeticError) as error:
        raise MalformedCosts(f"costs: {error}") from error


def default_costs() -> Costs:
    text = resources.files("puhui.risk").joinpath("data/fraud_costs.json").read_text(encoding="utf-8")
    return costs_from(json.loads(text))


@dataclass(frozen=True)
class Choice:
    action: Action
    expected_loss: Fraction  # fen: p × amount, what allowing would lose on average
    costs: dict[Action, Fraction]  # fen, expected cost of each action
    reasons: tuple[str, ...]


def expected_cost(action: Action, probability: Fraction, amount: int, costs: Costs) -> Fraction:
    loss = probability * amount * (1 - costs.catch[action])
    return loss + (1 - probability) * costs.friction[action]


def _cny(fen: Fraction) -> str:
    return format_minor(round(fen), 2)


def choose(
    probability: Fraction | Decimal | float,
    amount: int,
    costs: Costs,
    floor: Action = Action.allow,
) -> Choice:
    """The cheapest action for a payment of `amount` fen with fraud probability `probability`, never
    weaker than `floor` (what a hard rule demands, e.g. a block-listed payee is declined)."""
    p = Fraction(probability)
    if not 0 <= p <= 1:
        raise MalformedCosts(f"probability must be within 0-1, not {probability}")
    if amount < 0:
        raise MalformedCosts("amount must not be negative")
    table = {a: expected_cost(a, p, amount, costs) for a in ORDER}
    best = min(ORDER[floor.rank :], key=lambda a: (table[a], -a.rank))
    loss = p * amount
    reasons = [
        f"cost_model.{best}: expected loss {_cny(loss)} CNY "
        f"(p {Decimal(p.numerator) / Decimal(p.denominator):.4f} x {_cny(Fraction(amount))} CNY)"
    ]
    if best.rank == floor.rank and floor is not Action.allow:
        reasons.append(f"cost_model.floor: a rule requires at least {floor}")
    return Choice(best, loss, table, tuple(reasons))


HARD_RULES = frozenset({"blocked_payee", "blocked_payer"})  # a listed party is declined whatever it costs


def rules_tripped(reasons: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The rule ids named in a decision's reasons ("<rule id>: <what tripped>")."""
    return tuple(r.split(":", 1)[0] for r in reasons if ":" in r)


def risk_index(score: int | None, reasons: tuple[str, ...] | list[str]) -> int:
    """One number ordering the engine's evidence for calibration: the score (0-1000, the highest of
    the model rules', the takeover score's when it is on) first, then the other rules that tripped
    (at most 3), so a higher score never ranks lower and, at one score, neither do more rules."""
    rules = [r for r in rules_tripped(reasons) if r not in MODEL_RULES and not r.startswith("cost_model")]
    return (score or 0) * 4 + min(len(rules), 3)


MODEL_RULES = frozenset({"fraud_score", "takeover_score"})


def floor_of(reasons: tuple[str, ...] | list[str]) -> Action:
    return Action.decline if HARD_RULES.intersection(rules_tripped(reasons)) else Action.allow
