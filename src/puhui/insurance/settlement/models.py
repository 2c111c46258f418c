"""Insurer settlement rules as values (保费结算): the commission on a period's premiums, what is remitted,
the remittance schedule, the masked settlement account and the daily partner file (对账文件).

- Commission (保险代理佣金) for a period = rate × (premiums collected − refunds paid in the period),
  rounded to the fen half-up, plus what an earlier period carried. It is never negative and never more
  than what may be remitted: a period whose refunds exceed its sales, or whose held money was spent on
  claims, takes what it can and carries the rest (negative or positive) to the next period.
- Remittance (保费划转) = what may be remitted − commission − the claims float, where what may be
  remitted is the held balance less premiums collected after the period (those belong to the next one).
  Claims and refunds already paid from the held money simply reduce it; it is never more than held.
  The claims float (理赔备付金) is the sum the insurer's terms keep back for the claims the platform
  pays on its behalf; the insurer tops it up by funding (a transfer from its bank into the held money).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

RATE_PLACES = Decimal("0.000001")
MONTHLY, EVERY = "monthly", "every"
KINDS = ("premium", "refund", "claim", "commission", "remittance", "funding", "credit")


class TermsError(ValueError):
    """Settlement terms that break a rule (the service turns it into a 4xx problem)."""


@dataclass(frozen=True)
class Schedule:
    """When premiums are remitted (划转周期): monthly on day N (1-28) or every K days (1-366)."""

    kind: str
    value: int

    def __post_init__(self) -> None:
        if self.kind == MONTHLY and not 1 <= self.value <= 28:
            raise TermsError("a monthly remittance day is from 1 to 28")
        if self.kind == EVERY and not 1 <= self.value <= 366:
            raise TermsError("a remittance every K days needs K from 1 to 366")
        if self.kind not in (MONTHLY, EVERY):
            raise TermsError(f"schedule kind must be {MONTHLY} or {EVERY}")

    def next_after(self, day: dt.date) -> dt.date:
        """The first remittance date after `day`."""
        if self.kind == EVERY:
            return day + dt.timedelta(days=self.value)
        if day.day < self.value:
            return day.replace(day=self.value)
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return dt.date(year, month, min(self.value, calendar.monthrange(year, month)[1]))


def check_rate(rate: Decimal) -> Decimal:
    """A commission rate (佣金比例) from 0 to below 1 with at most six places."""
    if not rate.is_finite() or not Decimal(0) <= rate < Decimal(1) or rate != rate.quantize(RATE_PLACES):
        raise TermsError("commission_rate must be from 0 to below 1 with at most six decimals")
    return rate


def mask_account(number: str) -> str:
    """A bank account number as shown (脱敏): asterisks but for the last four digits."""
    return "*" * (len(number) - 4) + number[-4:]


def commission_due(rate: Decimal, net_premium: int, carried: int) -> int:
    """rate × the period's premiums net of refunds, half-up to the fen, plus what was carried (may be < 0)."""
    return int((Decimal(net_premium) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)) + carried


@dataclass(frozen=True)
class Split:
    """A remittance's split of the remittable money: commission taken, remitted, commission carried."""

    commission: int
    remitted: int
    carried: int


def split(remittable: int, due: int, keep: int = 0) -> Split:
    """Take the commission due (none when due < 0, at most what may be remitted), keep the claims float
    back, remit the rest."""
    available = max(remittable, 0)
    commission = min(max(due, 0), available)
    return Split(commission, max(available - commission - keep, 0), due - commission)


# -- the daily partner file (合作机构对账文件) --------------------------------------------------------


@dataclass(frozen=True)
class FileLine:
    """One movement of the insurer's held money on the date: a premium, refund, claim, commission or
    remittance (amount in fen, always positive; the kind says the direction)."""

    business_date: str
    kind: str
    reference: str
    transfer_id: str
    amount: int


FIELDS = ("business_date", "kind", "reference", "transfer_id", "amount")
TRAILER = ("TRAILER", "count", "premiums", "refunds", "claims", "commission", "remitted", "funded", "sha256")


def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def totals(lines: Iterable[FileLine]) -> dict[str, int]:
    """The file's totals per kind (fen)."""
    sums = dict.fromkeys(KINDS, 0)
    for line in lines:
        sums[line.kind] += line.amount
    return sums


def partner_file(lines: list[FileLine]) -> str:
    """The CSV: a header, one line per movement in ledger order, and a trailer with the line count, the
    totals and the sha256 of everything before the trailer (so a truncated or edited file is caught)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for line in lines:
        writer.writerow([line.business_date, line.kind, line.reference, line.transfer_id, yuan(line.amount)])
    body = out.getvalue()
    sums = totals(lines)
    digest = hashlib.sha256(body.encode()).hexdigest()
    amounts = [yuan(sums[k]) for k in ("premium", "refund", "claim", "commission", "remittance", "funding")]
    writer.writerow(["TRAILER", len(lines), *amounts, digest])
    return out.getvalue()
