"""Monitoring rules as data (监测规则): pydantic-validated, versioned, thresholds editable.

Each rule is one typology with its own parameters; amounts are decimal strings of CNY in JSON and
integer fen inside. A definition with an unknown field, a negative window or a bad amount is
refused with the stable code `rule_invalid`. Defaults follow PBOC Order 2016 No. 3 (大额交易报告).

The four large-value rules are the order's own (法定标准): a new version may lower a threshold (watch more) but
not raise it, and may neither switch the rule off nor change what it watches (its typology, channel, party kind
or border), else `rule_statutory`. Every stored version records who saved it and when; a version sent without a
description keeps the one in force.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter, ValidationError
from sqlalchemy import func, select

from puhui import clock
from puhui.regtech.errors import RuleInvalid, RuleNotFound, RuleStatutory
from puhui.regtech.tables import monitor_rules

DAY = 86_400
Plain = PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json")
"""A decimal in JSON as plain digits ("50000", "0.0000001"), never in exponent form ("5E+4", "1E-7")."""
Money = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2), Plain]
Ratio = Annotated[Decimal, Field(gt=0, le=1), Plain]
Window = Annotated[int, Field(ge=1, le=31 * DAY, description="seconds")]
PartyKind = Literal["natural", "non_natural", "any"]
Direction = Literal["in", "out", "any"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LargeValue(_Params):
    """大额交易: single or cumulated over a China day per party and direction."""

    typology: Literal["large_value"] = "large_value"
    channel: Literal["cash", "transfer"]
    party_kind: PartyKind = "any"
    cross_border: bool | None = None
    threshold: Money


class Structuring(_Params):
    """拆分交易: several payments each just under a threshold within a window."""

    typology: Literal["structuring"] = "structuring"
    threshold: Money
    low_ratio: Annotated[Decimal, Field(gt=0, lt=1), Plain] = Decimal("0.9")
    min_count: Annotated[int, Field(ge=2, le=1000)] = 3
    window_seconds: Window = DAY
    direction: Direction = "out"


class RapidInOut(_Params):
    """快进快出: money in, then most of it out within hours."""

    typology: Literal["rapid_in_out"] = "rapid_in_out"
    min_in: Money
    out_ratio: Ratio = Decimal("0.8")
    window_seconds: Window = 4 * 3600
    # Money parked in one's own products (the fund) within the window of arriving and paid on within the
    # window of leaving them is in-and-out as well, however long it stayed there (0: look no further).
    through_seconds: Annotated[int, Field(ge=0, le=31 * DAY)] = 7 * DAY


class Fan(_Params):
    """分散转入集中转出 / 集中转入分散转出: many distinct counterparties in (fan_in) or out (fan_out)."""

    typology: Literal["fan_in", "fan_out"]
    min_counterparties: Annotated[int, Field(ge=2, le=10_000)] = 10
    window_seconds: Window = DAY
    party_kind: PartyKind = "natural"
    counterparty_kind: PartyKind = "natural"  # persons, not shops paid or the bank (buying is no fan-out)
    min_total: Money | None = None  # at least this much in all (a whip-round for a gift is no laundering)
    min_onward_ratio: Ratio | None = None  # fan_in: this share of it passed on to persons or off the platform
    min_third_party_ratio: Ratio | None = None  # fan_out: this share of it came from other persons


class RoundAmount(_Params):
    """整数金额: repeated round amounts within a window."""

    typology: Literal["round_amount"] = "round_amount"
    unit: Money = Decimal(10000)
    min_amount: Money = Decimal(10000)
    min_count: Annotated[int, Field(ge=1, le=1000)] = 3
    window_seconds: Window = DAY


class NightBurst(_Params):
    """夜间集中交易: many outgoing payments between start_hour and end_hour China time."""

    typology: Literal["night_burst"] = "night_burst"
    start_hour: Annotated[int, Field(ge=0, le=23)] = 0
    end_hour: Annotated[int, Field(ge=1, le=24)] = 5
    min_count: Annotated[int, Field(ge=2, le=1000)] = 5
    window_seconds: Window = 3 * 3600


class Dormant(_Params):
    """长期不动户突然启用: an account quiet for `dormant_days` that moves at least `min_amount`
    (in and out together) within `window_seconds` of waking."""

    typology: Literal["dormant"] = "dormant"
    dormant_days: Annotated[int, Field(ge=1, le=3660)] = 30
    min_amount: Money = Decimal(50000)
    window_seconds: Window = DAY


class SelfFinancing(_Params):
    """自融: loan proceeds paid on to a related party (关联方) of the loan's lender within the window."""

    typology: Literal["self_financing"] = "self_financing"
    min_ratio: Ratio = Decimal("0.5")
    window_seconds: Window = 3 * DAY


