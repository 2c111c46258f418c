"""What the ledger API (总账) answers with: an account and its balances, a transfer, a batch's results
and the chart of accounts. Amounts are decimal strings at the scale of their ledger (CNY: two places,
a unit ledger may have more), so they are not `Money`: `LedgerAmount` describes them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from puhui.api.fields import Schema, Timestamp
from puhui.ledger.models import PendingStatus, TransferResult

LedgerAmount = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        examples=["12.34"],
        description="an amount in the ledger's unit, as a decimal string with the ledger's scale of places "
        "(CNY: two, e.g. 12.34); never negative",
    ),
]
"""A ledger amount or balance counter: minor units formatted at the ledger's scale (`money.format_minor`)."""

AccountFlagName = Literal["debits_must_not_exceed_credits", "credits_must_not_exceed_debits", "closed"]
"""The names of `AccountFlags` (a test keeps the two alike)."""

TransferFlagName = Literal["linked", "pending", "post_pending", "void_pending"]
"""The names of `TransferFlags` (a test keeps the two alike)."""


class LedgerAccount(Schema):
    """An account (账户) and its four balance counters, in its ledger's unit."""

    id: str
    ledger: str = Field(description="the ledger (currency or asset) the account is kept in, e.g. CNY")
    code: str = Field(description="its code in the chart of accounts (科目), e.g. customer_wallet")
    owner_id: str | None
    flags: list[AccountFlagName]
    debits_pending: LedgerAmount
    debits_posted: LedgerAmount
    credits_pending: LedgerAmount
    credits_posted: LedgerAmount
    as_of: Timestamp | None = Field(
        None, description="only when balances as of a past time were asked for: that time, as it was given"
    )


class LedgerAccounts(Schema):
    """A page of accounts, by id; `next` is the cursor of the next page (null on the last one)."""

    accounts: list[LedgerAccount]
    next: str | None


class LedgerTransfer(Schema):
    """A transfer (转账) as posted: a debit of one account and a credit of another, in ledger order `seq`."""

    id: str
    debit_account_id: str
    credit_account_id: str
    amount: LedgerAmount
    ledger: str
    code: str
    flags: list[TransferFlagName]
    pending_id: str | None = Field(description="the hold (pending transfer) this transfer posts or voids")
    timeout_seconds: int
    user_data: str | None
    timestamp: Timestamp
    status: PendingStatus | None = Field(description="a hold's state (pending transfers only)")
    seq: int = Field(description="the transfer's place in ledger order (a history page's cursor)")


class LedgerTransfers(Schema):
    """A page of an account's transfers in ledger order; `next` is the cursor of the next page."""

    transfers: list[LedgerTransfer]
    next: int | None


class TransferOutcome(Schema):
    """One transfer's result in a batch: `ok` or `exists` mean it is in the ledger as asked."""

    id: str
    result: TransferResult


class TransferOutcomes(Schema):
    """Each transfer's result, in the order they were sent."""

    results: list[TransferOutcome]


class AccountCode(Schema):
    """An entry of the chart of accounts (会计科目)."""

    code: str
    name: str
    name_zh: str
    category: Literal["asset", "liability", "equity", "income", "expense"]
    normal_side: Literal["debit", "credit"]


class LedgerInfo(Schema):
    """A ledger: one currency or asset, with the number of decimal places of its amounts (`scale`)."""

    code: str
    name: str
    kind: Literal["currency", "asset"]
    scale: int


class Chart(Schema):
    """The chart of accounts (会计科目表) and the ledgers."""

    account_codes: list[AccountCode]
    ledgers: list[LedgerInfo]
