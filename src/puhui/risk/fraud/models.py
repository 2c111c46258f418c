"""Fraud rules as data (反欺诈规则): kinds, their parameters, validation, and the default rule set.

A rule is `id, version, kind, params, action, enabled, description`. Each kind has a pydantic model
of its parameters; a rule that does not fit is a `MalformedRule`, and one naming a parameter or a
model feature that does not exist is an `UnknownFeature` (both 422). Amounts in params are CNY
decimal strings; they are held as integer fen once validated.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass, field
from decimal import InvalidOperation
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from puhui.money import parse_minor
from puhui.risk.errors import MalformedRule, UnknownFeature

RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")
MAX_WINDOW_SECONDS = 7 * 86_400  # the state keeps 7 days of individual payments
DAY = 86_400


class Kind(enum.StrEnum):
    velocity = "velocity"
    amount_above_norm = "amount_above_norm"
    new_device = "new_device"
    new_location = "new_location"
    blocklist = "blocklist"
    fan_in_new_account = "fan_in_new_account"
    night_burst = "night_burst"
    model_score = "model_score"
    product_signal = "product_signal"


class Action(enum.StrEnum):
    review = "review"
    decline = "decline"


# -- parameters of each kind -----------------------------------------------------------------------

Window = Field(gt=0, le=MAX_WINDOW_SECONDS, description="seconds")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _cny(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        fen = parse_minor(value, 2)
    except Exception as error:
        raise ValueError(f"not a CNY amount: {value!r}") from error
    if fen <= 0:
        raise ValueError("amount must be greater than zero")
    return value


class VelocityParams(_Params):
    """More than `max_count` payments, or more than `max_amount` CNY, by the payer within the window
    (the payment being decided counts)."""

    window_seconds: int = Window
    max_count: int | None = Field(None, ge=1)
    max_amount: str | None = None

    @field_validator("max_amount")
    @classmethod
    def _amount(cls, value: str | None) -> str | None:
        return _cny(value)

    @model_validator(mode="after")
    def _one_limit(self) -> VelocityParams:
        if self.max_count is None and self.max_amount is None:
            raise ValueError("give max_count, max_amount or both")
        return self


class NormParams(_Params):
    """Amount above `multiple` × the payer's mean payment over the last 91 days (13 weekly buckets),
    once the payer has at least `min_history` payments there."""

    multiple: float = Field(gt=1, le=1000)
    min_history: int = Field(5, ge=1)
    min_amount: str = "0.01"

    @field_validator("min_amount")
    @classmethod
    def _amount(cls, value: str) -> str | None:
        return _cny(value)


class NoveltyParams(_Params):
    """Device (or location) not seen for this payer within `lookback_days`, for a payer with at
    least `min_history` payments in the last 91 days."""

    lookback_days: int = Field(gt=0, le=365)
    min_history: int = Field(3, ge=1)


class Party(enum.StrEnum):
    payer = "payer"
    payee = "payee"
    either = "either"


class BlocklistParams(_Params):
    """The payee, the payer or either on the named block list (黑名单)."""

    list: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.\-]+$")
    party: Party = Party.payee

    @field_validator("party", mode="before")
    @classmethod
    def _party(cls, value: Any) -> Any:
        return Party(value) if isinstance(value, str) and value in Party.__members__ else value


class FanInParams(_Params):
    """A payee first seen less than `account_age_days` ago receiving from at least `min_payers`
    distinct payers within the window (the payer being decided counts)."""

    account_age_days: int = Field(gt=0, le=30)
    min_payers: int = Field(ge=2)
    window_seconds: int = Window


class NightParams(_Params):
    """At least `min_count` payments by the payer between `start_hour` and `end_hour` China time
    (Asia/Shanghai) within the window, the payment being decided among them and itself at night."""

    min_count: int = Field(ge=2)
    window_seconds: int = Window
    start_hour: int = Field(0, ge=0, le=23)
    end_hour: int = Field(5, ge=1, le=24)

    @model_validator(mode="after")
    def _hours(self) -> NightParams:
        if self.end_hour <= self.start_hour:
            raise ValueError("end_hour must be after start_hour")
        return self


# The model score's features: name -> (centre, scale, what it measures). A feature's standardised
# value is (x - centre) / scale; the centres and scales are fixed, documented guesses of a typical
# customer, not fitted, so the score stays explainable and does not drift.
FEATURES: dict[str, tuple[float, float, str]] = {
    "amount_to_norm": (0.0, 1.0, "ln(amount / payer's 91-day mean amount); 0 without history"),
    "payer_count_1h": (1.0, 2.0, "payer's payments in the last hour"),
    "payer_history": (2.5, 1.0, "ln(1 + payer's payments in the last 91 days)"),
    "new_device": (0.0, 1.0, "1 if the device was not seen for the payer in 30 days"),
    "new_location": (0.0, 1.0, "1 if the location was not seen for the payer in 30 days"),
    "night": (0.0, 1.0, "1 if the payment is between 00:00 and 05:00 China time"),
    "payee_age_days": (3.0, 1.0, "ln(1 + days since the payee was first seen)"),
    "payee_fan_in_24h": (1.0, 3.0, "distinct payers in the last 24 hours into a payee younger than 30 days"),
    # Account-takeover evidence (账户盗用), each relative to the payer's own history:
    "device_new_to_payer": (0.0, 1.0, "1 if the device is new (or first used today) for a payer with another one"),
    "location_new_to_payer": (0.0, 1.0, "1 if the place is new (or first used today) for a payer with another one"),
    "first_payee": (0.0, 1.0, "1 if a payer with history has not paid this payee in 91 days"),
    "card_bound_24h": (0.0, 1.0, "1 if a bank card was bound to the payer in the last 24 hours"),
    "balance_share": (0.0, 1.0, "the amount's share of the payer's available balance (0-1; 0 unknown)"),
    "challenge_failed_24h": (
        0.0,
        1.0,
        "1 if the payer failed a step-up challenge in 24 hours and pays from a device new to it",
    ),
    "password_changed_24h": (0.0, 1.0, "1 if the payer's password was changed in the last 24 hours (改密)"),
}
DEFAULT_WEIGHTS: dict[str, float] = {
    "amount_to_norm": 0.9,
    "payer_count_1h": 0.5,
    "payer_history": -0.6,
    "new_device": 0.8,
    "new_location": 0.5,
    "night": 0.4,
    "payee_age_days": -0.5,
    "payee_fan_in_24h": 0.7,
}
# The takeover score's weights (documented guesses, like the fraud score's): a new phone of a known payer
# weighs most, and each further sign (a new place, a first payee, the night, a new card, draining the
# wallet, a failed challenge, a password changed in the last day) lifts it; none alone reaches the default `review_at`.
TAKEOVER_WEIGHTS: dict[str, float] = {
    "device_new_to_payer": 2.5,
    "location_new_to_payer": 1.5,
    "first_payee": 1.0,
    "night": 1.0,
    "card_bound_24h": 2.0,
    "balance_share": 2.0,
    "challenge_failed_24h": 4.0,
    "password_changed_24h": 2.0,
}


class ScoreParams(_Params):
    """Score = round(1000 × logistic(bias + Σ weight × standardised feature)), 0-1000; review at or
    above `review_at`, decline at or above `decline_at` (capped by the rule's action). Features
    left out of `weights` weigh nothing; without `weights` the documented `DEFAULT_WEIGHTS` apply."""

    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    bias: float = Field(-4.5, ge=-20, le=20)
    review_at: int = Field(700, ge=1, le=1000)
    decline_at: int = Field(900, ge=1, le=1000)

    @model_validator(mode="after")
    def _thresholds(self) -> ScoreParams:
        if self.decline_at < self.review_at:
            raise ValueError("decline_at must not be below review_at")
        if any(not math.isfinite(w) or abs(w) > 20 for w in self.weights.values()):
            raise ValueError("weights must be finite and within ±20")
        return self


class SignalParams(_Params):
    """Any of the named signals another product raised about the payment's parties (e.g. insurance's
    `serial_returner`, `merchant_collusion` for return-shipping cover, 退货运费险骗保)."""

    signals: list[Annotated[str, Field(pattern=r"^[a-z0-9_.\-]{1,64}$")]] = Field(min_length=1, max_length=16)


PARAMS: dict[Kind, type[_Params]] = {
    Kind.velocity: VelocityParams,
    Kind.amount_above_norm: NormParams,
    Kind.new_device: NoveltyParams,
    Kind.new_location: NoveltyParams,
    Kind.blocklist: BlocklistParams,
    Kind.fan_in_new_account: FanInParams,
    Kind.night_burst: NightParams,
    Kind.model_score: ScoreParams,
    Kind.product_signal: SignalParams,
}


# -- the rule --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One version of a rule. `limits` holds the parameters ready for the engine (amounts in fen,
    windows in microseconds) so a decision does no parsing."""

    rule_id: str
    kind: Kind
    params: dict[str, Any]
    action: Action
    enabled: bool = True
    description: str = ""
    version: int = 1
    limits: Any = field(default=None, compare=False, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "version": self.version,
            "kind": self.kind.value,
            "params": self.params,
            "action": self.action.value,
            "enabled": self.enabled,
            "description": self.description,
        }


