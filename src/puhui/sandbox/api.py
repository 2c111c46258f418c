"""/v1/sandbox/clock: the platform time, and (admin, sandbox only) moving it forward."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from puhui import clock
from puhui.api.deps import Principal, require_admin
from puhui.api.mutations import Outcome, run_mutation
from puhui.db import UnitOfWork
from puhui.sandbox import service
from puhui.sandbox.errors import SandboxDisabled
from puhui.sandbox.models import ClockReading, iso_duration

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


class ClockMove(BaseModel):
    """Exactly one of `advance` (ISO 8601 duration, e.g. `PT36H`) or `to` (e.g. `2027-03-02T10:00:00+08:00`)."""

    model_config = ConfigDict(extra="forbid")
    advance: dt.timedelta | None = None
    to: AwareDatetime | None = None


class ClockView(BaseModel):
    now: str  # platform time, ISO 8601 with offset (China Standard Time)
    business_date: str  # 营业日
    yesterday: str  # the latest business date that is over: what T+1 jobs (settlement, end of day) take
    wall: str
    offset: str  # ISO 8601 duration ahead of wall time
    offset_seconds: int


def view(reading: ClockReading) -> ClockView:
    today = reading.now.astimezone(clock.CHINA).date()
    return ClockView(
        now=reading.now.astimezone(clock.CHINA).isoformat(),
        business_date=today.isoformat(),
        yesterday=(today - dt.timedelta(days=1)).isoformat(),
        wall=reading.wall.astimezone(clock.CHINA).isoformat(),
        offset=iso_duration(reading.offset),
        offset_seconds=int(reading.offset.total_seconds()),
    )


async def sandbox_clock(request: Request) -> service.SandboxClock:
    found = getattr(request.app.state, "sandbox_clock", None)
    if found is None:
        raise SandboxDisabled()
    return found


SandboxDep = Annotated[service.SandboxClock, Depends(sandbox_clock)]


@router.get("/clock", summary="The platform time (sandbox)", response_model=ClockView)
async def read_clock(sandbox: SandboxDep) -> ClockView:
    await run_in_threadpool(sandbox.refresh)
    return view(sandbox.reading())


@router.post("/clock", summary="Move the platform time forward (admin, sandbox only)", response_model=ClockView)
async def move_clock(
    body: ClockMove, request: Request, sandbox: SandboxDep, principal: Annotated[Principal, Depends(require_admin)]
):
    def work(uow: UnitOfWork) -> Outcome:
        moved = service.move(uow, sandbox.base.now(), advance=body.advance, to=body.to)
        uow.after_commit.append(lambda: sandbox.adopt(moved.offset))
        return Outcome(200, view(moved).model_dump())

    return await run_mutation(request, request.app.state.engine, principal, "sandbox.clock_moved", "clock", work)
