"""Return-shipping insurance (退货运费险) over HTTP under /v1/insurance/return-shipping: operators add
product versions; anyone signed in reads one; a customer gets a quote for an order from a merchant, pays a
merchant's QR code with cover in one call and reads their policy; the merchant who was paid confirms the
return within the cover's term and the fixed claim is paid to the buyer's wallet at once."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from puhui.api.deps import Caller, Customer, EngineDep, Merchant, Operator, SettingsDep
from puhui.api.fields import AS_WHOLE_NUMBER, ID_PATTERN, AmountStr, ClientId, Ident, Limit
from puhui.api.mutations import Outcome, client_id_of, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.insurance import models as insurance_models
from puhui.insurance.returns import listings, models, service
from puhui.insurance.returns.schemas import (
    ReturnShippingCheckout,
    ReturnShippingCover,
    ReturnShippingMerchantCover,
    ReturnShippingMerchantPolicies,
    ReturnShippingProductVersion,
    ReturnShippingQuote,
)
from puhui.money import parse_minor
from puhui.payments.models import VerificationStrength
from puhui.payments.risk_hook import PaymentContext
from puhui.payments.verification import PaymentPassword, proven

router = APIRouter(prefix="/v1/insurance/return-shipping", tags=["insurance"])

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,47}$"
# above 0 and at most 1 (a target loss ratio); from 0 to 1 (a return rate); at most six places
POSITIVE_RATIO = r"^(0\.[0-9]{0,5}[1-9]|1(\.0{1,6})?)$"
RATE = r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$"
ProductCode = Annotated[str, Path(min_length=1, max_length=48, pattern=CODE_PATTERN)]
Version = Annotated[int, Path(ge=1, le=1_000_000)]
BodyCode = Annotated[StrictStr, Field(pattern=CODE_PATTERN)]
BodyVersion = Annotated[StrictInt, Field(ge=1, le=1_000_000), AS_WHOLE_NUMBER]
PartyId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="how many of the newest to skip (the page's start)")]


class ReturnShippingProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    insurer_id: PartyId
    code: BodyCode
    version: BodyVersion
    claim_amount: AmountStr = "12.00"
    target_loss_ratio: Annotated[StrictStr, Field(max_length=8, pattern=POSITIVE_RATIO)] = "0.7"
    min_premium: AmountStr = "0.10"
    max_premium: AmountStr = "5.00"
    credibility_orders: Annotated[StrictInt, Field(ge=1, le=1_000_000), AS_WHOLE_NUMBER] = 20
    prior_return_rate: Annotated[StrictStr, Field(max_length=8, pattern=RATE)] = "0.1"


class ReturnShippingQuoteByMerchant(BaseModel):
    """A quote for an order from a merchant named by its id."""

    model_config = ConfigDict(extra="forbid")
    product_code: BodyCode
    product_version: BodyVersion
    merchant_id: PartyId


class ReturnShippingQuoteByQr(BaseModel):
    """A quote for an order paid to a merchant's QR code (the id its payload carries)."""

    model_config = ConfigDict(extra="forbid")
    product_code: BodyCode
    product_version: BodyVersion
    qr_id: PartyId


class ReturnShippingCheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    qr_id: PartyId
    product_code: BodyCode
    product_version: BodyVersion
    amount: AmountStr | None = Field(None, description="the goods' amount, for a static QR code")
    verification: VerificationStrength = VerificationStrength.one_factor
    password: PaymentPassword | None = None
    client_payment_id: ClientId | None = None
    device_id: ClientId | None = Field(None, description="the payer's device, for risk control")
    location: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None


def _terms(body: ReturnShippingProductIn) -> models.ReturnShippingTerms:
    product = insurance_models.ReturnShippingProduct(
        code=body.code,
        version=body.version,
        claim_amount=parse_minor(body.claim_amount, 2),
        target_loss_ratio=Decimal(body.target_loss_ratio),
        min_premium=parse_minor(body.min_premium, 2),
        credibility_orders=body.credibility_orders,
    )
    return models.ReturnShippingTerms(
        product, body.insurer_id, Decimal(body.prior_return_rate), parse_minor(body.max_premium, 2)
    )


def _client_id(request: Request, given: str | None) -> str:
    """The body's id, else the Idempotency-Key (hashed when longer than an id may be)."""
    chosen = client_id_of(request, given)
    return chosen if len(chosen) <= 64 else hashlib.sha256(chosen.encode()).hexdigest()


