"""The operations back office (运营后台, /ops) for staff: customers and merchants (masked; revealed with a
purpose, which the API logs), the risk officer's review queue (人工审核) with the evidence, settlement and
reconciliation exceptions (对账差错), end-of-day runs (日终), reserve coverage (备付金覆盖率) over time, the
loan book by bucket and class (五级分类), fund figures and NAV uploads. The ledger explorer, the audit log
and the model cards are in `ops_books`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Engine

from puhui import clock
from puhui.console import charts, i18n, render, svg
from puhui.console.merchant import failure_reason
from puhui.console.names import named, names_of
from puhui.console.settlement_columns import settlement_head
from puhui.console.staff import (
    MENUS,
    OPS_ROLES,
    done,
    field,
    form,
    get,
    link,
    may_open,
    page_roles,
    post,
    section,
    sections_page,
    staff_page,
)
from puhui.console.web import read_form
from puhui.db import reading
from puhui.eod import runs as eod_runs
from puhui.insurance.reserves import service as insurance_reserves
from puhui.lending import eod as lending_eod
from puhui.lending.delinquency import BUCKETS
from puhui.payments import reconciliation, settlement
from puhui.securities import clearing
from puhui.supplychain import service as supplychain
from puhui.wealth.funds import orders as fund_orders
from puhui.wealth.mmf import eod as mmf_eod

router = APIRouter(include_in_schema=False)
Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
FundCode = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]


@router.get("/ops")
@staff_page(OPS_ROLES)
async def overview(request: Request) -> Response:
    _ = render.formatter(request).gettext
    queue = await get(request, "/v1/risk/reviews", limit=100)
    pages = [(href, _(label)) for href, label in MENUS["ops"] if href != "/ops"]  # the menu's pages, and:
    pages.append(("/ops/actions", _("Staff actions")))
    role, roles = request.state.staff.role, page_roles(request.app)
    rows = [[link(href, text)] for href, text in pages if may_open(role, roles.get(href))]
    text = [_("Payments waiting for review: %(n)s", n=len(queue["reviews"]))]
    return sections_page(request, _("Operations"), [section(_("Pages"), [_("Page")], rows, text=text, id="ops-pages")])


@router.get("/ops/customers")
@staff_page(OPS_ROLES)
async def customers(
    request: Request,
    id: Annotated[str | None, Query(max_length=64)] = None,  # noqa: A002
    purpose: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """A customer, masked; shown in clear only with a stated purpose (the API checks the role and logs it)."""
    _ = render.formatter(request).gettext
    finder = form(
        "find", "/ops/customers", _("Show"), [field("id", _("Customer id"), value=id or "", required=True)], "get"
    )
    sections = [section(_("Find a customer"), forms=[finder])]
    if id:
        reveal = {"reveal": "true", "purpose": purpose} if purpose else {}
        person = await get(request, f"/v1/customers/{id}", **reveal)
        facts = [
            [_("Name"), person.get("name") or "—"],
            [_("Resident ID number"), person.get("id_number") or "—"],
            [_("Mobile number"), person.get("phone") or "—"],
            [_("Account class"), tier_words(render.formatter(request), person.get("tier"))],
            [_("Status"), _("customer:" + person["status"])],
            [_("Shown in clear"), _("Yes") if person["revealed"] else _("No")],
        ]
        ask = form(
            "reveal",
            "/ops/customers",
            _("Reveal"),
            [
                field("id", "", "hidden", id),
                field("purpose", _("Purpose of revealing (logged)"), required=True, maxlength=256),
            ],
            "get",
        )
        sections.append(section(_("Customer"), [_("Item"), _("Value")], facts, forms=[ask], id="customer"))
    return sections_page(request, _("Customers"), sections)


@router.get("/ops/merchants")
@staff_page(OPS_ROLES)
async def merchants(request: Request) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    found = await get(request, "/v1/merchants")
    rows = [
        [
            m["id"],
            m["name"],
            _("merchant:" + m["status"]),
            fee_rate(request, m),
            fmt.day(m["created_at"]),
        ]
        for m in found["merchants"]
    ]
    head = [_("Merchant id"), _("Merchant name"), _("Status"), _("Fee rate"), _("Onboarded")]
    return sections_page(request, _("Merchants"), [section(_("Merchants"), head, rows, id="merchants")])


def fee_rate(request: Request, merchant: dict) -> str:
    """The rate the merchant pays (`effective_fee_rate_bp`), marked as the platform's default when it has no
    rate of its own, as the merchant's own page shows it: `0.60%（平台默认）`."""
    rate = f"{Decimal(merchant['effective_fee_rate_bp']) / 100:.2f}%"
    return rate if merchant.get("fee_rate_bp") is not None else rate + render.formatter(request).gettext(" (default)")


