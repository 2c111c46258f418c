"""The payments HTTP API under /v1/: wallets, P2P transfers, QR codes, QR payments and refunds.

Amounts are decimal strings in CNY; every mutation runs through `run_mutation` (idempotent by
`Idempotency-Key`, audited). Customers act only on their own wallet; merchants create QR codes and
refund only their own payments; staff read.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import (
    Caller,
    Customer,
    EngineDep,
    Merchant,
    PayingCustomer,
    Principal,
    SettingsDep,
    check_session,
    get_engine,
    get_settings,
)
from puhui.api.fields import AmountStr, ClientId, Ident, Limit
from puhui.api.mutations import Outcome, client_id_of, run_mutation
from puhui.db import UnitOfWork, reading
from puhui.db.group_commit import Job
from puhui.db.prepared import Read
from puhui.errors import Forbidden, NotFound
from puhui.identity.service import customer_wallet_id, merchant_wallet_id
from puhui.money import parse_positive_minor as amount_of
from puhui.payments import challenges, grouping, notifications, purposes, reviews, service, wallets
from puhui.payments.bank import worker as bank_worker
from puhui.payments.bank.channel import OrderKind
from puhui.payments.bank.signing import MemoryNonceCache, verify_notification
from puhui.payments.challenges_api import PaymentChallenge
from puhui.payments.models import Purpose, QrKind, VerificationStrength
from puhui.payments.risk_hook import PaymentContext
from puhui.payments.schemas import (
    BankNotificationApplied,
    BankOrder,
    HeldPayment,
    Payment,
    QrCode,
    Refund,
    TopUps,
    Wallet,
    Withdrawals,
)
from puhui.payments.verification import PaymentPassword, proven
from puhui.settings import Settings

router = APIRouter(prefix="/v1", tags=["payments"])


class P2PIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_customer_id: Ident | None = Field(None, description="the payer; must be the logged-in customer")
    to_customer_id: Ident
    amount: AmountStr
    client_transfer_id: ClientId | None = None
    device_id: ClientId | None = Field(None, description="the payer's device, for risk control")
    location: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None
    purpose: Purpose | None = Field(
        None, description="用途: payroll 工资, rent 房租, gift 礼金, group_buying 团购, family 家用, other"
    )


class QrIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: QrKind
    amount: AmountStr | None = None
    expires_in_seconds: Annotated[int, Field(ge=1, le=86_400)] = 900
    order_ref: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None


class PayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr | None = None
    verification: VerificationStrength = Field(
        VerificationStrength.one_factor,
        description="how the payer confirmed the payment (交易验证方式), which sets the day's limit of dynamic-QR "
        "payments: `one_factor` (the default: the session alone) 1,000.00 CNY, `two_factors` (with `password`) "
        "5,000.00, `certificate` as agreed with the customer",
    )
    password: PaymentPassword | None = None
    from_customer_id: Ident | None = None
    client_payment_id: ClientId | None = None
    device_id: ClientId | None = Field(None, description="the payer's device, for risk control")
    location: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr
    client_refund_id: ClientId | None = None


def _payment_outcome(row: dict, created: bool) -> Outcome:
    """201 for a payment made, 202 for one parked for a challenge (核身) or held for review (人工审核),
    200 for a replay."""
    if challenges.is_challenge(row):
        return Outcome(202 if created else 200, PaymentChallenge.shape(challenges.challenge_json(row)))
    if service.is_review(row):
        return Outcome(202 if created else 200, HeldPayment.shape(reviews.review_for_payer(row)))
    return Outcome(201 if created else 200, Payment.shape(service.payment_view(row)))


# A grouped payment's work is a module-level value or a partial of a module function, so it pickles
# for a writer process (`puhui.db.writer`).
@dataclass(frozen=True)
class _PayQr:
    payer_id: str
    qr_id: str
    amount: int | None
    strength: VerificationStrength
    client_id: str
    fee_bp: int
    context: PaymentContext

    def __call__(self, uow: UnitOfWork) -> Outcome:
        row, created = service.pay_qr(
            uow, self.payer_id, self.qr_id, self.amount, self.strength, self.client_id, self.fee_bp, self.context
        )
        return _payment_outcome(row, created)

    def reads(self, shared: dict[Any, Any]) -> list[Read]:
        return service.pay_qr_reads(self.payer_id, self.qr_id, self.client_id, shared)

    def guess(self, uow: UnitOfWork) -> list[Read]:
        return service.pay_qr_guess(
            uow, self.payer_id, self.qr_id, self.amount, self.strength, self.client_id, self.fee_bp
        )


def _pay_p2p(
    payer_id: str,
    payee_id: str,
    amount: int,
    client_id: str,
    context: PaymentContext,
    purpose: str | None,
    uow: UnitOfWork,
) -> Outcome:
    row, created = service.pay_p2p(uow, payer_id, payee_id, amount, client_id, context, purpose)
    return _payment_outcome(row, created)


def _grouped(settings: Settings, locks: tuple[Hashable, ...]) -> Callable[..., Job] | None:
    """The payment's group-commit job factory, or None when group commit is off (`PUHUI_GROUP_COMMIT`)."""
    if not settings.group_commit:
        return None
    return lambda work, **options: grouping.job(work, locks, **options)


