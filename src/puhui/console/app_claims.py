"""Medical claims (理赔) in the console: the customer reports a claim on their own policy (报案: kind,
diagnosis code, event date, billed, what social insurance paid, a document read by the browser into
base64) and sees their claims with status, benefit, deductible applied and the reasons in their words;
risk officers and operators work the claims review queue (理赔人工审核) at /ops/claims, approving or
declining, and see there the approved claims waiting for the insurer's money (待支付赔案) with each
insurer's shortfall, paying an insurer's waiting claims in turn once its money is there. Every change is
an API call; the customer's list is read with the claims package's listing."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from puhui.console import client, i18n, render, security, staff
from puhui.console.app_insurance import Ident, cover_text, tell
from puhui.console.web import customer_page, read_form, redirect
from puhui.db import reading
from puhui.insurance import listings
from puhui.insurance.claims import listings as claim_listings

router = APIRouter(include_in_schema=False)

NOTE_LENGTH = 1000  # a decline's reason or an approval's note (the claims API's limit)
NOTE_REQUIRED_FOR = frozenset({"documents_missing", "fraud_score"})  # as insurance.claims.service.NOTE_REQUIRED_FOR
MAX_CLAIM_FORM_BYTES = 2 * 1024 * 1024  # one document of at most 1 MiB, base64 and urlencoded
REVIEWER_ROLES = ("risk_officer", "operator", "admin")
CLAIM_PROBLEMS = {
    "claim_outside_cover": "The event date is outside the policy's cover.",
    "claim_event_in_future": "The event date is in the future.",
    "claim_duplicate": "This claim was already reported.",
    "claim_document_invalid": "The document could not be read; attach a file of at most 1 MiB.",
    "claim_amounts_invalid": "Check the amounts: social insurance cannot pay more than was billed.",
    "claim_not_reviewable": "This claim is no longer waiting for review.",
    "claim_note_required": "Write a note saying why you approve this claim despite its review reasons.",
    "claim_reason_required": "Write the reason for declining; the customer is told it.",
}
"""Claim problem codes told in the person's language."""


def reason_text(fmt: i18n.Formatter, code: str) -> str:
    """A claim's reason code in the person's words (`reason:<code>`), else the code itself."""
    key = f"reason:{code}"
    said = fmt.gettext(key)
    return code if said == key else said


def say_claim(request: Request, problem: client.ApiProblem) -> str:
    message = CLAIM_PROBLEMS.get(problem.code)
    return render.formatter(request).gettext(message) if message else tell(request, problem)


async def read_claim_form(request: Request) -> dict[str, str]:
    """The claim form (urlencoded, larger than other forms: it may carry a document), CSRF checked."""
    body = await request.body()
    if len(body) > MAX_CLAIM_FORM_BYTES:
        raise client.ApiProblem(413, "form_too_large", "the form is too large")
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=32))
    except (UnicodeDecodeError, ValueError):
        form = {}
    security.check_csrf(request, form)
    return {k: v.strip() for k, v in form.items()}


def claim_body(form: dict[str, str]) -> dict[str, Any]:
    """What the claims API is sent: the fields as entered and the document, when one was attached."""
    body: dict[str, Any] = {
        "policy_id": form.get("policy_id", ""),
        "kind": form.get("kind", ""),
        "condition": form.get("condition", "").upper(),
        "event_date": form.get("event_date", ""),
        "billed": form.get("billed", ""),
        "social_insurance_paid": form.get("social_insurance_paid") or "0.00",
    }
    if form.get("document_content"):
        document = {
            "name": form.get("document_name") or "document",
            "media_type": form.get("document_type") or "application/octet-stream",
            "content": form["document_content"],
        }
        body["documents"] = [document]
    return body


async def _claims_page(
    request: Request, status: int = 200, error: str | None = None, form: dict[str, str] | None = None
) -> Response:
    me: security.Viewer = request.state.viewer

    def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with reading(request.app.state.engine) as connection:
            return listings.policies_of(connection, me.id), claim_listings.claims_of(connection, me.id)

    policies, claims = await run_in_threadpool(read)
    fmt = render.formatter(request)
    return render.page(
        request,
        "insurance_claims.html",
        status=status,
        error=error,
        policies=[p for p in policies if p["status"] == "active"],
        claims=claims,
        reason=lambda code: reason_text(fmt, code),
        cover=lambda p: cover_text(fmt, p),
        form=form or {},
        key=security.form_key(),
    )


