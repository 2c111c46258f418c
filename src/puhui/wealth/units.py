"""Funds as unit ledgers (基金份额登记): each fund's units are a ledger of their own.

On the fund's ledger `FUND:<code>` (scale 2: 0.01 unit) the fund's `issued` account is debited by
every unit issued and a holder's account (owner = customer) is credited; redemption reverses it,
so the issued account's debit balance is the units outstanding. On CNY the fund's `assets`
account holds the money subscribed; its `portfolio` account is where the day's income comes from.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.ledger import queries as ledger_queries
from puhui.ledger import service as ledger_service
from puhui.ledger.models import AccountFlags
from puhui.money import format_minor
from puhui.wealth.errors import FundClosed, UnknownFund
from puhui.wealth.mmf.tables import mmf_funds

UNIT_SCALE = 2
CODE = re.compile(r"^[A-Z0-9]{1,8}$")


def ledger_of(code: str) -> str:
    return f"FUND:{code}"


def holder_account(code: str, customer_id: str) -> str:
    return f"mmf.{code}.{customer_id}"


def issued_account(code: str) -> str:
    return f"mmf.{code}.issued"


def residue_account(code: str) -> str:
    return f"mmf.{code}.residue"


def assets_account(code: str) -> str:
    return f"mmf.{code}.assets"


def portfolio_account(code: str) -> str:
    return f"mmf.{code}.portfolio"


def get_fund(connection: Connection, code: str) -> dict:
    row = connection.execute(select(mmf_funds).where(mmf_funds.c.code == code)).mappings().first()
    if row is None:
        raise UnknownFund(f"fund {code!r} does not exist")
    return dict(row)


def require_open(connection: Connection, code: str) -> dict:
    fund = get_fund(connection, code)
    if fund["status"] != "open":
        raise FundClosed(f"fund {code} is {fund['status']}")
    return fund


def list_funds(connection: Connection) -> list[dict]:
    return [dict(r) for r in connection.execute(select(mmf_funds).order_by(mmf_funds.c.code)).mappings()]


def fund_json(fund: dict) -> dict:
    return {
        "code": fund["code"],
        "name": fund["name"],
        "kind": "money_market",
        "nav": "1.00",
        "status": fund["status"],
        "units_ledger": fund["ledger"],
    }


def create_fund(uow: UnitOfWork, code: str, name: str) -> dict:
    """A new money-market fund: its units ledger, its accounts and its row."""
    if not CODE.match(code):
        raise InvalidInput("a fund code is 1-8 characters of A-Z 0-9")
    if uow.execute(select(mmf_funds.c.code).where(mmf_funds.c.code == code)).first() is not None:
        return get_fund(uow.connection, code)
    ledger = ledger_of(code)
    ledger_service.create_ledger(uow, ledger, f"{name} units", kind="asset", scale=UNIT_SCALE)
    owner = f"fund.{code}"
    for account_id, on, account_code in (
        (issued_account(code), ledger, "fund_units_issued"),
        (residue_account(code), ledger, "fund_income_residue"),
        (assets_account(code), "CNY", "fund_assets"),
        (portfolio_account(code), "CNY", "fund_portfolio"),
    ):
        ledger_service.create_account(uow, ledger=on, code=account_code, owner_id=owner, id=account_id)
    row = {"code": code, "name": name, "ledger": ledger, "status": "open", "created_at": clock.now_micros()}
    uow.execute(mmf_funds.insert().values(**row))
    return row


def set_status(uow: UnitOfWork, code: str, status: str) -> dict:
    if status not in ("open", "closed"):
        raise InvalidInput("status is open or closed")
    get_fund(uow.connection, code)
    uow.execute(mmf_funds.update().where(mmf_funds.c.code == code).values(status=status))
    return get_fund(uow.connection, code)


def ensure_holder(uow: UnitOfWork, code: str, customer_id: str) -> str:
    """The customer's units account on the fund (opened on first subscription); cannot go negative."""
    account_id = holder_account(code, customer_id)
    ledger_service.create_account(
        uow,
        ledger=ledger_of(code),
        code="fund_units_held",
        owner_id=customer_id,
        flags=AccountFlags.debits_must_not_exceed_credits,
        id=account_id,
    )
    return account_id


def lock_units(uow: UnitOfWork, code: str) -> None:
    """Lock the fund's issued account first: every unit movement of the fund goes through it, so
    taking it before any holder's row keeps one lock order (no deadlock with the end of day)."""
    ledger_queries.lock_account(uow, issued_account(code))


def units_held(connection: Connection, code: str, customer_id: str) -> int:
    return ledger_queries.available(connection, holder_account(code, customer_id)) or 0


def units_str(units: int) -> str:
    return format_minor(units, UNIT_SCALE)
