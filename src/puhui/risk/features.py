"""Customer features (用户画像): their names, meanings and types, computed from rows as of a time.

Pure code, no I/O: `aggregate` turns one customer's rows (payments made, P2P received, refunds,
bank orders, devices) into integer counters as of `at`; `finish` turns counters into features
(money as Decimal yuan, ratios as Decimal). The batch path computes the same counters with grouped
SQL (`puhui.risk.profiles`) and shares `finish`, so both paths agree by construction of the last
step and by test for the first.

Windows are half-open on the left: a row at time t counts in the N-day window of `at` when
`at - N days < t <= at`. Night is 00:00–05:00 China Standard Time (`clock.CHINA`, UTC+8 all year
since 1991, which the SQL path relies on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from puhui import clock

NIGHT_END_HOUR = 5
CHINA_OFFSET_SECONDS = 8 * 3600
CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
WINDOWS = (7, 30, 90)


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # int | money | ratio
    description: str
    term: str = ""  # the Chinese term, where one is natural
    nullable: bool = False


def _f(name: str, kind: str, description: str, term: str = "", nullable: bool = False) -> Feature:
    return Feature(name, kind, description, term, nullable)


_LIST = [
    _f("tenure_days", "int", "whole days since the customer registered", "开户时长"),
    _f("kyc_tier", "int", "wallet class (1, 2, 3) as of the time; empty while unverified", "支付账户分类", True),
    _f("verifications", "int", "identity verifications that passed, any channel", "实名核验"),
    *[_f(f"payments_count_{d}d", "int", f"payments made (P2P and QR) in {d} days", "支付笔数") for d in WINDOWS],
    *[_f(f"payments_amount_{d}d", "money", f"amount of payments made in {d} days", "支付金额") for d in WINDOWS],
    _f("payment_amount_mean_90d", "money", "mean payment made in 90 days (to the fen, half up)", "笔均金额", True),
    _f("payment_amount_max_90d", "money", "largest payment made in 90 days", "单笔最大金额", True),
    _f("counterparties_90d", "int", "distinct payees (people and merchants) paid in 90 days", "交易对手数"),
    _f("merchants_90d", "int", "distinct merchants paid by QR in 90 days", "商户数"),
    _f("p2p_received_count_30d", "int", "P2P transfers received in 30 days", "转账收款笔数"),
    _f("p2p_received_amount_30d", "money", "amount of P2P transfers received in 30 days", "转账收款金额"),
    _f("refunds_received_count_90d", "int", "refunds of the customer's QR payments in 90 days", "退款笔数"),
    _f("refunds_received_amount_90d", "money", "amount refunded to the customer in 90 days", "退款金额"),
    *[
        _f(f"top_ups_count_{d}d", "int", f"posted bank top-ups in {d} days (by time posted)", "充值笔数")
        for d in (30, 90)
    ],
    *[_f(f"top_ups_amount_{d}d", "money", f"amount of posted top-ups in {d} days", "充值金额") for d in (30, 90)],
    *[
        _f(f"withdrawals_count_{d}d", "int", f"posted withdrawals in {d} days (by time posted)", "提现笔数")
        for d in (30, 90)
    ],
    *[
        _f(f"withdrawals_amount_{d}d", "money", f"amount of posted withdrawals in {d} days", "提现金额")
        for d in (30, 90)
    ],
    _f(
        "withdrawal_to_top_up_ratio_90d",
        "ratio",
        "withdrawn / topped up in 90 days; empty without top-ups",
        "提现充值比",
        True,
    ),
    _f("bank_orders_failed_90d", "int", "top-ups and withdrawals the bank failed (voided) in 90 days", "失败订单数"),
    _f("devices_30d", "int", "distinct devices paid from in 30 days", "设备数"),
    _f("locations_30d", "int", "distinct locations paid from in 30 days", "地点数"),
    _f(
        "days_since_new_device",
        "int",
        "whole days since the newest device was first seen; empty without devices",
        "新设备天数",
        True,
    ),
    _f(
        "night_payment_share_30d",
        "ratio",
        "share of 30-day payments made 00:00-05:00 China time; empty without payments",
        "夜间交易占比",
        True,
    ),
    # Repayment history (还款记录): the lending issue fills these; until then they are empty.
    _f(
        "loans_repaid_on_time",
        "int",
        "loans repaid on time (filled by lending; empty until it exists)",
        "按时还款",
        True,
    ),
    _f("loans_repaid_late", "int", "loans repaid late (filled by lending; empty until it exists)", "逾期还款", True),
    _f(
        "max_days_past_due",
        "int",
        "worst days past due (filled by lending; empty until it exists)",
        "最长逾期天数",
        True,
    ),
]
FEATURES: dict[str, Feature] = {f.name: f for f in _LIST}
MONEY_FEATURES = frozenset(n for n, f in FEATURES.items() if f.kind == "money")


def is_feature(name: str) -> bool:
    return name in FEATURES


# -- rows -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """What identity knows of the customer as of the time: registration, tier, verifications."""

    registered_at: int
    tier: int | None
    verifications: int


@dataclass(frozen=True)
class Paid:
    id: str
    at: int
    amount: int  # fen
    payee_id: str
    kind: str  # p2p | qr
    device_id: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Received:
    """Money in: a P2P transfer received or a refund of the customer's QR payment."""

    id: str
    at: int
    amount: int