@router.get("/ops/reviews")
@staff_page(OPS_ROLES)
async def reviews(request: Request) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    queue = await get(request, "/v1/risk/reviews", limit=100)
    names = await names_of(request, [i for r in queue["reviews"] for i in (r["payer_id"], r["payee_id"])])
    sections = []
    for r in queue["reviews"]:
        facts = [
            [_("Amount"), fmt.money(r["amount"])],
            [_("Payer"), named(r["payer_id"], names)],
            [_("Payee"), named(r["payee_id"], names)],
            [_("Held since"), fmt.moment(r["created_at"])],
            [_("Hold expires"), fmt.moment(r["hold_expires_at"])],
            [_("Evidence"), "; ".join(str(reason) for reason in r["reasons"]) or "—"],
        ]
        note = field("note", _("Note"), required=True, maxlength=1000)
        forms = [
            form("approve-" + r["review_id"], f"/ops/reviews/{r['review_id']}/approve", _("Approve"), [note]),
            form("reject-" + r["review_id"], f"/ops/reviews/{r['review_id']}/reject", _("Reject"), [note]),
        ]
        sections.append(
            section(
                _("Held payment %(id)s", id=r["review_id"]), [_("Item"), _("Value")], facts, forms=forms, id="review"
            )
        )
    if not sections:
        sections.append(section(_("Review queue"), text=[_("No payment is waiting for review.")], id="no-reviews"))
    return sections_page(request, _("Review queue"), sections)


@router.post("/ops/reviews/{review_id}/{decision}")
@staff_page(OPS_ROLES)
async def decide(
    request: Request, review_id: Ident, decision: Annotated[str, Path(pattern="^(approve|reject)$")]
) -> Response:
    values = await read_form(request)
    await post(
        request, f"/v1/risk/reviews/{review_id}/{decision}", {"note": values.get("note", "")}, values.get("key") or None
    )
    return done("/ops/reviews", "approved" if decision == "approve" else "rejected")


@router.get("/ops/settlements")
@staff_page(OPS_ROLES)
async def settlements(request: Request, date: Annotated[dt.date | None, Query()] = None) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    day = date or clock.business_date() - dt.timedelta(days=1)
    found = await get(request, "/v1/settlements", business_date=day.isoformat())
    names = await names_of(request, [s["merchant_id"] for s in found["settlements"]])
    rows = [
        [
            named(s["merchant_id"], names),
            fmt.money(s["gross"]),
            fmt.money(s["fees"]),
            fmt.money(s["refunds"]),
            fmt.money(s["other_credits"]),
            fmt.money(s.get("carried", "0.00")),
            fmt.money(s["net"]),
            _("state:" + s["state"]),
            failure_reason(fmt, s) or "—",
        ]
        for s in found["settlements"]
    ]
    exceptions = await get(request, "/v1/reconciliation/exceptions", business_date=day.isoformat())
    broken = [
        [
            e.get("id", ""),
            _("exception:" + str(e.get("kind"))),
            fmt.money(e.get("platform_amount")),
            fmt.money(e.get("bank_amount")),
            _("status:" + str(e.get("status"))),
        ]
        for e in exceptions["exceptions"]
    ]
    picker = form(
        "day", "/ops/settlements", _("Show"), [field("date", _("Business date"), "date", day.isoformat())], "get"
    )
    return sections_page(
        request,
        _("Settlements"),
        [
            section(
                _("T+1 settlement of %(day)s", day=fmt.day(day)),
                settlement_head(fmt, _("Merchant")),
                rows,
                forms=[picker],
                id="settlements",
            ),
            section(
                _("Reconciliation exceptions"),
                [_("Exception"), _("Kind"), _("Platform"), _("Bank"), _("Status")],
                broken,
                id="exceptions",
                empty=_("No exception for this date."),
            ),
        ],
    )


def tier_words(fmt: i18n.Formatter, tier: dict | None) -> str:
    """The account class (支付账户分类) as the API gives it (`identity.kyc.tier_json`), in words: the class and
    its limit, e.g. "Ⅲ类户 · 年限额 200,000.00"; "—" before the first class."""
    if not tier:
        return "—"
    roman = fmt.gettext("tier:" + str(tier["class"]))
    limit = fmt.number(tier["limit"])
    if tier.get("period") == "lifetime":
        return fmt.gettext("Class %(tier)s account · lifetime limit %(limit)s", tier=roman, limit=limit)
    return fmt.gettext("Class %(tier)s account · annual limit %(limit)s", tier=roman, limit=limit)


