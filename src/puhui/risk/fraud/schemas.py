"""What the fraud API answers with: the published shape of a fraud rule (反欺诈规则) and its versions, a
block list (黑名单) and a fraud decision. A rule's parameters are those of its kind (`puhui.risk.fraud.models`),
as stored once validated: defaults filled in, parameters left empty left out."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from puhui.api.fields import Money, Schema, Timestamp

RuleKind = Literal[
    "velocity",
    "amount_above_norm",
    "new_device",
    "new_location",
    "blocklist",
    "fan_in_new_account",
    "night_burst",
    "model_score",
    "product_signal",
]
Seconds = Annotated[int, Field(description="a window in seconds")]
Amount = Annotated[
    str, Field(description='an amount in CNY (元), as the rule\'s author wrote it, e.g. "500" or "1000.00"')
]


class VelocityParams(Schema):
    """`velocity`: more than `max_count` payments, or more than `max_amount`, by the payer within the window."""

    window_seconds: Seconds
    max_count: int | None = None
    max_amount: Amount | None = None


class NormParams(Schema):
    """`amount_above_norm`: an amount above `multiple` × the payer's 91-day mean payment."""

    multiple: float
    min_history: int
    min_amount: Amount


class NoveltyParams(Schema):
    """`new_device`, `new_location`: a device (设备) or location not seen for the payer within `lookback_days`."""

    lookback_days: int
    min_history: int


class BlocklistParams(Schema):
    """`blocklist`: the payee, the payer or either on the named block list (黑名单)."""

    list_name: str = Field(alias="list")
    party: Literal["payer", "payee", "either"]


class FanInParams(Schema):
    """`fan_in_new_account`: a young payee receiving from at least `min_payers` distinct payers in the window."""

    account_age_days: int
    min_payers: int
    window_seconds: Seconds


class NightParams(Schema):
    """`night_burst`: at least `min_count` payments between `start_hour` and `end_hour` China time (夜间交易)."""

    min_count: int
    window_seconds: Seconds
    start_hour: int
    end_hour: int


class ScoreParams(Schema):
    """`model_score`: review or decline at a fraud score (0-1000) from weighted payment features."""

    weights: dict[str, float]
    bias: float
    review_at: int
    decline_at: int


class SignalParams(Schema):
    """`product_signal`: any of the named signals another product raised about the parties (e.g. insurance's
    `serial_returner` and `merchant_collusion` at a checkout with return-shipping cover)."""

    signals: list[str]


RuleParams = (
    VelocityParams
    | NormParams
    | NoveltyParams
    | BlocklistParams
    | FanInParams
    | NightParams
    | ScoreParams
    | SignalParams
)


class Rule(Schema):
    """One version of a fraud rule (反欺诈规则): what it checks (`kind`, `params`) and what it does when it fires."""

    rule_id: str
    version: int
    kind: RuleKind
    params: RuleParams = Field(description="the parameters of the rule's kind")
    action: Literal["review", "decline"]
    enabled: bool
    description: str


class Rules(Schema):
    """The current version of every fraud rule, by rule id (switched-off rules included)."""

    rules: list[Rule]


class RuleVersion(Rule):
    """A version of a fraud rule with who wrote it and when."""

    created_by: str
    created_at: Timestamp


class RuleVersions(Schema):
    """Every version of one fraud rule, oldest first."""

    rule_id: str
    versions: list[RuleVersion]


class Decision(Schema):
    """A fraud decision (风控决策) on a payment, with the rules' reasons and the versions of the rules it ran."""

    id: int
    payment_ref: str | None
    payer_id: str
    payee_id: str
    amount: Money
    outcome: Literal["approve", "challenge", "review", "decline"]
    score: int | None = Field(description="the fraud score (0-1000); null without a score rule")
    reasons: list[str]
    rule_versions: dict[str, int] = Field(description="rule id -> the version that ran")
    at: Timestamp


class Decisions(Schema):
    """Fraud decisions, newest first."""

    decisions: list[Decision]


class BlocklistEntry(Schema):
    """An id on a block list (黑名单), who put it there and when."""

    list_name: str
    value: str
    added_by: str
    added_at: int = Field(description="when it was added, in UTC microseconds since 1970")


class Blocklist(Schema):
    """The entries of a block list (黑名单), by value."""

    list_name: str = Field(alias="list")
    entries: list[BlocklistEntry]


class BlocklistAdded(Schema):
    """An id put on a block list; `added` is false when it was there already."""

    list_name: str = Field(alias="list")
    value: str
    added: bool


class BlocklistRemoved(Schema):
    """An id taken off a block list."""

    list_name: str = Field(alias="list")
    value: str
    removed: Literal[True]
