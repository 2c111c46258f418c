"""The customer's way in and out (注册、登录、退出) and the language switch, over the identity API:
real-name sign-up (name, resident ID, phone, password) with the consents it asks for, log-in by phone
and password into a session cookie, log-out that ends the platform session."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from puhui.console import client, i18n, render, security
from puhui.console.web import customer_page, public_page, read_form, redirect
from puhui.identity.models import PASSWORD_MAX, PASSWORD_MIN

router = APIRouter(include_in_schema=False)

REQUIRED_CONSENTS = ("payments",)
"""Without consent to process data for payments (支付服务) there is no wallet to open."""
OPTIONAL_CONSENTS = ("risk_control", "credit_scoring", "marketing")


def _sign_up(request: Request, status: int = 200, error: str | None = None, form: dict | None = None) -> Response:
    return render.page(
        request,
        "register.html",
        status=status,
        error=error,
        form=form or {},
        key=security.form_key(),
        required=REQUIRED_CONSENTS,
        optional=OPTIONAL_CONSENTS,
        password_min=PASSWORD_MIN,
        password_max=PASSWORD_MAX,
    )


@router.get("/app/register")
@public_page
async def register_page(request: Request) -> Response:
    return _sign_up(request)


@router.post("/app/register")
@public_page
async def register(request: Request) -> Response:
    form = await read_form(request)
    kept = {k: v for k, v in form.items() if k in ("name", "id_number", "phone", "address")}
    if not all(form.get(f"consent_{purpose}") == "on" for purpose in REQUIRED_CONSENTS):
        message = render.formatter(request).gettext("Please agree to the processing needed for payments.")
        return _sign_up(request, 422, message, kept)
    person: dict = {k: form.get(k, "") for k in ("name", "id_number", "phone", "password")}
    granted = [p for p in (*REQUIRED_CONSENTS, *OPTIONAL_CONSENTS) if form.get(f"consent_{p}") == "on"]
    person["consents"] = granted  # recorded with the sign-up, in its transaction
    if form.get("address"):
        person["address"] = form["address"]
    try:
        await client.call(request, "POST", "/v1/customers", json=person, key=form.get("key") or None)
        login = await client.call(
            request, "POST", "/v1/customers/login", json={"phone": person["phone"], "password": person["password"]}
        )
    except client.ApiProblem as problem:
        return _sign_up(request, problem.status, render.say(request, problem.code, problem.detail), kept)
    for purpose in OPTIONAL_CONSENTS:  # a refusal is recorded too
        if purpose not in granted:
            await client.call(
                request,
                "POST",
                f"/v1/customers/{login['customer_id']}/consents",
                token=login["token"],
                json={"purpose": purpose, "granted": False},
                key=f"{form.get('key', '')}-consent-{purpose}" if form.get("key") else None,
            )
    response = redirect("/app", "signed_up")
    security.start_session(response, request, login["token"], login["expires_at"])
    return response


@router.get("/app/login")
@public_page
async def login_page(request: Request) -> Response:
    return render.page(request, "login.html", error=None, phone="")


@router.post("/app/login")
@public_page
async def login(request: Request) -> Response:
    form = await read_form(request)
    phone = form.get("phone", "")
    try:
        found = await client.call(
            request, "POST", "/v1/customers/login", json={"phone": phone, "password": form.get("password", "")}
        )
    except client.ApiProblem as problem:
        if problem.status >= 500:
            raise
        return render.page(
            request,
            "login.html",
            status=problem.status,
            error=render.say(request, problem.code, problem.detail),
            phone=phone,
        )
    response = redirect("/app", "logged_in")
    security.start_session(response, request, found["token"], found["expires_at"])
    return response


@router.post("/app/logout")
@customer_page
async def logout(request: Request) -> Response:
    await read_form(request)
    viewer = request.state.viewer
    try:
        await client.call(request, "POST", f"/v1/customers/{viewer.id}/logout", token=viewer.token, key=None)
    except client.ApiProblem as problem:
        if problem.status != 401:  # an already-ended session is logged out all the same
            raise
    response = redirect("/app/login", "logged_out")
    security.end_session(response, request)
    return response


@router.post("/app/language")
@public_page
async def language(request: Request) -> Response:
    """The language switch (语言切换): remembered in a cookie for a year; back to the page it was on."""
    form = await read_form(request)
    chosen = form.get("lang", "")
    back = form.get("next", "/app")
    if not back.startswith("/app") or back.startswith("//"):
        back = "/app"
    response = redirect(back, "language")
    if chosen in i18n.LOCALES:
        response.set_cookie(
            i18n.COOKIE, chosen, max_age=365 * 86400, samesite="lax", secure=security.is_https(request), path="/"
        )
    return response