def job_label(fmt: i18n.Formatter, job: str) -> str:
    """An end-of-day job's name in the page's language, its id beside it (what `puhui eod` and the logs say)."""
    label = fmt.gettext("eod_job:" + job)
    return job if label == "eod_job:" + job else fmt.gettext("%(label)s (%(job)s)", label=label, job=job)


EOD_JOBS = (
    reconciliation.RECONCILIATION_JOB,
    settlement.JOB,
    lending_eod.JOB,
    mmf_eod.JOB,
    fund_orders.EOD_JOB,
    insurance_reserves.JOB,
    supplychain.MATURE_JOB,
    clearing.JOB,
)
"""The end-of-day jobs the platform runs (their ids in `eod_runs`)."""


def eod_history(engine: Engine, limit: int = 60) -> tuple[list[tuple[str, dt.date]], list[dict]]:
    """Each job's last completed business date (日终), by job id: every known job that has run, and any
    other job among the latest runs; and the latest completed runs, newest first: job, business date,
    when it finished."""
    with reading(engine) as connection:
        runs = eod_runs.recent(connection, limit)
        jobs = sorted(set(EOD_JOBS) | {r["job"] for r in runs})
        last = [(job, eod_runs.last_completed(connection, job)) for job in jobs]
    return [(job, day) for job, day in last if day is not None], runs


@router.get("/ops/eod")
@staff_page(OPS_ROLES)
async def eod(request: Request) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    last, runs = await run_in_threadpool(eod_history, request.app.state.engine)
    rows = [
        [job_label(fmt, r["job"]), fmt.day(r["business_date"]), fmt.moment(clock.iso(r["completed_at"]))] for r in runs
    ]
    summary = [[job_label(fmt, job), fmt.day(day)] for job, day in last]
    return sections_page(
        request,
        _("End of day"),
        [
            section(
                _("Last completed date by job"),
                [_("Job"), _("Business date")],
                summary,
                id="eod-last",
                empty=_("No end of day has run yet."),
            ),
            section(_("Completed runs"), [_("Job"), _("Business date"), _("Completed")], rows, id="eod-runs"),
        ],
    )


@router.get("/ops/reserve")
@staff_page(OPS_ROLES)
async def reserve(request: Request) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    checks = (await get(request, "/v1/reserve-checks", limit=90))["checks"]
    ordered = sorted(checks, key=lambda c: c["business_date"])
    points = [
        charts.Point(c["business_date"][5:], Decimal(c["reserve"]) / Decimal(c["obligations"]) * 100)
        for c in ordered
        if Decimal(c["obligations"]) > 0
    ]
    rows = [
        [
            fmt.day(c["business_date"]),
            fmt.money(c["reserve"]),
            fmt.money(c["obligations"]),
            f"{Decimal(c['reserve']) / Decimal(c['obligations']) * 100:.2f}%" if Decimal(c["obligations"]) > 0 else "—",
            _("Yes") if c["covered"] else _("No"),
        ]
        for c in reversed(ordered)
    ]
    head = [_("Business date"), _("Reserve"), _("Customer balances"), _("Coverage"), _("Covered")]
    return sections_page(
        request,
        _("Reserve coverage"),
        [
            section(
                _("Reserve coverage over time"),
                head,
                rows,
                chart=charts.line_chart(points, _("Reserve coverage")),
                caption=_("Reserve over customer balances, %"),
                id="reserve",
                empty=_("No reserve check recorded yet."),
            ),
        ],
    )


BUCKET_ORDER = (*(name for name, _days in BUCKETS), "M3+")
"""The overdue buckets (逾期分档) of `puhui.lending.delinquency`, least overdue first: `current` (正常),
M1 1–30 days, M2 31–60, M3 61–90, M3+ over 90; each is named by its `bucket:` message."""


def bucket_rank(bucket: str) -> tuple[int, str]:
    """Where a bucket goes in the loan book: in BUCKET_ORDER, an unknown one after them."""
    return (BUCKET_ORDER.index(bucket), "") if bucket in BUCKET_ORDER else (len(BUCKET_ORDER), bucket)