def _fail(error: ValidationError, rule_id: str) -> None:
    problems = error.errors(include_url=False)
    unknown = [".".join(map(str, p["loc"])) for p in problems if p["type"] == "extra_forbidden"]
    if unknown:
        raise UnknownFeature(f"rule {rule_id!r} refers to unknown parameters: {', '.join(unknown)}", fields=unknown)
    details = [f"{'.'.join(map(str, p['loc'])) or 'params'}: {p['msg']}" for p in problems]
    raise MalformedRule(f"rule {rule_id!r}: " + "; ".join(details), errors=details)


def rule_from(data: Any, version: int = 1) -> Rule:
    """Validate a rule given as a JSON object (`rule_id, kind, params, action, enabled, description`)."""
    if not isinstance(data, dict):
        raise MalformedRule("a rule is a JSON object")
    extra = set(data) - {"rule_id", "kind", "params", "action", "enabled", "description", "version"}
    if extra:
        raise MalformedRule(f"unknown rule fields: {', '.join(sorted(extra))}")
    rule_id = data.get("rule_id")
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise MalformedRule("rule_id must be 1-64 of a-z, 0-9, _ . - starting with a letter or digit")
    kind, action = data.get("kind"), data.get("action")
    if not isinstance(kind, str) or kind not in Kind.__members__:
        raise MalformedRule(f"unknown kind {kind!r}; one of {', '.join(Kind)}")
    if not isinstance(action, str) or action not in Action.__members__:
        raise MalformedRule(f"action must be review or decline, not {action!r}")
    enabled, description = data.get("enabled", True), data.get("description", "")
    if not isinstance(enabled, bool):
        raise MalformedRule("enabled must be true or false")
    if not isinstance(description, str) or len(description) > 500:
        raise MalformedRule("description must be a string of at most 500 characters")
    params = data.get("params")
    if not isinstance(params, dict):
        raise MalformedRule("params must be a JSON object")
    model = PARAMS[Kind(kind)]
    try:
        parsed = model.model_validate(params)
    except ValidationError as error:
        _fail(error, rule_id)
    if isinstance(parsed, ScoreParams):
        missing = sorted(set(parsed.weights) - set(FEATURES))
        if missing:
            raise UnknownFeature(
                f"rule {rule_id!r}: no model feature {', '.join(missing)}; known: {', '.join(FEATURES)}", fields=missing
            )
    clean = parsed.model_dump(mode="json", exclude_none=True)
    return Rule(rule_id, Kind(kind), clean, Action(action), enabled, description, version, _limits(parsed))


