"""Every regulatory report of both kinds in one list (报告台账): large-value transaction reports
(`reports`) and suspicious transaction reports (`str_report`), for the desk, the dashboard and the CLI;
and the deadlines view, which also covers the business dates never generated (`report_coverage`)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from puhui import clock
from puhui.regtech import report_coverage, reports, reports_tables, str_report


def listing(connection: Connection, limit: int = 100) -> list[dict]:
    """Every report of both kinds, newest date first: large-value ones by the date they cover,
    suspicious transaction reports (kind `suspicious`) by the date the case was determined suspicious."""
    rows = connection.execute(
        select(reports_tables.regulatory_reports)
        .order_by(reports_tables.regulatory_reports.c.business_date.desc(), reports_tables.regulatory_reports.c.id)
        .limit(limit)
    ).mappings()
    found = [reports.report_json(r) for r in rows]
    found += [_as_listed(r) for r in str_report.listing(connection, limit=limit)]
    found.sort(key=lambda r: r["id"])
    found.sort(key=lambda r: r["business_date"], reverse=True)
    return found[:limit]


def _as_listed(suspicious: dict) -> dict:
    """A suspicious transaction report in the shape of the listing (its date the determination's)."""
    return {**suspicious, "business_date": suspicious["determined_on"], "lines": suspicious["transactions"]}


def deadlines(connection: Connection, limit: int = 500) -> list[dict]:
    """The reports still owed, of both kinds, earliest deadline first, overdue ones flagged: not yet submitted,
    and for large-value reports reporting something (one stored with no line is owed nothing, `reports.owed`)."""
    rows = connection.execute(
        select(reports_tables.regulatory_reports)
        .where(reports_tables.regulatory_reports.c.status != "submitted", reports_tables.regulatory_reports.c.lines > 0)
        .order_by(reports_tables.regulatory_reports.c.deadline)
        .limit(limit)
    ).mappings()
    found = [reports.report_json(r) for r in rows]
    found += [_as_listed(r) for r in str_report.listing(connection, status="generated", limit=limit)]
    found.sort(key=lambda r: (r["deadline"], r["id"]))
    return found[:limit]


def deadlines_json(connection: Connection) -> dict:
    """What `/reports/deadlines` and `puhui regtech report deadlines` answer: the reports not yet submitted
    (`deadlines`), and every business date's large-value report (`report_coverage.large_value_days`)."""
    return {
        "as_of": clock.business_date().isoformat(),
        "reports": deadlines(connection),
        "large_value_days": report_coverage.large_value_days(connection),
    }
