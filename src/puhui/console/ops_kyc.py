"""Real-name verification in the back office (实名认证, /ops/verification): staff record a customer's identity
checks and raise the wallet class (支付账户分类) they allow.

In Puhui a check is the answer of an external channel (the public security ID check 公安身份核查, the bank
card four-element check 银行卡四要素, face recognition 人脸识别, the mobile operator…), recorded with its
reference, and the wallet class moves only by an upgrade of its own; both are the operator's (the API's
`customer.verify` and `customer.upgrade_tier`), never the customer's. Before this page only the API did
them, so a customer registered in the app could not top up (`wallet_unverified`) and no page led anywhere.
The page finds the customer by customer number or mobile number, shows the class, the checks and the class
they allow (I: 1 channel, II: 3, III: 5), and sends each form to the API, which checks, keeps it idempotent
by the form's key and audits it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from puhui.console import client, i18n, names, render
from puhui.console.app_wallet import PHONE_LIKE, customer_with_phone
from puhui.console.ops import tier_words
from puhui.console.staff import done, field, form, get, post, section, sections_page, staff_page
from puhui.console.web import read_form
from puhui.identity.models import TIER_RULES, VerificationChannel, WalletTier
from puhui.money import format_minor

router = APIRouter(include_in_schema=False)
VERIFY_ROLES = ("operator", "admin")  # the API's `customer.verify` and `customer.upgrade_tier`
PAGE = "/ops/verification"
CustomerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
CHANNELS = {
    VerificationChannel.public_security: "Public security ID check (name and ID number)",
    VerificationChannel.bank_card: "Bank card four-element check (name, ID number, card, mobile number)",
    VerificationChannel.face: "Face recognition (liveness and photo match)",
    VerificationChannel.mobile_operator: "Mobile operator real-name check",
    VerificationChannel.social_security: "Social security record",
    VerificationChannel.tax: "Tax record",
    VerificationChannel.in_person: "In person at a counter",
}
"""Each channel that confirms an identity (`identity.models.VerificationChannel`), in the staff's words."""


RULES = (
    "A Class I account needs one identity check, Class II three and Class III five, each on a different channel. "
    "Record each check with the channel's reference, then raise the account class."
)


async def _customer_id(request: Request, given: str) -> str | None:
    """The customer number the staff gave, or the active customer's with the mobile number they gave."""
    if not PHONE_LIKE.match(given):
        return given
    return await run_in_threadpool(customer_with_phone, request.app.state.engine, names.vault_of(request), given)


@router.get(PAGE)
@staff_page(VERIFY_ROLES)
async def verification(request: Request, id: Annotated[str | None, Query(max_length=64)] = None) -> Response:  # noqa: A002
    return await _page(request, (id or "").strip())


async def _page(request: Request, given: str, status: int = 200, error: str | None = None) -> Response:
    _ = render.formatter(request).gettext
    asked = field("id", _("Customer number or mobile number"), value=given, required=True)
    finder = section(_("Find a customer"), forms=[form("find", PAGE, _("Show"), [asked], "get")], text=[_(RULES)])
    if not given:
        return sections_page(request, _("Real-name verification"), [finder])
    customer_id = await _customer_id(request, given)
    if customer_id is None:
        finder["alerts"] = [_("No Puhui user has this mobile number.")]
        return sections_page(request, _("Real-name verification"), [finder], 404)
    person = await get(request, f"/v1/customers/{customer_id}")
    return sections_page(request, _("Real-name verification"), [finder, *_customer(request, person, error)], status)


