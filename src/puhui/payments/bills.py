"""A wallet's statement (账单): its transfers newest first, filtered by direction, kind and China dates, a
page at a time. Read through the ledger's public history function, for one wallet only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection

from puhui import clock
from puhui.identity.queries import merchant_name_and_code
from puhui.ledger import service as ledger
from puhui.ledger.models import StoredTransfer
from puhui.money import Money
from puhui.payments.errors import BillRangeInvalid, UnknownTransactionKind

Direction = Literal["in", "out"]

KINDS = frozenset(
    {
        # payments (this package)
        "top_up",
        "withdrawal",
        "qr_payment",
        "qr_refund",
        "p2p_transfer",
        "payment_review_hold",
        "payment_challenge_hold",
        "merchant_fee",
        "merchant_fee_refund",
        "merchant_refund_funding",
        "settlement",
        "reconciliation",
        # wealth
        "mmf_subscribe",
        "mmf_redeem_cash",
        "fund_purchase",
        "fund_redeem_cash",
        # lending
        "loan_disbursement",
        "principal_repayment",
        "interest_repayment",
        "fee_repayment",
        "penalty_repayment",
        "early_repayment_fee",
        # insurance
        "premium",
        "claim",
        "refund",
        # securities
        "securities_transfer_in",
        "securities_transfer_out",
        # supply-chain finance
        "scf_advance",
        "scf_payment",
        "scf_repayment",
    }
)
"""The transfer codes that move money into or out of a customer's or a merchant's wallet: the statement's
`kind` filter takes these (`check_kind`), and any other code the wallet has lines of."""


@dataclass(frozen=True)
class BillFilter:
    """Which lines of the statement to show: money in or out, one transfer code, China dates inclusive."""

    direction: Direction | None = None
    kind: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise BillRangeInvalid(f"from {self.start} is after to {self.end}")


@dataclass(frozen=True)
class Bill:
    """One line of a wallet's statement (账单明细): a transfer into or out of the wallet. A hold (冻结) shows
    once, its status saying whether it was posted, voided or expired."""

    id: str
    seq: int
    kind: str
    direction: Direction
    amount: Money
    at: int
    status: str
    counterparty: str = ""
    """The other account of the transfer (the merchant's wallet of a QR payment, its refund…)."""


@dataclass(frozen=True)
class BillPage:
    """A page of bills, newest first; `next_before` is the cursor of the next page (None on the last)."""

    bills: tuple[Bill, ...]
    next_before: int | None


HELD_PAYMENTS = {"payment_review_hold": ".hold", "payment_challenge_hold": ".challenge"}
"""The hold of a payment parked for a risk officer's review (人工审核, `reviews.hold`) or its payer's step-up
challenge (核身, `challenges.park`), by code: its id is the payment's id and this suffix."""
MADE_AS = {"p2p_": "p2p_transfer", "qrp_": "qr_payment"}
"""The transfer code a payment made at once has, by its id's prefix (`service.pay_p2p`, `service.pay_qr`): the
kind a held payment's line reads as once its hold is posted, the payment made."""


def made_payment(transfer: StoredTransfer) -> tuple[str, str] | None:
    """(the payment's id, the kind of its line) when `transfer` is the hold of a parked payment that was
    approved or passed its challenge (the hold posted: the payment made); None for any other transfer. From
    the transfer alone, no read."""
    suffix = HELD_PAYMENTS.get(transfer.code)
    status = transfer.status.value if transfer.status else "posted"
    if suffix is None or status != "posted" or not transfer.id.endswith(suffix):
        return None
    payment_id = transfer.id[: -len(suffix)]
    kind = next((made for prefix, made in MADE_AS.items() if payment_id.startswith(prefix)), None)
    return (payment_id, kind) if kind is not None else None


def bill_of(transfer: StoredTransfer, account_id: str) -> Bill:
    """The transfer as a line of the account's statement. A parked payment whose hold was posted (approved
    after review, or its challenge passed) reads as the payment it became: the kind of a payment made at once
    (`p2p_transfer`, `qr_payment`) and the payment's id, not the hold's; `pending`, `voided` and `expired`
    holds keep their own kind and id (held, rejected, lapsed)."""
    assert transfer.seq is not None, "a stored transfer has its ledger order"
    incoming = transfer.credit_account_id == account_id
    made = made_payment(transfer)
    return Bill(
        id=made[0] if made else transfer.id,
        seq=transfer.seq,
        kind=made[1] if made else transfer.code,
        direction="in" if incoming else "out",
        amount=Money.of_minor(transfer.amount),
        at=transfer.timestamp,
        status=transfer.status.value if transfer.status else "posted",
        counterparty=transfer.debit_account_id if incoming else transfer.credit_account_id,
    )


def _codes(kind: str | None) -> list[str | None]:
    """The transfer codes whose lines may show as `kind`: itself, and the holds of parked payments for the
    kind of a payment made (an approved one reads as that kind). All codes (None) without a kind."""
    if kind is None:
        return [None]
    return [kind, *HELD_PAYMENTS] if kind in MADE_AS.values() else [kind]


def _newest(
    connection: Connection, account_id: str, wanted: BillFilter, codes: list[str | None], before: int | None, n: int
) -> list[StoredTransfer]:
    """The account's `n` newest transfers of any of `codes` older than `before`, newest first."""
    found = [
        transfer
        for code in codes
        for transfer in ledger.recent_transfers(
            connection,
            account_id,
            before_seq=before,
            limit=n,
            direction=wanted.direction,
            code=code,
            since_micros=clock.day_bounds(wanted.start)[0] if wanted.start else None,
            until_micros=clock.day_bounds(wanted.end)[1] if wanted.end else None,
        )
    ]
    found.sort(key=lambda transfer: transfer.seq or 0, reverse=True)
    return found[:n]


def statement_page(
    connection: Connection, account_id: str, wanted: BillFilter, *, before: int | None = None, limit: int = 20
) -> BillPage:
    """The wallet's bills the filter admits, newest first, older than the cursor `before`. A `kind` admits the
    lines that read as it (`bill_of`): `p2p_transfer` the approved held transfers too, `payment_review_hold`
    only the holds not made payments; read a page at a time until the page is full or the history ends."""
    codes = _codes(wanted.kind)
    kept: list[Bill] = []
    cursor = before
    while len(kept) <= limit:
        found = _newest(connection, account_id, wanted, codes, cursor, limit + 1)
        for transfer in found:
            bill = bill_of(transfer, account_id)
            if wanted.kind is None or bill.kind == wanted.kind:
                kept.append(bill)
        if len(found) <= limit:
            break
        cursor = found[-1].seq
    bills = tuple(kept[:limit])
    return BillPage(bills, bills[-1].seq if len(kept) > limit else None)


def check_kind(connection: Connection, account_id: str, wanted: BillFilter, page: BillPage) -> None:
    """Refuse a `kind` filter that names no transfer code of a wallet (`UnknownTransactionKind`, naming the
    allowed codes), rather than answer an empty statement for a typo: a code of `KINDS`, or one the wallet
    has lines of (a code another product added since), is a kind. Reads only for a kind outside `KINDS`
    whose page came back empty."""
    kind = wanted.kind
    if kind is None or kind in KINDS or page.bills:
        return
    if ledger.recent_transfers(connection, account_id, limit=1, code=kind):
        return
    raise UnknownTransactionKind(
        f"kind {kind!r} is no transfer code of a wallet: use one of {', '.join(sorted(KINDS))}",
        field="kind",
        allowed=sorted(KINDS),
    )


def merchant_names(connection: Connection, page: BillPage) -> dict[str, str]:
    """The merchant's trading name (商户名称) of each line's other account that is a merchant's (its wallet,
    or its refund funds), by account: read through the ledger's and identity's public functions, once per
    account on the page. A customer's account (a P2P transfer) or the platform's has none here."""
    names: dict[str, str] = {}
    for account_id in {bill.counterparty for bill in page.bills if bill.counterparty}:
        account = ledger.get_account(connection, account_id)
        found = merchant_name_and_code(connection, account.owner_id) if account and account.owner_id else None
        if found is not None:
            names[account_id] = found[0]
    return names


def bill_json(bill: Bill, names: dict[str, str] | None = None) -> dict[str, Any]:
    merchant = (names or {}).get(bill.counterparty)
    return {
        "id": bill.id,
        "kind": bill.kind,
        "direction": bill.direction,
        "amount": str(bill.amount.rounded().amount),
        "currency": bill.amount.currency,
        "at": clock.iso(bill.at),
        "status": bill.status,
        **({"merchant_name": merchant} if merchant else {}),
    }


def page_json(page: BillPage, names: dict[str, str] | None = None) -> dict[str, Any]:
    """The page as the API answers it; `names` (`merchant_names`) name the merchant of a line with one."""
    return {
        "transactions": [bill_json(bill, names) for bill in page.bills],
        "next_before": page.next_before,
    }
