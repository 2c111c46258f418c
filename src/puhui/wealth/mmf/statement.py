"""A customer's money-market holding (持仓) and holding statement (对账单), read from the ledger."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, func, select

from puhui import clock
from puhui.ledger import queries as ledger_queries
from puhui.ledger.models import StoredTransfer
from puhui.ledger.service import account_history, get_account
from puhui.money import format_minor
from puhui.wealth import units as funds
from puhui.wealth.mmf.tables import mmf_orders

KINDS = {"mmf_confirm": "subscription_confirmed", "mmf_income": "income", "mmf_redeem": "redemption"}


def holding(connection: Connection, fund_code: str, customer_id: str) -> dict:
    fund = funds.get_fund(connection, fund_code)
    account_id = funds.holder_account(fund_code, customer_id)
    account = get_account(connection, account_id)
    units = (account.credits_posted - account.debits_posted) if account else 0
    total, last = ledger_queries.credits_received(connection, account_id, "mmf_income")
    pending = dict(
        connection.execute(
            select(mmf_orders.c.kind, func.sum(mmf_orders.c.amount))
            .where(
                mmf_orders.c.customer_id == customer_id,
                mmf_orders.c.fund_code == fund_code,
                mmf_orders.c.status == "pending",
            )
            .group_by(mmf_orders.c.kind)
        ).all()
    )
    return {
        "fund_code": fund["code"],
        "fund_name": fund["name"],
        "customer_id": customer_id,
        "units": funds.units_str(units),
        "value": format_minor(units, 2),
        "nav": "1.00",
        "last_income": format_minor(last[0], 2) if last else "0.00",
        "last_income_date": last[1] if last else None,
        "total_income": format_minor(int(total), 2),
        "pending_subscriptions": format_minor(int(pending.get("subscribe") or 0), 2),
        "pending_redemptions": format_minor(int(pending.get("redeem") or 0), 2),
    }


def statement(connection: Connection, fund_code: str, customer_id: str, start: dt.date, end: dt.date) -> dict:
    """Every unit movement of the holding from `start` to `end` (China dates), with running units. End of
    day's postings (a confirmation, a day's income) carry the business date they were for: a date run late,
    or caught up, still dates them to it, and the lines run in business-date order."""
    funds.get_fund(connection, fund_code)
    account_id = funds.holder_account(fund_code, customer_id)
    movements = sorted((_business_date(t), t.seq or 0, t) for t in _whole_history(connection, account_id))
    opening = balance = income = 0
    lines = []
    for day, _seq, t in movements:
        signed = t.amount if t.credit_account_id == account_id else -t.amount
        if day < start:
            opening += signed
        elif day <= end:
            balance += signed
            income += signed if t.code == "mmf_income" else 0
            lines.append(
                {
                    "date": day.isoformat(),
                    "kind": KINDS.get(t.code, t.code),
                    "units": funds.units_str(signed),
                    "balance": funds.units_str(opening + balance),
                    "transfer_id": t.id,
                }
            )
    return {
        "fund_code": fund_code,
        "customer_id": customer_id,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "opening_units": funds.units_str(opening),
        "closing_units": funds.units_str(opening + balance),
        "income": format_minor(income, 2),
        "lines": lines,
    }


END_OF_DAY_CODES = ("mmf_income", "mmf_confirm")


def _business_date(transfer: StoredTransfer) -> dt.date:
    """The date an end-of-day posting was for (its user data), else the China date it was made."""
    if transfer.code in END_OF_DAY_CODES and transfer.user_data:
        return dt.date.fromisoformat(transfer.user_data)
    return clock.china_date(transfer.timestamp)


def _whole_history(connection: Connection, account_id: str) -> list[StoredTransfer]:
    found: list[StoredTransfer] = []
    while True:
        page = account_history(connection, account_id, after_seq=found[-1].seq if found else None, limit=1000)
        found += page
        if len(page) < 1000:
            return found
