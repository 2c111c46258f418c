"""`/v1/customers`: registration, log-in, reading (masked; clear only for CLEAR_PII_ROLES on request,
logged), verifications, tier upgrades, bank cards, consents, export and closure."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import Caller, EngineDep, Principal, optional_principal
from puhui.api.deps import Customer as CallingCustomer
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.rate_limit import limit_auth_calls
from puhui.db import UnitOfWork
from puhui.identity import consent, kyc, pii, policy, sessions, views
from puhui.identity import customers as customer_ops
from puhui.identity.errors import PurposeRequired, ReasonOnlyWhenFailed, RevealNotAllowed
from puhui.identity.http import read, request_id, vault_of, write
from puhui.identity.models import (
    CLEAR_PII_ROLES,
    ConsentPurpose,
    VerificationChannel,
    parse_tier,
)
from puhui.identity.schemas import (
    Card,
    ConsentRecorded,
    Customer,
    CustomerExport,
    Login,
    TierChanged,
    VerificationRecorded,
)
from puhui.identity.verifier import Reason

router = APIRouter(prefix="/v1/customers", tags=["customers"])

CustomerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
Text = Annotated[StrictStr, Field(min_length=1, max_length=256)]
PHONE_PATTERN = r"^[\s-]*(\+[\s-]*8[\s-]*6)?[\s-]*1[\s-]*[3-9]([\s-]*[0-9]){9}[\s-]*$"
"""A mainland mobile number as `normalize_phone` takes it: 11 digits from 13-19, spaces, dashes and +86 dropped."""
ID_NUMBER_PATTERN = r"^\s*[0-9]{17}[0-9Xx]\s*$"
"""The form of a resident ID number; its check digit, birth date and region are checked beyond the pattern."""


def _required_consents(schema: dict[str, Any]) -> None:
    """The schema states the rule (a list holding `payments`, so at least one item) though the model takes an
    absent or empty list, which the route refuses with `consent_required` naming the purposes missing
    rather than a bare "Field required"."""
    schema.pop("default", None)
    schema["minItems"] = 1
    schema["contains"] = {"const": ConsentPurpose.payments.value}


def _consents_required(schema: dict[str, Any]) -> None:
    required = schema.setdefault("required", [])
    if "consents" not in required:
        required.append("consents")


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_consents_required)
    name: Annotated[StrictStr, Field(min_length=1, max_length=128, description="姓名, as on the ID card")]
    id_number: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=32,
            description="18-digit resident ID (GB 11643)",
            json_schema_extra={"pattern": ID_NUMBER_PATTERN},
        ),
    ]
    phone: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=32,
            description="mainland mobile number",
            json_schema_extra={"pattern": PHONE_PATTERN},
        ),
    ]
    password: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    address: Annotated[StrictStr, Field(min_length=1, max_length=400)] | None = None
    consents: Annotated[
        list[ConsentPurpose],
        Field(
            max_length=16,
            description="the purposes the customer consents to at sign-up (个人信息处理同意), recorded as granted; "
            "`payments` (the payment service agreement and privacy notice) is required to open a wallet, "
            "else 422 `consent_required` naming it",
            json_schema_extra=_required_consents,
        ),
    ] = []  # absent or empty reaches `require_registration_consents`: `consent_required` names what is missing


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: Annotated[StrictStr, Field(min_length=1, max_length=32, json_schema_extra={"pattern": PHONE_PATTERN})]
    password: Annotated[StrictStr, Field(min_length=1, max_length=256)]


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: VerificationChannel
    reference: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/\-]+$")]
    passed: StrictBool = True
    reason: Reason | None = Field(
        None,
        description="why a failed check failed: `details_mismatch` (not the customer's own details) or "
        "`not_confirmed` (the channel did not confirm the identity); only with `passed: false` "
        "(else 422 `reason_only_when_failed`)",
    )


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tier: Literal["I", "II", "III"] | None = Field(None, description="target class; default: the highest eligible")
    reason: Text


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_number: Annotated[StrictStr, Field(min_length=1, max_length=32)]
    bank: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: ConsentPurpose
    granted: StrictBool
    sensitive: StrictBool = Field(False, description="separate consent for sensitive personal information (单独同意)")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[StrictStr, Field(max_length=256)] = ""


@router.post(
    "",
    status_code=201,
    summary="Register a customer (real name) and open their wallet",
    response_model=Customer,
    dependencies=[Depends(limit_auth_calls)],
)
async def register(
    body: RegisterIn, request: Request, engine: EngineDep, principal: Annotated[Principal, Depends(optional_principal)]
):
    """Open to anyone (self sign-up) and to operators at the counter. The answer is masked."""
    policy.authorize(principal, "customer.register")
    given = consent.require_registration_consents(body.consents)  # before the (slow) password hash
    vault = vault_of(request)
    data = await run_in_threadpool(
        lambda: customer_ops.prepare_registration(
            name=body.name,
            id_number=body.id_number,
            phone=body.phone,
            password=body.password,
            address=body.address,
            min_age=request.app.state.settings.min_customer_age,
        )
    )

    def work(uow: UnitOfWork) -> Outcome:
        customer_id = customer_ops.register(uow, vault, data, say_which=principal is not None and principal.is_staff)
        staff = principal if principal is not None and principal.is_staff else None
        consent.record_registration_consents(uow, customer_id, given, staff)
        return Outcome(201, Customer.shape(views.customer_view(uow.connection, vault, customer_id)))

    return await run_mutation(request, engine, principal, "identity.register_customer", None, work)


@router.post(
    "/login",
    summary="Log in with phone and password; returns a short-lived bearer token",
    response_model=Login,
    dependencies=[Depends(limit_auth_calls)],
)
async def login(body: LoginIn, request: Request, engine: EngineDep):
    """Not idempotent on purpose: every call mints a new token, and tokens are never stored."""
    vault = vault_of(request)
    settings = request.app.state.settings
    customer_id, session = await run_in_threadpool(
        lambda: sessions.login(
            engine,
            vault,
            settings,
            body.phone,
            body.password,
            source_ip=request.client.host if request.client else None,
            request_id=request_id(request),
        )
    )
    return {
        "customer_id": customer_id,
        "token": session.token,
        "token_type": "Bearer",
        "expires_at": session.expires_at.isoformat(),
    }


@router.get("/me", summary="The calling customer, masked (as `GET /v1/customers/{their id}`)", response_model=Customer)
async def get_me(request: Request, engine: EngineDep, principal: CallingCustomer):
    vault = vault_of(request)
    return await read(engine, lambda c: views.customer_view(c, vault, principal.id))


@router.get(
    "/{customer_id}",
    summary="A customer, masked; clear for risk officers and admins on request (logged)",
    response_model=Customer,
)
async def get_customer(
    customer_id: CustomerId,
    request: Request,
    engine: EngineDep,
    principal: Caller,
    reveal: bool = Query(False, description="show personal fields in clear (risk_officer, admin); logged"),
    purpose: str | None = Query(
        None, max_length=256, description="why the clear values are needed (required with reveal)"
    ),
):
    policy.authorize(principal, "customer.read", customer_id)
    if reveal and principal.role not in CLEAR_PII_ROLES:
        raise RevealNotAllowed()
    if reveal and not (purpose and purpose.strip()):
        raise PurposeRequired("say why: `purpose` is required with reveal=true")
    vault = vault_of(request)
    if not reveal:
        return await read(engine, lambda c: views.customer_view(c, vault, customer_id))

    def revealed(uow: UnitOfWork) -> dict:
        view = views.customer_view(uow.connection, vault, customer_id, reveal=True)
        shown = [f for f in views.PERSONAL_FIELDS if view.get(f) is not None]
        if any(card["card_number"] for card in view["cards"]):
            shown.append("card_number")
        pii.log_access(uow, principal, customer_id, shown, purpose or "", request_id(request))
        return view

    return await write(engine, revealed)


@router.post(
    "/{customer_id}/verifications",
    status_code=201,
    summary="Record one independent verification",
    response_model=VerificationRecorded,
)
async def add_verification(
    customer_id: CustomerId, body: VerificationIn, request: Request, engine: EngineDep, principal: Caller
):
    policy.authorize(principal, "customer.verify", customer_id)

    def work(uow: UnitOfWork) -> Outcome:
        if body.passed and body.reason is not None:  # refused in the unit of work: audited as every refusal
            raise ReasonOnlyWhenFailed(f"a passed check has no reason: send `passed: false` with `{body.reason}`")
        recorded = kyc.record_verification(
            uow, customer_id, body.channel, body.reference, body.passed, principal, body.reason
        )
        eligible = kyc.eligible_tier(uow.connection, customer_id)
        current = kyc.tier_of(uow.connection, customer_id)
        return Outcome(
            201,
            VerificationRecorded.shape(
                {
                    "customer_id": customer_id,
                    "verification": recorded,
                    "reason": None if body.passed else body.reason,
                    "passed_channels": sorted(kyc.passed_channels(uow.connection, customer_id)),
                    "eligible_tier": eligible.name if eligible else None,
                    "tier": current.name if current else None,
                }
            ),
        )

    return await run_mutation(request, engine, principal, "identity.record_verification", customer_id, work)


@router.post(
    "/{customer_id}/tier", summary="Upgrade the wallet tier (its own audited operation)", response_model=TierChanged
)
async def upgrade_tier(customer_id: CustomerId, body: TierIn, request: Request, engine: EngineDep, principal: Caller):
    policy.authorize(principal, "customer.upgrade_tier", customer_id)
    target = parse_tier(body.tier) if body.tier else None

    def work(uow: UnitOfWork) -> Outcome:
        change = kyc.upgrade_tier(uow, customer_id, principal, body.reason, target)
        return Outcome(
            200, TierChanged.shape({**change, "tier": kyc.tier_json(kyc.tier_of(uow.connection, customer_id))})
        )

    return await run_mutation(request, engine, principal, "identity.upgrade_tier", customer_id, work)


@router.post(
    "/{customer_id}/cards",
    status_code=201,
    summary="Bind a bank card (Luhn-checked); answered masked",
    response_model=Card,
)
async def bind_card(customer_id: CustomerId, body: CardIn, request: Request, engine: EngineDep, principal: Caller):
    policy.authorize(principal, "customer.bind_card", customer_id)
    vault = vault_of(request)

    def work(uow: UnitOfWork) -> Outcome:
        card_id = customer_ops.bind_card(uow, vault, customer_id, body.card_number, body.bank)
        card = next(c for c in views.customer_view(uow.connection, vault, customer_id)["cards"] if c["id"] == card_id)
        return Outcome(201, Card.shape(card))

    return await run_mutation(request, engine, principal, "identity.bind_card", customer_id, work)


@router.post(
    "/{customer_id}/consents",
    status_code=201,
    summary="Grant or withdraw consent for a purpose",
    response_model=ConsentRecorded,
)
async def record_consent(
    customer_id: CustomerId, body: ConsentIn, request: Request, engine: EngineDep, principal: Caller
):
    policy.authorize(principal, "customer.consent", customer_id)

    def work(uow: UnitOfWork) -> Outcome:
        recorded = consent.record_consent(
            uow, customer_id, body.purpose, granted=body.granted, sensitive=body.sensitive, actor=principal
        )
        return Outcome(
            201,
            ConsentRecorded.shape(
                {"recorded": recorded, "consents": consent.current_consents(uow.connection, customer_id)}
            ),
        )

    return await run_mutation(request, engine, principal, "identity.record_consent", customer_id, work)


@router.get(
    "/{customer_id}/export",
    summary="Everything held about you, in clear (your own record only)",
    response_model=CustomerExport,
)
async def export(customer_id: CustomerId, request: Request, engine: EngineDep, principal: Caller):
    policy.authorize(principal, "customer.export", customer_id)
    vault = vault_of(request)

    def work(uow: UnitOfWork) -> dict:
        data = views.customer_export(uow.connection, vault, customer_id)
        pii.log_access(
            uow,
            principal,
            customer_id,
            [*views.PERSONAL_FIELDS, "card_number"],
            "export by the customer",
            request_id(request),
        )
        return CustomerExport.shape(data)

    data = await write(engine, work)
    headers = {"Content-Disposition": f'attachment; filename="puhui-{customer_id}.json"', "Cache-Control": "no-store"}
    return JSONResponse(data, headers=headers)


@router.post(
    "/{customer_id}/close",
    summary="Close the account: erase personal fields, keep financial records",
    response_model=Customer,
)
async def close(
    customer_id: CustomerId, request: Request, engine: EngineDep, principal: Caller, body: CloseIn | None = None
):
    policy.authorize(principal, "customer.close", customer_id)
    vault = vault_of(request)
    reason = body.reason if body else ""

    def work(uow: UnitOfWork) -> Outcome:
        customer_ops.close(uow, customer_id, principal, reason)
        return Outcome(200, Customer.shape(views.customer_view(uow.connection, vault, customer_id)))

    return await run_mutation(request, engine, principal, "identity.close_customer", customer_id, work)
