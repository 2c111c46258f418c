"""Corporate actions over HTTP (权益分派) under /v1/securities: staff announce a distribution per 10 shares
("10派3元送2股"); anyone signed in reads them; a customer reads what they received. The ex-date applies
it (`distributions`): cash to the holders' brokerage cash, bonus shares to their positions."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from puhui.api.deps import Caller, Customer, EngineDep, Operator
from puhui.api.fields import Day, Money, Schema
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.eod.dates import BusinessDate
from puhui.money import parse_minor
from puhui.securities import corporate, distributions

router = APIRouter(prefix="/v1/securities", tags=["securities"])
Code = Annotated[StrictStr, Field(pattern=r"^[0-9]{6}$", description="a six-digit A-share code")]
PER_10 = r"^(0|[1-9][0-9]{0,3})(\.[0-9]{1,4})?$"


class CorporateActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    record_date: BusinessDate = Field(description="股权登记日, a trading day not yet past")
    ex_date: BusinessDate = Field(description="除权除息日, the trading day after the record date")
    cash_per_10: Annotated[StrictStr, Field(max_length=10, pattern=r"^(0|[1-9][0-9]{0,5})(\.[0-9]{1,2})?$")] = Field(
        default="0", description="派: CNY per 10 shares, e.g. 3.00"
    )
    bonus_per_10: Annotated[StrictStr, Field(max_length=9, pattern=PER_10)] = Field(
        default="0", description="送 + 转增: new shares per 10 shares, e.g. 2 or 3.5"
    )


class CorporateAction(Schema):
    """A distribution (权益分派) and, once its ex-date applied it, what the holders received."""

    id: str
    code: str
    record_date: Day
    ex_date: Day
    cash_per_10: Money
    bonus_per_10: str = Field(description="new shares per 10 held")
    status: Literal["announced", "applied"]
    reference_price: Money | None = Field(description="除权除息参考价: the ex-date's previous close")
    holders: int = Field(ge=0)
    cash_paid: Money
    bonus_shares: int = Field(ge=0)


class CorporateActionList(Schema):
    corporate_actions: list[CorporateAction]


class DistributionReceived(Schema):
    """What a holder received on an ex-date (分红送股)."""

    code: str
    ex_date: Day
    held: int = Field(ge=0, description="shares held at the record")
    cash: Money
    shares: int = Field(ge=0, description="bonus shares credited")


class DistributionReceivedList(Schema):
    distributions: list[DistributionReceived]


@router.post(
    "/corporate-actions",
    status_code=201,
    summary="Announce a distribution (权益分派): cash and bonus shares per 10, applied on the ex-date",
    response_model=CorporateAction,
)
async def announce(body: CorporateActionIn, request: Request, engine: EngineDep, principal: Operator) -> Response:
    cash = parse_minor(body.cash_per_10, 2)
    plan = corporate.Distribution(body.code, body.record_date, body.ex_date, cash, Decimal(body.bonus_per_10))

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, CorporateAction.shape(distributions.announce(uow, plan)))

    return await run_mutation(request, engine, principal, "securities.announce_distribution", body.code, work)


@router.get("/corporate-actions", summary="Distributions announced and applied", response_model=CorporateActionList)
async def read_actions(
    engine: EngineDep, principal: Caller, code: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None
) -> dict[str, Any]:
    return await _read(engine, lambda c: {"corporate_actions": distributions.list_actions(c, code)})


@router.get("/distributions", summary="What the customer received (分红送股)", response_model=DistributionReceivedList)
async def read_received(engine: EngineDep, principal: Customer) -> dict[str, Any]:
    return await _read(engine, lambda c: {"distributions": distributions.received(c, principal.id)})
