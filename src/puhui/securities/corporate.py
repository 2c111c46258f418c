"""Corporate actions (权益分派): cash dividends (派息) and bonus shares (送股 / 转增), announced per 10
shares as A-share companies do ("10派3元送2股"), with the ex-date reference price and each holder's
entitlement.

The ex-rights/ex-dividend reference price (除权除息参考价) is (previous close − cash per share) ÷
(1 + new shares per share), rounded half-up to the tick; it replaces the previous close as the base of
the ex-date's price band. Entitlements follow the registrar's (中国结算) rules: cash per account is the
holding × cash per share rounded down to the fen; bonus shares per account are the whole shares of
holding × ratio, and the fractional shares left over (零碎股) go one each to the accounts with the
largest fractions, ties decided by account id in place of the registrar's computer draw.
Individual dividend tax (差别化征税) is charged at sale by holding period and is not handled here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from puhui.securities.errors import CorporateActionInvalid


@dataclass(frozen=True, slots=True)
class Distribution:
    """One distribution plan: cash in fen and new shares per 10 shares held on the record date."""

    code: str
    record_date: dt.date  # 股权登记日
    ex_date: dt.date  # 除权除息日
    cash_per_10: int = 0  # fen per 10 shares (派)
    bonus_per_10: Decimal = Decimal(0)  # shares per 10 (送 + 转增)

    def __post_init__(self) -> None:
        if self.cash_per_10 < 0 or self.bonus_per_10 < 0 or not (self.cash_per_10 or self.bonus_per_10):
            raise CorporateActionInvalid("a distribution pays cash or shares, neither negative")
        if self.ex_date <= self.record_date:
            raise CorporateActionInvalid("the ex-date follows the record date")


def ex_reference_price(previous_close: int, plan: Distribution) -> int:
    """The ex-date's reference price in fen (除权除息参考价)."""
    cash_per_share = Decimal(plan.cash_per_10) / 10
    ratio = plan.bonus_per_10 / 10
    price = (Decimal(previous_close) - cash_per_share) / (1 + ratio)
    if price <= 0:
        raise CorporateActionInvalid("the dividend is not below the previous close")
    return int(price.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Entitlement:
    account: str
    cash: int  # fen
    shares: int


def entitlements(plan: Distribution, holdings: Mapping[str, int]) -> list[Entitlement]:
    """What each holder on the record date receives, in account order."""
    ratio = plan.bonus_per_10 / 10
    whole: dict[str, int] = {}
    fractions: list[tuple[Decimal, str]] = []
    for account, held in holdings.items():
        due = Decimal(held) * ratio
        whole[account] = int(due.to_integral_value(rounding=ROUND_DOWN))
        if due != whole[account]:
            fractions.append((due - whole[account], account))
    left = int(sum((f for f, _ in fractions), Decimal(0)).to_integral_value(rounding=ROUND_DOWN))
    for _, account in sorted(fractions, key=lambda f: (-f[0], f[1]))[:left]:
        whole[account] += 1
    return [
        Entitlement(account, (held * plan.cash_per_10) // 10, whole[account])
        for account, held in sorted(holdings.items())
    ]