def _fen(value: str) -> int:
    try:
        return parse_minor(value, 2)
    except (InvalidOperation, ValueError) as error:  # pragma: no cover - validated before
        raise MalformedRule(str(error)) from error


def _limits(p: _Params) -> Any:
    """The engine's view of the parameters: plain tuples of integers (fen, microseconds)."""
    m = 1_000_000
    if isinstance(p, VelocityParams):
        return (p.window_seconds * m, p.max_count, _fen(p.max_amount) if p.max_amount else None)
    if isinstance(p, NormParams):
        return (round(p.multiple * 1000), p.min_history, _fen(p.min_amount))
    if isinstance(p, NoveltyParams):
        return (p.lookback_days * DAY * m, p.min_history)
    if isinstance(p, BlocklistParams):
        return (p.list, p.party.value)
    if isinstance(p, FanInParams):
        return (p.account_age_days * DAY * m, p.min_payers, p.window_seconds * m)
    if isinstance(p, NightParams):
        return (p.min_count, p.window_seconds * m, p.start_hour, p.end_hour)
    if isinstance(p, SignalParams):
        return frozenset(p.signals)
    if isinstance(p, ScoreParams):
        names = tuple(FEATURES)
        weights = tuple(p.weights.get(n, 0.0) for n in names)
        return (weights, p.bias, p.review_at, p.decline_at)
    raise AssertionError(p)  # pragma: no cover


