"""Daily income distribution (收益分配, 按日结转份额), set-based over every holder.

For a fund and a date with income per 10,000 units R (`r_e4`, in 1/10000 yuan):

1. lock the fund's `issued` account: every unit movement of the fund goes through it, so no
   holding changes while the day is distributed;
2. the ledger's set-based batch (`ledger.bulk`) stages each holder's income transfer (issued →
   holder, code `mmf_income`): floor(units × R / 10000) in 0.01 units, holders whose income rounds
   to 0 skipped, and posts them all with their balances in a handful of statements;
3. the fund's distributed income floor(Σ units × R / 10000) minus what the holders got is the
   rounding residue, issued to the fund's residue account; the same amount of money moves
   portfolio → fund assets on CNY (NAV stays 1.00).

No Python loop over holders: the cost is a few statements whatever the number of holders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.events.outbox import publish
from puhui.ledger import bulk
from puhui.ledger.models import Transfer
from puhui.ledger.service import post_chain
from puhui.wealth import units as funds

HELD = "fund_units_held"
UNITS_PER_INCOME = 10**8  # R is per 10,000 units, in 1/10000 yuan


@dataclass(frozen=True)
class DayIncome:
    holders: int  # holders with units
    units: int  # their units before the income
    paid_holders: int  # holders whose income was at least 0.01 unit
    paid: int  # Σ holders' income
    distributed: int  # floor(units × R / 10000)
    residue: int

    def as_json(self) -> dict:
        return asdict(self)


def distribute(uow: UnitOfWork, fund_code: str, day: dt.date, r_e4: int) -> DayIncome:
    """Distribute one day's income to every holder of the fund (the caller makes it once per day)."""
    if r_e4 < 0:
        raise InvalidInput("income per 10,000 units must not be negative")
    ledger, issued = funds.ledger_of(fund_code), funds.issued_account(fund_code)
    funds.lock_units(uow, fund_code)
    holders, units = bulk.holdings(uow, ledger=ledger, holder_code=HELD)
    bulk.begin(uow)
    if r_e4 > 0 and holders:
        bulk.stage_pro_rata(
            uow,
            ledger=ledger,
            holder_code=HELD,
            source=issued,
            numerator=r_e4,
            denominator=UNITS_PER_INCOME,
            id_prefix=f"mi.{day:%Y%m%d}.",
            code="mmf_income",
        )
    paid_holders, paid = bulk.staged(uow)
    bulk.post(uow, "wealth", fund_code, "mmf.income_posted", ledger=ledger, user_data=day.isoformat())
    distributed = units * r_e4 // UNITS_PER_INCOME
    result = DayIncome(holders, units, paid_holders, paid, distributed, distributed - paid)
    _fund_side(uow, fund_code, day, result)
    publish(
        uow,
        "wealth",
        "mmf.income_distributed",
        fund_code,
        {"fund_code": fund_code, "date": day.isoformat(), **result.as_json()},
    )
    return result


def _fund_side(uow: UnitOfWork, fund_code: str, day: dt.date, result: DayIncome) -> None:
    """The residue in units and the day's income in money, through the ledger's own batch."""
    batch = []
    if result.residue:
        batch.append(
            Transfer(
                f"mr.{fund_code}.{day:%Y%m%d}",
                funds.issued_account(fund_code),
                funds.residue_account(fund_code),
                result.residue,
                funds.ledger_of(fund_code),
                "mmf_income_residue",
            )
        )
    if result.distributed:
        batch.append(
            Transfer(
                f"mp.{fund_code}.{day:%Y%m%d}",
                funds.portfolio_account(fund_code),
                funds.assets_account(fund_code),
                result.distributed,
                "CNY",
                "mmf_income",
            )
        )
    post_chain(uow, batch)