class LoanLayering(_Params):
    """以贷洗钱 (loan layering): a loan of at least `min_loan` passed on to other persons (at least
    `onward_ratio` of it within `onward_seconds`, not to the lender's related parties: that is
    self-financing), or at least `repaid_ratio` of it repaid within `window_seconds` of the
    disbursement with money of which at least `onward_ratio` third parties paid in since."""

    typology: Literal["loan_layering"] = "loan_layering"
    min_loan: Money = Decimal(10000)
    onward_ratio: Ratio = Decimal("0.8")
    onward_seconds: Window = DAY
    repaid_ratio: Ratio = Decimal("0.5")
    window_seconds: Window = 7 * DAY


class FundPool(_Params):
    """资金池: a person collects from many payers and moves the money off the platform (to a bank
    account), outside the custodied reserve."""

    typology: Literal["fund_pool"] = "fund_pool"
    min_payers: Annotated[int, Field(ge=2, le=100_000)] = 20
    out_ratio: Ratio = Decimal("0.5")
    window_seconds: Window = 7 * DAY
    party_kind: PartyKind = "natural"


class SharedDevice(_Params):
    """一机多户: one device pays for many distinct accounts within the window (a device farm of mules)."""

    typology: Literal["shared_device"] = "shared_device"
    min_accounts: Annotated[int, Field(ge=2, le=10_000)] = 5
    window_seconds: Window = DAY


class MuleChain(_Params):
    """资金链 (钱骡链): money passed on hop after hop, each account forwarding at least `1 - max_decay` of
    what it received within `hop_seconds`; one alert names every account once `min_hops` accounts
    passed it through. The window is how long a chain may take from its first hop to its last."""

    typology: Literal["mule_chain"] = "mule_chain"
    min_amount: Money = Decimal(3000)
    max_decay: Annotated[Decimal, Field(ge=0, lt=1), Plain] = Decimal("0.1")
    hop_seconds: Window = 3 * DAY
    min_hops: Annotated[int, Field(ge=1, le=20)] = 3
    window_seconds: Window = 14 * DAY


Params = Annotated[
    LargeValue
    | Structuring
    | RapidInOut
    | Fan
    | RoundAmount
    | NightBurst
    | Dormant
    | SelfFinancing
    | LoanLayering
    | FundPool
    | SharedDevice
    | MuleChain,
    Field(discriminator="typology"),
]


class RuleIn(BaseModel):
    """A rule definition as a compliance officer sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    description: Annotated[str, Field(max_length=200)] | None = None  # left out: the version in force's
    params: Params


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,47}$")]
    version: Annotated[int, Field(ge=1)] = 1
    enabled: bool = True
    description: str = ""
    params: Params

    @property
    def typology(self) -> str:
        return self.params.typology

    @property
    def window_seconds(self) -> int:
        return getattr(self.params, "window_seconds", DAY + 3600)


_rule_in = TypeAdapter(RuleIn)


def parse_rule(code: str, body: object, version: int = 1, description: str = "") -> Rule:
    """Validate a definition (`description` when it gives none); any problem is `rule_invalid` with the first
    error's location."""
    try:
        given = _rule_in.validate_python(body).model_dump()
        given["description"] = description if given["description"] is None else given["description"]
        return Rule(code=code, version=version, **given)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuleInvalid(f"{where}: {first['msg']}" if where else first["msg"]) from None


