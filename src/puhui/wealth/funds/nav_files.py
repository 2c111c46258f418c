"""Loading NAV files (基金净值文件): CSV `date,fund_code,nav`, checked row by row, all rows or none.

A NAV is a positive decimal of at most 4 places (1/10000 yuan) — a zero, negative or malformed
value, an unknown fund, a bad date, a date that is not a trading day (`nav_not_trading_day`: funds are
valued on the exchanges' trading days, as `wealth.calendar` and the orders waiting for a NAV count them), or
a second NAV for a fund and day that differs from the one
already recorded (orders may have been priced at it) refuses the whole file. The same NAV again
is a no-op, so a file can be loaded twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.wealth.calendar import is_trading_day
from puhui.wealth.errors import InvalidNavFile, NavNotTradingDay
from puhui.wealth.funds.tables import fund_navs, fund_products

COLUMNS = ("date", "fund_code", "nav")
MAX_ROWS = 100_000
MAX_NAV = Decimal(100_000)


def parse_nav(text: str) -> int:
    """A NAV as 1/10000 yuan; refuses anything but a positive decimal of at most 4 places."""
    try:
        nav = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal") from None
    if not nav.is_finite() or "e" in text.lower():
        raise ValueError(f"{text!r} is not a plain decimal")
    if nav <= 0:
        raise ValueError(f"NAV {text} must be greater than zero")
    if nav >= MAX_NAV:
        raise ValueError(f"NAV {text} is implausibly high")
    scaled = nav.scaleb(4)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"NAV {text} has more than 4 decimal places")
    return int(scaled)


def _lines(reader: csv.DictReader):
    try:
        yield from reader
    except csv.Error as error:
        raise InvalidNavFile(f"line {reader.line_num}: {error}") from None


def parse_file(content: str, known: set[str]) -> list[tuple[str, str, int]]:
    """(fund_code, date, nav_e4) for every row, or InvalidNavFile naming the first bad line."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff"), newline=""))  # \r, \r\n and \n all end a line
    try:
        fields = reader.fieldnames
    except csv.Error as error:
        raise InvalidNavFile(f"line 1: {error}") from None
    if fields is None or [f.strip() for f in fields] != list(COLUMNS):
        raise InvalidNavFile("the file's header must be exactly date,fund_code,nav")
    rows: dict[tuple[str, str], int] = {}
    for n, line in enumerate(_lines(reader), start=2):
        if n - 1 > MAX_ROWS:
            raise InvalidNavFile(f"the file has more than {MAX_ROWS} rows")
        if None in line or any(line.get(c) is None for c in COLUMNS):
            raise InvalidNavFile(f"line {n}: expected 3 fields")
        day, code, value = (line[c].strip() for c in COLUMNS)
        if code not in known:
            raise InvalidNavFile(f"line {n}: unknown fund {code!r}")
        try:
            date = dt.date.fromisoformat(day)
            nav = parse_nav(value)
        except ValueError as error:
            raise InvalidNavFile(f"line {n}: {error}") from None
        if not is_trading_day(date):
            raise NavNotTradingDay(f"line {n}: {date.isoformat()} is not a trading day", line=n, date=date.isoformat())
        day = date.isoformat()
        if rows.setdefault((code, day), nav) != nav:
            raise InvalidNavFile(f"line {n}: {code} {day} appears twice with different NAVs")
    if not rows:
        raise InvalidNavFile("the file has no rows")
    return [(code, day, nav) for (code, day), nav in sorted(rows.items())]


def load_navs(uow: UnitOfWork, content: str) -> dict:
    """Record every NAV of the file in the caller's unit of work; nothing when any row is bad."""
    known = {r[0] for r in uow.execute(select(fund_products.c.code))}
    rows = parse_file(content, known)
    recorded = skipped = 0
    now = clock.now_micros()
    for code, day, nav in rows:
        existing = uow.execute(
            select(fund_navs.c.nav).where(fund_navs.c.fund_code == code, fund_navs.c.nav_date == day)
        ).scalar()
        if existing is not None:
            if existing != nav:
                raise InvalidNavFile(f"{code} {day} already has NAV {Decimal(existing).scaleb(-4)}")
            skipped += 1
            continue
        uow.execute(fund_navs.insert().values(fund_code=code, nav_date=day, nav=nav, recorded_at=now))
        recorded += 1
    return {"recorded": recorded, "unchanged": skipped}