@dataclass(frozen=True)
class BankOrder:
    id: str
    at: int  # when the bank's outcome was recorded (resolved_at)
    kind: str  # debit_card (top-up) | credit_card (withdrawal)
    status: str  # posted | voided
    amount: int


@dataclass
class Activity:
    """A customer's money activity: every row that can count in a window, and devices first seen."""

    paid: list[Paid] = field(default_factory=list)
    p2p_in: list[Received] = field(default_factory=list)
    refunds: list[Received] = field(default_factory=list)
    orders: list[BankOrder] = field(default_factory=list)
    device_first_seen: dict[str, int] = field(default_factory=dict)


# -- computation ----------------------------------------------------------------------------------


def is_night(at: int) -> bool:
    return clock.from_micros(at).astimezone(clock.CHINA).hour < NIGHT_END_HOUR


def _within(rows: Iterable[Any], at: int, days: int) -> list[Any]:
    start = at - days * clock.DAY_MICROS
    return [r for r in rows if start < r.at <= at]


def aggregate(identity: Identity, activity: Activity, at: int) -> dict[str, int | None]:
    """Integer counters as of `at` (the same ones the batch SQL computes)."""
    out: dict[str, int | None] = {
        "tenure_days": (at - identity.registered_at) // clock.DAY_MICROS,
        "kyc_tier": identity.tier,
        "verifications": identity.verifications,
    }
    for days in WINDOWS:
        paid = _within(activity.paid, at, days)
        out[f"payments_count_{days}d"] = len(paid)
        out[f"payments_amount_{days}d"] = sum(p.amount for p in paid)
    paid90 = _within(activity.paid, at, 90)
    out["payment_amount_max_90d"] = max((p.amount for p in paid90), default=None)
    out["counterparties_90d"] = len({p.payee_id for p in paid90})
    out["merchants_90d"] = len({p.payee_id for p in paid90 if p.kind == "qr"})
    paid30 = _within(activity.paid, at, 30)
    out["devices_30d"] = len({p.device_id for p in paid30 if p.device_id is not None})
    out["locations_30d"] = len({p.location for p in paid30 if p.location is not None})
    out["night_payments_30d"] = sum(1 for p in paid30 if is_night(p.at))
    seen = [t for t in activity.device_first_seen.values() if t <= at]
    out["newest_device_first_seen"] = max(seen, default=None)
    p2p = _within(activity.p2p_in, at, 30)
    out["p2p_received_count_30d"], out["p2p_received_amount_30d"] = len(p2p), sum(r.amount for r in p2p)
    refunds = _within(activity.refunds, at, 90)
    out["refunds_received_count_90d"], out["refunds_received_amount_90d"] = len(refunds), sum(r.amount for r in refunds)
    for days in (30, 90):
        orders = _within(activity.orders, at, days)
        for name, kind in (("top_ups", "debit_card"), ("withdrawals", "credit_card")):
            posted = [o for o in orders if o.kind == kind and o.status == "posted"]
            out[f"{name}_count_{days}d"] = len(posted)
            out[f"{name}_amount_{days}d"] = sum(o.amount for o in posted)
    out["bank_orders_failed_90d"] = sum(1 for o in _within(activity.orders, at, 90) if o.status == "voided")
    return out


def yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2).quantize(CENT)


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(RATIO, ROUND_HALF_UP) if whole else None


def finish(counters: Mapping[str, int | None], at: int) -> dict[str, Any]:
    """Features from counters: money in Decimal yuan, derived means, ratios and ages."""
    c = counters
    out: dict[str, Any] = {}
    for name, feature in FEATURES.items():
        if name in c and feature.kind == "money":
            out[name] = None if c[name] is None else yuan(int(c[name]))  # type: ignore[arg-type]  # the SQL row's value is an int or Decimal here, never None
        elif name in c:
            out[name] = None if c[name] is None else int(c[name])  # type: ignore[arg-type]  # the SQL row's value is an int or Decimal here, never None
    n90, sum90 = int(c["payments_count_90d"] or 0), int(c["payments_amount_90d"] or 0)
    out["payment_amount_mean_90d"] = (Decimal(sum90) / n90).scaleb(-2).quantize(CENT, ROUND_HALF_UP) if n90 else None
    out["withdrawal_to_top_up_ratio_90d"] = _ratio(
        int(c["withdrawals_amount_90d"] or 0), int(c["top_ups_amount_90d"] or 0)
    )
    newest = c["newest_device_first_seen"]
    out["days_since_new_device"] = None if newest is None else (at - int(newest)) // clock.DAY_MICROS
    out["night_payment_share_30d"] = _ratio(int(c["night_payments_30d"] or 0), int(c["payments_count_30d"] or 0))
    for name in ("loans_repaid_on_time", "loans_repaid_late", "max_days_past_due"):
        out[name] = None  # lending fills these
    return {name: out[name] for name in FEATURES}


def compute(identity: Identity, activity: Activity, at: int) -> dict[str, Any]:
    return finish(aggregate(identity, activity, at), at)


def to_json(features: Mapping[str, Any]) -> dict[str, Any]:
    """Features as JSON values: Decimal as strings ("12.34"), integers as numbers, empty as null."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in features.items()}


def from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, feature in FEATURES.items():
        value = data.get(name)
        out[name] = None if value is None else Decimal(value) if feature.kind in ("money", "ratio") else int(value)
    return out
