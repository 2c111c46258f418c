"""`/v1/customers/me/verifications` and `/v1/customers/me/tier`: the calling customer's own real-name checks
(自助实名认证) through the verification provider (`verifier`, `self_kyc`), and taking the wallet class
(支付账户分类) their passed checks allow. Staff keep `/v1/customers/{id}/verifications` and `/tier`.

Included before `routes_customers`, so `me` is never read as a customer id."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import Customer as CallingCustomer
from puhui.api.deps import EngineDep
from puhui.api.mutations import Outcome, replay, run_mutation
from puhui.db import UnitOfWork, transaction
from puhui.errors import PuhuiError
from puhui.identity import kyc, self_kyc
from puhui.identity.http import vault_of
from puhui.identity.models import VerificationChannel, parse_tier
from puhui.identity.routes_customers import ID_NUMBER_PATTERN, PHONE_PATTERN
from puhui.identity.schemas import SelfVerification, TierChanged

router = APIRouter(prefix="/v1/customers/me", tags=["customers"])
SELF_UPGRADE = "self-service: the customer's own verifications"
ACTION = "identity.self_verification"

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
    `liveness-fail` fails). It processes biometrics, sensitive personal information: it needs the customer's
    separate consent (单独同意) to `biometrics`, standing (`POST /v1/customers/{id}/consents` with `sensitive`) or
    given here."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["face"]
    liveness_token: Annotated[StrictStr, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._\-]+$")]
    biometrics_consent: StrictBool = Field(
        False,
        description="`true`: you give your separate consent (单独同意) to process your biometrics for this check, "
        "recorded as a consent to `biometrics` (sensitive) with it; `false` or absent: a standing one is needed, "
        "else 422 `biometric_consent_required`",
    )


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
    account holds, else the check fails as `details_mismatch` without asking it. A failed check is recorded too,
    with its reason, and does not count; a channel that passed counts once (409 `channel_already_verified` when
    asked again). The face check needs your separate consent to `biometrics` (422 `biometric_consent_required`).
    Nothing typed is stored; the answer shows it masked. A retry with the same `Idempotency-Key` is answered from
    the stored answer without asking the provider again; the same request sent again while the provider is asked,
    or another check of the channel then, is 409 `verification_in_progress` (with `Retry-After`), before it asks."""
    vault = vault_of(request)
    verifier = getattr(request.app.state, "verifier", None)
    claim = _claim(body)
    held: self_kyc.Hold | None = None
    try:
        try:
            if (done := await replay(request, engine, principal)) is not None:
                return done  # the stored answer: the provider is not asked again
            ready = await run_in_threadpool(self_kyc.prepare, engine, vault, claim, principal)  # reads only
            held = await run_in_threadpool(transaction, engine, lambda uow: self_kyc.hold(uow, ready))
            answer = await run_in_threadpool(self_kyc.ask, verifier, ready)  # no transaction open while it answers
        except PuhuiError as error:
            refusal = error  # refused before the unit of work: audited as every refusal is, through it

            def refused(uow: UnitOfWork) -> Outcome:
                raise refusal

            return await run_mutation(request, engine, principal, ACTION, principal.id, refused)

        def work(uow: UnitOfWork) -> Outcome:
            return Outcome(201, SelfVerification.shape(self_kyc.record(uow, ready, answer, principal)))

        return await run_mutation(request, engine, principal, ACTION, principal.id, work)
    finally:
        if held is not None:
            await run_in_threadpool(transaction, engine, partial(self_kyc.release, held=held))


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
