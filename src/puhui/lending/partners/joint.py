"""Joint lending and facilitation (联合贷款 / 助贷): splitting a loan's money between the platform
and a funding partner (a bank).

Each side funds a share of the principal and receives that share of every repayment of principal
and interest. Splits are cumulative, so however many repayments a loan has, the platform's parts
add up to exactly its share of the total (half-up to the fen) and nothing is lost to rounding:
the part of a repayment is share × (paid so far, this one included) − share × (paid before it).
In pure facilitation the platform funds nothing (share 0) and earns a service fee instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


def _share(amount: int, share: Decimal) -> int:
    return int((Decimal(amount) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def split(paid_before: int, amount: int, platform_share: Decimal) -> tuple[int, int]:
    """(platform part, partner part) of `amount`, given what was paid before it in the same stream."""
    platform = _share(paid_before + amount, platform_share) - _share(paid_before, platform_share)
    return platform, amount - platform


@dataclass(frozen=True)
class PartnerLine:
    """One line of the partner's daily file (合作机构对账文件)."""

    business_date: str
    loan_id: str
    event: str  # disbursement | repayment | write_off
    principal: int
    interest: int
    partner_principal: int
    partner_interest: int


FIELDS = ("business_date", "loan_id", "event", "principal", "interest", "partner_principal", "partner_interest")


def partner_file(lines: Iterable[PartnerLine]) -> str:
    """The daily CSV for the partner: amounts in yuan with two decimals, sorted by loan and event."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for line in sorted(lines, key=lambda x: (x.loan_id, x.event)):
        writer.writerow(
            [
                line.business_date,
                line.loan_id,
                line.event,
                *(
                    f"{Decimal(v) / 100:.2f}"
                    for v in (line.principal, line.interest, line.partner_principal, line.partner_interest)
                ),
            ]
        )
    return out.getvalue()