def _proven_in_session(
    engine: Engine, principal: Principal, claimed: VerificationStrength, password: str | None
) -> VerificationStrength:
    """The payment password checked only for an open session: a logged-out token must not count
    wrong guesses towards the customer's lock."""
    with reading(engine) as connection:
        check_session(connection, principal)
    return proven(engine, principal.id, claimed, password)


def _own(principal: Principal, customer_id: str | None) -> None:
    if customer_id is not None and customer_id != principal.id:
        raise Forbidden("a customer pays only from their own wallet")


@router.get(
    "/wallets/me",
    summary="The caller's wallet balance (customer or merchant)",
    response_model=Wallet,
    response_model_exclude_unset=True,
)
async def my_wallet(engine: EngineDep, principal: Caller) -> dict:
    if principal.role == "customer":
        account_id = customer_wallet_id(principal.id)
    elif principal.role == "merchant":
        account_id = merchant_wallet_id(principal.id)
    else:
        raise Forbidden("only customers and merchants have a wallet")

    def read() -> dict:
        with reading(engine) as connection:
            found = service.wallet_json(connection, account_id)
            if principal.role == "merchant":
                found["refund_funds"] = service.refund_funds_json(connection, principal.id)
            return found

    return await run_in_threadpool(read)


@router.post(
    "/transfers/p2p",
    status_code=201,
    summary="Transfer between customer wallets",
    response_model=Payment,
    responses={202: {"model": HeldPayment, "description": "Held for a manual review (人工审核): not paid yet"}},
)
async def p2p(body: P2PIn, request: Request, engine: EngineDep, settings: SettingsDep, principal: PayingCustomer):
    _own(principal, body.from_customer_id)
    amount = amount_of(body.amount)
    client_id = client_id_of(request, body.client_transfer_id)

    context = PaymentContext(body.device_id, body.location)
    work = partial(_pay_p2p, principal.id, body.to_customer_id, amount, client_id, context, body.purpose)
    group = _grouped(settings, grouping.p2p_locks(principal.id, body.to_customer_id))
    return await run_mutation(request, engine, principal, "payments.p2p", body.to_customer_id, work, group=group)


@router.post(
    "/merchants/{merchant_id}/qr-codes",
    status_code=201,
    summary="Create a static or dynamic QR code",
    response_model=QrCode,
)
async def create_qr(merchant_id: Ident, body: QrIn, request: Request, engine: EngineDep, principal: Merchant):
    if principal.id != merchant_id:
        raise Forbidden("a merchant creates QR codes only for itself")
    amount = amount_of(body.amount) if body.amount is not None else None

    def work(uow: UnitOfWork) -> Outcome:
        row = service.create_qr(uow, merchant_id, body.kind, amount, body.expires_in_seconds, body.order_ref)
        return Outcome(201, QrCode.shape(service.qr_json(row)))

    return await run_mutation(request, engine, principal, "payments.create_qr", merchant_id, work)


