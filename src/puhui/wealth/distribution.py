"""Daily income distribution (收益分配, 按日结转份额), set-based over every holder.

For a fund and a date with income per 10,000 units R (`r_e4`, in 1/10000 yuan):

1. lock the fund's `issued` account: every unit movement of the fund goes through it, so no
   holding changes while the day is distributed;
2. ONE `INSERT ... SELECT` writes each holder's income transfer (issued → holder, code
   `mmf_income`): floor(units × R / 10000) in 0.01 units, holders whose income rounds to 0 skipped;
3. ONE `UPDATE ... FROM transfers` adds those amounts to the holders' credits, and one UPDATE
   debits the issued account by their sum — so every balance still equals the sum of its transfers;
4. the fund's distributed income floor(Σ units × R / 10000) minus what the holders got is the
   rounding residue, issued to the fund's residue account; the same amount of money moves
   portfolio → fund assets on CNY (NAV stays 1.00).

No Python loop over holders: the cost is a few statements whatever the number of holders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import text

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.events.outbox import publish
from puhui.ledger.models import Transfer, TransferResult
from puhui.ledger.service import create_transfers
from puhui.wealth import funds

HELD = "fund_units_held"
CLOSED = 4  # AccountFlags.closed
INCOME = "(a.credits_posted - a.debits_posted - a.debits_pending) * :r / 100000000"
HOLDERS = f"a.ledger = :ledger AND a.code = '{HELD}' AND (a.flags & {CLOSED}) = 0"

SQL_TOTALS = f"""
    SELECT count(*), coalesce(sum(a.credits_posted - a.debits_posted - a.debits_pending), 0)
    FROM accounts a WHERE {HOLDERS} AND a.credits_posted - a.debits_posted - a.debits_pending > 0
"""
SQL_INSERT = f"""
    INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id,
                           timeout_seconds, user_data, timestamp, status, expires_at, resolved_at)
    SELECT CAST(:prefix AS VARCHAR(16)) || a.id, CAST(:issued AS VARCHAR(64)), a.id, {INCOME}, a.ledger, 'mmf_income',
           0, NULL, 0, CAST(:day AS VARCHAR(10)), :now, NULL, NULL, NULL
    FROM accounts a WHERE {HOLDERS} AND {INCOME} > 0
"""
SQL_PAID = """
    SELECT count(*), coalesce(sum(amount), 0) FROM transfers
    WHERE seq > :s0 AND ledger = :ledger AND code = 'mmf_income' AND user_data = :day
"""
SQL_CREDIT = """
    UPDATE accounts SET credits_posted = accounts.credits_posted + t.amount
    FROM transfers t
    WHERE t.seq > :s0 AND t.ledger = :ledger AND t.code = 'mmf_income' AND t.user_data = :day
      AND accounts.id = t.credit_account_id
"""


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
    holders, units = (int(v) for v in uow.execute(text(SQL_TOTALS), {"ledger": ledger}).one())
    s0 = int(uow.execute(text("SELECT coalesce(max(seq), 0) FROM transfers")).scalar_one())
    params = {"ledger": ledger, "r": r_e4, "day": day.isoformat(), "s0": s0}
    if r_e4 > 0 and holders:
        uow.execute(text(SQL_INSERT), {**params, "issued": issued, "now": clock.now_micros(),
                                       "prefix": f"mi.{day:%Y%m%d}."})
    paid_holders, paid = (int(v) for v in uow.execute(text(SQL_PAID), params).one())
    if paid:
        uow.execute(text(SQL_CREDIT), params)
        uow.execute(text("UPDATE accounts SET debits_posted = debits_posted + :paid WHERE id = :id"),
                    {"paid": paid, "id": issued})
    distributed = units * r_e4 // 10**8
    result = DayIncome(holders, units, paid_holders, paid, distributed, distributed - paid)
    _fund_side(uow, fund_code, day, result)
    publish(uow, "wealth", "mmf.income_distributed", fund_code,
            {"fund_code": fund_code, "date": day.isoformat(), **result.as_json()})
    return result


def _fund_side(uow: UnitOfWork, fund_code: str, day: dt.date, result: DayIncome) -> None:
    """The residue in units and the day's income in money, through the ledger's own batch."""
    batch = []
    if result.residue:
        batch.append(Transfer(f"mr.{fund_code}.{day:%Y%m%d}", funds.issued_account(fund_code),
                              funds.residue_account(fund_code), result.residue, funds.ledger_of(fund_code),
                              "mmf_income_residue"))
    if result.distributed:
        batch.append(Transfer(f"mp.{fund_code}.{day:%Y%m%d}", funds.portfolio_account(fund_code),
                              funds.assets_account(fund_code), result.distributed, "CNY", "mmf_income"))
    results = create_transfers(uow, batch)
    if any(r != TransferResult.ok for r in results):
        raise InvalidInput(f"income transfers of {fund_code} on {day} failed: {[r.value for r in results]}")