@dataclass(frozen=True)
class RuleVersion:
    """A version of a rule with who saved it and when (µs); a default (版本 1 of the platform's) has neither."""

    rule: Rule
    changed_by: str | None = None
    changed_at: int | None = None


def rule_json(rule: Rule | RuleVersion) -> dict:
    version = rule if isinstance(rule, RuleVersion) else RuleVersion(rule)
    at = None if version.changed_at is None else clock.from_micros(version.changed_at).isoformat()
    return {**json.loads(version.rule.model_dump_json()), "changed_by": version.changed_by, "changed_at": at}


def _rule(code: str, description: str, params: dict) -> Rule:
    return parse_rule(code, {"description": description, "params": params})


DEFAULT_RULES: tuple[Rule, ...] = (
    _rule(
        "large_cash",
        "现金 ≥ 50,000 CNY, single or per day",
        {"typology": "large_value", "channel": "cash", "threshold": "50000"},
    ),
    _rule(
        "large_natural_domestic",
        "自然人境内转账 ≥ 500,000 CNY",
        {
            "typology": "large_value",
            "channel": "transfer",
            "party_kind": "natural",
            "cross_border": False,
            "threshold": "500000",
        },
    ),
    _rule(
        "large_natural_cross_border",
        "自然人跨境转账 ≥ 200,000 CNY",
        {
            "typology": "large_value",
            "channel": "transfer",
            "party_kind": "natural",
            "cross_border": True,
            "threshold": "200000",
        },
    ),
    _rule(
        "large_non_natural",
        "非自然人转账 ≥ 2,000,000 CNY",
        {"typology": "large_value", "channel": "transfer", "party_kind": "non_natural", "threshold": "2000000"},
    ),
    # Structuring and round amounts are spread over days to stay under the daily cumulation: a week.
    _rule(
        "structuring",
        "≥ 3 payments each 90-100% of 50,000 CNY within 7 days",
        {"typology": "structuring", "threshold": "50000", "window_seconds": 7 * DAY},
    ),
    _rule(
        "rapid_in_out",
        "快进快出: ≥ 80% of ≥ 10,000 CNY received goes out within 4 hours",
        {"typology": "rapid_in_out", "min_in": "10000"},
    ),
    # Fan-in is spread over days, and gifts or group buying stay or go to shops: only money passed on counts.
    _rule(
        "fan_in",
        "≥ 10 distinct payers into one person, ≥ 10,000 CNY within 7 days, half of it passed on to persons or a card",
        {"typology": "fan_in", "window_seconds": 7 * DAY, "min_total": "10000", "min_onward_ratio": "0.5"},
    ),
    # Payroll from one's own card is no fan-out: the money scattered must have come from other persons.
    _rule(
        "fan_out",
        "≥ 10 distinct payees from one person, ≥ 10,000 CNY within 2 days, half of the money from other persons",
        {"typology": "fan_out", "window_seconds": 2 * DAY, "min_total": "10000", "min_third_party_ratio": "0.5"},
    ),
    _rule(
        "mule_chain",
        "资金链: ≥ 3 accounts in a row each pass on ≥ 90% of ≥ 3,000 CNY within 3 days",
        {"typology": "mule_chain"},
    ),
    _rule(
        "round_amount",
        "≥ 3 round amounts (multiples of 10,000 CNY) within 7 days",
        {"typology": "round_amount", "window_seconds": 7 * DAY},
    ),
    _rule(
        "night_burst",
        "≥ 5 outgoing payments between 00:00 and 05:00 China time within 3 hours",
        {"typology": "night_burst"},
    ),
    _rule("dormant", "an account quiet ≥ 30 days moves ≥ 50,000 CNY within a day of waking", {"typology": "dormant"}),
    _rule(
        "self_financing",
        "自融: ≥ 50% of a loan paid to the lender's related parties within 3 days",
        {"typology": "self_financing"},
    ),
    _rule(
        "loan_layering",
        "以贷洗钱: ≥ 80% of a loan ≥ 10,000 CNY passed on to persons within a day, or half of it repaid within "
        "7 days with money third parties paid in",
        {"typology": "loan_layering"},
    ),
    _rule(
        "fund_pool",
        "资金池: ≥ 20 distinct payers in 7 days and ≥ 50% of it withdrawn to a bank account",
        {"typology": "fund_pool"},
    ),
    _rule(
        "shared_device",
        "一机多户: one device pays for ≥ 5 distinct accounts within a day",
        {"typology": "shared_device"},
    ),
)


