"""A loan's ledger accounts (贷款分户账) and the platform accounts lending posts to.

Every loan has five accounts on the CNY ledger, owned by the loan id: principal receivable
(贷款本金), interest receivable (应收利息), fees receivable (应收费用), penalty receivable (应收罚息) and
its loan loss provision (贷款损失准备, a contra-asset). Their balances are the loan's money; the
business rows never hold balances of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection

from puhui.db import UnitOfWork
from puhui.ledger import queries as ledger_queries
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_account, post_chain

LEDGER = "CNY"
INTEREST_INCOME = "platform.interest_income.CNY"
FEE_INCOME = "platform.fee_income.CNY"
PENALTY_INCOME = "platform.penalty_income.CNY"
PROVISION_EXPENSE = "platform.provision_expense.CNY"
RECOVERY_INCOME = "platform.recovery_income.CNY"
WRITE_OFF_EXPENSE = "platform.write_off_expense.CNY"

# part -> (account code, debit-normal)
PARTS: dict[str, tuple[str, bool]] = {
    "principal": ("loan_receivable", True),
    "interest": ("interest_receivable", True),
    "fees": ("fee_receivable", True),
    "penalty": ("penalty_receivable", True),
    "provision": ("loan_loss_provision", False),
}


def account_id(loan_id: str, part: str) -> str:
    return f"loan.{loan_id}.{part}"


def open_accounts(uow: UnitOfWork, loan_id: str) -> None:
    for part, (code, _) in PARTS.items():
        create_account(uow, ledger=LEDGER, code=code, owner_id=loan_id, id=account_id(loan_id, part))


def account_rows(loan_id: str, now: int) -> list[dict]:
    """The rows `open_accounts` writes, for bulk set-up (benchmarks)."""
    return [
        {
            "id": account_id(loan_id, part),
            "ledger": LEDGER,
            "code": code,
            "owner_id": loan_id,
            "flags": 0,
            "debits_pending": 0,
            "debits_posted": 0,
            "credits_pending": 0,
            "credits_posted": 0,
            "created_at": now,
        }
        for part, (code, _) in PARTS.items()
    ]


@dataclass(frozen=True)
class LoanBalances:
    """A loan's ledger balances, each on its normal side (fen)."""

    principal: int = 0
    interest: int = 0
    fees: int = 0
    penalty: int = 0
    provision: int = 0

    @property
    def receivable(self) -> int:
        return self.principal + self.interest + self.fees + self.penalty


def balances(connection: Connection, loan_id: str) -> LoanBalances:
    found = {}
    for account_id, (debits, credits) in ledger_queries.owner_balances(connection, loan_id).items():
        part = account_id.rsplit(".", 1)[1]
        if part in PARTS:
            debit_normal = PARTS[part][1]
            found[part] = debits - credits if debit_normal else credits - debits
    return LoanBalances(**found)


def post(uow: UnitOfWork, transfers: list[Transfer]) -> None:
    """Apply a loan's transfers as one linked chain on the lending ledger: all or nothing."""
    if transfers:
        chain = [replace(t, ledger=t.ledger or LEDGER) for t in transfers]
        post_chain(uow, chain, what="the wallet does not hold enough money")


def move(id: str, debit: str, credit: str, amount: int, code: str) -> Transfer:
    return Transfer(id, debit, credit, amount, LEDGER, code)