def default_rules() -> list[Rule]:
    """The rule set a new platform starts with (seeded by `store.seed_defaults`)."""
    specs = [
        (
            "velocity_10m",
            "velocity",
            {"window_seconds": 600, "max_count": 10},
            "review",
            "more than 10 payments in 10 minutes",
        ),
        (
            "velocity_24h_amount",
            "velocity",
            {"window_seconds": DAY, "max_amount": "50000.00"},
            "review",
            "more than 50,000 CNY paid out in 24 hours",
        ),
        (
            "amount_10x_norm",
            "amount_above_norm",
            {"multiple": 10, "min_history": 5, "min_amount": "500.00"},
            "review",
            "amount more than 10 times the payer's 91-day mean (at least 500 CNY)",
        ),
        (
            "new_device",
            "new_device",
            {"lookback_days": 30, "min_history": 3},
            "review",
            "device not seen for this payer in 30 days",
        ),
        (
            "new_location",
            "new_location",
            {"lookback_days": 30, "min_history": 3},
            "review",
            "location not seen for this payer in 30 days",
        ),
        ("blocked_payee", "blocklist", {"list": "payees", "party": "payee"}, "decline", "payee on the block list"),
        ("blocked_payer", "blocklist", {"list": "payers", "party": "payer"}, "decline", "payer on the block list"),
        (
            "fan_in_new_account",
            "fan_in_new_account",
            {"account_age_days": 7, "min_payers": 10, "window_seconds": DAY},
            "review",
            "an account younger than 7 days receiving from 10 or more payers in 24 hours",
        ),
        (
            "night_burst",
            "night_burst",
            {"min_count": 5, "window_seconds": 3 * 3600},
            "review",
            "5 or more payments between 00:00 and 05:00 China time within 3 hours",
        ),
        (
            "return_shipping_abuse",
            "product_signal",
            {"signals": ["serial_returner", "merchant_collusion"]},
            "review",
            "a checkout with return-shipping cover by a serial returner or at a merchant whose returns look staged",
        ),
        (
            "fraud_score",
            "model_score",
            {"bias": -4.5, "review_at": 700, "decline_at": 900},
            "decline",
            "logistic fraud score over standardised window features",
        ),
    ]
    made = [rule_from({"rule_id": i, "kind": k, "params": p, "action": a, "description": d}) for i, k, p, a, d in specs]
    return [*made, takeover_rule()]


def takeover_rule(enabled: bool = False) -> Rule:
    """The account-takeover score (盗用评分): evidence for the cost policy (`hook.Policy`), which turns it
    into allow / challenge / hold / decline. Stored switched off, so a platform without the policy keeps
    the rules' own actions; the policy's installer switches it on."""
    params = {"weights": TAKEOVER_WEIGHTS, "bias": -5.0, "review_at": 500, "decline_at": 1000}
    description = "account takeover: a known payer's new device, place, payee, card, night, drained wallet"
    data = {"rule_id": "takeover_score", "kind": "model_score", "params": params, "action": "review"}
    return rule_from({**data, "enabled": enabled, "description": description})
