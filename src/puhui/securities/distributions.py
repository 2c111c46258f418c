"""Corporate actions applied to the book (权益分派实施): staff announce a distribution, and when the
instrument's book first moves into the ex-date (除权除息日) it is applied in that unit of work.

That moment is the registrar's record (股权登记): the record date's close has expired every order, so
each holder's shares are whole in their holder account and nothing of the ex-date has traded. There
the holders' entitlements (`corporate.entitlements`, 零碎股 included) are fixed and paid:
- cash (派息): the issuer's money arrives at the bank and passes through the registrar's dividend
  account (`securities.dividends_payable`, 代派) to each holder's brokerage cash:
  `platform.reserve_bank.CNY` → dividends payable (securities_dividend_funding), then → `sec.cash.<c>`
  (securities_dividend); the cost basis falls by the cash received (摊薄成本);
- bonus shares (送股/转增): from the instrument's issued account to the holder account
  (securities_bonus_shares), at no cost, so the position's average cost falls. 红股 are credited on the
  ex-date and sellable that day: the 红股上市日 is the ex-date here;
- the ex-date's previous close becomes the reference price (除权除息参考价), the base of its band.
An action applies once: its row says `applied` and its transfers have fixed ids. Individual dividend
tax (差别化征税) is withheld at sale and not handled here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events.outbox import publish
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_account, post_chain
from puhui.money import format_minor
from puhui.payments.wallets import RESERVE
from puhui.securities import accounts, calendar, corporate, gateway, instruments
from puhui.securities.booking import TOPIC, add_cost, shares_total
from puhui.securities.errors import CorporateActionInvalid
from puhui.securities.refusals import CorporateActionExists
from puhui.securities.tables import securities_corporate_actions as actions
from puhui.securities.tables import securities_entitlements as entitled
from puhui.securities.tables import securities_instruments as instruments_table
from puhui.securities.tables import securities_positions as positions

DIVIDENDS_PAYABLE = "securities.dividends_payable"
ANNOUNCED, APPLIED = "announced", "applied"


def _action_id(code: str, ex_date: dt.date) -> str:
    return "sca_" + hashlib.sha256(f"{code}\x1f{ex_date.isoformat()}".encode()).hexdigest()[:24]


def _move_id(action_id: str, what: str) -> str:
    return "secd_" + hashlib.sha256(f"{action_id}\x1f{what}".encode()).hexdigest()[:24]


def plan_of(row: dict[str, Any]) -> corporate.Distribution:
    bonus = Decimal(row["bonus_per_10"])
    return corporate.Distribution(row["code"], row["record_date"], row["ex_date"], row["cash_per_10"], bonus)


def announce(uow: UnitOfWork, plan: corporate.Distribution) -> dict[str, Any]:
    """Announce a distribution (权益分派实施公告): the record date a trading day not yet past, the ex-date
    the next trading day; the same terms again answer the first announcement."""
    row = instruments.lock(uow, plan.code)
    if not calendar.is_trading_day(plan.record_date) or plan.ex_date != calendar.next_trading_day(plan.record_date):
        raise CorporateActionInvalid("the record date is a trading day and the ex-date the next one")
    if plan.record_date < gateway.exchange_moment().date():
        raise CorporateActionInvalid(f"the record date {plan.record_date} has passed")
    corporate.ex_reference_price(row["last_price"] or row["previous_close"], plan)  # the dividend below the price
    action_id = _action_id(plan.code, plan.ex_date)
    existing = find(uow.connection, action_id)
    if existing is not None:
        if plan_of(existing) != plan:
            raise CorporateActionExists(f"{plan.code} has another distribution with ex-date {plan.ex_date}")
        return action_json(uow.connection, existing)
    if row["book_moment"] is None:  # a book never moved: give it a day, so the ex-date's opening is seen
        moved = instruments_table.update().where(instruments_table.c.code == plan.code)
        uow.execute(moved.values(book_moment=clock.now_micros(), book_version=action_id[-24:]))
    new = {
        "id": action_id,
        "code": plan.code,
        "record_date": plan.record_date,
        "ex_date": plan.ex_date,
        "cash_per_10": plan.cash_per_10,
        "bonus_per_10": str(plan.bonus_per_10),
        "status": ANNOUNCED,
        "reference_price": None,
        "applied_at": None,
        "created_at": clock.now_micros(),
    }
    uow.execute(actions.insert().values(**new))
    publish(uow, TOPIC, "securities.corporate_action_announced", action_id, {"code": plan.code, **_terms(new)})
    return action_json(uow.connection, new)


def _terms(row: dict[str, Any]) -> dict[str, str]:
    return {
        "record_date": row["record_date"].isoformat(),
        "ex_date": row["ex_date"].isoformat(),
        "cash_per_10": format_minor(row["cash_per_10"], 2),
        "bonus_per_10": row["bonus_per_10"],
    }


def find(connection: Connection, action_id: str) -> dict[str, Any] | None:
    found = connection.execute(select(actions).where(actions.c.id == action_id)).mappings().first()
    return dict(found) if found is not None else None


def due_codes(connection: Connection, day: dt.date) -> list[str]:
    """Instruments with a distribution announced whose ex-date has come."""
    query = select(actions.c.code).where(actions.c.status == ANNOUNCED, actions.c.ex_date <= day).distinct()
    return sorted(connection.execute(query).scalars())


def on_new_day(uow: UnitOfWork, session: gateway.Session) -> None:
    """The book has just opened a new day: apply the instrument's distributions whose ex-date has come."""
    code, day = session.row["code"], session.exchange.day
    query = (
        select(actions)
        .where(actions.c.code == code, actions.c.status == ANNOUNCED, actions.c.ex_date <= day)
        .order_by(actions.c.ex_date)
    )
    for row in uow.execute(query).mappings().all():
        _apply(uow, session, dict(row))