@router.get(
    "/qr-codes/{qr_id}",
    summary="A QR code (any authenticated caller may scan it), with its merchant's name",
    response_model=QrCode,
    response_model_exclude_unset=True,
)
async def read_qr(qr_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            found = service.qr_json(service.get_qr(connection, qr_id))
            name = service.merchant_name(connection, found["merchant_id"])
            return {**found, **({"merchant_name": name} if name else {})}

    return await run_in_threadpool(read)


@router.post(
    "/qr-codes/{qr_id}/pay",
    status_code=201,
    summary="Pay a QR code from the caller's wallet",
    response_model=Payment,
    responses={202: {"model": HeldPayment, "description": "Held for a manual review (人工审核): not paid yet"}},
)
async def pay_qr(qr_id: Ident, body: PayIn, request: Request, principal: PayingCustomer):
    # The engine and settings from the app, not as dependencies: each costs the hot path ~40 µs (`BearerCaller`).
    engine, settings = await get_engine(request), await get_settings(request)
    _own(principal, body.from_customer_id)
    amount = amount_of(body.amount) if body.amount is not None else None
    client_id = client_id_of(request, body.client_payment_id)
    if body.verification == VerificationStrength.two_factors:  # the password is hashed: off the event loop
        strength = await run_in_threadpool(_proven_in_session, engine, principal, body.verification, body.password)
    else:
        strength = proven(engine, principal.id, body.verification, body.password)

    context = PaymentContext(body.device_id, body.location)
    work = _PayQr(principal.id, qr_id, amount, strength, client_id, settings.merchant_fee_bp, context)
    group = _grouped(settings, grouping.qr_locks(principal.id, qr_id))
    return await run_mutation(request, engine, principal, "payments.pay_qr", qr_id, work, group=group)


@router.post("/qr-codes/{qr_id}/cancel", summary="Cancel an unpaid dynamic QR code", response_model=QrCode)
async def cancel_qr(qr_id: Ident, request: Request, engine: EngineDep, principal: Merchant):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, QrCode.shape(service.qr_json(service.cancel_qr(uow, principal.id, qr_id))))

    return await run_mutation(request, engine, principal, "payments.cancel_qr", qr_id, work)


