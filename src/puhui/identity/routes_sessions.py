"""`/v1/customers/{id}/…` for log-in sessions (登录会话): log out, see the open sessions, log out
everywhere (the customer, or operations for a lost phone), and change the password, which ends every
other session at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import Caller, EngineDep
from puhui.api.mutations import Outcome, run_mutation
from puhui.db import UnitOfWork
from puhui.identity import policy, sessions
from puhui.identity.http import read
from puhui.identity.routes_customers import CustomerId
from puhui.identity.schemas import Sessions, SessionsEnded

router = APIRouter(prefix="/v1/customers", tags=["customers"])

Password = Annotated[StrictStr, Field(min_length=1, max_length=256)]


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Password
    new_password: Password


@router.post(
    "/{customer_id}/logout", summary="Log out: end the session of the token used", response_model=SessionsEnded
)
async def logout(customer_id: CustomerId, request: Request, engine: EngineDep, principal: Caller):
    policy.authorize(principal, "customer.logout", customer_id)

    def work(uow: UnitOfWork) -> Outcome:
        ended = sessions.end(uow, customer_id, only=principal.session_id or "")
        return Outcome(200, {"customer_id": customer_id, "sessions_ended": ended})

    return await run_mutation(request, engine, principal, "identity.logout", customer_id, work)


@router.get(
    "/{customer_id}/sessions", summary="The customer's open log-in sessions, newest first", response_model=Sessions
)
async def list_sessions(customer_id: CustomerId, engine: EngineDep, principal: Caller) -> dict:
    policy.authorize(principal, "customer.sessions", customer_id)
    found = await read(engine, lambda c: sessions.open_sessions(c, customer_id))
    return {"customer_id": customer_id, "current": principal.session_id, "sessions": found}


@router.post(
    "/{customer_id}/sessions/end",
    summary="Log out everywhere (the caller's own session stays)",
    response_model=SessionsEnded,
)
async def end_sessions(customer_id: CustomerId, request: Request, engine: EngineDep, principal: Caller):
    policy.authorize(principal, "customer.sessions", customer_id)

    def work(uow: UnitOfWork) -> Outcome:
        ended = sessions.end(uow, customer_id, keep=principal.session_id)
        return Outcome(200, {"customer_id": customer_id, "sessions_ended": ended})

    return await run_mutation(request, engine, principal, "identity.end_sessions", customer_id, work)


@router.post(
    "/{customer_id}/password",
    summary="Change the password (the current one is checked, throttled like a log-in); every other session ends",
    response_model=SessionsEnded,
)
async def change_password(
    customer_id: CustomerId, body: PasswordChangeIn, request: Request, engine: EngineDep, principal: Caller
):
    policy.authorize(principal, "customer.change_password", customer_id)
    new_hash = await run_in_threadpool(
        sessions.new_password_hash, engine, customer_id, body.current_password, body.new_password
    )

    def work(uow: UnitOfWork) -> Outcome:
        ended = sessions.change_password(uow, customer_id, new_hash, keep=principal.session_id)
        return Outcome(200, {"customer_id": customer_id, "password_changed": True, "sessions_ended": ended})

    return await run_mutation(request, engine, principal, "identity.change_password", customer_id, work)
