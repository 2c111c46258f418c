"""Working cases and reports from the supervision pages (案件处置, 报告报送): the platform's risk officers
and its admin move a monitoring case on (assign, investigate, escalate, close as a false positive, or
report it with its narrative: 可疑交易报告) and mark a generated report submitted to the regulator. The
regulator reads the same pages and gets no forms: the API lets only these roles act (`regtech.cases.
CASE_ROLES`), and the pages offer only what the API would accept, the moves a case's status allows."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from puhui.console import client, render
from puhui.console.staff import field, form, post, section
from puhui.console.web import read_form
from puhui.regtech.cases import CASE_ROLES, MIN_NARRATIVE, TRANSITIONS

REPORT_PATHS = {
    "suspicious": "/v1/regtech/reports/suspicious/{id}/submit",
    "large_value": "/v1/regtech/reports/{id}/submit",
}


def acts(request: Request) -> bool:
    """Whether the signed-in staff may work cases and submit reports (the regulator only reads)."""
    return request.state.staff.role in CASE_ROLES


def case_section(request: Request, case: dict) -> dict | None:
    """The case's next move as a form (None when the viewer only reads or the case is closed)."""
    moves = sorted(TRANSITIONS.get(case["status"], ()))
    if not acts(request) or not moves:
        return None
    _ = render.formatter(request).gettext
    fields = [
        field("to", _("Move to"), "select", moves[0], options=[(m, _("case:" + m)) for m in moves]),
        field("note", _("Note"), maxlength=2000),
    ]
    if "assigned" in moves:
        fields.append(field("assignee", _("Assignee (staff id)"), value=request.state.staff.id, maxlength=64))
    if "reported" in moves:
        fields.append(
            field("narrative", _("Report narrative (at least %(n)s characters)", n=MIN_NARRATIVE), "textarea")
        )
    action = f"/supervision/cases/{case['id']}/transitions"
    return section(_("Work the case"), forms=[form("case-move", action, _("Move the case"), fields)], id="case-work")


def report_section(request: Request, reports: list[dict]) -> dict | None:
    """A form to mark a generated report submitted (报送), for those who may."""
    waiting = [r for r in reports if r["status"] == "generated" and r["kind"] in REPORT_PATHS]
    if not acts(request) or not waiting:
        return None
    _ = render.formatter(request).gettext
    options = [(f"{r['kind']}:{r['id']}", f"{r['id']} · {_('report:' + r['kind'])}") for r in waiting]
    chosen = field("report", _("Report"), "select", options[0][0], options=options)
    submit = form("report-submit", "/supervision/reports/submit", _("Mark submitted to the regulator"), [chosen])
    return section(_("Submit a report"), forms=[submit], id="report-submit")


async def move(request: Request, case_id: str) -> tuple[int, str] | None:
    """Send the form's move of the case to the API; the refusal (status, what to say) if it refused it."""
    values = await read_form(request)
    body: dict[str, Any] = {"to": values.get("to", "")}
    for name in ("note", "assignee", "narrative"):
        if values.get(name):
            body[name] = values[name]
    if body["to"] != "assigned":
        body.pop("assignee", None)
    if body["to"] != "reported":
        body.pop("narrative", None)
    return await _sent(request, f"/v1/regtech/cases/{case_id}/transitions", body, values.get("key"))


async def submit(request: Request) -> tuple[int, str] | None:
    """Mark the chosen report submitted; the refusal (status, what to say) if there was one."""
    values = await read_form(request)
    kind, _, report_id = values.get("report", "").partition(":")
    if kind not in REPORT_PATHS or not report_id:
        return 422, render.formatter(request).gettext("Choose a report to submit.")
    return await _sent(request, REPORT_PATHS[kind].format(id=report_id), None, values.get("key"))


async def _sent(request: Request, path: str, body: dict | None, key: str | None) -> tuple[int, str] | None:
    try:
        await post(request, path, body, key or None)
    except client.ApiProblem as problem:
        if problem.status in (401, 403) or problem.status >= 500:
            raise
        return problem.status, render.say(request, problem.code, problem.detail)
    return None