@router.get("/ops/loans")
@staff_page(OPS_ROLES)
async def loans(request: Request) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    book = await get(request, "/v1/lending/loans")
    by_bucket: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    by_class: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for loan in (loan for loan in book if loan["status"] == "active"):  # a paid-off or written-off loan is off the book
        for table, key in ((by_bucket, loan["bucket"]), (by_class, loan["loan_class"])):
            table[key][0] += 1
            table[key][1] += Decimal(loan["outstanding_principal"])
    buckets = sorted(by_bucket.items(), key=lambda item: bucket_rank(item[0]))
    bucket_rows = [[_("bucket:" + b), str(int(n)), fmt.money(p)] for b, (n, p) in buckets]
    class_rows = [[_("class:" + c), str(int(n)), fmt.money(p)] for c, (n, p) in sorted(by_class.items())]
    chart = svg.bar_chart(
        [svg.Bar(_("bucket:current") if b == "current" else b, p) for b, (n, p) in buckets],
        _("Outstanding principal by bucket"),
    )
    listed = book[:100]
    names = await names_of(request, [loan["customer_id"] for loan in listed])
    loans_rows = [
        [
            loan["id"],
            named(loan["customer_id"], names),
            fmt.money(loan["principal"]),
            fmt.money(loan["outstanding_principal"]),
            _("bucket:" + loan["bucket"]),
            _("class:" + loan["loan_class"]),
            _("loan:" + loan["status"]),
        ]
        for loan in listed
    ]
    head = [_("Bucket"), _("Loans"), _("Outstanding principal")]
    return sections_page(
        request,
        _("Loan book"),
        [
            section(_("By overdue bucket"), head, bucket_rows, chart=chart, id="by-bucket"),
            section(
                _("By loan class"), [_("Class"), _("Loans"), _("Outstanding principal")], class_rows, id="by-class"
            ),
            section(
                _("Loans"),
                [
                    _("Loan"),
                    _("Customer"),
                    _("Principal"),
                    _("Outstanding principal"),
                    _("Bucket"),
                    _("Class"),
                    _("Status"),
                ],
                loans_rows,
                id="loans",
            ),
        ],
    )


@router.get("/ops/funds")
@staff_page(OPS_ROLES)
async def funds(request: Request) -> Response:
    return await _funds_page(request)


async def _funds_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    _ = render.formatter(request).gettext
    sections = []
    for fund in await get(request, "/v1/wealth/funds"):
        yields = await get(request, f"/v1/wealth/funds/{fund['code']}/yields", limit=30)
        rows = [
            [y["date"], y.get("income_per_10k") or "—", f"{y['seven_day_yield']}%" if y.get("seven_day_yield") else "—"]
            for y in yields
        ]
        points = [
            charts.Point(y["date"][5:], Decimal(y["seven_day_yield"]))
            for y in reversed(yields)
            if y.get("seven_day_yield")
        ]
        sections.append(
            section(
                f"{fund['name']} ({fund['code']})",
                [_("Date"), _("Income per 10,000 units"), _("7-day annualised yield")],
                rows[:10],
                chart=charts.line_chart(points, _("7-day annualised yield")),
                id="fund-" + fund["code"],
            )
        )
    products = await get(request, "/v1/wealth/fund-products")
    rows = [
        [
            p.get("code", ""),
            p.get("name", ""),
            str(p.get("risk", "")),
            str(p.get("nav") or "—"),
        ]
        for p in products
    ]
    sections.append(
        section(
            _("Distributed funds"), [_("Code"), _("Fund name"), _("Risk level"), _("NAV")], rows, id="fund-products"
        )
    )
    sections.append(
        section(
            _("Uploads"),
            forms=[
                form(
                    "figures",
                    "/ops/funds/figures",
                    _("Load the income file"),
                    [field("csv", _("Income file (fund_code,date,income_per_10k)"), "textarea", required=True)],
                ),
                form(
                    "navs",
                    "/ops/funds/navs",
                    _("Load the NAV file"),
                    [field("csv", _("NAV file (date,fund_code,nav)"), "textarea", required=True)],
                ),
            ],
        )
    )
    return sections_page(request, _("Funds"), sections, status=status, error=error)


@router.post("/ops/funds/{kind}")
@staff_page(OPS_ROLES)
async def upload(request: Request, kind: Annotated[str, Path(pattern="^(figures|navs)$")]) -> Response:
    from puhui.console import client

    values = await read_form(request)
    try:
        await post(request, f"/v1/wealth/{kind}", {"csv": values.get("csv", "")}, values.get("key") or None)
    except client.ApiProblem as problem:
        if problem.status in (401, 403) or problem.status >= 500:
            raise
        return await _funds_page(request, problem.status, render.say(request, problem.code, problem.detail))
    return done("/ops/funds", "figures_loaded" if kind == "figures" else "navs_loaded")
