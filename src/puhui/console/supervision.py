"""The supervision dashboard (监管数据看板, /supervision) for the regulator, who reads it, and the platform's
risk officers, who also work its cases and submit its reports (`console.casework`): fund flows by
business form and day, alerts by typology and day, early-warning flags (预警指标), reserve coverage, loan
classes, large-value and suspicious-transaction reports (大额/可疑交易报告) with deadlines and the overdue
ones (downloadable), the case list and a case's evidence, and a party's flow graph (资金流向图), all drawn
on the server from the regtech API."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from puhui import clock
from puhui.console import casework, client, render, svg
from puhui.console.names import named, names_of
from puhui.console.staff import (
    SUPERVISION_ROLES,
    done,
    download,
    field,
    form,
    get,
    link,
    section,
    sections_page,
    staff_page,
)

router = APIRouter(include_in_schema=False)
Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
DAYS = 7
FLOWS = (
    "payments",
    "lending_disbursements",
    "lending_repayments",
    "mmf_subscriptions",
    "mmf_redemptions",
    "fund_purchases",
    "fund_redemptions",
    "supply_chain_financing",
)


@router.get("/supervision")
@staff_page(SUPERVISION_ROLES)
async def dashboard(request: Request) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    last = clock.business_date()
    days = [last - dt.timedelta(days=DAYS - 1 - n) for n in range(DAYS)]
    whole = await get(request, "/v1/regtech/dashboard", **{"from": days[0].isoformat(), "to": last.isoformat()})
    daily = [await get(request, "/v1/regtech/dashboard", **{"from": d.isoformat(), "to": d.isoformat()}) for d in days]
    labels = [d.isoformat() for d in days]
    flows = {_("flow:" + f): [Decimal(x["flows"][f]["amount"]) for x in daily] for f in FLOWS}
    typologies = sorted({t for x in daily for t in x["alerts"]["by_typology"]})
    alerts = {_("typology:" + t): [Decimal(x["alerts"]["by_typology"].get(t, 0)) for x in daily] for t in typologies}
    flow_rows = [
        [_("flow:" + f), str(whole["flows"][f]["count"]), fmt.money(whole["flows"][f]["amount"])] for f in FLOWS
    ]
    indicators = whole["indicators"]
    flag_rows = [
        [
            _("indicator:" + name),
            _percent(v.get("value")),
            _threshold(v["warn_if"]),
            _("Breach") if v["breach"] else _("OK"),
        ]
        for name, v in indicators.items()
    ]
    coverage = indicators["reserve_coverage"]
    reports = whole["reports"]
    sections = [
        section(
            _("Early-warning flags"),
            [_("Indicator"), _("Value"), _("Warn if"), _("Flag")],
            flag_rows,
            id="flags",
            text=[_("Breaching: %(names)s", names=", ".join(_("indicator:" + w) for w in whole["warnings"]) or "—")],
        ),
        section(
            _("Fund flows by product and day"),
            [_("Product"), _("Transactions"), _("Amount")],
            flow_rows,
            chart=svg.stacked_chart(labels, flows, _("Fund flows by product and day")),
            id="flows",
        ),
        section(
            _("Alerts by typology and day"),
            chart=svg.stacked_chart(labels, alerts, _("Alerts by typology and day")),
            text=[_("Alerts: %(n)s; open cases: %(c)s", n=whole["alerts"]["total"], c=whole["alerts"]["open_cases"])],
            id="alerts-chart",
        ),
        section(
            _("Reserve coverage"),
            [_("Reserve"), _("Customer balances"), _("Coverage")],
            [[fmt.money(coverage["reserve"]), fmt.money(coverage["wallets"]), _percent(coverage.get("value"))]],
            id="coverage",
        ),
        section(
            _("Reports"),
            text=_report_summary(request, reports),
            id="report-summary",
        ),
    ]
    sections.append(await _loan_classes(request))
    return sections_page(request, _("Supervision dashboard"), sections)


def _report_summary(request: Request, reports: dict) -> list[str]:
    """The reports owed, as the deadlines view classifies the large-value dates (`/reports/deadlines`): a date
    with nothing to report is owed nothing, a missing one (never generated) is pending, overdue after its
    deadline."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    days = reports["large_value_days"]
    return [
        _(
            "Pending: %(n)s; overdue: %(o)s; next deadline: %(d)s",
            n=reports["pending"],
            o=reports["overdue_count"],
            d=fmt.day(reports.get("next_deadline")),
        ),
        _(
            "Large-value report dates: submitted %(s)s; generated %(g)s; missing %(m)s; nothing to report %(e)s",
            s=days["submitted"],
            g=days["generated"],
            m=days["missing"],
            e=days["nothing_to_report"],
        ),
        _("Missing and overdue: %(dates)s", dates=", ".join(fmt.day(d) for d in reports["missing_overdue"]) or "—"),
    ]


