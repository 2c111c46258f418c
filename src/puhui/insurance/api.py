"""Insurance over HTTP under /v1/insurance (互联网保险): operators register insurers and add product
versions; anyone signed in lists the products (each one's newest version) and reads a version; a customer gets
a quote, buys a medical policy from the wallet, lists and reads their policies and cancels one (退保). A
customer sees only their own policies (another's is 404); staff list any customer's. A quote
is for any age; a policy is priced on the insured's (the buyer's) age by the birth date in their verified ID.

A product's premium table is sent as consecutive bands from `min_age`, each `years` wide, so every
table the schema allows is one without gaps or overlaps; it is answered with each band's ages."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from puhui.api.deps import Caller, Customer, EngineDep, Operator
from puhui.api.fields import AS_WHOLE_NUMBER, ID_PATTERN, AmountOrZeroStr, AmountStr, ClientId, Ident, Limit
from puhui.api.mutations import Outcome, client_id_of, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.errors import Forbidden
from puhui.identity.http import vault_of
from puhui.insurance import listings, models, service
from puhui.insurance.claims.models import CONDITION_PATTERN, QUESTION_PATTERN, Question, Verdict
from puhui.insurance.schemas import Insurer, MedicalProductVersion, Policy, Quote
from puhui.money import parse_minor

router = APIRouter(prefix="/v1/insurance", tags=["insurance"])

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,47}$"
# a ratio above 0 and at most 1 with at most six places, e.g. "0.6" or "1"
RATIO_PATTERN = r"^(0\.[0-9]{0,5}[1-9]|1(\.0{1,6})?)$"
ProductCode = Annotated[str, Path(min_length=1, max_length=48, pattern=CODE_PATTERN)]
Version = Annotated[int, Path(ge=1, le=1_000_000)]
Age = Annotated[StrictInt, Field(ge=0, le=150), AS_WHOLE_NUMBER]
Days = Annotated[StrictInt, Field(ge=0, le=3650), AS_WHOLE_NUMBER]
RatioStr = Annotated[StrictStr, Field(max_length=8, pattern=RATIO_PATTERN)]
CustomerFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="staff: only this customer's policies"),
]


class InsurerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partner_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]


class BandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    years: Annotated[StrictInt, Field(ge=1, le=150, description="how many ages the band covers"), AS_WHOLE_NUMBER]
    with_social_insurance: AmountStr
    without_social_insurance: AmountStr


QuestionId = Annotated[StrictStr, Field(pattern=QUESTION_PATTERN)]
HealthAnswers = Annotated[
    dict[QuestionId, StrictBool],
    Field(
        max_length=30,
        description="the answer to each health question (健康告知) by id: true for yes",
        json_schema_extra={"additionalProperties": False},
    ),
]


class HealthQuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: QuestionId
    text: Annotated[StrictStr, Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")]
    on_yes: Literal["accept", "exclude", "decline"]
    condition: Annotated[
        StrictStr | None, Field(pattern=CONDITION_PATTERN, description="the condition excluded, with exclude only")
    ] = None


class MedicalProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    insurer_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
    code: Annotated[StrictStr, Field(pattern=CODE_PATTERN)]
    version: Annotated[StrictInt, Field(ge=1, le=1_000_000), AS_WHOLE_NUMBER]
    name: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
    min_age: Annotated[Age, Field(description="the youngest age of the first band")]
    bands: Annotated[list[BandIn], Field(min_length=1, max_length=20, description="the premium table (费率表)")]
    deductible: AmountOrZeroStr = "10000.00"
    annual_limit: AmountOrZeroStr = "3000000.00"
    ratio_with_social: RatioStr = "1"
    ratio_without_social: RatioStr = "0.6"
    waiting_days: Days = 30
    cooling_off_days: Days = 15
    early_claim_days: Annotated[
        Days,
        Field(description="claims for an event within this many days of the cover start go to manual review (0: none)"),
    ] = 0
    guaranteed_renewal_years: Annotated[StrictInt, Field(ge=0, le=100), AS_WHOLE_NUMBER] = 0
    questionnaire: Annotated[
        list[HealthQuestionIn], Field(max_length=30, description="the health declaration (健康告知), ids unique")
    ] = []


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_code: Annotated[StrictStr, Field(pattern=CODE_PATTERN)]
    product_version: Annotated[StrictInt, Field(ge=1, le=1_000_000), AS_WHOLE_NUMBER]
    age: Age
    social_insurance: StrictBool


class PolicyIn(QuoteIn):
    age: Annotated[
        Age | None,
        Field(
            description="optional: the insured's age is their full years (周岁) on the cover start by the birth date "
            "in their verified ID; an age sent is checked against it (insured_age_mismatch when it differs)"
        ),
    ] = None  # type: ignore[assignment]
    disclosure: Annotated[
        StrictStr, Field(min_length=1, max_length=20_000, description="the disclosure shown (告知书), kept by hash")
    ]
    confirmations: Annotated[
        list[Annotated[StrictStr, Field(min_length=1, max_length=200)]],
        Field(min_length=1, max_length=20, description="what the customer confirmed, each as shown"),
    ]
    client_id: ClientId | None = None
    health_answers: HealthAnswers = {}


class RenewalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disclosure: Annotated[
        StrictStr, Field(min_length=1, max_length=20_000, description="the disclosure shown (告知书), kept by hash")
    ]
    confirmations: Annotated[
        list[Annotated[StrictStr, Field(min_length=1, max_length=200)]],
        Field(min_length=1, max_length=20, description="what the customer confirmed, each as shown"),
    ]
    health_answers: HealthAnswers = {}


def _questions(body: MedicalProductIn) -> tuple[Question, ...]:
    return tuple(Question(q.id, q.text, Verdict(q.on_yes), q.condition) for q in body.questionnaire)


def _product(body: MedicalProductIn) -> models.MedicalProduct:
    bands, first = [], body.min_age
    for band in body.bands:
        bands.append(
            models.AgeBand(
                first,
                first + band.years - 1,
                parse_minor(band.with_social_insurance, 2),
                parse_minor(band.without_social_insurance, 2),
            )
        )
        first += band.years
    return models.MedicalProduct(
        code=body.code,
        version=body.version,
        name=body.name,
        bands=tuple(bands),
        deductible=parse_minor(body.deductible, 2),
        annual_limit=parse_minor(body.annual_limit, 2),
        ratio_with_social=Decimal(body.ratio_with_social),
        ratio_without_social=Decimal(body.ratio_without_social),
        waiting_days=body.waiting_days,
        cooling_off_days=body.cooling_off_days,
        guaranteed_renewal_years=body.guaranteed_renewal_years,
        early_claim_days=body.early_claim_days,
    )


def _client_id(request: Request, given: str | None) -> str:
    """The body's client_id, else the Idempotency-Key (hashed when longer than an id may be)."""
    chosen = client_id_of(request, given)
    return chosen if len(chosen) <= 64 else hashlib.sha256(chosen.encode()).hexdigest()


