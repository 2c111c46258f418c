"""Fraud rules, block lists and decisions over HTTP under /v1/risk.

Staff read (operator, risk officer, regulator, admin); only a risk officer or an administrator
creates, changes, switches rules and edits block lists, each change a new rule version, through
`run_mutation` (idempotent by `Idempotency-Key`, audited). A rule body is validated by
`models.rule_from`, so a malformed one is a 422 `malformed_rule` and one naming a missing feature a
422 `unknown_feature`, and nothing is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import Engine

from puhui.api.deps import EngineDep, Principal, require_roles
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.risk.fraud import store
from puhui.risk.fraud.schemas import (
    Blocklist,
    BlocklistAdded,
    BlocklistRemoved,
    Decisions,
    Rule,
    Rules,
    RuleVersions,
)

router = APIRouter(prefix="/v1/risk", tags=["risk"])

READERS = ("operator", "risk_officer", "regulator", "admin")
EDITORS = ("risk_officer", "admin")
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Editor = Annotated[Principal, Depends(require_roles(*EDITORS))]
RuleId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
ListName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_.\-]+$")]
Value = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
RULE_EXAMPLE = {
    "rule_id": "velocity_1h",
    "kind": "velocity",
    "params": {"window_seconds": 3600, "max_count": 20},
    "action": "review",
    "description": "more than 20 payments in an hour",
}


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]


@router.get(
    "/rules",
    summary="The current version of every fraud rule",
    response_model=Rules,
    response_model_exclude_unset=True,
)
async def list_rules(engine: EngineDep, principal: Reader) -> dict:
    rules = await _read(engine, store.current_rules)
    return {"rules": [r.as_json() for r in rules]}


@router.get(
    "/rules/{rule_id}/versions",
    summary="Every version of a fraud rule, oldest first",
    response_model=RuleVersions,
    response_model_exclude_unset=True,
)
async def rule_versions(rule_id: RuleId, engine: EngineDep, principal: Reader) -> dict:
    return {"rule_id": rule_id, "versions": await _read(engine, lambda c: store.rule_history(c, rule_id))}


RULE_BODY = {
    "type": "object",
    "description": "a rule: its kind, action, weight and the parameters of its kind, as `GET /v1/risk/rules` "
    "shows them (`malformed_rule` for a parameter the kind does not take or out of range, `unknown_feature`)",
}
RULE_CHANGE_BODY = {"type": "object", "description": "the fields of the rule to change (`malformed_rule`)"}


@router.post(
    "/rules",
    status_code=201,
    summary="Create a fraud rule (version 1)",
    response_model=Rule,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": RULE_BODY}}}},
)
async def create_rule(
    request: Request, engine: EngineDep, principal: Editor, body: Annotated[Any, Body(examples=[RULE_EXAMPLE])]
):
    target = body.get("rule_id") if isinstance(body, dict) and isinstance(body.get("rule_id"), str) else None

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, Rule.shape(store.create_rule(uow, body, principal.id).as_json()))

    return await run_mutation(request, engine, principal, "risk.rule_create", target, work)


@router.put(
    "/rules/{rule_id}",
    summary="Change a fraud rule: writes its next version",
    response_model=Rule,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": RULE_CHANGE_BODY}}}},
)
async def change_rule(
    rule_id: RuleId,
    request: Request,
    engine: EngineDep,
    principal: Editor,
    body: Annotated[Any, Body(examples=[{"params": {"window_seconds": 3600, "max_count": 30}}])],
):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, Rule.shape(store.change_rule(uow, rule_id, body, principal.id).as_json()))

    return await run_mutation(request, engine, principal, "risk.rule_change", rule_id, work)


async def _switch(rule_id: str, enabled: bool, request: Request, engine: Engine, principal: Principal):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, Rule.shape(store.set_enabled(uow, rule_id, enabled, principal.id).as_json()))

    action = "risk.rule_enable" if enabled else "risk.rule_disable"
    return await run_mutation(request, engine, principal, action, rule_id, work)


@router.post("/rules/{rule_id}/enable", summary="Switch a fraud rule on (a new version)", response_model=Rule)
async def enable_rule(rule_id: RuleId, request: Request, engine: EngineDep, principal: Editor):
    return await _switch(rule_id, True, request, engine, principal)


@router.post("/rules/{rule_id}/disable", summary="Switch a fraud rule off (a new version)", response_model=Rule)
async def disable_rule(rule_id: RuleId, request: Request, engine: EngineDep, principal: Editor):
    return await _switch(rule_id, False, request, engine, principal)


@router.get("/decisions", summary="Fraud decisions, newest first, optionally for one payer", response_model=Decisions)
async def list_decisions(
    engine: EngineDep,
    principal: Reader,
    payer_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    return {"decisions": await _read(engine, lambda c: store.decisions(c, payer_id, limit))}


@router.get("/blocklists/{name}", summary="The entries of a block list", response_model=Blocklist)
async def read_blocklist(name: ListName, engine: EngineDep, principal: Reader) -> dict:
    return {"list": name, "entries": await _read(engine, lambda c: store.blocklist(c, name))}


@router.post(
    "/blocklists/{name}",
    status_code=201,
    summary="Put a customer or merchant id on a block list",
    response_model=BlocklistAdded,
)
async def add_entry(name: ListName, body: EntryIn, request: Request, engine: EngineDep, principal: Editor):
    def work(uow: UnitOfWork) -> Outcome:
        added = store.add_to_blocklist(uow, name, body.value, principal.id)
        return Outcome(201 if added else 200, BlocklistAdded.shape({"list": name, "value": body.value, "added": added}))

    return await run_mutation(request, engine, principal, "risk.blocklist_add", f"{name}/{body.value}", work)


@router.delete("/blocklists/{name}/{value}", summary="Take an entry off a block list", response_model=BlocklistRemoved)
async def remove_entry(name: ListName, value: Value, request: Request, engine: EngineDep, principal: Editor):
    def work(uow: UnitOfWork) -> Outcome:
        store.remove_from_blocklist(uow, name, value)
        return Outcome(200, BlocklistRemoved.shape({"list": name, "value": value, "removed": True}))

    return await run_mutation(request, engine, principal, "risk.blocklist_remove", f"{name}/{value}", work)
