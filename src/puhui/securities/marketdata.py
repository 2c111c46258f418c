"""Market data (行情) from the exchange's trades: ticks (逐笔成交), 1-minute bars (分钟线) and daily
bars (日线) with open, high, low, close, volume in shares and turnover (成交额) in fen, and the
five-level quote (五档行情).

A bar belongs to the minute its trades happened in, stamped with the minute's start; a minute
without trades has no bar. The daily bar's close is the exchange's close (the closing auction's
price), which may differ from the last minute's close when the auction printed nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from puhui.securities.errors import BarFileInvalid


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade as the market sees it."""

    at: dt.datetime  # China time
    price: int  # fen
    quantity: int


@dataclass(frozen=True, slots=True)
class Bar:
    start: dt.datetime
    open: int
    high: int
    low: int
    close: int
    volume: int  # shares
    turnover: int  # fen

    @property
    def vwap(self) -> Decimal:
        """Volume-weighted average price in fen (均价)."""
        return Decimal(self.turnover) / self.volume


def bars(ticks: Iterable[Tick], minutes: int = 1) -> list[Bar]:
    """Bars of `minutes` minutes from ticks in time order."""
    out: list[Bar] = []
    current: list[int] | None = None  # open, high, low, close, volume, turnover
    start: dt.datetime | None = None
    for tick in ticks:
        minute = tick.at.replace(second=0, microsecond=0)
        minute -= dt.timedelta(minutes=minute.minute % minutes)
        if minute != start:
            if current is not None and start is not None:
                out.append(Bar(start, *current))
            start, current = minute, [tick.price, tick.price, tick.price, tick.price, 0, 0]
        assert current is not None
        current[1] = max(current[1], tick.price)
        current[2] = min(current[2], tick.price)
        current[3] = tick.price
        current[4] += tick.quantity
        current[5] += tick.price * tick.quantity
    if current is not None and start is not None:
        out.append(Bar(start, *current))
    return out


def daily_bar(ticks: Iterable[Tick], day: dt.date, close: int | None = None) -> Bar | None:
    """The day's bar; `close` is the exchange's close when it differs from the last trade."""
    rows = [t for t in ticks if t.at.date() == day]
    if not rows:
        return None
    prices = [t.price for t in rows]
    return Bar(
        dt.datetime.combine(day, dt.time(0)),
        prices[0],
        max(prices),
        min(prices),
        prices[-1] if close is None else close,
        sum(t.quantity for t in rows),
        sum(t.price * t.quantity for t in rows),
    )


@dataclass(frozen=True, slots=True)
class DailyRecord:
    """One row of a historical daily bar file (date,open,high,low,close,volume), prices in CNY."""

    day: dt.date
    open: int
    high: int
    low: int
    close: int
    volume: int


def read_bar_file(path: Path) -> list[DailyRecord]:
    """Historical daily bars to replay: CSV with a header `date,open,high,low,close,volume`, prices as
    decimal CNY with at most two places, dates in order, low ≤ open, close ≤ high."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(_records(csv.DictReader(handle)))


def _records(rows: Iterator[dict[str, str]]) -> Iterator[DailyRecord]:
    previous: dt.date | None = None
    for n, row in enumerate(rows, start=2):
        try:
            day = dt.date.fromisoformat(row["date"])
            o, h, lo, c = (_fen(row[k]) for k in ("open", "high", "low", "close"))
            volume = int(row["volume"])
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            raise BarFileInvalid(f"line {n}: {error}") from error
        if not (0 < lo <= min(o, c) and max(o, c) <= h) or volume < 0:
            raise BarFileInvalid(f"line {n}: prices out of order or a negative volume")
        if previous is not None and day <= previous:
            raise BarFileInvalid(f"line {n}: {day} does not follow {previous}")
        previous = day
        yield DailyRecord(day, o, h, lo, c, volume)


def _fen(text: str) -> int:
    value = Decimal(text)
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{text} has more than two decimal places")
    return int(value * 100)
