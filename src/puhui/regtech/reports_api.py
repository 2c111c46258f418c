"""Regulatory reports and supervision dashboard data over HTTP under /v1/regtech.

Risk officers and admins generate and submit reports; the regulator and staff read them, their files
and the dashboard. Generation and submission run through `run_mutation` (idempotent, audited).

Suspicious transaction reports (可疑交易报告) live under /reports/suspicious: generated when a case is
reported (here, or by the case transition), listed with their deadlines and overdue flags.
`/reports/deadlines` lists the reports of both kinds not yet submitted, earliest deadline first, and every
business date of the last year with the state of its large-value report (submitted, generated, nothing to
report, or missing), so a date never generated is flagged overdue too (`puhui.regtech.report_coverage`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from puhui import clock
from puhui.api.deps import EngineDep, Principal, require_roles
from puhui.api.files import CsvFile
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.reads import read as snapshot
from puhui.db import UnitOfWork
from puhui.eod.dates import PATTERN as DATE_PATTERN
from puhui.eod.dates import BusinessDate, parse_date
from puhui.regtech import cases, report_index, reports, str_report
from puhui.regtech import dashboard as board
from puhui.regtech.api import vault_or_none
from puhui.regtech.schemas import (
    LargeValueReport,
    RegulatoryReports,
    ReportDeadlines,
    SupervisionDashboard,
    SuspiciousReport,
    SuspiciousReportFile,
    SuspiciousReports,
)

router = APIRouter(prefix="/v1/regtech", tags=["regtech"])

Generator = Annotated[Principal, Depends(require_roles("risk_officer", "admin"))]
Reader = Annotated[Principal, Depends(require_roles("regulator", "risk_officer", "operator", "admin"))]
CHINA_DAY = {"format": "date", "pattern": DATE_PATTERN, "description": "a China business date YYYY-MM-DD"}
ReportId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]


def _exactly_one_date(schema: dict) -> None:
    """The body's JSON schema: exactly one of the two names, neither nullable (a null is refused)."""
    for field in schema["properties"].values():
        field.pop("default", None)
    schema["oneOf"] = [{"required": ["business_date"]}, {"required": ["date"]}]


class LargeValueIn(BaseModel):
    """The business date to report as `business_date`, the name settlement and reconciliation use; `date`,
    its former name, is a deprecated alias still accepted. Send exactly one of them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_date)
    business_date: BusinessDate = None  # type: ignore[assignment]  # absent: None; null: refused (date_invalid)
    date: Annotated[
        BusinessDate,
        Field(
            description="Deprecated alias of `business_date` (its former name), still accepted: send `business_date`.",
            json_schema_extra={"deprecated": True},
        ),
    ] = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _one_date(self) -> LargeValueIn:
        given = [name for name in ("business_date", "date") if getattr(self, name) is not None]
        if not given:
            raise ValueError("business_date is required: the business date to report, YYYY-MM-DD")
        if len(given) > 1:
            raise ValueError("send business_date alone: date is its deprecated alias")
        return self

    @property
    def day(self) -> dt.date:
        return self.business_date if self.business_date is not None else self.date


class SuspiciousIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    narrative: Annotated[StrictStr, Field(max_length=20000)] | None = None


def date_of(value: str, what: str = "date") -> dt.date:
    return parse_date(value, what)


def _attachment(content: str, media: str, filename: str, kind: type[Response] = Response) -> Response:
    """A report's file, to be saved as `filename`."""
    return kind(
        content,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/reports/large-value",
    status_code=201,
    summary="Generate the large-value transaction report of a date",
    response_model=LargeValueReport,
)
async def large_value(body: LargeValueIn, request: Request, engine: EngineDep, principal: Generator):
    day = body.day

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, LargeValueReport.shape(reports.generate(uow, day, principal.id)))

    return await run_mutation(request, engine, principal, "regtech.report_large_value", day.isoformat(), work)


def report_case(uow: UnitOfWork, case_id: str, narrative: str | None, by: str, vault) -> dict:
    """Report an escalated case (its report), or the report of a case reported already."""
    case = cases.get_case(uow.connection, case_id)
    if case["status"] != "reported":
        return cases.transition(uow, case_id, "reported", by, narrative=narrative, vault=vault)["report"]
    found = str_report.of_case(uow.connection, case_id)
    if found is not None:
        return found
    text = narrative if narrative is not None else cases.escalation_note(uow.connection, case_id)
    return str_report.generate(uow, case_id, cases.check_narrative(text), by, vault)  # a case reported before STRs