def _percent(value: object) -> str:
    return "—" if value is None else f"{Decimal(str(value)) * 100:.2f}%"


def _threshold(warn_if: str) -> str:
    """The API's `warn_if` ("< 1", a fraction) in the unit of the values beside it: "< 100%"."""
    op, limit = warn_if.split(" ", 1)
    percent = Decimal(limit) * 100
    shown = f"{percent:.0f}" if percent == percent.to_integral_value() else f"{percent.normalize():f}"
    return f"{op} {shown}%"


async def _loan_classes(request: Request) -> dict:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    try:
        book = await get(request, "/v1/lending/loans")
    except client.ApiProblem as problem:
        if problem.status != 403:
            raise
        return section(_("Loan classes"), text=[_("Not available to this role.")])
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for loan in book:
        totals[loan["loan_class"]] += Decimal(loan["outstanding_principal"])
    rows = [[_("class:" + c), fmt.money(p)] for c, p in sorted(totals.items())]
    chart = svg.bar_chart([svg.Bar(_("class:" + c), p) for c, p in sorted(totals.items())], _("Loan classes"))
    return section(_("Loan classes"), [_("Class"), _("Outstanding principal")], rows, chart=chart, id="loan-classes")


def _alert_rows(request: Request, alerts: list[dict], names: dict[str, str] | None = None) -> list[list]:
    """The alerts' rows, each party named beside its id (`names`: from `names_of` over the page's parties)."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    return [
        [
            link(f"/supervision/alerts/{a['id']}", a["id"]),
            _("typology:" + str(a["typology"])),
            named(a["party"], names or {}),
            fmt.money(a["amount"]),
            fmt.moment(a["raised_at"]),
            link(f"/supervision/cases/{a['case_id']}", a["case_id"]) if a.get("case_id") else "—",
        ]
        for a in alerts
    ]


def _alert_head(request: Request) -> list[str]:
    _ = render.formatter(request).gettext
    return [_("Alert"), _("Typology"), _("Party"), _("Amount"), _("Raised"), _("Case")]


@router.get("/supervision/alerts")
@staff_page(SUPERVISION_ROLES)
async def alerts(request: Request, typology: Annotated[str | None, Query(max_length=24)] = None) -> Response:
    _ = render.formatter(request).gettext
    found = await get(request, "/v1/regtech/alerts", typology=typology, limit=200)
    names = await names_of(request, [a["party"] for a in found["alerts"]])
    return sections_page(
        request,
        _("Alerts"),
        [
            section(
                _("Alerts"),
                _alert_head(request),
                _alert_rows(request, found["alerts"], names),
                id="alerts",
                empty=_("No alert."),
            )
        ],
    )


def _evidence_rows(request: Request, alert: dict) -> list[list[str]]:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    return [
        [
            f["ref"],
            _("direction:" + f["direction"]),
            f.get("counterparty") or "—",
            fmt.money(f["amount"]),
            fmt.moment(f["at"]),
        ]
        for f in alert["evidence"]["flows"]
    ]


def _case_evidence(request: Request, alerts: list[dict]) -> list[list]:
    """A case's evidence: each transaction once (by its reference), however many of the case's alerts cite
    it, with the alerts it is evidence for linked in a last column; in the order the alerts first cite them."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    flows: dict[str, dict] = {}
    cited: dict[str, list[str]] = defaultdict(list)
    for a in alerts:
        for f in a["evidence"]["flows"]:
            flows.setdefault(f["ref"], f)
            if a["id"] not in cited[f["ref"]]:
                cited[f["ref"]].append(a["id"])
    return [
        [
            ref,
            _("direction:" + f["direction"]),
            f.get("counterparty") or "—",
            fmt.money(f["amount"]),
            fmt.moment(f["at"]),
            Markup("<br>").join(link(f"/supervision/alerts/{i}", i) for i in cited[ref]),
        ]
        for ref, f in flows.items()
    ]


def _evidence_head(request: Request) -> list[str]:
    _ = render.formatter(request).gettext
    return [_("Reference"), _("Direction"), _("Counterparty"), _("Amount"), _("Time")]