@router.get("/app/insurance/claims")
@customer_page
async def claims(request: Request) -> Response:
    return await _claims_page(request)


@router.post("/app/insurance/claims")
@customer_page
async def report(request: Request) -> Response:
    form = await read_claim_form(request)
    me: security.Viewer = request.state.viewer
    try:
        claim = await client.call(
            request, "POST", "/v1/insurance/claims", token=me.token, json=claim_body(form), key=form.get("key") or None
        )
    except client.ApiProblem as problem:
        if problem.status == 401 or problem.status >= 500:
            raise
        kept = {k: form.get(k, "")[:32] for k in ("kind", "condition", "event_date", "billed", "social_insurance_paid")}
        return await _claims_page(request, problem.status, say_claim(request, problem), kept)
    return redirect(f"/app/insurance/claims/{claim['id']}")


@router.get("/app/insurance/claims/{claim_id}")
@customer_page
async def claim_page(request: Request, claim_id: Ident) -> Response:
    me: security.Viewer = request.state.viewer
    claim = await client.call(request, "GET", f"/v1/insurance/claims/{claim_id}", token=me.token)
    fmt = render.formatter(request)
    return render.page(request, "insurance_claim.html", claim=claim, reason=lambda code: reason_text(fmt, code))


# -- the claims review queue for staff (/ops/claims) -----------------------------------------------


async def _queue_page(
    request: Request, decided: dict[str, Any] | None = None, status: int = 200, paid: dict[str, Any] | None = None
) -> Response:
    fmt = render.formatter(request)
    _ = fmt.gettext
    queue = await staff.get(request, "/v1/insurance/claims/reviews", limit=100)
    sections = []
    if paid is not None:
        line = _(
            "Waiting claims of %(insurer)s: %(paid)s paid, %(waiting)s still waiting.",
            paid=len(paid["claims_paid"]),
            insurer=paid["insurer_id"],
            waiting=paid["claims_waiting"],
        )
        sections.append(staff.section(_("Decided"), text=[line], id="paid-waiting"))
    if decided is not None:
        line = _(
            "Claim %(id)s: %(status)s, benefit %(benefit)s.",
            id=decided["id"],
            status=_("claim:" + decided["status"]),
            benefit=fmt.money(decided["benefit"]),
        )
        said = [line, decided["decision_note"]] if decided.get("decision_note") else [line]
        sections.append(staff.section(_("Decided"), text=said, id="decided"))
    for c in queue["claims"]:
        facts = [
            [_("Policy"), c["policy_id"]],
            [_("Customer"), c["customer_id"]],
            [_("Kind"), _("claim_kind:" + c["kind"])],
            [_("Condition code"), c["condition"]],
            [_("Event date"), fmt.day(c["event_date"])],
            [_("Billed"), fmt.money(c["billed"])],
            [_("Paid by social insurance"), fmt.money(c["social_insurance_paid"])],
            [_("Benefit"), fmt.money(c["benefit"])],
            [_("Deductible applied"), fmt.money(c["deductible_applied"])],
            [_("Reasons"), "; ".join(reason_text(fmt, r) for r in c["reasons"]) or "—"],
            [_("Fraud score"), c["fraud_score"] or "—"],
            [
                _("Documents"),
                "; ".join(f"{d['name']} ({d['size']} B, {d['sha256'][:12]})" for d in c["documents"]) or "—",
            ],
        ]
        needs_note = bool(NOTE_REQUIRED_FOR.intersection(c["reasons"]))
        note_label = _("Why approve despite the review reasons") if needs_note else _("Note (optional)")
        note = staff.field("note", note_label, "textarea", required=needs_note, maxlength=NOTE_LENGTH)
        reason = staff.field(
            "reason", _("Reason for declining (told to the customer)"), "textarea", required=True, maxlength=NOTE_LENGTH
        )
        forms = [
            staff.form("approve-" + c["id"], f"/ops/claims/{c['id']}/approve", _("Approve and pay"), [note]),
            staff.form("decline-" + c["id"], f"/ops/claims/{c['id']}/decline", _("Decline"), [reason]),
        ]
        title = _("Claim %(id)s", id=c["id"])
        sections.append(staff.section(title, [_("Item"), _("Value")], facts, forms=forms, id="claim-review"))
    if not queue["claims"]:
        sections.append(staff.section(_("Claims review"), text=[_("No claim is waiting for review.")], id="no-claims"))
    awaiting = await staff.get(request, "/v1/insurance/claims/awaiting-payment", limit=100)
    sections.extend(_awaiting_sections(fmt, awaiting))
    return staff.sections_page(request, _("Claims review"), sections, status=status)


