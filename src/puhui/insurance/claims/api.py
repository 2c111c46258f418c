"""Medical claims over HTTP under /v1/insurance/claims (理赔): a customer reports a claim on their own
policy with its documents and it is adjudicated at once (自动核赔), paid straight through or declined
with reasons or sent to review; risk officers and operators work the review queue (人工审核) and the
approved claims waiting for the insurer's money (待支付), which they may pay in turn once it is there.

An event date outside the policy's cover is a 422 `claim_outside_cover` and nothing is stored; a
fraud scorer may be installed as `app.state.claim_scorer` (a callable on the claim's facts), or a
claims-fraud model as `app.state.claim_scoring` (`service.ClaimScoring`: the server installs one from
`PUHUI_CLAIMS_FRAUD_MODEL`)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from puhui.api.deps import Customer, EngineDep, Principal, require_roles
from puhui.api.fields import DAY_PATTERN, ID_PATTERN, AmountOrZeroStr, AmountStr, ClientId, Ident, Limit
from puhui.api.mutations import Outcome, client_id_of, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.errors import Forbidden
from puhui.insurance import models
from puhui.insurance.claims import errors, listings, service, waiting
from puhui.insurance.claims.models import CONDITION_PATTERN
from puhui.insurance.claims.schemas import AwaitingPayment, Claim, ClaimList, WaitingPaid
from puhui.money import parse_minor

router = APIRouter(prefix="/v1/insurance/claims", tags=["insurance"])

DOCUMENT_BYTES = 1_048_576  # a document is at most 1 MiB
BASE64_LENGTH = 4 * DOCUMENT_BYTES // 3 + 4
Reviewer = Annotated[Principal, Depends(require_roles("risk_officer", "operator", "admin"))]
# A claim is read by the customer who filed it or by the staff who review claims (the same roles as the queue).
ClaimReader = Annotated[Principal, Depends(require_roles("customer", "risk_officer", "operator", "admin"))]
InsurerId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
OldestFirst = Annotated[int, Query(ge=1, le=100, description="how many, oldest first")]
CustomerFilter = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="only this customer's claims")
]
StatusFilter = Annotated[
    Literal["review", "approved", "paid", "declined"] | None, Query(description="only the claims in this status")
]
InsurerFilter = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="only this insurer's claims")
]


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
    media_type: Annotated[StrictStr, Field(max_length=64, pattern=r"^[a-z]+/[a-z0-9.+\-]+$")]
    content: Annotated[
        StrictStr,
        Field(
            min_length=4,
            max_length=BASE64_LENGTH,
            pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$",
            description="the document in base64, at most 1 MiB decoded",
        ),
    ]


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
    kind: Literal["illness", "accident"]
    condition: Annotated[StrictStr, Field(pattern=CONDITION_PATTERN, description="the diagnosis code, e.g. J18")]
    event_date: Annotated[
        StrictStr,
        Field(pattern=DAY_PATTERN, json_schema_extra={"format": "date"}, description="出险日期, YYYY-MM-DD"),
    ]
    billed: AmountStr
    social_insurance_paid: AmountOrZeroStr = "0.00"
    documents: Annotated[list[DocumentIn], Field(max_length=10)] = []
    client_id: ClientId | None = None


def _document(doc: DocumentIn) -> service.Document:
    try:
        content = base64.b64decode(doc.content, validate=True)
    except binascii.Error as bad:
        raise errors.ClaimDocumentInvalid(f"{doc.name} is not base64") from bad
    if len(content) > DOCUMENT_BYTES:
        raise errors.ClaimDocumentInvalid(f"{doc.name} is larger than {DOCUMENT_BYTES} bytes")
    return service.Document(doc.name, doc.media_type, content)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as bad:
        raise errors.ClaimDateInvalid(f"{text} is not a calendar date") from bad


def _report(body: ClaimIn) -> service.ClaimReport:
    return service.ClaimReport(
        policy_id=body.policy_id,
        kind=models.LossKind(body.kind),
        condition=body.condition,
        event_date=_day(body.event_date),
        billed=parse_minor(body.billed, 2),
        social_insurance_paid=parse_minor(body.social_insurance_paid, 2),
        documents=tuple(_document(d) for d in body.documents),
    )


@router.post("", status_code=201, summary="Report a medical claim (报案), adjudicated at once", response_model=Claim)
async def report_claim(body: ClaimIn, request: Request, engine: EngineDep, principal: Customer) -> Response:
    report = _report(body)
    chosen = client_id_of(request, body.client_id)
    client_id = chosen if len(chosen) <= 64 else hashlib.sha256(chosen.encode()).hexdigest()
    scorer = getattr(request.app.state, "claim_scorer", None)
    scoring: service.ClaimScoring | None = getattr(request.app.state, "claim_scoring", None)

    def work(uow: UnitOfWork) -> Outcome:
        if scoring is None:
            claim = service.report_claim(uow, principal.id, report, client_id, scorer=scorer)
        else:
            model_scorer, rules = scoring.for_claim(uow.connection, principal.id, report)
            claim = service.report_claim(uow, principal.id, report, client_id, rules, model_scorer)
        return Outcome(201, Claim.shape(claim))

    return await run_mutation(request, engine, principal, "insurance.report_claim", body.policy_id, work)


@router.get(
    "",
    summary="Claims, newest first: a customer's own (我的理赔), or any for the staff who review claims",
    description="A customer sees only their own claims (a customer_id other than theirs is a 403); risk officers, "
    "operators and the admin see every customer's, or one customer's with `customer_id`. Both may narrow by "
    "`status`. Each claim is answered as `GET /claims/{claim_id}` answers it.",
    response_model=list[Claim],
)
async def list_claims(
    engine: EngineDep,
    principal: ClaimReader,
    customer_id: CustomerFilter = None,
    status: StatusFilter = None,
    limit: Limit = listings.MAX_CLAIMS,
) -> list[dict[str, Any]]:
    if principal.role != "customer":  # staff who review claims (ClaimReader)
        owner = customer_id
    elif customer_id in (None, principal.id):
        owner = principal.id
    else:
        raise Forbidden("a customer sees only their own claims")
    return await _read(engine, lambda c: listings.claims_listed(c, owner, status, limit))


@router.get("/reviews", summary="Claims waiting for review (人工审核队列), oldest first", response_model=ClaimList)
async def reviews(engine: EngineDep, principal: Reviewer, limit: Limit = 50) -> dict[str, Any]:
    return await _read(engine, lambda c: {"claims": service.reviews(c, limit)})


@router.get(
    "/awaiting-payment",
    summary="Approved claims waiting for the insurer's money (待支付), oldest first, and each insurer's shortfall",
    response_model=AwaitingPayment,
)
async def awaiting_payment(
    engine: EngineDep, principal: Reviewer, limit: OldestFirst = 50, insurer: InsurerFilter = None
) -> dict[str, Any]:
    return await _read(engine, lambda c: AwaitingPayment.shape(waiting.awaiting_payment(c, limit, insurer)))


class PayWaitingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    insurer_id: InsurerId


@router.post(
    "/pay-waiting",
    summary="Pay an insurer's waiting claims in turn from its money held (待支付赔案); the first short one stops",
    response_model=WaitingPaid,
)
async def pay_waiting(body: PayWaitingIn, request: Request, engine: EngineDep, principal: Reviewer) -> Response:
    insurer_id = body.insurer_id

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, WaitingPaid.shape(waiting.pay_waiting_json(uow, insurer_id)))

    return await run_mutation(request, engine, principal, "insurance.pay_waiting_claims", insurer_id, work)


@router.get(
    "/{claim_id}",
    summary="One claim: a customer's own (another's is 404), or any claim for the staff who review claims",
    response_model=Claim,
)
async def read_claim(claim_id: Ident, engine: EngineDep, principal: ClaimReader) -> dict[str, Any]:
    owner = principal.id if principal.role == "customer" else None  # staff (customer_id None) read any claim
    return await _read(engine, lambda c: service.read_claim(c, owner, claim_id))


Note = Annotated[StrictStr, Field(min_length=1, max_length=1000, pattern=r"\S")]


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Note | None = Field(
        default=None,
        description="核赔意见, 1-1000 characters, stored with the decision: required when the claim is under review "
        "for documents_missing or fraud_score (why it is approved all the same), optional for amount_above_threshold",
    )


Reason = Annotated[StrictStr, Field(max_length=1000, json_schema_extra={"minLength": 1, "pattern": r"\S"})]
"""A decline's reason as the schema states it (not empty, not all blank); an empty or blank one is refused not
with a bare "String should match pattern" but by the service's 422 `claim_reason_required`, which says it."""


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(
        description="拒赔理由, 1-1000 characters: stored with the decision and shown to the customer (保险法 Art. 24)"
    )


@router.post(
    "/{claim_id}/approve",
    summary="Approve a claim under review and pay it (核赔通过), with the officer's note",
    description="A note is required (422 `claim_note_required`, nothing changed) when the claim is under review "
    "for `documents_missing` or `fraud_score`; an approved claim waiting for money is paid, a paid one answers "
    "as it is.",
    response_model=Claim,
)
async def approve(
    claim_id: Ident, request: Request, engine: EngineDep, principal: Reviewer, body: ApproveIn | None = None
) -> Response:
    note = None if body is None else body.note

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, Claim.shape(service.approve(uow, principal.id, claim_id, note)))

    return await run_mutation(request, engine, principal, "insurance.approve_claim", claim_id, work)


@router.post(
    "/{claim_id}/decline",
    summary="Decline a claim under review (拒赔) for a stated reason, shown to the customer",
    response_model=Claim,
)
async def decline(
    claim_id: Ident, body: DeclineIn, request: Request, engine: EngineDep, principal: Reviewer
) -> Response:
    reason = body.reason

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, Claim.shape(service.decline(uow, principal.id, claim_id, reason)))

    return await run_mutation(request, engine, principal, "insurance.decline_claim", claim_id, work)