@router.post(
    "/products",
    status_code=201,
    summary="Add a return-shipping product version (产品版本); the same again is a no-op",
    response_model=ReturnShippingProductVersion,
)
async def return_shipping_add_product(
    body: ReturnShippingProductIn, request: Request, engine: EngineDep, principal: Operator
) -> Response:
    terms = _terms(body)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, ReturnShippingProductVersion.shape(service.add_product(uow, terms)))

    return await run_mutation(request, engine, principal, "insurance.return_shipping.add_product", body.code, work)


@router.get(
    "/products/{code}/{version}",
    summary="A return-shipping product version's terms",
    response_model=ReturnShippingProductVersion,
)
async def return_shipping_read_product(
    code: ProductCode, version: Version, engine: EngineDep, principal: Caller
) -> dict[str, Any]:
    return await _read(engine, lambda c: service.product_json(c, code, version))


@router.post(
    "/quote", summary="The premium of cover for the caller's order from a merchant", response_model=ReturnShippingQuote
)
async def return_shipping_quote(
    body: ReturnShippingQuoteByMerchant | ReturnShippingQuoteByQr, engine: EngineDep, principal: Customer
) -> dict[str, Any]:
    merchant_id = body.merchant_id if isinstance(body, ReturnShippingQuoteByMerchant) else None
    qr_id = body.qr_id if isinstance(body, ReturnShippingQuoteByQr) else None
    return await _read(
        engine, lambda c: service.quote(c, principal.id, body.product_code, body.product_version, merchant_id, qr_id)
    )


@router.post(
    "/checkout",
    status_code=201,
    summary="Pay a merchant's QR code with return-shipping cover, in one unit of work",
    response_model=ReturnShippingCheckout,
    responses={200: {"model": ReturnShippingCheckout, "description": "The same client payment id again"}},
)
async def return_shipping_checkout(
    body: ReturnShippingCheckoutIn, request: Request, engine: EngineDep, settings: SettingsDep, principal: Customer
) -> Response:
    amount = parse_minor(body.amount, 2) if body.amount is not None else None
    client_id = _client_id(request, body.client_payment_id)
    strength = await run_in_threadpool(proven, engine, principal.id, body.verification, body.password)

    def work(uow: UnitOfWork) -> Outcome:
        answer, created = service.checkout(
            uow,
            principal.id,
            body.qr_id,
            body.product_code,
            body.product_version,
            amount,
            strength,
            client_id,
            settings.merchant_fee_bp,
            PaymentContext(body.device_id, body.location),
        )
        return Outcome(201 if created else 200, ReturnShippingCheckout.shape(answer))

    return await run_mutation(request, engine, principal, "insurance.return_shipping.checkout", body.qr_id, work)


@router.get(
    "/policies/{policy_id}", summary="One of the caller's return-shipping policies", response_model=ReturnShippingCover
)
async def return_shipping_read_policy(policy_id: Ident, engine: EngineDep, principal: Customer) -> dict[str, Any]:
    return await _read(engine, lambda c: service.read_policy(c, principal.id, policy_id))


@router.post(
    "/policies/{policy_id}/return",
    summary="The merchant confirms the goods came back (确认退货): the fixed claim is paid to the buyer at once",
    response_model=ReturnShippingCover,
)
async def return_shipping_confirm_return(
    policy_id: Ident, request: Request, engine: EngineDep, principal: Merchant
) -> Response:
    """Covered while the return is confirmed within the policy's term: from the order's China date to 24:00
    China time of the day before `cover_end` (15 days, the order day the first). From `cover_end` on, it is
    refused with 409 `return_cover_expired` (naming `policy_id` and `cover_end`) and nothing changes; the
    policy reads `expired`. A policy already claimed answers its claim again, on any day."""

    def work(uow: UnitOfWork) -> Outcome:
        answer, _ = service.confirm_return(uow, principal.id, policy_id)
        return Outcome(200, ReturnShippingCover.shape(answer))

    return await run_mutation(request, engine, principal, "insurance.return_shipping.return", policy_id, work)


@router.get(
    "/merchants/me/policies",
    summary="The calling merchant's covered orders (投保订单), newest first, each with its claim if paid",
    response_model=ReturnShippingMerchantPolicies,
)
async def return_shipping_merchant_policies(
    engine: EngineDep, principal: Merchant, limit: Limit = listings.MERCHANT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    return await _read(engine, lambda c: listings.merchant_policies(c, principal.id, limit, offset))


@router.get(
    "/merchants/me/policies/{policy_id}",
    summary="One of the calling merchant's covered orders, with its claim if paid; another merchant's is 404",
    response_model=ReturnShippingMerchantCover,
)
async def return_shipping_merchant_policy(policy_id: Ident, engine: EngineDep, principal: Merchant) -> dict[str, Any]:
    return await _read(engine, lambda c: listings.merchant_policy(c, principal.id, policy_id))