@router.get("/supervision/alerts/{alert_id}")
@staff_page(SUPERVISION_ROLES)
async def alert(request: Request, alert_id: Ident) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    found = await get(request, f"/v1/regtech/alerts/{alert_id}")
    facts = [
        [_("Typology"), _("typology:" + str(found["typology"]))],
        [_("Rule"), f"{found['rule']['code']} v{found['rule']['version']}"],
        [_("Party"), link(f"/supervision/graph?party={found['party']}", found["party"])],
        [_("Amount"), fmt.money(found["amount"])],
        [_("Window"), f"{fmt.moment(found['window']['start'])} – {fmt.moment(found['window']['end'])}"],
        [_("Case"), link(f"/supervision/cases/{found['case_id']}", found["case_id"]) if found.get("case_id") else "—"],
    ]
    return sections_page(
        request,
        _("Alert %(id)s", id=alert_id),
        [
            section(_("Alert"), [_("Item"), _("Value")], facts, id="alert"),
            section(_("Evidence"), _evidence_head(request), _evidence_rows(request, found), id="evidence"),
        ],
    )


@router.get("/supervision/cases")
@staff_page(SUPERVISION_ROLES)
async def cases(request: Request, status: Annotated[str | None, Query(max_length=24)] = None) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    found = await get(request, "/v1/regtech/cases", status=status, limit=200)
    names = await names_of(request, [c["party"] for c in found["cases"]])
    rows = [
        [
            link(f"/supervision/cases/{c['id']}", c["id"]),
            _("case:" + c["status"]),
            named(c["party"], names),
            str(c["priority"]["score"]),
            str(c["priority"]["alerts"]),
            fmt.money(c["priority"]["amount"]),
            fmt.moment(c["opened_at"]),
        ]
        for c in found["cases"]
    ]
    head = [_("Case"), _("Status"), _("Party"), _("Priority"), _("Alerts"), _("Amount"), _("Case opened")]
    return sections_page(request, _("Cases"), [section(_("Cases"), head, rows, id="cases", empty=_("No case."))])


@router.get("/supervision/cases/{case_id}")
@staff_page(SUPERVISION_ROLES)
async def case(request: Request, case_id: Ident) -> Response:
    return await case_page(request, case_id)


async def case_page(request: Request, case_id: str, status: int = 200, error: str | None = None) -> Response:
    """The case, its alerts, evidence and history, and its next move for those who work cases."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    found = await get(request, f"/v1/regtech/cases/{case_id}")
    facts = [
        [_("Status"), _("case:" + found["status"])],
        [_("Party"), link(f"/supervision/graph?party={found['party']}", found["party"])],
        [_("Assignee"), found.get("assignee") or "—"],
        [_("Priority"), str(found["priority"]["score"])],
        [_("Case opened"), fmt.moment(found["opened_at"])],
    ]
    history = [
        [
            fmt.moment(e["at"]),
            _("case:" + e["from"]) if e.get("from") else "—",
            _("case:" + e["to"]),
            e["by"],
            e.get("note") or "",
        ]
        for e in found["history"]
    ]
    evidence = _case_evidence(request, found["alerts"])
    work = casework.case_section(request, found)
    if work is not None and error is not None:
        work["alerts"] = [error]
    return sections_page(
        request,
        _("Case %(id)s", id=case_id),
        [
            section(_("Case"), [_("Item"), _("Value")], facts, id="case"),
            *([work] if work is not None else []),
            section(_("Alerts"), _alert_head(request), _alert_rows(request, found["alerts"]), id="case-alerts"),
            section(_("Evidence"), [*_evidence_head(request), _("Evidence for")], evidence, id="evidence"),
            section(
                _("History"),
                [_("Time"), _("From status"), _("To status"), _("By"), _("Note")],
                history,
                id="case-history",
            ),
        ],
        status=status,
    )


@router.post("/supervision/cases/{case_id}/transitions")
@staff_page(casework.CASE_ROLES)
async def move_case(request: Request, case_id: Ident) -> Response:
    refused = await casework.move(request, case_id)
    if refused is not None:
        return await case_page(request, case_id, *refused)
    return done(f"/supervision/cases/{case_id}", "case_moved")


@router.post("/supervision/reports/submit")
@staff_page(casework.CASE_ROLES)
async def submit_report(request: Request) -> Response:
    refused = await casework.submit(request)
    if refused is not None:
        return await reports_page(request, *refused)
    return done("/supervision/reports", "report_submitted")


@router.get("/supervision/reports")
@staff_page(SUPERVISION_ROLES)
async def reports(request: Request) -> Response:
    return await reports_page(request)


async def reports_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    """What is owed and when, every report with its file, and the submit form for those who may."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    found = await get(request, "/v1/regtech/reports")
    rows = []
    for r in found["reports"]:
        base = "/supervision/reports/suspicious" if r["kind"] == "suspicious" else "/supervision/reports"
        rows.append(
            [
                r["id"],
                _("report:" + r["kind"]),
                fmt.day(r.get("business_date") or r.get("determined_on")),
                fmt.day(r["deadline"]),
                _("status:" + r["status"]),
                _("Overdue") if r["overdue"] else "",
                link(f"{base}/{r['id']}/file", _("Download"), download=True),
            ]
        )
    head = [_("Report"), _("Kind"), _("Date"), _("Deadline"), _("Status"), _("Overdue"), _("File")]
    pending = await get(request, "/v1/regtech/reports/deadlines")
    # What is owed: the reports generated, not yet submitted, and the large-value dates never generated
    # (`missing`); a date with nothing to report owes nothing.
    owed = [
        (r["deadline"], r["id"], r["kind"], r.get("business_date") or r.get("determined_on"), r["status"], r["overdue"])
        for r in pending["reports"]
    ]
    owed += [
        (d["deadline"], "—", "large_value", d["business_date"], d["status"], d["overdue"])
        for d in pending["large_value_days"]["days"]
        if d["status"] == "missing"
    ]
    owed.sort(key=lambda o: (o[0], o[3], o[1]))
    submit = casework.report_section(request, found["reports"])
    if submit is not None and error is not None:
        submit["alerts"] = [error]
    due = [
        [rid, _("report:" + kind), fmt.day(day), _("status:" + status), fmt.day(deadline), _("Overdue") if late else ""]
        for deadline, rid, kind, day, status, late in owed
    ]
    return sections_page(
        request,
        _("Reports"),
        [
            section(
                _("Deadlines not yet met"),
                [_("Report"), _("Kind"), _("Date"), _("Status"), _("Deadline"), _("Overdue")],
                due,
                id="deadlines",
                empty=_("Every report is submitted."),
            ),
            *([submit] if submit is not None else []),
            section(_("All reports"), head, rows, id="reports", empty=_("No report yet.")),
        ],
        status=status,
    )


