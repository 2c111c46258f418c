"""What the supply-chain finance API answers with: a core enterprise's credit (核心企业授信) and a
receivable (应收账款) with its financing (保理融资)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema
from puhui.payments.schemas import BankOrder

Rate = Field(pattern=r"^[0-9]+(\.[0-9]+)?$", description="a yearly discount rate as a decimal fraction")


class CoreEnterprise(Schema):
    merchant_id: str
    credit_limit: Money
    used: Money
    available: Money
    discount_rate: str = Rate
    currency: Literal["CNY"]


class Financing(Schema):
    financed_on: Day
    discount_rate: str = Rate
    days: int
    discount: Money
    advance: Money


class Receivable(Schema):
    id: str
    core_id: str
    supplier_id: str
    invoice_ref: str
    face_amount: Money
    currency: Literal["CNY"]
    maturity_date: Day
    status: Literal["confirmed", "financed", "paid", "overdue"]
    financing: Financing | None
    overdue_since: Day | None
    paid_to: str | None


class PayablesFunds(Schema):
    """A core enterprise's payables funds (兑付资金): set aside from its settlement account for its payables."""

    account_id: str
    currency: Literal["CNY"]
    available: Money = Field(description="what a maturity payment can draw on now")
    pending_in: Money = Field(description="top-ups the bank has not confirmed yet")
    pending_out: Money = Field(description="withdrawals the bank has not paid yet")
    top_ups: list[BankOrder]
    withdrawals: list[BankOrder]