@router.post("/insurers", status_code=201, summary="Make a registered partner an insurer", response_model=Insurer)
async def register_insurer(body: InsurerIn, request: Request, engine: EngineDep, principal: Operator) -> Response:
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, Insurer.shape(service.register_insurer(uow, body.partner_id)))

    return await run_mutation(request, engine, principal, "insurance.register_insurer", body.partner_id, work)


@router.post(
    "/products",
    status_code=201,
    summary="Add a medical product version (产品版本); the same again is a no-op",
    response_model=MedicalProductVersion,
)
async def add_product(body: MedicalProductIn, request: Request, engine: EngineDep, principal: Operator) -> Response:
    product, questions = _product(body), _questions(body)

    def work(uow: UnitOfWork) -> Outcome:
        answer = service.add_medical_product(uow, body.insurer_id, product, questions)
        return Outcome(201, MedicalProductVersion.shape(answer))

    return await run_mutation(request, engine, principal, "insurance.add_product", body.code, work)


@router.get(
    "/products",
    summary="The medical products on offer: each product's newest version, by code",
    response_model=list[MedicalProductVersion],
)
async def list_products(engine: EngineDep, principal: Caller) -> list[dict[str, Any]]:
    return await _read(engine, listings.medical_products)


@router.get("/products/{code}/{version}", summary="A product version's terms", response_model=MedicalProductVersion)
async def read_product(code: ProductCode, version: Version, engine: EngineDep, principal: Caller) -> dict[str, Any]:
    return await _read(engine, lambda c: service.product_json(c, code, version))


