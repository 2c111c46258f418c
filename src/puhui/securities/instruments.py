"""Instruments as data (证券): the listed shares, each with its own unit ledger `SEC:<code>` (scale 0,
whole shares). On it the instrument's `issued` account (证券登记) is debited by every share deposited
with the broker and a holder's account credited; a holder's `frozen` account holds shares under a
sell order until it fills or ends."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.ledger import service as ledger_service
from puhui.securities import models
from puhui.securities.errors import UnknownInstrument
from puhui.securities.refusals import InstrumentExists
from puhui.securities.tables import securities_instruments as instruments

OWNER = "securities.broker"

# A few real A-shares (illustrative previous closes, fen), listed on first use.
DEFAULTS: tuple[tuple[str, str, str, str, dt.date, int], ...] = (
    ("600519", "SSE", "main", "贵州茅台", dt.date(2001, 8, 27), 145_000),
    ("600000", "SSE", "main", "浦发银行", dt.date(1999, 11, 10), 1_050),
    ("000001", "SZSE", "main", "平安银行", dt.date(1991, 4, 3), 1_150),
    ("300750", "SZSE", "chinext", "宁德时代", dt.date(2018, 6, 11), 38_000),
    ("688981", "SSE", "star", "中芯国际", dt.date(2020, 7, 16), 11_000),
)

# ETFs for the advisor's asset classes (illustrative previous closes in 厘, 0.001 CNY).
ETF_DEFAULTS: tuple[tuple[str, str, str, str, dt.date, int], ...] = (
    ("510300", "SSE", "etf", "沪深300ETF", dt.date(2012, 5, 28), 3_900),
    ("510500", "SSE", "etf", "中证500ETF", dt.date(2013, 3, 15), 5_800),
    ("159915", "SZSE", "etf", "创业板ETF", dt.date(2011, 12, 9), 2_100),
    ("511010", "SSE", "etf", "国债ETF", dt.date(2013, 3, 25), 140_000),
    ("518880", "SSE", "etf", "黄金ETF", dt.date(2013, 7, 29), 6_500),
    ("511880", "SSE", "etf", "银华日利ETF", dt.date(2013, 4, 18), 101_000),
)


def ledger_of(code: str) -> str:
    return f"SEC:{code}"


def issued_account(code: str) -> str:
    return f"sec.{code}.issued"


def holder_account(code: str, customer_id: str) -> str:
    return f"sec.{code}.{customer_id}"


def frozen_shares_account(code: str, customer_id: str) -> str:
    return f"sec.{code}.{customer_id}.frozen"


def model_of(row: dict[str, Any]) -> models.Instrument:
    return models.Instrument(
        code=row["code"],
        exchange=models.Exchange(row["exchange"]),
        board=models.Board(row["board"]),
        name=row["name"],
        listed_on=row["listed_on"],
        st=bool(row["st"]),
    )


def find(connection: Connection, code: str) -> dict[str, Any] | None:
    row = connection.execute(select(instruments).where(instruments.c.code == code)).mappings().first()
    return dict(row) if row is not None else None


def require(connection: Connection, code: str) -> dict[str, Any]:
    row = find(connection, code)
    if row is None:
        raise UnknownInstrument(f"no instrument {code!r} is listed")
    return row


def lock(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """The instrument's row, locked to the end of the unit of work (PostgreSQL; SQLite has one writer):
    every order and cancel of the instrument passes here, one at a time."""
    query = select(instruments).where(instruments.c.code == code)
    row = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
    if row is None:
        raise UnknownInstrument(f"no instrument {code!r} is listed")
    return dict(row)


def list_all(connection: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in connection.execute(select(instruments).order_by(instruments.c.code)).mappings()]


def list_instrument(uow: UnitOfWork, instrument: models.Instrument, previous_close: int) -> dict[str, Any]:
    """List a share (上市): its row, its unit ledger and its issued account; the same again is a no-op,
    other data for a listed code is `instrument_exists`."""
    existing = find(uow.connection, instrument.code)
    if existing is not None:
        if model_of(existing) != instrument or existing["previous_close"] != previous_close:
            raise InstrumentExists(f"{instrument.code} is listed with other data")
        return existing
    code = instrument.code
    ledger_service.create_ledger(uow, ledger_of(code), f"{code} shares", kind="asset", scale=0)
    ledger_service.create_account(
        uow, ledger=ledger_of(code), code="securities_shares_issued", owner_id=OWNER, id=issued_account(code)
    )
    row = {
        "code": code,
        "exchange": instrument.exchange.value,
        "board": instrument.board.value,
        "name": instrument.name,
        "listed_on": instrument.listed_on,
        "st": instrument.st,
        "previous_close": previous_close,
        "last_price": None,
        "book_version": uuid.uuid4().hex,
        "book_moment": None,
        "order_seq": 0,
        "created_at": clock.now_micros(),
    }
    uow.execute(instruments.insert().values(**row))
    return row


def ensure_defaults(uow: UnitOfWork) -> None:
    """List the default shares and ETFs when nothing is listed yet (first use)."""
    if uow.execute(select(instruments.c.code).limit(1)).first() is not None:
        return
    for code, venue, board, name, listed_on, close in DEFAULTS:
        instrument = models.Instrument(code, models.Exchange(venue), models.Board(board), name, listed_on)
        list_instrument(uow, instrument, close)
    ensure_etfs(uow)


def ensure_etfs(uow: UnitOfWork) -> None:
    """List each default ETF not yet listed (what robo-advice trades)."""
    for code, venue, board, name, listed_on, close in ETF_DEFAULTS:
        if find(uow.connection, code) is None:
            instrument = models.Instrument(code, models.Exchange(venue), models.Board(board), name, listed_on)
            list_instrument(uow, instrument, close)


def instrument_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "exchange": row["exchange"],
        "board": row["board"],
        "name": row["name"],
        "listed_on": row["listed_on"].isoformat(),
        "st": bool(row["st"]),
        "previous_close": models.format_price(row["code"], row["previous_close"]),
        "units_ledger": ledger_of(row["code"]),
    }
