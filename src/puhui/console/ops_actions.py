"""Staff actions in the back office (运营操作, /ops/actions): a NAV file upload (基金净值导入: pasted or
chosen as a file, loaded all rows or none) and the end-of-day runs (日终) of the funds, the money-market
fund and lending for a date the platform accepts (from the job's last completed date to today's
business date). Only the roles the API lets do them (operator, admin) see the forms; the API checks
again, keeps them idempotent by the form's key and audits them."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from puhui import clock
from puhui.console import client, render, security
from puhui.console.staff import page, post, staff_page
from puhui.console.web import read_form
from puhui.db import reading
from puhui.eod import runs as eod_runs
from puhui.eod.runs import MAX_DAYS

router = APIRouter(include_in_schema=False)
ACTION_ROLES = ("operator", "admin")  # the API's Operator
JOBS = {
    "wealth.funds": ("/v1/wealth/funds-eod", "Distributed funds"),
    "wealth.mmf": ("/v1/wealth/eod", "Money-market fund"),
    "lending": ("/v1/lending/eod", "Lending"),
}
Job = Annotated[str, Path(pattern=r"^(wealth\.funds|wealth\.mmf|lending)$")]


def date_range(engine: Any) -> dict[str, tuple[dt.date, dt.date, dt.date | None]]:
    """Per job: the earliest and latest date it may run now, and its last completed date."""
    today = clock.business_date()
    with reading(engine) as connection:
        last = {job: eod_runs.last_completed(connection, job) for job in JOBS}
    return {job: (day or today - dt.timedelta(days=MAX_DAYS - 1), today, day) for job, day in last.items()}


async def _page(request: Request, status: int = 200, error: str | None = None, **result: Any) -> Response:
    ranges = await run_in_threadpool(date_range, request.app.state.engine)
    return page(
        request,
        "ops_actions.html",
        status=status,
        error=error,
        jobs=[(job, path, label, *ranges[job]) for job, (path, label) in JOBS.items()],
        keys={name: security.form_key() for name in ("navs", *JOBS)},
        **result,
    )


@router.get("/ops/actions")
@staff_page(ACTION_ROLES)
async def actions(request: Request) -> Response:
    return await _page(request)


def nav_text(form: dict[str, str]) -> str:
    """The pasted CSV, else the chosen file's content (the browser sends it base64, see console.js)."""
    if form.get("csv"):
        return form["csv"]
    try:
        return base64.b64decode(form.get("document_content", ""), validate=True).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError):
        return ""


@router.post("/ops/actions/navs")
@staff_page(ACTION_ROLES)
async def load_navs(request: Request) -> Response:
    form = await read_form(request)
    try:
        loaded = await post(request, "/v1/wealth/navs", {"csv": nav_text(form)}, form.get("key") or None)
    except client.ApiProblem as problem:
        if problem.status in (401, 403) or problem.status >= 500:
            raise
        return await _page(request, problem.status, render.say(request, problem.code, problem.detail))
    return await _page(request, navs=loaded)


@router.post("/ops/actions/eod/{job}")
@staff_page(ACTION_ROLES)
async def run_eod(request: Request, job: Job) -> Response:
    form = await read_form(request)
    try:
        ran = await post(request, JOBS[job][0], {"date": form.get("date", "")}, form.get("key") or None)
    except client.ApiProblem as problem:
        if problem.status in (401, 403) or problem.status >= 500:
            raise
        return await _page(request, problem.status, render.say(request, problem.code, problem.detail))
    return await _page(request, eod={"job": job, "label": JOBS[job][1], "days": eod_days(job, ran)})


def eod_days(job: str, ran: dict) -> list[dict[str, Any]]:
    """Each day a run covered (skipped days first) as label → value, whatever the job's answer shape."""
    if job == "wealth.mmf":
        return list(ran["runs"])
    return [*ran.get("caught_up", []), {k: v for k, v in ran.items() if k != "caught_up"}]
