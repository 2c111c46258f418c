"""The caller's wallet statement (账单) under /v1/wallets/me/transactions: every transfer into or out of the
wallet, newest first, a page at a time, for a customer or a merchant."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import Caller, EngineDep, Principal
from puhui.api.fields import DAY_PATTERN, Money, Schema, Timestamp
from puhui.db import reading
from puhui.eod.dates import parse_date
from puhui.errors import Forbidden
from puhui.identity.service import customer_wallet_id, merchant_wallet_id
from puhui.payments import bills

router = APIRouter(prefix="/v1/wallets/me", tags=["payments"])

DAY_SCHEMA = {"pattern": DAY_PATTERN, "format": "date"}  # documented; parsed by `parse_date` (`date_invalid`)


class WalletTransaction(Schema):
    """A line of the statement (账单明细). `kind` is the ledger's transfer code (`qr_payment`, `qr_refund`,
    `top_up`, `withdrawal`, `p2p_transfer`, `mmf_subscribe`, `loan_disbursement`…); `status` is `posted`,
    or for a hold (冻结) `pending`, `posted`, `voided` or `expired`. A payment held for review (风控审核) is
    one line of kind `payment_review_hold` (`payment_challenge_hold` while its payer's challenge waits):
    `pending` while held, `voided` or `expired` when rejected or left to lapse. Once approved (or the
    challenge passed) the line reads as the payment made: kind `p2p_transfer` or `qr_payment`, `posted`, its
    `id` the payment's id, found by that kind's filter."""

    id: str
    kind: str
    direction: Literal["in", "out"]
    amount: Money
    currency: Literal["CNY"]
    at: Timestamp
    status: Literal["posted", "pending", "voided", "expired"]
    merchant_name: str | None = Field(
        None,
        description="the merchant's trading name (商户名称) on a line with a merchant: a QR payment to it, its "
        "refund, a payment to it held for review; absent on other lines",
    )


class WalletTransactions(Schema):
    """A page of the statement, newest first. `next_before`, when not null, is passed as `before` for the
    next (older) page."""

    transactions: list[WalletTransaction]
    next_before: int | None


def _wallet_of(principal: Principal) -> str:
    if principal.role == "customer":
        return customer_wallet_id(principal.id)
    if principal.role == "merchant":
        return merchant_wallet_id(principal.id)
    raise Forbidden("only customers and merchants have a wallet")


@router.get(
    "/transactions",
    summary="The caller's wallet statement (账单), newest first (customer or merchant)",
    response_model=WalletTransactions,
    response_model_exclude_unset=True,
)
async def my_transactions(
    engine: EngineDep,
    principal: Caller,
    direction: Annotated[Literal["in", "out"] | None, Query(description="money in or out; both if absent")] = None,
    kind: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$", description="one transfer code")
    ] = None,
    start: Annotated[
        str | None, Query(alias="from", json_schema_extra=DAY_SCHEMA, description="from this China date")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", json_schema_extra=DAY_SCHEMA, description="to this China date")
    ] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="a page's `next_before`")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="how many, newest first")] = 20,
) -> dict:
    account_id = _wallet_of(principal)
    wanted = bills.BillFilter(
        direction,
        kind,
        parse_date(start, "from") if start is not None else None,
        parse_date(end, "to") if end is not None else None,
    )

    def read() -> dict:
        with reading(engine) as connection:
            page = bills.statement_page(connection, account_id, wanted, before=before, limit=limit)
            bills.check_kind(connection, account_id, wanted, page)
            return WalletTransactions.shape(bills.page_json(page, bills.merchant_names(connection, page)))

    return await run_in_threadpool(read)