@router.post("/quotes", summary="The yearly premium for an age and social-insurance status", response_model=Quote)
async def quote(body: QuoteIn, engine: EngineDep, principal: Customer) -> dict[str, Any]:
    return await _read(
        engine,
        lambda c: service.quote(c, body.product_code, body.product_version, body.age, body.social_insurance),
    )


@router.post(
    "/policies", status_code=201, summary="Buy a year of medical cover from the wallet (投保)", response_model=Policy
)
async def buy(body: PolicyIn, request: Request, engine: EngineDep, principal: Customer) -> Response:
    client_id = _client_id(request, body.client_id)
    vault = vault_of(request)

    def work(uow: UnitOfWork) -> Outcome:
        born = service.birth_date(uow.connection, vault, principal.id)
        policy = service.buy_medical(
            uow,
            principal.id,
            body.product_code,
            body.product_version,
            body.age,
            body.social_insurance,
            body.disclosure,
            body.confirmations,
            client_id,
            body.health_answers,
            born=born,
        )
        return Outcome(201, Policy.shape(policy))

    return await run_mutation(request, engine, principal, "insurance.buy_policy", body.product_code, work)


@router.get(
    "/policies",
    summary="Policies, newest first: a customer's own (我的保单), or for staff any customer's (customer_id)",
    description="A customer sees only their own policies (a customer_id other than theirs is a 403); staff see "
    "every customer's, or one customer's with `customer_id`. Each policy is answered as "
    "`GET /policies/{policy_id}` answers it.",
    response_model=list[Policy],
)
async def list_policies(
    engine: EngineDep, principal: Caller, customer_id: CustomerFilter = None, limit: Limit = listings.MAX_POLICIES
) -> list[dict[str, Any]]:
    if principal.is_staff:
        owner = customer_id
    elif principal.role == "customer" and customer_id in (None, principal.id):
        owner = principal.id
    else:
        raise Forbidden(
            "a customer sees only their own policies"
            if principal.role == "customer"
            else "only customers and staff see policies"
        )
    return await _read(engine, lambda c: listings.policy_answers(c, owner, limit))


@router.get("/policies/{policy_id}", summary="One of the customer's policies", response_model=Policy)
async def read_policy(policy_id: Ident, engine: EngineDep, principal: Customer) -> dict[str, Any]:
    return await _read(engine, lambda c: service.read_policy(c, principal.id, policy_id))


@router.post(
    "/policies/{policy_id}/cancel",
    summary="Cancel (退保): a full refund within the cooling-off period, pro rata after it, nothing after a claim "
    "paid; the answer's `cancellation` says why",
    response_model=Policy,
)
async def cancel(policy_id: Ident, request: Request, engine: EngineDep, principal: Customer) -> Response:
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, Policy.shape(service.cancel(uow, principal.id, policy_id)))

    return await run_mutation(request, engine, principal, "insurance.cancel_policy", policy_id, work)


@router.post(
    "/policies/{policy_id}/renew",
    status_code=201,
    summary="Renew (续保) for the next year, from 30 days before the cover ends",
    response_model=Policy,
)
async def renew(
    policy_id: Ident, body: RenewalIn, request: Request, engine: EngineDep, principal: Customer
) -> Response:
    vault = vault_of(request)

    def work(uow: UnitOfWork) -> Outcome:
        born = service.birth_date(uow.connection, vault, principal.id)
        renewed = service.renew(
            uow, principal.id, policy_id, body.disclosure, body.confirmations, body.health_answers, born=born
        )
        return Outcome(201, Policy.shape(renewed))

    return await run_mutation(request, engine, principal, "insurance.renew_policy", policy_id, work)