def _holdings(uow: UnitOfWork, code: str) -> dict[str, int]:
    holders = uow.execute(select(positions.c.customer_id).where(positions.c.code == code)).scalars().all()
    held = {customer: shares_total(uow, customer, code) for customer in holders}
    return {customer: shares for customer, shares in held.items() if shares > 0}


def _apply(uow: UnitOfWork, session: gateway.Session, row: dict[str, Any]) -> None:
    code, action_id, plan = row["code"], row["id"], plan_of(row)
    reference = corporate.ex_reference_price(session.market.previous_close, plan)
    held = _holdings(uow, code)
    due = corporate.entitlements(plan, held)
    total = sum(e.cash for e in due)
    moves = []
    if total:
        create_account(
            uow,
            ledger=accounts.LEDGER,
            code="securities_dividends_payable",
            owner_id=instruments.OWNER,
            id=DIVIDENDS_PAYABLE,
            flags=accounts.NO_OVERDRAFT,
        )
        moves.append(
            Transfer(
                _move_id(action_id, "fund"),
                RESERVE,
                DIVIDENDS_PAYABLE,
                total,
                accounts.LEDGER,
                "securities_dividend_funding",
            )
        )
    for e in due:
        if e.cash:
            to = accounts.cash_account(e.account)
            moves.append(
                Transfer(
                    _move_id(action_id, f"{e.account}.cash"),
                    DIVIDENDS_PAYABLE,
                    to,
                    e.cash,
                    accounts.LEDGER,
                    "securities_dividend",
                )
            )
            add_cost(uow, e.account, code, -e.cash)
        if e.shares:
            to = instruments.holder_account(code, e.account)
            moves.append(
                Transfer(
                    _move_id(action_id, f"{e.account}.shares"),
                    instruments.issued_account(code),
                    to,
                    e.shares,
                    instruments.ledger_of(code),
                    "securities_bonus_shares",
                )
            )
    post_chain(uow, moves)
    for e in due:
        uow.execute(
            entitled.insert().values(
                action_id=action_id, customer_id=e.account, held=held[e.account], cash=e.cash, shares=e.shares
            )
        )
    session.exchange.rebase(code, reference)
    done = {"status": APPLIED, "reference_price": reference, "applied_at": clock.now_micros()}
    uow.execute(actions.update().where(actions.c.id == action_id).values(**done))
    applied = {"code": code, "reference_price": format_minor(reference, 2), "cash_paid": format_minor(total, 2)}
    publish(uow, TOPIC, "securities.corporate_action_applied", action_id, {**applied, "holders": len(due)})


def entitlement_rows(connection: Connection, action_id: str) -> list[dict[str, Any]]:
    query = select(entitled).where(entitled.c.action_id == action_id).order_by(entitled.c.customer_id)
    return [dict(r) for r in connection.execute(query).mappings()]


def list_actions(connection: Connection, code: str | None = None) -> list[dict[str, Any]]:
    query = select(actions).order_by(actions.c.ex_date.desc(), actions.c.code)
    if code is not None:
        query = query.where(actions.c.code == code)
    return [action_json(connection, dict(r)) for r in connection.execute(query).mappings()]


def received(connection: Connection, customer_id: str) -> list[dict[str, Any]]:
    """What the customer received from distributions (分红送股记录), newest first."""
    query = (
        select(entitled, actions.c.code, actions.c.ex_date)
        .join(actions, actions.c.id == entitled.c.action_id)
        .where(entitled.c.customer_id == customer_id)
        .order_by(actions.c.ex_date.desc(), actions.c.code)
    )
    return [
        {
            "code": r["code"],
            "ex_date": r["ex_date"].isoformat(),
            "held": r["held"],
            "cash": format_minor(r["cash"], 2),
            "shares": r["shares"],
        }
        for r in connection.execute(query).mappings()
    ]


def action_json(connection: Connection, row: dict[str, Any]) -> dict[str, Any]:
    rows = entitlement_rows(connection, row["id"]) if row["status"] == APPLIED else []
    price = row["reference_price"]
    return {
        "id": row["id"],
        "code": row["code"],
        **_terms(row),
        "status": row["status"],
        "reference_price": None if price is None else format_minor(price, 2),
        "holders": len(rows),
        "cash_paid": format_minor(sum(r["cash"] for r in rows), 2),
        "bonus_shares": sum(r["shares"] for r in rows),
    }
