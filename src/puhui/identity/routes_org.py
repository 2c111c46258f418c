"""`/v1/merchants`, `/v1/partners`, `/v1/staff` and `/v1/pii-access-log`: onboarding merchants and
partners (API key shown once), staff with roles (token shown once), and the clear-access log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from puhui.api.deps import (
    MAX_CURSOR,
    Caller,
    EngineDep,
    Principal,
    SettingsDep,
)
from puhui.api.mutations import Outcome, run_mutation
from puhui.db import UnitOfWork
from puhui.identity import auth, org, pii, policy
from puhui.identity.http import read, vault_of, with_secret
from puhui.identity.models import Role
from puhui.identity.schemas import (
    ApiKeys,
    IssuedApiKey,
    Merchant,
    NewStaffMember,
    OnboardedMerchant,
    Partner,
    PiiAccessLog,
    RegisteredPartner,
    Revoked,
    StaffMember,
)

router = APIRouter(prefix="/v1", tags=["merchants and staff"])

Name = Annotated[StrictStr, Field(min_length=1, max_length=128)]
ONCE = "shown only in the first answer; store it now — it is kept only as a hash"


class MerchantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    credit_code: Annotated[StrictStr, Field(min_length=1, max_length=32, description="统一社会信用代码 (GB 32100)")]
    settlement_account: Annotated[StrictStr, Field(min_length=1, max_length=40, description="结算账号")]
    settlement_holder: Name
    settlement_bank: Annotated[StrictStr, Field(min_length=1, max_length=64)]


class PartnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class StaffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    handle: Annotated[
        StrictStr, Field(min_length=2, max_length=64, json_schema_extra={"pattern": r"^[a-z][a-z0-9._-]{1,63}$"})
    ]
    role: Literal["operator", "risk_officer", "regulator", "admin"]


@router.post(
    "/merchants",
    status_code=201,
    tags=["merchants"],
    summary="Onboard a merchant; returns its API key once",
    response_model=OnboardedMerchant,
)
async def create_merchant(
    body: MerchantIn, request: Request, engine: EngineDep, settings: SettingsDep, principal: Caller
):
    policy.authorize(principal, "merchant.create")
    vault = vault_of(request)
    data = org.prepare_merchant(
        name=body.name,
        credit_code=body.credit_code,
        settlement_account=body.settlement_account,
        settlement_holder=body.settlement_holder,
        settlement_bank=body.settlement_bank,
    )
    minted: dict[str, str] = {}

    def work(uow: UnitOfWork) -> Outcome:
        merchant_id, minted["key"] = org.create_merchant(uow, vault, data, principal)
        view = org.merchant_view(uow.connection, vault, merchant_id, settings.merchant_fee_bp)
        return Outcome(201, Merchant.shape(view))

    response = await run_mutation(request, engine, principal, "identity.create_merchant", None, work)
    return with_secret(response, "api_key", minted.get("key"), ONCE)


@router.get(
    "/merchants/{merchant_id}",
    tags=["merchants"],
    summary="A merchant (settlement account masked)",
    response_model=Merchant,
)
async def get_merchant(
    merchant_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: Caller,
):
    policy.authorize(principal, "merchant.read", merchant_id)
    vault = vault_of(request)
    return await read(engine, lambda c: org.merchant_view(c, vault, merchant_id, settings.merchant_fee_bp))


@router.post(
    "/partners",
    status_code=201,
    tags=["merchants"],
    summary="Register a partner; returns its API key once",
    response_model=RegisteredPartner,
)
async def create_partner(body: PartnerIn, request: Request, engine: EngineDep, principal: Caller):
    policy.authorize(principal, "partner.create")
    minted: dict[str, str] = {}

    def work(uow: UnitOfWork) -> Outcome:
        partner_id, minted["key"] = org.create_partner(uow, body.name, principal)
        return Outcome(201, Partner.shape({"id": partner_id, "name": " ".join(body.name.split()), "role": "partner"}))

    response = await run_mutation(request, engine, principal, "identity.create_partner", None, work)
    return with_secret(response, "api_key", minted.get("key"), ONCE)


@router.post(
    "/staff",
    status_code=201,
    tags=["staff"],
    summary="Add a staff member with a role; returns the token once",
    response_model=NewStaffMember,
)
async def create_staff(body: StaffIn, request: Request, engine: EngineDep, principal: Caller):
    policy.authorize(principal, "staff.create")
    minted: dict[str, str] = {}

    def work(uow: UnitOfWork) -> Outcome:
        staff_id, minted["token"] = org.create_staff(uow, body.handle, body.role, principal)
        return Outcome(201, StaffMember.shape({"id": staff_id, "handle": body.handle, "role": body.role}))

    response = await run_mutation(request, engine, principal, "identity.create_staff", body.handle, work)
    return with_secret(response, "token", minted.get("token"), ONCE)


@router.get(
    "/pii-access-log",
    tags=["staff"],
    summary="Who saw whose personal information in clear, and why",
    response_model=PiiAccessLog,
)
async def access_log(
    engine: EngineDep,
    principal: Caller,
    subject: str | None = Query(None, max_length=64),
    after: int = Query(0, ge=0, le=MAX_CURSOR),
    limit: int = Query(100, ge=1, le=1000),
):
    policy.authorize(principal, "pii_access_log.read")
    entries = await read(engine, lambda c: pii.access_log(c, subject=subject, after=after, limit=limit))
    return {"entries": entries, "next": entries[-1]["seq"] if len(entries) == limit else None}


# -- API keys and staff tokens -------------------------------------------------------------------

Prefix = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]


def _key_owner(principal: Principal, merchant_id: str) -> None:
    """A merchant manages its own keys; operators and admins any merchant's."""
    policy.authorize(principal, "merchant.manage_keys", merchant_id)