# --- storage: one row per version; the defaults are version 1 until a row says otherwise ---


def current_rules(connection) -> list[Rule]:
    """The rules in force: each code's highest stored version, else its default."""
    return [version.rule for version in current_versions(connection)]


def current_versions(connection) -> list[RuleVersion]:
    """The rules in force with who saved each and when (a default: neither)."""
    rows = connection.execute(select(monitor_rules).order_by(monitor_rules.c.code, monitor_rules.c.version))
    stored = {r.code: _from_row(r) for r in rows}
    merged = {r.code: RuleVersion(r) for r in DEFAULT_RULES} | stored
    return [merged[c] for c in sorted(merged)]


def rule_history(connection, code: str) -> list[RuleVersion]:
    rows = connection.execute(
        select(monitor_rules).where(monitor_rules.c.code == code).order_by(monitor_rules.c.version)
    ).all()
    defaults = [RuleVersion(r) for r in DEFAULT_RULES if r.code == code]
    history = defaults + [_from_row(r) for r in rows if not (defaults and r.version == 1)]
    if not history:
        raise RuleNotFound(f"rule {code!r} does not exist")
    return history


STATUTORY: dict[str, LargeValue] = {
    r.code: r.params for r in DEFAULT_RULES if isinstance(r.params, LargeValue)
}  # PBOC Order 2016 No. 3's thresholds, by rule


def check_statutory(rule: Rule) -> None:
    """A statutory large-value rule (`STATUTORY`) stays on, watches what the order says, at most at its threshold."""
    floor = STATUTORY.get(rule.code)
    if floor is None:
        return
    params = rule.params
    scope = ("channel", "party_kind", "cross_border")
    if not rule.enabled:
        raise RuleStatutory(f"{rule.code} is a statutory large-value rule (大额交易报告标准): it cannot be disabled")
    if not isinstance(params, LargeValue) or any(getattr(params, k) != getattr(floor, k) for k in scope):
        watched = ", ".join(f"{k} {getattr(floor, k)}" for k in scope)
        raise RuleStatutory(f"{rule.code} is a statutory large-value rule: it watches large_value with {watched}")
    if params.threshold > floor.threshold:
        statutory = format(floor.threshold, "f")
        raise RuleStatutory(
            f"{rule.code}'s threshold may be lowered, not raised above the statutory {statutory} CNY",
            statutory_threshold=statutory,
        )


def save_rule(uow, code: str, body: object, actor: str) -> RuleVersion:
    """Store `body` as the next version of `code` (a new code starts at version 1 if no default): a statutory rule
    only within the order (`check_statutory`), a body with no description keeping the current one's."""
    parse_rule(code, body)
    top = uow.execute(select(func.max(monitor_rules.c.version)).where(monitor_rules.c.code == code)).scalar()
    base = 1 if any(r.code == code for r in DEFAULT_RULES) else 0
    current = next((v.rule for v in reversed(_history_or_empty(uow.connection, code))), None)
    described = current.description if current is not None else ""
    rule = parse_rule(code, body, version=max(int(top or 0), base) + 1, description=described)
    check_statutory(rule)
    saved = RuleVersion(rule, actor, clock.now_micros())
    uow.execute(
        monitor_rules.insert().values(
            code=code,
            version=rule.version,
            enabled=rule.enabled,
            definition=rule.model_dump_json(),
            created_at=saved.changed_at,
            created_by=actor,
        )
    )
    return saved


def _history_or_empty(connection, code: str) -> list[RuleVersion]:
    try:
        return rule_history(connection, code)
    except RuleNotFound:
        return []


def _from_row(row) -> RuleVersion:
    return RuleVersion(Rule.model_validate_json(row.definition), row.created_by, row.created_at)