def _customer(request: Request, person: dict, error: str | None) -> list[dict]:
    """The customer's class and the class their checks allow, the checks, and the two forms."""
    fmt = render.formatter(request)
    _ = fmt.gettext
    facts = [
        [_("Customer number"), person["id"]],
        [_("Name"), person.get("name") or "—"],
        [_("Mobile number"), person.get("phone") or "—"],
        [_("Account class"), tier_words(fmt, person.get("tier"))],
        [_("Class the checks allow"), eligible_words(fmt, person.get("eligible_tier"))],
    ]
    checks = [
        [
            channel_words(fmt, v["channel"]),
            v["reference"],
            result_words(fmt, v),
            fmt.moment(v["at"]),
        ]
        for v in person["verifications"]
    ]
    action = f"{PAGE}/{person['id']}"
    channels = [(channel.value, _(label)) for channel, label in CHANNELS.items()]
    record = form(
        "check",
        f"{action}/checks",
        _("Record the check"),
        [
            field("channel", _("Channel"), "select", options=channels),
            field("reference", _("The channel's reference"), required=True, maxlength=128),
            field("passed", _("Result"), "select", "true", options=[("true", _("Passed")), *_failures(fmt)]),
        ],
    )
    reason = field("reason", _("Reason"), required=True, maxlength=256)
    upgrade = form("tier", f"{action}/tier", _("Raise the account class"), [reason])
    return [
        section(
            _("Customer"), [_("Item"), _("Value")], facts, alerts=[error] if error else [], id="verification-customer"
        ),
        section(
            _("Identity checks"),
            [_("Channel"), _("Reference"), _("Result"), _("Time")],
            checks,
            forms=[record, upgrade],
            empty=_("No identity check yet."),
            id="verification-checks",
        ),
    ]


def channel_words(fmt: i18n.Formatter, channel: str) -> str:
    known = {c.value: label for c, label in CHANNELS.items()}
    return fmt.gettext(known[channel]) if channel in known else channel


FAILURE_REASONS = {
    "details_mismatch": "Failed: not the customer's own details",
    "not_confirmed": "Failed: the channel did not confirm the identity",
}
"""Why a check failed, as the verification row keeps it (`reason`): a self-service check's, or the one staff gave
(the form's choices)."""


def _failures(fmt: i18n.Formatter) -> list[tuple[str, str]]:
    return [(reason, fmt.gettext(words)) for reason, words in FAILURE_REASONS.items()]


def result_words(fmt: i18n.Formatter, verification: dict) -> str:
    """A check's result, with why it failed where the row says."""
    _ = fmt.gettext
    if verification["passed"]:
        return _("Passed")
    reason = verification.get("reason")
    return _(FAILURE_REASONS[reason]) if reason in FAILURE_REASONS else _("Failed")


def eligible_words(fmt: i18n.Formatter, tier: str | None) -> str:
    """The class the passed checks allow, with its limit, as `tier_words` says a class; "—" below one."""
    if tier is None:
        return "—"
    rule = TIER_RULES[WalletTier[tier]]
    return tier_words(fmt, {"class": tier, "limit": format_minor(rule.limit_minor, 2), "period": rule.period})


async def _act(request: Request, customer_id: str, path: str, notice: str) -> Response:
    """Send the form to the API (its key makes it idempotent); a refusal shows on the page, said for staff."""
    sent = await read_form(request)
    body: dict[str, Any] = {"reason": sent.get("reason", "")}
    if path == "verifications":
        result = sent.get("passed", "true")  # "true", or why it failed
        body = {"channel": sent.get("channel", ""), "reference": sent.get("reference", ""), "passed": result == "true"}
        if result in FAILURE_REASONS:
            body["reason"] = result
    try:
        await post(request, f"/v1/customers/{customer_id}/{path}", body, sent.get("key") or None)
    except client.ApiProblem as problem:
        if problem.status in (401, 403) or problem.status >= 500:
            raise
        said = render.say(request, problem.code, problem.detail, problem.status)
        return await _page(request, customer_id, problem.status, said)
    return done(f"{PAGE}?id={customer_id}", notice)


@router.post(PAGE + "/{customer_id}/checks")
@staff_page(VERIFY_ROLES)
async def record_check(request: Request, customer_id: CustomerId) -> Response:
    return await _act(request, customer_id, "verifications", "check_recorded")


@router.post(PAGE + "/{customer_id}/tier")
@staff_page(VERIFY_ROLES)
async def raise_class(request: Request, customer_id: CustomerId) -> Response:
    return await _act(request, customer_id, "tier", "class_raised")