@router.get(
    "/merchants/{merchant_id}/api-keys",
    tags=["merchants"],
    summary="A merchant's API keys (prefixes only)",
    response_model=ApiKeys,
)
async def list_api_keys(
    merchant_id: Annotated[str, Path(min_length=1, max_length=64)], engine: EngineDep, principal: Caller
):
    _key_owner(principal, merchant_id)
    return {"api_keys": await read(engine, lambda c: auth.credentials_of(c, merchant_id))}


@router.post(
    "/merchants/{merchant_id}/api-keys",
    status_code=201,
    tags=["merchants"],
    summary="Issue another API key (for rotation: issue, switch, then revoke the old one)",
    response_model=IssuedApiKey,
)
async def issue_api_key(
    merchant_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    engine: EngineDep,
    principal: Caller,
):
    _key_owner(principal, merchant_id)
    minted: dict[str, str] = {}

    def work(uow: UnitOfWork) -> Outcome:
        org.require_merchant(uow.connection, merchant_id)
        minted["key"] = auth.mint_credential(uow, subject_id=merchant_id, role=Role.merchant, created_by=principal.id)
        return Outcome(201, {"merchant_id": merchant_id, "prefix": "_".join(minted["key"].split("_", 3)[:3])})

    response = await run_mutation(request, engine, principal, "identity.issue_api_key", merchant_id, work)
    return with_secret(response, "api_key", minted.get("key"), ONCE)


@router.post(
    "/merchants/{merchant_id}/api-keys/{prefix}/revoke",
    tags=["merchants"],
    summary="Revoke an API key now",
    response_model=Revoked,
)
async def revoke_api_key(
    merchant_id: Annotated[str, Path(min_length=1, max_length=64)],
    prefix: Prefix,
    request: Request,
    engine: EngineDep,
    principal: Caller,
):
    _key_owner(principal, merchant_id)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, Revoked.shape(auth.revoke_credential(uow, merchant_id, prefix)))

    return await run_mutation(request, engine, principal, "identity.revoke_api_key", prefix, work)


@router.post(
    "/staff/{staff_id}/tokens/{prefix}/revoke",
    tags=["staff"],
    summary="Revoke a staff token now",
    response_model=Revoked,
)
async def revoke_staff_token(
    staff_id: Annotated[str, Path(min_length=1, max_length=64)],
    prefix: Prefix,
    request: Request,
    engine: EngineDep,
    principal: Caller,
):
    policy.authorize(principal, "staff.create")  # admins manage staff

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, Revoked.shape(auth.revoke_credential(uow, staff_id, prefix)))

    return await run_mutation(request, engine, principal, "identity.revoke_staff_token", prefix, work)