@router.post(
    "/reports/suspicious",
    status_code=201,
    summary="Report an escalated case: generate its suspicious transaction report (可疑交易报告)",
    response_model=SuspiciousReport,
)
async def suspicious_generate(body: SuspiciousIn, request: Request, engine: EngineDep, principal: Generator):
    vault = vault_or_none(request)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, SuspiciousReport.shape(report_case(uow, body.case_id, body.narrative, principal.id, vault)))

    return await run_mutation(request, engine, principal, "regtech.report_suspicious", body.case_id, work)


@router.get(
    "/reports/suspicious",
    summary="Suspicious transaction reports, earliest deadline first, overdue flagged",
    response_model=SuspiciousReports,
)
async def suspicious_list(
    engine: EngineDep,
    principal: Reader,
    status: Annotated[str | None, Query(pattern="^(generated|submitted)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict:
    found = await snapshot(engine, lambda connection: str_report.listing(connection, status, limit))
    return {"reports": found, "as_of": clock.business_date().isoformat()}


@router.get(
    "/reports/suspicious/{report_id}",
    summary="A suspicious transaction report's metadata",
    response_model=SuspiciousReport,
)
async def suspicious_read(report_id: ReportId, engine: EngineDep, principal: Reader) -> dict:
    return await snapshot(engine, lambda connection: str_report.get(connection, report_id))


@router.get(
    "/reports/suspicious/{report_id}/file",
    summary="A suspicious transaction report's file (JSON, schema in puhui.regtech.str_report)",
    response_model=SuspiciousReportFile,
)
async def suspicious_file(report_id: ReportId, engine: EngineDep, principal: Reader) -> Response:
    content = await snapshot(engine, lambda connection: str_report.content_of(connection, report_id))
    return _attachment(content, "application/json", f"{report_id}.json")


@router.post(
    "/reports/suspicious/{report_id}/submit",
    summary="Mark a suspicious transaction report submitted",
    response_model=SuspiciousReport,
)
async def suspicious_submit(report_id: ReportId, request: Request, engine: EngineDep, principal: Generator):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, SuspiciousReport.shape(str_report.submit(uow, report_id, principal.id)))

    return await run_mutation(request, engine, principal, "regtech.report_suspicious_submit", report_id, work)


@router.get(
    "/reports/deadlines",
    summary="Reports of both kinds not yet submitted, earliest deadline first; each business date's large-value report",
    response_model=ReportDeadlines,
)
async def report_deadlines(engine: EngineDep, principal: Reader) -> dict:
    return await snapshot(engine, report_index.deadlines_json)


@router.get(
    "/reports",
    summary="Reports of both kinds, newest date first, with deadlines and status",
    response_model=RegulatoryReports,
)
async def list_reports(engine: EngineDep, principal: Reader) -> dict:
    return {"reports": await snapshot(engine, report_index.listing)}


@router.get("/reports/{report_id}", summary="A report's metadata", response_model=LargeValueReport)
async def read_report(report_id: ReportId, engine: EngineDep, principal: Reader) -> dict:
    return await snapshot(engine, lambda connection: reports.get(connection, report_id))


@router.get(
    "/reports/{report_id}/file",
    summary="A report's file (CSV, schema in puhui.regtech.reports)",
    response_class=CsvFile,
    responses={200: {"description": "The report's CSV file (UTF-8, header row)"}},
)
async def report_file(report_id: ReportId, engine: EngineDep, principal: Reader) -> Response:
    content = await snapshot(engine, lambda connection: reports.content_of(connection, report_id))
    return _attachment(content, "text/csv", f"{report_id}.csv", CsvFile)


@router.post(
    "/reports/{report_id}/submit", summary="Mark a report submitted to the regulator", response_model=LargeValueReport
)
async def submit_report(report_id: ReportId, request: Request, engine: EngineDep, principal: Generator):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, LargeValueReport.shape(reports.submit(uow, report_id, principal.id)))

    return await run_mutation(request, engine, principal, "regtech.report_submit", report_id, work)


@router.get(
    "/dashboard",
    summary="Supervision dashboard data over a range of China business dates",
    response_model=SupervisionDashboard,
)
async def dashboard(
    engine: EngineDep,
    principal: Reader,
    first: Annotated[str, Query(alias="from", min_length=10, max_length=10, json_schema_extra=CHINA_DAY)],
    last: Annotated[str, Query(alias="to", min_length=10, max_length=10, json_schema_extra=CHINA_DAY)],
) -> dict:
    start, end = date_of(first, "from"), date_of(last, "to")

    return await snapshot(engine, lambda connection: board.dashboard(connection, start, end))