def _awaiting_sections(fmt: i18n.Formatter, awaiting: dict[str, Any]) -> list[dict]:
    """The approved claims waiting for the insurer's money (待支付), oldest approval first, and each insurer's
    shortfall with a form to pay its waiting claims in turn."""
    _ = fmt.gettext
    rows = [
        [c["claim_id"], c["insurer_id"], c["policy_id"], fmt.money(c["owed"]), fmt.moment(c["approved_at"])]
        for c in awaiting["claims"]
    ]
    head = [_("Claim"), _("Insurer"), _("Policy"), _("Benefit owed"), _("Approved at")]
    listed = staff.section(
        _("Claims awaiting payment"), head, rows, empty=_("No claim is waiting for payment."), id="claims-awaiting"
    )
    insurers = [
        [i["insurer_id"], str(i["claims"]), fmt.money(i["owed"]), fmt.money(i["held"]), fmt.money(i["shortfall"])]
        for i in awaiting["insurers"]
    ]
    forms = [
        staff.form(
            "pay-waiting-" + i["insurer_id"],
            f"/ops/claims/insurers/{i['insurer_id']}/pay-waiting",
            _("Pay the waiting claims of %(insurer)s", insurer=i["insurer_id"]),
            [],
        )
        for i in awaiting["insurers"]
    ]
    head = [_("Insurer"), _("Claims waiting"), _("Benefit owed"), _("Money held"), _("Funds shortfall")]
    shortfalls = staff.section(_("Insurers' shortfall"), head, insurers, forms=forms, id="insurer-shortfall")
    return [listed, shortfalls] if awaiting["insurers"] else [listed]


@router.get("/ops/claims")
@staff.staff_page(REVIEWER_ROLES)
async def review_queue(request: Request) -> Response:
    return await _queue_page(request)


@router.post("/ops/claims/insurers/{insurer_id}/pay-waiting")
@staff.staff_page(REVIEWER_ROLES)
async def pay_waiting(request: Request, insurer_id: Ident) -> Response:
    form = await read_form(request)
    try:
        paid = await staff.post(
            request, "/v1/insurance/claims/pay-waiting", {"insurer_id": insurer_id}, form.get("key") or None
        )
    except client.ApiProblem as problem:
        if problem.status in (401, 403) or problem.status >= 500:
            raise
        return staff.error(request, problem.status, say_claim(request, problem))
    return await _queue_page(request, paid=paid)


@router.post("/ops/claims/{claim_id}/{decision}")
@staff.staff_page(REVIEWER_ROLES)
async def decide(
    request: Request, claim_id: Ident, decision: Annotated[str, Path(pattern="^(approve|decline)$")]
) -> Response:
    form = await read_form(request)
    words = (form.get("reason" if decision == "decline" else "note") or "").strip()[:NOTE_LENGTH]
    if decision == "decline" and not words:
        return staff.error(request, 422, render.formatter(request).gettext(CLAIM_PROBLEMS["claim_reason_required"]))
    body = ({"reason": words} if decision == "decline" else {"note": words}) if words else {}
    try:
        decided = await staff.post(
            request, f"/v1/insurance/claims/{claim_id}/{decision}", body, form.get("key") or None
        )
    except client.ApiProblem as problem:
        if problem.status in (401, 403) or problem.status >= 500:
            raise
        return staff.error(request, problem.status, say_claim(request, problem))
    return await _queue_page(request, decided)
