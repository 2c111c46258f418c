"""The bank's daily statement file (对账单) of the platform's reserve account.

CSV (RFC 4180, UTF-8, `\\n` line ends) with one header row and one row per settled movement:

    bank_reference,order_id,direction,amount,currency,settled_date,value_time
    B20260105000001,topup-1,credit,12.34,CNY,2026-01-05,2026-01-05T09:30:02.000000+08:00

- `direction` is seen from the reserve account: `credit` (money in: a top-up debited from a card)
  or `debit` (money out: a payout credited to a card).
- `amount` is a positive decimal string with exactly two decimals.
- `settled_date` is the business date in China Standard Time; `value_time` is the moment of
  settlement with its UTC offset, and its China date must be `settled_date`.

`parse_statement` refuses a malformed file as a whole (`MalformedStatement`, with the line
number); it does *not* refuse duplicated rows or unknown orders: finding those is
reconciliation's job.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from puhui import clock
from puhui.money import format_minor, parse_minor
from puhui.payments.bank.channel import BANK_REFERENCE, CURRENCY, ORDER_ID, SCALE
from puhui.payments.errors import MalformedStatement

HEADER = ("bank_reference", "order_id", "direction", "amount", "currency", "settled_date", "value_time")
AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,15})\.[0-9]{2}$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([+-][0-9]{2}:[0-9]{2}|Z)$")


class Direction(enum.StrEnum):
    credit = "credit"  # into the reserve account
    debit = "debit"  # out of the reserve account


@dataclass(frozen=True)
class StatementLine:
    bank_reference: str
    order_id: str
    direction: Direction
    amount: int  # fen, > 0
    currency: str
    settled_date: dt.date  # China business date
    value_time: dt.datetime  # aware

    @property
    def signed_amount(self) -> int:
        """The movement's effect on the reserve account balance."""
        return self.amount if self.direction == Direction.credit else -self.amount

    def row(self) -> tuple[str, ...]:
        return (
            self.bank_reference,
            self.order_id,
            self.direction.value,
            format_minor(self.amount, SCALE),
            self.currency,
            self.settled_date.isoformat(),
            self.value_time.astimezone(clock.CHINA).isoformat(timespec="microseconds"),
        )


def format_statement(lines: Iterable[StatementLine]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for line in lines:
        writer.writerow(line.row())
    return buffer.getvalue()


def parse_statement(data: str | bytes, business_date: dt.date | None = None) -> list[StatementLine]:
    """Every line of a statement file, or MalformedStatement; with `business_date`, every line must be of that date."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedStatement(f"not UTF-8 ({error.reason})") from None
    if not isinstance(data, str):
        raise MalformedStatement("a statement is text")
    if not data.strip():
        raise MalformedStatement("the file is empty (a statement has at least its header)")
    reader = csv.reader(io.StringIO(data, newline=""), strict=True)
    lines: list[StatementLine] = []
    try:
        header = next(reader)
        if tuple(header) != HEADER:
            raise MalformedStatement(f"the header must be {','.join(HEADER)}", line=1)
        for row in reader:
            lines.append(_parse_row(row, reader.line_num, business_date))
    except csv.Error as error:
        raise MalformedStatement(f"not valid CSV: {error}", line=reader.line_num) from None
    return lines


def _parse_row(row: list[str], number: int, business_date: dt.date | None) -> StatementLine:
    if not row:
        raise MalformedStatement("blank line", line=number)
    if len(row) != len(HEADER):
        raise MalformedStatement(f"expected {len(HEADER)} fields, found {len(row)}", line=number)
    reference, order_id, direction, amount, currency, date_text, time_text = row
    if not BANK_REFERENCE.fullmatch(reference):
        raise MalformedStatement(f"bad bank reference {reference!r}", line=number)
    if not ORDER_ID.fullmatch(order_id):
        raise MalformedStatement(f"bad order id {order_id!r}", line=number)
    if direction not in Direction.__members__:
        raise MalformedStatement(f"direction must be credit or debit, not {direction!r}", line=number)
    if not AMOUNT.fullmatch(amount) or parse_minor(amount, SCALE) <= 0:
        raise MalformedStatement(f"amount must be a positive decimal with two places, not {amount!r}", line=number)
    if currency != CURRENCY:
        raise MalformedStatement(f"currency must be {CURRENCY}, not {currency!r}", line=number)
    try:
        if not DATE.fullmatch(date_text) or not TIME.fullmatch(time_text):
            raise ValueError("format")
        settled_date = dt.date.fromisoformat(date_text)
        value_time = dt.datetime.fromisoformat(time_text)
    except ValueError:
        raise MalformedStatement(f"bad settled date or value time {date_text!r}, {time_text!r}", line=number) from None
    if clock.china_date(value_time) != settled_date:
        raise MalformedStatement("the value time is not on the settled date (China time)", line=number)
    if business_date is not None and settled_date != business_date:
        raise MalformedStatement(f"a line of {settled_date} in the statement of {business_date}", line=number)
    return StatementLine(
        bank_reference=reference,
        order_id=order_id,
        direction=Direction(direction),
        amount=parse_minor(amount, SCALE),
        currency=currency,
        settled_date=settled_date,
        value_time=value_time.astimezone(clock.UTC),
    )
