"""The monitoring HTTP API under /v1/regtech: rules (compliance officers: risk_officer, admin),
alerts and cases (read by staff and the regulator; cases opened and moved by risk_officer/admin).
`POST /cases/from-alerts` groups the alerts in no case by party; moving a case to `reported` needs
the investigator's narrative and answers with the generated suspicious transaction report.
Rule bodies are validated by `puhui.regtech.rules` so a bad one gets the stable `rule_invalid`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import (
    EngineDep,
    Officer,
    Staff,
)
from puhui.api.fields import Ident
from puhui.api.mutations import Outcome, run_mutation
from puhui.db import UnitOfWork, reading
from puhui.regtech import alerts, cases, rules
from puhui.regtech.schemas import (
    AlertTypology,
    CasesFromAlerts,
    CaseStatus,
    MonitoringAlert,
    MonitoringAlerts,
    MonitoringCase,
    MonitoringCases,
    MonitoringRule,
    MonitoringRuleHistory,
    MonitoringRules,
    ReportedCase,
)

router = APIRouter(prefix="/v1/regtech", tags=["regtech"])

RuleCode = Annotated[str, Path(min_length=2, max_length=48, pattern=r"^[a-z][a-z0-9_]+$")]


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alert_ids: Annotated[
        list[Annotated[StrictStr, Field(min_length=1, max_length=64)]],
        Field(min_length=1, max_length=500, json_schema_extra={"uniqueItems": True}),  # each once (`case_invalid`)
    ]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: CaseStatus = Field(description="the status to move to; which moves are allowed depends on the case's own")
    assignee: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    note: Annotated[StrictStr, Field(max_length=2000)] | None = None
    narrative: Annotated[StrictStr, Field(max_length=20000)] | None = None


class FromAlertsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: (
        Annotated[
            StrictStr,
            Field(
                min_length=10,
                max_length=40,
                description="only alerts raised at or after this ISO 8601 time, with its offset",
                json_schema_extra={"format": "date-time"},
            ),
        ]
        | None
    ) = None


def vault_or_none(request: Request):
    """The PII vault when configured (subjects of reports get masked names), else None."""
    from puhui.errors import PuhuiError
    from puhui.identity.http import vault_of

    try:
        return vault_of(request)
    except PuhuiError:
        return None


def _since(value: str | None) -> int | None:
    if value is None:
        return None
    import datetime as dt

    from puhui import clock
    from puhui.errors import InvalidInput

    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"since must be an ISO 8601 time, got {value!r}") from None
    if at.tzinfo is None:
        raise InvalidInput("since needs a time zone offset")
    return clock.to_micros(at)


async def _read(engine: Engine, fn, *args, **kwargs):
    def read():
        with reading(engine) as connection:
            return fn(connection, *args, **kwargs)

    return await run_in_threadpool(read)


@router.get(
    "/rules", summary="The monitoring rules in force (defaults and stored versions)", response_model=MonitoringRules
)
async def list_rules(engine: EngineDep, principal: Staff) -> dict:
    found = await _read(engine, rules.current_versions)
    return {"rules": [rules.rule_json(r) for r in found]}


@router.get("/rules/{code}", summary="A rule and its version history", response_model=MonitoringRuleHistory)
async def get_rule(code: RuleCode, engine: EngineDep, principal: Staff) -> dict:
    history = await _read(engine, rules.rule_history, code)
    return {"rule": rules.rule_json(history[-1]), "history": [rules.rule_json(r) for r in history]}


RULE_BODY = {
    "type": "object",
    "description": "`enabled`, `description` (left out: the version in force's) and the parameters of the rule's "
    "typology, as `GET /v1/regtech/rules/{code}` shows them (`rule_invalid` for a parameter the typology does not "
    "take or out of its range). The four statutory large-value rules (PBOC Order 2016 No. 3) may lower a "
    "threshold, never raise it, switch the rule off or change what it watches (`rule_statutory`)",
}


@router.put(
    "/rules/{code}",
    status_code=201,
    summary="Store a new version of a rule (thresholds, enabled)",
    response_model=MonitoringRule,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": RULE_BODY}}}},
)
async def put_rule(
    code: RuleCode, body: Annotated[Any, Body()], request: Request, engine: EngineDep, principal: Officer
):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, MonitoringRule.shape(rules.rule_json(rules.save_rule(uow, code, body, principal.id))))

    return await run_mutation(request, engine, principal, "regtech.rule_saved", code, work)


@router.get("/alerts", summary="Alerts, newest evidence last", response_model=MonitoringAlerts)
async def list_alerts(
    engine: EngineDep,
    principal: Staff,
    party: Annotated[str | None, Query(max_length=64)] = None,
    typology: Annotated[AlertTypology | None, Query(description="only alerts of this typology")] = None,
    case_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ranked: Annotated[bool, Query(description="likeliest first (by score), not in outbox order")] = False,
) -> dict:
    found = await _read(engine, alerts.list_alerts, party, typology, case_id, limit, ranked)
    return {"alerts": found}


@router.get("/alerts/{alert_id}", summary="One alert with its evidence", response_model=MonitoringAlert)
async def get_alert(alert_id: Ident, engine: EngineDep, principal: Staff) -> dict:
    return await _read(engine, alerts.get_alert, alert_id)


@router.post("/cases", status_code=201, summary="Open a case over alerts of one party", response_model=MonitoringCase)
async def open_case(body: CaseIn, request: Request, engine: EngineDep, principal: Officer):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, MonitoringCase.shape(cases.open_case(uow, body.alert_ids, principal.id)))

    return await run_mutation(request, engine, principal, "regtech.case_opened", None, work)


@router.post(
    "/cases/from-alerts",
    summary="Open cases over the alerts in no case, one per party (or join its open case)",
    response_model=CasesFromAlerts,
)
async def cases_from_alerts(request: Request, engine: EngineDep, principal: Officer, body: FromAlertsIn | None = None):
    since = _since(body.since if body is not None else None)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, CasesFromAlerts.shape(cases.open_cases_from_alerts(uow, principal.id, since)))

    return await run_mutation(request, engine, principal, "regtech.cases_from_alerts", None, work)


@router.get(
    "/cases",
    summary="Cases, optionally by status, highest priority first (or sort=opened)",
    response_model=MonitoringCases,
)
async def list_cases(
    engine: EngineDep,
    principal: Staff,
    status: Annotated[str | None, Query(max_length=24, json_schema_extra={"enum": list(cases.STATUSES)})] = None,
    sort: Annotated[str, Query(max_length=12, json_schema_extra={"enum": list(cases.SORTS)})] = "priority",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict:
    return {"cases": await _read(engine, cases.list_cases, status, limit, sort)}


@router.get("/cases/{case_id}", summary="A case with its alerts and history", response_model=MonitoringCase)
async def get_case(case_id: Ident, engine: EngineDep, principal: Staff) -> dict:
    return await _read(engine, cases.get_case, case_id)


@router.post(
    "/cases/{case_id}/transitions",
    summary="Move a case: assign, investigate, escalate, close or report (then with its report, 可疑交易报告)",
    response_model=MonitoringCase | ReportedCase,
)
async def move_case(case_id: Ident, body: TransitionIn, request: Request, engine: EngineDep, principal: Officer):
    vault = vault_or_none(request) if body.to == "reported" else None
    answer = ReportedCase if body.to == "reported" else MonitoringCase

    def work(uow: UnitOfWork) -> Outcome:
        moved = cases.transition(uow, case_id, body.to, principal.id, body.note, body.assignee, body.narrative, vault)
        return Outcome(200, answer.shape(moved))

    return await run_mutation(request, engine, principal, f"regtech.case_{body.to}", case_id, work)