@router.get("/supervision/reports/{report_id}/file")
@staff_page(SUPERVISION_ROLES)
async def report_file(request: Request, report_id: Ident) -> Response:
    return await _file(request, f"/v1/regtech/reports/{report_id}/file", f"{report_id}.csv")


@router.get("/supervision/reports/suspicious/{report_id}/file")
@staff_page(SUPERVISION_ROLES)
async def suspicious_file(request: Request, report_id: Ident) -> Response:
    return await _file(request, f"/v1/regtech/reports/suspicious/{report_id}/file", f"{report_id}.json")


async def _file(request: Request, path: str, name: str) -> Response:
    answer = await download(request, path)
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", "application/octet-stream"),
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/supervision/graph")
@staff_page(SUPERVISION_ROLES)
async def graph(request: Request, party: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    finder = form(
        "party",
        "/supervision/graph",
        _("Show"),
        [field("party", _("Party id"), value=party or "", required=True)],
        "get",
    )
    sections = [section(_("A party's flow graph"), forms=[finder])]
    if party:
        found = await get(request, "/v1/regtech/alerts", party=party, limit=200)
        edges = flow_edges(found["alerts"])
        rows = [[e.counterparty, fmt.money(e.inflow), fmt.money(e.outflow)] for e in edges]
        chart = svg.flow_graph(party, edges, _("Flow graph of %(party)s", party=party))
        sections.append(
            section(
                _("Flow graph of %(party)s", party=party),
                [_("Counterparty"), _("Into the party"), _("Out of the party")],
                rows,
                chart=chart,
                caption=_("Green: into the party; red: out of it."),
                id="graph",
            )
        )
    return sections_page(request, _("Flow graph"), sections)


def flow_edges(alerts: list[dict]) -> list[svg.Edge]:
    """Money in and out between the party and each counterparty over its alerts' evidence (each flow once)."""
    seen: set[tuple[str, int]] = set()
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for a in alerts:
        for f in a["evidence"]["flows"]:
            if (f["ref"], f["position"]) in seen:
                continue
            seen.add((f["ref"], f["position"]))
            totals[f.get("counterparty") or "?"][0 if f["direction"] == "in" else 1] += Decimal(f["amount"])
    return [svg.Edge(k, v[0], v[1]) for k, v in sorted(totals.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))]