@router.get(
    "/payments/{payment_id}",
    summary="A payment (its payer, its merchant, or staff), with its merchant's name",
    response_model=Payment,
    response_model_exclude_unset=True,
)
async def read_payment(payment_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    def read() -> tuple[dict, str | None]:
        with reading(engine) as connection:
            row = service.get_payment(connection, payment_id)
            if row["kind"] == "p2p":
                return purposes.with_purpose(connection, row), None
            return row, service.merchant_name(connection, row["payee_id"])

    row, payee_name = await run_in_threadpool(read)
    if not principal.is_staff and principal.id not in (row["payer_id"], row["payee_id"]):
        raise NotFound(f"payment {payment_id} not found")
    view = {**service.payment_view(row), **({"payee_name": payee_name} if payee_name else {})}
    if principal.is_staff or principal.id == row["payer_id"]:
        return view
    return notifications.merchant_view(view)  # without the payer's device and place


@router.post(
    "/payments/{payment_id}/refunds", status_code=201, summary="Refund part or all of a payment", response_model=Refund
)
async def refund(payment_id: Ident, body: RefundIn, request: Request, engine: EngineDep, principal: Merchant):
    amount = amount_of(body.amount)
    client_id = client_id_of(request, body.client_refund_id)

    def work(uow: UnitOfWork) -> Outcome:
        row, created = service.refund(uow, principal.id, payment_id, amount, client_id)
        return Outcome(201 if created else 200, Refund.shape(service.refund_json(row)))

    return await run_mutation(request, engine, principal, "payments.refund", payment_id, work)


# -- the bank channel: top-ups, withdrawals and notifications ----------------------------------


def get_bank(request: Request):
    """The app's bank channel: `app.state.bank`, made once at start-up by the bank worker
    (`bank_worker.start`, whose loops deliver its notifications and sweep). Without the worker
    (`run_expiry=False`: tests, the demo's seeding) a SandboxBank is made on first use with no
    callback: whoever drives it finishes its orders (a settlement run's query, or the test)."""
    state = request.app.state
    bank = getattr(state, "bank", None)
    if bank is None:
        from puhui.payments.bank.sandbox.bank import SandboxBank

        bank = SandboxBank(state.settings.bank_notify_key, test_cards=state.settings.sandbox)
        state.bank = bank
    return bank


def _nonces(request: Request) -> MemoryNonceCache:
    return bank_worker.nonces_of(request.app.state)


class BankOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_id: Ident
    amount: AmountStr
    client_order_id: ClientId | None = None


def card_number(engine: Engine, request: Request, customer_id: str, card_id: str) -> str:
    from puhui.identity.customers import cards_of
    from puhui.identity.http import vault_of

    vault = vault_of(request)
    with reading(engine) as connection:
        for card in cards_of(connection, vault, customer_id):
            if card["id"] == card_id and card["status"] == "bound" and card["card_number"]:
                return card["card_number"]
    raise NotFound(f"card {card_id} is not bound to this customer")


async def _bank_order(kind: OrderKind, body: BankOrderIn, request: Request, engine: Engine, principal: Principal):
    amount = amount_of(body.amount)
    card = await run_in_threadpool(card_number, engine, request, principal.id, body.card_id)
    client_id = client_id_of(request, body.client_order_id)
    order_id = wallets.order_id_for(principal.id, kind, client_id)

    def work(uow: UnitOfWork) -> Outcome:
        row = wallets.open_order(uow, principal.id, body.card_id, kind, amount, client_id)
        return Outcome(202, BankOrder.shape(wallets.order_json(row, card)))

    action = "payments.top_up" if kind == OrderKind.debit_card else "payments.withdraw"
    response = await run_mutation(request, engine, principal, action, order_id, work)
    if response.status_code == 202:
        bank = get_bank(request)
        await run_in_threadpool(wallets.submit, bank, order_id, card, kind, amount, engine)
    return response


@router.post(
    "/wallets/me/top-ups", status_code=202, summary="Top up the wallet from a bound bank card", response_model=BankOrder
)
async def top_up(body: BankOrderIn, request: Request, engine: EngineDep, principal: Customer):
    return await _bank_order(OrderKind.debit_card, body, request, engine, principal)


@router.post(
    "/wallets/me/withdrawals",
    status_code=202,
    summary="Withdraw from the wallet to a bound bank card",
    response_model=BankOrder,
)
async def withdraw(body: BankOrderIn, request: Request, engine: EngineDep, principal: Customer):
    return await _bank_order(OrderKind.credit_card, body, request, engine, principal)


def _card_numbers(engine: Engine, request: Request, customer_id: str) -> dict[str, str | None]:
    from puhui.identity.customers import cards_of
    from puhui.identity.http import vault_of

    with reading(engine) as connection:
        return {card["id"]: card["card_number"] for card in cards_of(connection, vault_of(request), customer_id)}


async def _read_order(kind: OrderKind, order_id: str, request: Request, engine: Engine, principal: Principal) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            row = wallets.order_of(connection, principal.id, kind, order_id)
        return wallets.order_json(row, _card_numbers(engine, request, principal.id).get(row["card_id"]))

    return await run_in_threadpool(read)


async def _list_orders(kind: OrderKind, limit: int, request: Request, engine: Engine, principal: Principal) -> list:
    def read() -> list:
        with reading(engine) as connection:
            rows = wallets.orders_of(connection, principal.id, kind, limit)
        cards = _card_numbers(engine, request, principal.id) if rows else {}
        return [wallets.order_json(row, cards.get(row["card_id"])) for row in rows]

    return await run_in_threadpool(read)


class MerchantTopUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr
    client_order_id: ClientId | None = None


def settlement_account_number(engine: Engine, request: Request, merchant_id: str) -> str:
    from puhui.identity.http import vault_of
    from puhui.identity.service import settlement_account

    with reading(engine) as connection:
        return settlement_account(connection, vault_of(request), merchant_id)[0]


@router.post(
    "/merchants/me/top-ups",
    status_code=202,
    summary="A merchant's top-up (商户充值) from its settlement account, to pay refunds its balance cannot",
    response_model=BankOrder,
)
async def merchant_top_up(body: MerchantTopUpIn, request: Request, engine: EngineDep, principal: Merchant):
    """The bank debits the merchant's settlement account (the one its takings are settled to) and the money
    lands in its refund funds (退款资金) once the bank confirms: a refund draws on them for what its wallet
    lacks, and settlement never pays them back out. Idempotent by `Idempotency-Key` (or `client_order_id`)."""
    return await merchant_funds_order(
        body, request, engine, principal, wallets.REFUND_FUNDS, OrderKind.debit_card, "payments.merchant_top_up"
    )


async def merchant_funds_order(
    body: MerchantTopUpIn,
    request: Request,
    engine: Engine,
    principal: Principal,
    funds: wallets.MerchantFunds,
    kind: OrderKind,
    operation: str,
) -> Any:
    """A merchant's top-up of `funds` from its settlement account (`kind` debit_card) or their withdrawal back
    to it (credit_card), as the mutation `operation`: the hold and the order in one unit of work, the order
    sent to the bank after it committed (202, pending until the bank answers)."""
    amount = amount_of(body.amount)
    account = await run_in_threadpool(settlement_account_number, engine, request, principal.id)
    client_id = client_id_of(request, body.client_order_id)
    top_up = kind == OrderKind.debit_card
    order_id = (wallets.merchant_top_up_id if top_up else wallets.merchant_withdrawal_id)(
        principal.id, client_id, funds
    )
    opened = wallets.open_merchant_top_up if top_up else wallets.open_merchant_withdrawal

    def work(uow: UnitOfWork) -> Outcome:
        row = opened(uow, principal.id, amount, client_id, funds)
        return Outcome(202, BankOrder.shape(wallets.order_json(row, account)))

    response = await run_mutation(request, engine, principal, operation, order_id, work)
    if response.status_code == 202:
        bank = get_bank(request)
        await run_in_threadpool(wallets.submit, bank, order_id, account, kind, amount, engine, account=True)
    return response


async def merchant_funds_orders(
    request: Request, engine: Engine, merchant_id: str, kind: OrderKind, prefix: str, limit: int
) -> list[dict]:
    """A merchant's latest top-ups or withdrawals of one of its funds (their orders' `prefix`), newest first."""

    def read() -> list[dict]:
        with reading(engine) as connection:
            rows = wallets.orders_of(connection, merchant_id, kind, limit, prefix)
        account = settlement_account_number(engine, request, merchant_id) if rows else None
        return [wallets.order_json(row, account) for row in rows]

    return await run_in_threadpool(read)


@router.get("/merchants/me/top-ups", summary="The merchant's top-ups, newest first", response_model=TopUps)
async def merchant_top_ups(request: Request, engine: EngineDep, principal: Merchant, limit: Limit = 20) -> dict:
    prefix = wallets.REFUND_FUNDS.top_up_prefix
    return {"top_ups": await merchant_funds_orders(request, engine, principal.id, OrderKind.debit_card, prefix, limit)}


@router.get(
    "/merchants/me/top-ups/{order_id}",
    summary="One of the merchant's top-ups: pending, succeeded or failed",
    response_model=BankOrder,
)
async def merchant_top_up_status(order_id: Ident, request: Request, engine: EngineDep, principal: Merchant) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            row = wallets.order_of(
                connection, principal.id, OrderKind.debit_card, order_id, wallets.MERCHANT_TOP_UP_PREFIX
            )
        return wallets.order_json(row, settlement_account_number(engine, request, principal.id))

    return await run_in_threadpool(read)


MERCHANT_WITHDRAWALS = "/merchants/me/refund-funds/withdrawals"


@router.post(
    MERCHANT_WITHDRAWALS,
    status_code=202,
    summary="A merchant's withdrawal of its refund funds (退款资金提现) back to its settlement account",
    response_model=BankOrder,
)
async def merchant_withdrawal(body: MerchantTopUpIn, request: Request, engine: EngineDep, principal: Merchant):
    """The refund funds the merchant topped up and no refund used go back to its settlement account: held at
    once (a refund cannot use them meanwhile), paid by the bank, released if the bank fails the order. At
    most what is available in the refund funds (409 `refund_funds_insufficient`) and the largest single
    order (422 `amount_above_order_maximum`). Idempotent by `Idempotency-Key` (or `client_order_id`)."""
    return await merchant_funds_order(
        body, request, engine, principal, wallets.REFUND_FUNDS, OrderKind.credit_card, "payments.merchant_withdrawal"
    )


@router.get(
    MERCHANT_WITHDRAWALS, summary="The merchant's withdrawals of refund funds, newest first", response_model=Withdrawals
)
async def merchant_withdrawals(request: Request, engine: EngineDep, principal: Merchant, limit: Limit = 20) -> dict:
    prefix, kind = wallets.REFUND_FUNDS.withdrawal_prefix, OrderKind.credit_card
    return {"withdrawals": await merchant_funds_orders(request, engine, principal.id, kind, prefix, limit)}


@router.get(
    MERCHANT_WITHDRAWALS + "/{order_id}",
    summary="One of the merchant's withdrawals of refund funds: pending, succeeded or failed",
    response_model=BankOrder,
)
async def merchant_withdrawal_status(order_id: Ident, request: Request, engine: EngineDep, principal: Merchant) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            row = wallets.order_of(
                connection, principal.id, OrderKind.credit_card, order_id, wallets.MERCHANT_WITHDRAWAL_PREFIX
            )
        return wallets.order_json(row, settlement_account_number(engine, request, principal.id))

    return await run_in_threadpool(read)


@router.get("/wallets/me/top-ups", summary="The caller's top-ups, newest first", response_model=TopUps)
async def my_top_ups(request: Request, engine: EngineDep, principal: Customer, limit: Limit = 20) -> dict:
    return {"top_ups": await _list_orders(OrderKind.debit_card, limit, request, engine, principal)}


@router.get(
    "/wallets/me/top-ups/{order_id}",
    summary="One of the caller's top-ups: pending, succeeded or failed",
    response_model=BankOrder,
)
async def my_top_up(order_id: Ident, request: Request, engine: EngineDep, principal: Customer) -> dict:
    return await _read_order(OrderKind.debit_card, order_id, request, engine, principal)


@router.get("/wallets/me/withdrawals", summary="The caller's withdrawals, newest first", response_model=Withdrawals)
async def my_withdrawals(request: Request, engine: EngineDep, principal: Customer, limit: Limit = 20) -> dict:
    return {"withdrawals": await _list_orders(OrderKind.credit_card, limit, request, engine, principal)}


@router.get(
    "/wallets/me/withdrawals/{order_id}",
    summary="One of the caller's withdrawals: pending, succeeded or failed",
    response_model=BankOrder,
)
async def my_withdrawal(order_id: Ident, request: Request, engine: EngineDep, principal: Customer) -> dict:
    return await _read_order(OrderKind.credit_card, order_id, request, engine, principal)


BANK = Principal(id="bank", role="bank")


@router.post(
    "/bank/notifications",
    summary="The bank channel's signed notifications (HMAC)",
    response_model=BankNotificationApplied,
)
async def bank_notification(request: Request, engine: EngineDep, settings: SettingsDep):
    raw = await request.body()
    header = request.headers.get("X-Bank-Signature", "")
    # forged / stale / replayed -> 401 (the channel errors carry that status); nothing moves
    notice = verify_notification(raw, header, settings.bank_notify_key, nonces=_nonces(request))

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, BankNotificationApplied.shape(wallets.finish_notified(uow, notice)))

    return await run_mutation(request, engine, BANK, "payments.bank_notification", notice.order_id, work)
