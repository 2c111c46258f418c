"""Regulatory limits as policy data (监管限额), from the 2020 draft rules on online micro-loans
(网络小额贷款业务管理暂行办法): a single borrower owes at most 300,000 CNY and at most one third of
the borrower's annual income; in joint lending (联合贷款) the platform funds at least 30% of each
loan; in pure facilitation (助贷) it funds nothing and earns a service fee.

The income is the borrower's declared annual income (申报年收入): the one given on the application,
else the latest one on file (`puhui.lending.service.income_of`). With none at all the limit cannot be
checked, so the credit is refused (`annual_income_required`) rather than granted unchecked."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from puhui.lending.errors import (
    AnnualIncomeRequired,
    BorrowerLimitExceeded,
    PartnerShareInvalid,
    PartnerShareTooLow,
)
from puhui.money import format_minor

SINGLE_BORROWER_CAP = 300_000_00  # fen
INCOME_SHARE_DENOMINATOR = 3  # at most 1/3 of annual income
MIN_PLATFORM_SHARE = Decimal("0.30")


@dataclass(frozen=True)
class Headroom:
    """What a borrower may still borrow under the regulatory limits (fen, never negative), and the rule that
    sets it: `single_borrower_cap`, `income_third`, or `annual_income_required` (no income on file: 0)."""

    amount: int
    rule: str


def borrower_headroom(outstanding: int, annual_income: int | None, *, cap: int = SINGLE_BORROWER_CAP) -> Headroom:
    """The most `check_borrower_limits` lets this borrower borrow now: an amount passes it exactly when it is
    at most `amount` (one source of truth for a draw's refusal and for what a line shows as drawable)."""
    under_cap = max(cap - outstanding, 0)
    if annual_income is None:
        return Headroom(0, "annual_income_required")
    # total * 3 > income  <=>  total > income // 3, totals being whole fen
    under_income = max(annual_income // INCOME_SHARE_DENOMINATOR - outstanding, 0)
    return (
        Headroom(under_income, "income_third")
        if under_income < under_cap
        else Headroom(under_cap, "single_borrower_cap")
    )


def check_borrower_limits(
    outstanding: int, new_amount: int, annual_income: int | None, *, cap: int = SINGLE_BORROWER_CAP
) -> None:
    """BorrowerLimitExceeded (422) when outstanding + new_amount is above the cap or above a third
    of the annual income; AnnualIncomeRequired (422) when the income is not known (None). Amounts in
    fen; `outstanding` is all the borrower's outstanding principal (loans, credit-line and pay-later draws).
    Judged by `borrower_headroom`: refused exactly when new_amount is above its amount."""
    if annual_income is not None and new_amount <= borrower_headroom(outstanding, annual_income, cap=cap).amount:
        return
    total = outstanding + new_amount
    if total > cap:
        raise BorrowerLimitExceeded(
            f"outstanding {format_minor(total, 2)} would exceed the single-borrower cap of {format_minor(cap, 2)}",
            limit=format_minor(cap, 2),
            rule="single_borrower_cap",
        )
    if annual_income is None:
        raise AnnualIncomeRequired(
            "no annual income is on file for the borrower: declare it (annual_income) so the limit of one "
            "third of the annual income can be checked",
            field="annual_income",
        )
    if total * INCOME_SHARE_DENOMINATOR > annual_income:
        limit = annual_income // INCOME_SHARE_DENOMINATOR
        raise BorrowerLimitExceeded(
            f"outstanding {format_minor(total, 2)} would exceed one third of the annual income "
            f"({format_minor(limit, 2)})",
            limit=format_minor(limit, 2),
            rule="income_third",
        )


def check_partner_share(share: Decimal, facilitation: bool) -> None:
    """The platform's funded share of a loan: 0 in facilitation; otherwise from 30% to 100%."""
    if not Decimal(0) <= share <= Decimal(1):
        raise PartnerShareInvalid(f"platform share {share} must be between 0 and 1")
    if facilitation:
        if share != 0:
            raise PartnerShareInvalid("in pure facilitation the platform funds nothing (share 0)")
        return
    if share < MIN_PLATFORM_SHARE:
        raise PartnerShareTooLow(
            f"platform share {share:%} is below the minimum of {MIN_PLATFORM_SHARE:%} in joint lending",
            minimum=str(MIN_PLATFORM_SHARE),
        )
