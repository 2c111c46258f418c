"""Staff actions in the back office (运营操作, /ops/actions): a NAV file upload (基金净值导入: pasted or
chosen as a file, loaded all rows or none) and the end-of-day runs (日终) for a date that is over (from
the job's last completed date to yesterday, the date offered): the whole end of day in the order money
settles in (reconciliation with the bank, merchant settlement T+1, lending, the money-market fund, the
distributed funds), or one job alone. Supply-chain maturity and the insurance reserves have no API of
their own: `puhui eod` runs them with the rest. Only the roles the API lets do them (operator, admin)
see the forms; the API checks again (a date not over is refused: `business_date_not_over`), keeps each
call idempotent by the form's key and audits it."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from puhui.console import client, render, security
from puhui.console.staff import page, post, staff_page
from puhui.console.web import read_form
from puhui.db import reading
from puhui.eod import dates as eod_dates
from puhui.eod import runs as eod_runs
from puhui.eod.runs import MAX_DAYS

router = APIRouter(include_in_schema=False)
ACTION_ROLES = ("operator", "admin")  # the API's Operator
JOBS = {  # in the order of the whole end of day (`puhui eod`): the bank's day first, then the books
    "reconciliation": ("/v1/reconciliation/runs", "business_date", "Reconciliation with the bank"),
    "settlement": ("/v1/settlements", "business_date", "Merchant settlement (T+1)"),
    "lending": ("/v1/lending/eod", "business_date", "Lending"),
    "wealth.mmf": ("/v1/wealth/eod", "business_date", "Money-market fund"),
    "wealth.funds": ("/v1/wealth/funds-eod", "business_date", "Distributed funds"),
}
Job = Annotated[str, Path(pattern=r"^(reconciliation|settlement|lending|wealth\.mmf|wealth\.funds)$")]


def date_range(engine: Any) -> dict[str, tuple[dt.date, dt.date, dt.date | None]]:
    """Per job: the earliest and latest date it may run now (the latest is the last date that is over,
    yesterday), and its last completed date."""
    latest = eod_dates.latest()
    with reading(engine) as connection:
        last = {job: eod_runs.last_completed(connection, job) for job in JOBS}
    first = latest - dt.timedelta(days=MAX_DAYS - 2)  # a first run goes back at most MAX_DAYS from today
    return {job: (min(day, latest) if day else first, latest, day) for job, day in last.items()}


async def _page(request: Request, status: int = 200, error: str | None = None, **result: Any) -> Response:
    ranges = await run_in_threadpool(date_range, request.app.state.engine)
    return page(
        request,
        "ops_actions.html",
        status=status,
        error=error,
        jobs=[(job, label, *ranges[job]) for job, (_, _, label) in JOBS.items()],
        latest=eod_dates.latest(),
        keys={name: security.form_key() for name in ("navs", "eod", *JOBS)},
        labels=RESULT_LABELS,
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


@router.post("/ops/actions/eod")
@staff_page(ACTION_ROLES)
async def run_all(request: Request) -> Response:
    """The whole end of day for the form's date, job by job in order; a refusal stops it there (the jobs
    before it stay done, as with `puhui eod`). A date not over is refused by the first job: nothing runs."""
    form = await read_form(request)
    return await _run(request, list(JOBS), form.get("date", ""), form.get("key") or "")


@router.post("/ops/actions/eod/{job}")
@staff_page(ACTION_ROLES)
async def run_eod(request: Request, job: Job) -> Response:
    form = await read_form(request)
    return await _run(request, [job], form.get("date", ""), form.get("key") or "")


async def _run(request: Request, jobs: list[str], date: str, key: str) -> Response:
    """Each job's API call for `date`, in order (each keyed by the form's key, so a resubmitted form runs
    nothing twice); the page shows what ran, and the problem that stopped the run if one did."""
    done: list[dict[str, Any]] = []
    for job in jobs:
        path, field, label = JOBS[job]
        job_key = (f"{key}.{job}" if len(jobs) > 1 else key) if key else None
        try:
            ran = await post(request, path, {field: date}, job_key)
        except client.ApiProblem as problem:
            if problem.status in (401, 403) or problem.status >= 500:
                raise
            said = render.say(request, problem.code, problem.detail)
            return await _page(request, problem.status, said, eod=done)
        done.append({"job": job, "label": label, "days": eod_days(job, ran)})
    return await _page(request, eod=done)


RESULT_LABELS = {
    "business_date": "Business date",
    "date": "Business date",
    "fund_code": "Fund code",
    "ran": "Ran",
    "already_done": "Already done before",
    "exceptions": "Exceptions found",
    "open": "Exceptions still open",
    "merchants": "Merchants",
    "nothing": "Merchants with nothing to pay",
    "pending": "Payouts sent to the bank",
    "loans": "Loans",
    "transfers": "Ledger transfers",
    "income_per_10k": "Income per 10,000 units",
    "seven_day_yield": "Seven-day annualised yield (%)",
    "confirmed": "Orders confirmed",
    "settled": "Orders settled",
    "holders": "Holders",
    "units": "Units",
    "paid_holders": "Holders paid",
    "paid": "Paid out",
    "distributed": "Income distributed",
    "residue": "Rounding left over",
    "purchases_confirmed": "Purchases confirmed",
    "redemptions_confirmed": "Redemptions confirmed",
    "redemptions_settled": "Redemptions settled",
    "waiting_for_nav": "Orders waiting for a NAV",
}
"""What each figure of an end-of-day answer is, for its row on the page; a figure not named here shows its API name."""


def eod_days(job: str, ran: dict) -> list[dict[str, Any]]:
    """Each day a run covered (skipped days first) as label → value, whatever the job's answer shape."""
    if job == "wealth.mmf":
        return list(ran["runs"])
    days = [*ran.get("caught_up", []), {k: v for k, v in ran.items() if k != "caught_up"}]
    if job == "settlement":
        return [settled(day) for day in days]
    if job == "reconciliation":
        return [{k: (len(v) if k == "exceptions" else v) for k, v in day.items()} for day in days]
    return days


def settled(day: dict[str, Any]) -> dict[str, Any]:
    """A settled date in a line per figure: the merchants settled, and how many of them by state."""
    rows = day.get("settlements", [])
    states = sorted({row["state"] for row in rows})
    return {"business_date": day["business_date"], "merchants": len(rows)} | {
        state: sum(1 for row in rows if row["state"] == state) for state in states
    }
