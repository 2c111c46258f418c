"""Customer reserve funds (客户备付金): every yuan in customer and merchant wallets must be matched
by the platform's reserve account at the custodian bank.

The reserve is an asset (debit balance); wallets are liabilities (credit balances). Only posted
amounts count: a top-up still on hold has not reached the reserve, and a withdrawal on hold is
still owed to the customer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.ledger import queries as ledger_queries
from puhui.ledger.models import Transfer, TransferResult
from puhui.ledger.service import create_transfers, ledger_of
from puhui.money import format_minor
from puhui.payments.errors import PlatformFundsShort
from puhui.payments.tables import reserve_checks

WALLET_CODES = ("customer_wallet", "merchant_wallet")


@dataclass(frozen=True)
class ReserveCoverage:
    ledger: str
    reserve: int  # fen held at the custodian bank
    owed: int  # fen owed to customers and merchants
    scale: int

    @property
    def covered(self) -> bool:
        return self.reserve >= self.owed

    @property
    def surplus(self) -> int:
        return self.reserve - self.owed

    def as_json(self) -> dict:
        return {
            "ledger": self.ledger,
            "reserve": format_minor(self.reserve, self.scale),
            "owed_to_customers_and_merchants": format_minor(self.owed, self.scale),
            "surplus": format_minor(self.surplus, self.scale),
            "covered": self.covered,
        }


def reserve_coverage(connection: Connection, ledger: str = "CNY") -> ReserveCoverage:
    """Reserve balance against wallet balances, from the ledger's posted balances."""
    reserve = ledger_queries.net_debit(connection, codes=["reserve_bank"], ledger=ledger)
    owed = ledger_queries.net_credit(connection, codes=WALLET_CODES, ledger=ledger)
    return ReserveCoverage(ledger, int(reserve), int(owed), ledger_of(connection, ledger).scale)


def record_check(uow: UnitOfWork, business_date: dt.date, ledger: str = "CNY") -> dict:
    """Record the day's coverage check (one row per date and ledger; a re-check updates it)."""
    coverage = reserve_coverage(uow.connection, ledger)
    values = {
        "obligations": coverage.owed,
        "reserve": coverage.reserve,
        "covered": coverage.covered,
        "checked_at": clock.now_micros(),
    }
    where = (reserve_checks.c.business_date == business_date.isoformat()) & (reserve_checks.c.ledger == ledger)
    if uow.execute(reserve_checks.update().where(where).values(**values)).rowcount == 0:
        uow.execute(reserve_checks.insert().values(business_date=business_date.isoformat(), ledger=ledger, **values))
    return {"business_date": business_date.isoformat(), **coverage.as_json()}


def checks(connection: Connection, limit: int = 31) -> list[dict]:
    """The latest recorded checks, newest first."""
    rows = connection.execute(
        select(reserve_checks).order_by(reserve_checks.c.business_date.desc(), reserve_checks.c.ledger).limit(limit)
    ).mappings()
    return [
        {
            "business_date": r["business_date"],
            "ledger": r["ledger"],
            "covered": r["covered"],
            "reserve": format_minor(r["reserve"], 2),
            "obligations": format_minor(r["obligations"], 2),
            "checked_at": clock.from_micros(r["checked_at"]).isoformat(),
        }
        for r in rows
    ]


OPERATING = "platform.operating_bank.CNY"
EQUITY = "platform.equity.CNY"
RESERVE = "platform.reserve_bank.CNY"


def inject_capital(uow: UnitOfWork, transfer_id: str, amount: int) -> None:
    """Owners' capital paid into the platform's own bank account (实缴资本)."""
    _move(uow, Transfer(transfer_id, OPERATING, EQUITY, amount, "CNY", "capital"))


def fund_reserve(uow: UnitOfWork, transfer_id: str, amount: int) -> None:
    """The platform moves its own cash into the reserve account, in the same unit of work as the
    credit to a wallet it funds (a loan disbursed, a receivable financed), so every wallet yuan
    stays covered by the reserve. Refused when the platform's own account cannot pay."""
    _move(uow, Transfer(transfer_id, RESERVE, OPERATING, amount, "CNY", "own_funds_to_reserve"))


def _move(uow: UnitOfWork, transfer: Transfer) -> None:
    [result] = create_transfers(uow, [transfer])
    if result == TransferResult.exceeds_debits:
        raise PlatformFundsShort(f"the platform's own account cannot pay {format_minor(transfer.amount, 2)}")
    if result not in (TransferResult.ok, TransferResult.exists):
        raise PlatformFundsShort(f"moving the platform's funds failed: {result.value}")
