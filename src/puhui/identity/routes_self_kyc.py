"""`/v1/customers/me/verifications` and `/v1/customers/me/tier`: the calling customer's own real-name checks
(自助实名认证) through the verification provider (`verifier`, `self_kyc`), and taking the wallet class
(支付账户分类) their passed checks allow. Staff keep `/v1/customers/{id}/verifications` and `/tier`.

Included before `routes_customers`, so `me` is never read as a customer id."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from puhui.api.deps import Customer as CallingCustomer
from puhui.api.deps import EngineDep
from puhui.api.mutations import Outcome, run_mutation
from puhui.db import UnitOfWork
from puhui.identity import kyc, self_kyc
from puhui.identity.http import vault_of
from puhui.identity.models import VerificationChannel, parse_tier
from puhui.identity.routes_customers import ID_NUMBER_PATTERN, PHONE_PATTERN
from puhui.identity.schemas import SelfVerification, TierChanged

router = APIRouter(prefix="/v1/customers/me", tags=["customers"])
SELF_UPGRADE = "self-service: the customer's own verifications"

Name = Annotated[StrictStr, Field(min_length=1, max_length=128, description="姓名 as on the ID card, as typed")]
IdNumber = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=32,
        description="resident ID number as typed",
        json_schema_extra={"pattern": ID_NUMBER_PATTERN},
    ),
]


class RecordCheckIn(BaseModel):
    """A check of the name and ID number against a public record: the public security check (公安部身份核查),
    the social security (社保) or the tax (税务) record."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["public_security", "social_security", "tax"]
    name: Name
    id_number: IdNumber


class BankCardCheckIn(BaseModel):
    """The bank card four-element check (银行卡四要素): one of the customer's bound cards, with their name, ID
    number and mobile number as the reserved phone."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["bank_card"]
    card_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]


class MobileCheckIn(BaseModel):
    """The mobile operator's three-element check (运营商三要素): name, ID number and this phone."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["mobile_operator"]
    phone: Annotated[StrictStr, Field(min_length=1, max_length=32, json_schema_extra={"pattern": PHONE_PATTERN})]


class FaceCheckIn(BaseModel):
    """Face recognition (人脸识别): the liveness token the provider's camera check gave (in the sandbox any token;
    `liveness-fail` fails)."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["face"]
    liveness_token: Annotated[StrictStr, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._\-]+$")]


SelfCheckIn = Annotated[
    RecordCheckIn | BankCardCheckIn | MobileCheckIn | FaceCheckIn,
    Body(discriminator="channel", description="the channel and what it checks"),
]


class SelfTierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tier: Literal["I", "II", "III"] | None = Field(None, description="target class; default: the highest eligible")


def _claim(body: RecordCheckIn | BankCardCheckIn | MobileCheckIn | FaceCheckIn) -> self_kyc.Claim:
    fields = body.model_dump(exclude={"channel"})
    return self_kyc.Claim(VerificationChannel(body.channel), **fields)


@router.post(
    "/verifications",
    status_code=201,
    summary="Verify your own identity on one channel (answered passed or failed, recorded either way)",
    response_model=SelfVerification,
)
async def verify_me(body: SelfCheckIn, request: Request, engine: EngineDep, principal: CallingCustomer):
    """The provider (the sandbox's with PUHUI_SANDBOX) checks your own identity: what you type must be what your
    account holds, else the check fails as `details_mismatch` without asking it. A failed check is recorded too
    and does not count; a channel that passed counts once (409 `channel_already_verified` when asked again).
    Nothing typed is stored; the answer shows it masked."""
    vault = vault_of(request)
    verifier = getattr(request.app.state, "verifier", None)
    claim = _claim(body)

    def work(uow: UnitOfWork) -> Outcome:
        answer = self_kyc.verify_self(uow, vault, verifier, claim, principal)
        return Outcome(201, SelfVerification.shape(answer))

    return await run_mutation(request, engine, principal, "identity.self_verification", principal.id, work)


@router.post(
    "/tier",
    summary="Take the wallet class your passed verifications allow",
    response_model=TierChanged,
)
async def upgrade_me(request: Request, engine: EngineDep, principal: CallingCustomer, body: SelfTierIn | None = None):
    """Class I needs 1 passed channel, II 3, III 5; never down or sideways (409 `tier_not_higher`), never above
    what the checks allow (409 `insufficient_verifications`). Audited as the customer's own upgrade."""
    target = parse_tier(body.tier) if body is not None and body.tier else None

    def work(uow: UnitOfWork) -> Outcome:
        change = kyc.upgrade_tier(uow, principal.id, principal, SELF_UPGRADE, target)
        return Outcome(
            200, TierChanged.shape({**change, "tier": kyc.tier_json(kyc.tier_of(uow.connection, principal.id))})
        )

    return await run_mutation(request, engine, principal, "identity.self_upgrade_tier", principal.id, work)
