"""The customer's bills (账单): the wallet's own ledger history, newest first, filtered by direction,
kind and China-time dates. Read with the ledger's public history function, for the viewer's wallet only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from puhui import clock
from puhui.db import reading
from puhui.identity.service import customer_wallet_id
from puhui.ledger import service as ledger
from puhui.money import format_minor

KINDS = {
    "top_up": "Top-up",
    "withdrawal": "Withdrawal",
    "qr_payment": "Payment to a merchant",
    "qr_refund": "Refund",
    "p2p_transfer": "Transfer",
    "mmf_subscribe": "Fund subscription",
    "mmf_redeem_cash": "Fund redemption",
}
"""Transfer codes a customer sees, named in the customer's words (other codes show as they are)."""
MAX_SCAN = 5_000


@dataclass(frozen=True)
class BillFilter:
    direction: str = ""  # "in", "out" or "" for both
    kind: str = ""
    start: dt.date | None = None
    end: dt.date | None = None

    def admits(self, bill: dict) -> bool:
        day = clock.china_date(clock.micros_of(bill["at"]))
        return (
            (not self.direction or bill["direction"] == self.direction)
            and (not self.kind or bill["code"] == self.kind)
            and (self.start is None or day >= self.start)
            and (self.end is None or day <= self.end)
        )


def bills(engine: Engine, customer_id: str, wanted: BillFilter, limit: int = 50) -> list[dict]:
    """The wallet's posted and pending transfers the filter admits, newest first."""
    account_id = customer_wallet_id(customer_id)
    with reading(engine) as connection:
        history = ledger.account_history(connection, account_id, limit=MAX_SCAN)
    found = []
    for transfer in reversed(history):
        if transfer.pending_id is not None:  # a hold's posting or voiding: the hold row is the bill
            continue
        bill = {
            "id": transfer.id,
            "code": transfer.code,
            "direction": "in" if transfer.credit_account_id == account_id else "out",
            "amount": format_minor(transfer.amount, 2),
            "at": clock.iso(transfer.timestamp),
            "status": transfer.status.value if transfer.status else "posted",
        }
        if wanted.admits(bill):
            found.append(bill)
        if len(found) >= limit:
            break
    return found


def parse_day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
