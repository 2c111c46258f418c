"""Which business dates have their large-value transaction report (大额交易报告), and which are missing.

A listing of the reports generated cannot show a date never generated, so each China business date of
the last `LOOKBACK_DAYS` up to yesterday (the last date that is over, T+1), from the first of them with a
reportable transaction or a report, is classified:

- `submitted`: its report was submitted (报送);
- `generated`: its report was generated, not yet submitted;
- `nothing_to_report`: no transaction reaches the thresholds that date, alone or cumulated (a date with only
  small transactions, or none), so no report is owed: generating it is refused with `report_no_data` (the
  same qualification, `reports.select_lines`, through `reports.reportable_dates`); a report stored with no
  line before such dates were refused is counted here too, with its `report_id`;
- `missing`: something to report but no report generated: generate it.

Each date carries its deadline (报送期限, `reports.deadline`; a generated report's own, as stored) and is
`overdue` when generated or missing after that deadline (the China business date is past it). Dates with
nothing to report are never overdue. Older dates are neither listed nor flagged: a gap older than a year is
an audit's finding, not a deadline.

A fixed handful of queries whatever the range (`reports.reportable_dates`'s, and the range's reports).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.engine import Connection

from puhui import clock
from puhui.regtech import reports
from puhui.regtech.reports_tables import regulatory_reports

LOOKBACK_DAYS = 366  # a year and a day
STATUSES = ("submitted", "generated", "nothing_to_report", "missing")


def _empty() -> dict:
    return {"from": None, "to": None, "counts": dict.fromkeys(STATUSES, 0), "overdue": [], "days": []}


def large_value_days(connection: Connection) -> dict:
    """Every business date of the range with its status, deadline and overdue flag, oldest first; `counts`
    per status and the `overdue` dates. `from` is the first date of the last `LOOKBACK_DAYS` with something
    to report or a report, `to` yesterday; both None when there is none."""
    today = clock.business_date()
    last = today - dt.timedelta(days=1)
    first = last - dt.timedelta(days=LOOKBACK_DAYS - 1)
    active = reports.reportable_dates(connection, first, last)
    r = regulatory_reports.c
    made = {
        row["business_date"]: row
        for row in connection.execute(
            select(r.id, r.business_date, r.deadline, r.status, r.lines).where(
                r.kind == reports.KIND, r.business_date >= first.isoformat(), r.business_date <= last.isoformat()
            )
        ).mappings()
    }
    dated = active | {dt.date.fromisoformat(day) for day in made}
    if not dated:
        return _empty()
    days = []
    for n in range((last - min(dated)).days + 1):
        day = min(dated) + dt.timedelta(days=n)
        row = made.get(day.isoformat())
        if row is not None:
            status = row["status"] if reports.owed(row) or row["status"] == "submitted" else "nothing_to_report"
            rid, due = row["id"], row["deadline"]
        else:
            status = "missing" if day in active else "nothing_to_report"
            rid, due = None, reports.deadline(day).isoformat()
        overdue = status in ("generated", "missing") and today.isoformat() > due
        days.append(
            {"business_date": day.isoformat(), "status": status, "report_id": rid, "deadline": due, "overdue": overdue}
        )
    counts = dict.fromkeys(STATUSES, 0)
    for d in days:
        counts[d["status"]] += 1
    return {
        "from": days[0]["business_date"],
        "to": last.isoformat(),
        "counts": counts,
        "overdue": [d["business_date"] for d in days if d["overdue"]],
        "days": days,
    }
