"""Customer reserve funds (客户备付金): every yuan in customer and merchant wallets must be matched
by the platform's reserve account at the custodian bank.

The reserve is an asset (debit balance); wallets are liabilities (credit balances). Only posted
amounts count: a top-up still on hold has not reached the reserve, and a withdrawal on hold is
still owed to the customer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from puhui.db.tables import accounts
from puhui.ledger.service import ledger_of
from puhui.money import format_minor

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
    reserve = connection.execute(
        select(func.coalesce(func.sum(accounts.c.debits_posted - accounts.c.credits_posted), 0)).where(
            accounts.c.code == "reserve_bank", accounts.c.ledger == ledger
        )
    ).scalar_one()
    owed = connection.execute(
        select(func.coalesce(func.sum(accounts.c.credits_posted - accounts.c.debits_posted), 0)).where(
            accounts.c.code.in_(WALLET_CODES), accounts.c.ledger == ledger
        )
    ).scalar_one()
    return ReserveCoverage(ledger, int(reserve), int(owed), ledger_of(connection, ledger).scale)
