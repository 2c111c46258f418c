"""The customer's personal data page (个人信息): what the platform holds, masked as the API shows it; their
own real-name checks and the account class they allow (自助实名认证, `app_verify`); the consents with a switch
per purpose (撤回同意 is one click); a copy of everything (个人信息副本, the API's export); and closing the
account (注销), refused while the wallet holds money."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from puhui.console import client, render, security
from puhui.console.app_verify import OUTCOMES, check_body, verification_context
from puhui.console.web import customer_page, read_form, redirect, to_login
from puhui.identity.models import TIER_RULES
from puhui.money import format_minor

router = APIRouter(include_in_schema=False)

PURPOSES = ("payments", "risk_control", "credit_scoring", "marketing", "third_party_sharing")
CLASSES = [
    {
        "class": rule.tier.name,
        "checks": rule.verifications,
        "limit": format_minor(rule.limit_minor, 2),
        "period": rule.period,
        "may_invest": rule.may_invest,
    }
    for rule in TIER_RULES.values()
]
"""The wallet classes (支付账户分类) as the identity rules set them: the checks each needs, its limit and period,
whether it may invest; shown on the page so the customer sees what verifying brings (the customer runs the
checks themself, `app_verify`, where a verification provider is configured; staff record them too,
`console.ops_kyc`)."""


async def _me_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    viewer = request.state.viewer
    customer = await client.call(request, "GET", f"/v1/customers/{viewer.id}", token=viewer.token)
    wallet = await client.call(request, "GET", "/v1/wallets/me", token=viewer.token)
    granted = {c["purpose"] for c in customer["consents"] if c["granted"] and not c["sensitive"]}
    return render.page(
        request,
        "me.html",
        status=status,
        error=error,
        customer=customer,
        wallet=wallet,
        purposes=PURPOSES,
        granted=granted,
        classes=CLASSES,
        passed=len({v["channel"] for v in customer["verifications"] if v["passed"]}),
        key=security.form_key(),
        **verification_context(request, customer),
    )


@router.get("/app/me")
@customer_page
async def me(request: Request) -> Response:
    return await _me_page(request)


@router.post("/app/me/consents")
@customer_page
async def consent(request: Request) -> Response:
    form = await read_form(request)
    viewer = request.state.viewer
    body = {
        "purpose": form.get("purpose", ""),
        "granted": form.get("granted") == "true",
        "sensitive": form.get("sensitive") == "true",  # the separate consent (单独同意): biometrics, `app_verify`
    }
    try:
        await client.call(
            request, "POST", f"/v1/customers/{viewer.id}/consents", token=viewer.token, json=body, key=None
        )
    except client.ApiProblem as problem:
        return await _me_page(request, problem.status, render.say(request, problem.code, problem.detail))
    return redirect("/app/me", "consent_saved")


@router.post("/app/me/verifications")
@customer_page
async def verify(request: Request) -> Response:
    """One identity check of the customer's own (`app_verify`); passed or failed, it is said as a notice."""
    form = await read_form(request)
    viewer = request.state.viewer
    try:
        answer = await client.call(
            request,
            "POST",
            "/v1/customers/me/verifications",
            token=viewer.token,
            json=check_body(form),
            key=form.get("key") or None,
        )
    except client.ApiProblem as problem:
        return await _me_page(request, problem.status, render.say(request, problem.code, problem.detail))
    return redirect("/app/me#verification", OUTCOMES.get(answer.get("reason"), "check_failed"))


@router.post("/app/me/tier")
@customer_page
async def take_class(request: Request) -> Response:
    """The account class the passed checks allow, taken by the customer."""
    form = await read_form(request)
    viewer = request.state.viewer
    try:
        await client.call(
            request, "POST", "/v1/customers/me/tier", token=viewer.token, json={}, key=form.get("key") or None
        )
    except client.ApiProblem as problem:
        return await _me_page(request, problem.status, render.say(request, problem.code, problem.detail))
    return redirect("/app/me#verification", "class_taken")


@router.get("/app/me/export")
@customer_page
async def export(request: Request) -> Response:
    """A copy of everything held (the API's export, a JSON download), for the customer only."""
    import json

    viewer = request.state.viewer
    data = await client.call(request, "GET", f"/v1/customers/{viewer.id}/export", token=viewer.token)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="puhui-my-data.json"', "Cache-Control": "no-store"},
    )


@router.post("/app/me/close")
@customer_page
async def close(request: Request) -> Response:
    form = await read_form(request)
    if form.get("confirm") != "on":
        return await _me_page(request, 422, render.formatter(request).gettext("Tick the box to confirm."))
    viewer = request.state.viewer
    try:
        await client.call(
            request,
            "POST",
            f"/v1/customers/{viewer.id}/close",
            token=viewer.token,
            json={"reason": "closed by the customer in the app"},
            key=form.get("key") or None,
        )
    except client.ApiProblem as problem:
        return await _me_page(request, problem.status, render.say(request, problem.code, problem.detail))
    return to_login(request, "account_closed")
