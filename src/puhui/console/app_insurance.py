"""Insurance in the customer app (/app/insurance, 保险): the medical products on offer (百万医疗) with a
quote by social-insurance status (保费试算) at the customer's own age, their 周岁 on the cover start by the
birth date in their verified ID (never typed in), buying a policy (投保) with the product's health
declaration (健康告知), the exact disclosure shown (投保须知) and the customer's confirmations ticked (the
API's sales record 回溯 keeps them), an underwriting decline (拒保) told plainly, and my policies with
cancel (退保: what it refunds and why, shown before and after) and renew (续保) when open. Every change is
an API call; the lists are read with the insurance package's own listing functions."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import format_percent
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from puhui import clock
from puhui.console import client, i18n, render, security
from puhui.console.web import customer_page, read_form, redirect
from puhui.db import reading
from puhui.identity import service as identity
from puhui.insurance import errors, listings, service
from puhui.insurance.models import Cover, CoverState, cover_state

router = APIRouter(include_in_schema=False)

Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
CodeQuery = Annotated[str, Query(max_length=48, pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")]
VersionQuery = Annotated[int, Query(ge=1, le=1_000_000)]
SocialQuery = Annotated[str, Query(max_length=3, pattern=r"^(yes|no)?$")]
CONFIRMATIONS = (
    "I have read the terms and the disclosure above.",
    "My answers to the health questions are true and complete.",
    "I understand the waiting period, the deductible and the reimbursement ratio.",
)
"""What the buyer ticks (确认事项), sent to the API as shown, in the buyer's language."""
PROBLEMS = {
    "underwriting_declined": "Sorry: from your health declaration the insurer cannot cover you (declined).",
    "age_not_covered": "This product does not cover that age.",
    "insufficient_funds": "Not enough money in the wallet.",
    "policy_not_active": "This policy is no longer active.",
    "renewal_not_open": "Renewal is not open for this policy yet.",
    "health_answers_invalid": "Answer every health question.",
    "insurance_product_not_found": "There is no such product.",
    "insured_age_mismatch": "The age does not match the birth date in your ID.",
    "insured_birth_date_unknown": "Your birth date is not on file, so no premium can be priced.",
    "policy_already_in_force": "You already hold a policy of this product for this period: a second one would "
    "cover nothing more.",
}
"""Insurance problem codes told in the customer's language (others as the API words them)."""


def _me(request: Request) -> security.Viewer:
    viewer: security.Viewer = request.state.viewer
    return viewer


def tell(request: Request, problem: client.ApiProblem) -> str:
    """An API problem in the customer's words: insurance codes here, the console's shared ones, else the API's."""
    message = PROBLEMS.get(problem.code)
    return render.formatter(request).gettext(message) if message else render.say(request, problem.code, problem.detail)


def in_force(request: Request, problem: client.ApiProblem) -> tuple[str, str | None]:
    """A sale refused as `policy_already_in_force`, in the customer's words: which policy already covers
    them and until when (to 24:00 of the day before its exclusive `cover_end`), and that id (None when the
    problem does not name one) for the page's link to it."""
    fmt = render.formatter(request)
    policy_id, cover_end = problem.extra.get("policy_id"), problem.extra.get("cover_end")
    try:
        last = last_covered_day(str(cover_end))
    except ValueError:
        return tell(request, problem), str(policy_id) if policy_id else None
    if not policy_id:
        return tell(request, problem), None
    said = fmt.gettext(
        "You already hold this cover under policy %(id)s, to 24:00 on %(day)s: a second policy would cover nothing more. Renew that policy when its renewal opens instead.",  # noqa: E501 - one msgid, found by the catalogue check
        id=policy_id,
        day=fmt.day(last),
    )
    return said, str(policy_id)


async def _my_age(request: Request) -> int:
    """The customer's age (周岁) on a new policy's cover start by the birth date in their verified ID: what the
    policy is priced on (`insured_birth_date_unknown` when their ID number is erased)."""
    vault = identity.vault_for(request.app.state.settings)

    def read() -> int:
        with reading(request.app.state.engine) as connection:
            return service.insured_age(connection, vault, _me(request).id)

    return await run_in_threadpool(read)


def _no_birth_date(request: Request) -> Response:
    message = PROBLEMS[errors.InsuredBirthDateUnknown.code]
    return render.error_page(request, 409, render.formatter(request).gettext(message))


async def _get(request: Request, path: str) -> Any:
    return await client.call(request, "GET", path, token=_me(request).token)


async def _post(request: Request, path: str, body: dict[str, Any] | None, key: str | None) -> Any:
    return await client.call(request, "POST", path, token=_me(request).token, json=body, key=key or None)


async def _listed(request: Request) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(products on offer, my policies) read from the insurance package."""

    def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with reading(request.app.state.engine) as connection:
            return listings.medical_products(connection), listings.policies_of(connection, _me(request).id)

    products, policies = await run_in_threadpool(read)
    today = clock.business_date().isoformat()
    return products, [{**policy, "shown_status": shown_status(policy, today)} for policy in policies]


def shown_status(policy: dict[str, Any], today: str) -> str:
    """An active policy as the customer reads it: not in force before its cover starts (待生效), nor from
    its end date (已到期: the end date is exclusive, the day after the last covered day): the API's
    `cover_state` (`insurance.models.cover_state`), as of `today`, in the page's words."""
    start, end = (dt.date.fromisoformat(str(policy[k])[:10]) for k in ("start_date", "end_date"))
    state = cover_state(str(policy["status"]), Cover(start, end, 0), dt.date.fromisoformat(today))
    return {CoverState.in_force: "active", CoverState.cancelled: str(policy["status"])}.get(state, state.value)


def last_covered_day(end_date: str | dt.date) -> dt.date:
    """The last day a policy covers: the day before its end date, which is exclusive (`models.Cover`)."""
    end = dt.date.fromisoformat(str(end_date)[:10])
    return end - dt.timedelta(days=1)


def cover_text(fmt: i18n.Formatter, policy: dict[str, Any]) -> str:
    """A policy's period of cover (保险期间) in the customer's words, to 24:00 of its last covered day
    (自…零时起至…二十四时止), never its exclusive end date."""
    return fmt.gettext(
        "From 00:00 on %(start)s to 24:00 on %(last)s",
        start=fmt.day(policy["start_date"]),
        last=fmt.day(last_covered_day(policy["end_date"])),
    )


async def _insurer_name(request: Request, insurer_id: str) -> str:
    """The insurer's registered name, read with the insurance package's own function."""

    def read() -> str:
        with reading(request.app.state.engine) as connection:
            return service.insurer_name(connection, insurer_id)

    return await run_in_threadpool(read)


def ratio_text(fmt: i18n.Formatter, ratio: str | Decimal) -> str:
    """A reimbursement ratio (赔付比例) as a percentage in the locale: "1" is 100%, "0.6" 60%, "0.655" 65.5%."""
    return format_percent(Decimal(ratio), format="#,##0.##%", locale=fmt.locale)


def disclosure(fmt: i18n.Formatter, product: dict[str, Any], quote: dict[str, Any], insurer: str) -> str:
    """The disclosure (投保须知) shown before buying and sent to the API word for word, wholly in the
    buyer's language; it names the insurer (`insurer`) by its registered name, not its id. Its hash is
    what the sale records, so the page and the purchase build it with this one function."""
    _ = fmt.gettext
    social = _("with social insurance") if quote["social_insurance"] else _("without social insurance")
    first = [
        _(
            "%(name)s, version %(version)s, underwritten by %(insurer)s.",
            name=product["name"],
            version=product["version"],
            insurer=insurer,
        ),
        _(
            "Insured age %(age)s, %(social)s: yearly premium %(premium)s CNY.",
            age=quote["age"],
            social=social,
            premium=quote["premium"],
        ),
        _("Cover lasts one year from the next business day."),
    ]
    return "\n".join(first + terms(fmt, product, quote["social_insurance"]))


def terms(fmt: i18n.Formatter, product: dict[str, Any], social: bool) -> list[str]:
    """The product's terms in the customer's words: waiting period, deductible, ratio, limit, cooling-off."""
    _ = fmt.gettext
    ratio = product["ratio_with_social"] if social else product["ratio_without_social"]
    lines = [
        _("Waiting period: %(days)s days for illness, none for accidents.", days=product["waiting_days"]),
        _(
            "Deductible: %(amount)s CNY per policy year; reimbursement ratio %(ratio)s; annual limit %(limit)s CNY.",
            amount=product["deductible"],
            ratio=ratio_text(fmt, ratio),
            limit=product["annual_limit"],
        ),
        _(
            "Cancel within %(days)s days for a full refund of the premium; after that the unearned premium is refunded pro rata.",  # noqa: E501 - one msgid, found by the catalogue check
            days=product["cooling_off_days"],
        ),
        _("Conditions excluded by the health declaration are not covered."),
    ]
    if product["guaranteed_renewal_years"]:
        lines.append(_("Renewal is guaranteed for %(years)s years.", years=product["guaranteed_renewal_years"]))
    else:
        lines.append(_("Renewal is not guaranteed."))
    return lines


def renewal_disclosure(fmt: i18n.Formatter, product: dict[str, Any], policy: dict[str, Any]) -> str:
    """The disclosure of a renewal (续保须知): the product's terms for the year after `policy`, at the
    premium for the insured's age on the new start."""
    first = fmt.gettext(
        "Renewal of policy %(id)s for the year from %(day)s, at the premium for the insured's age on that day.",
        id=policy["id"],
        day=policy["end_date"],
    )
    return "\n".join([first, *terms(fmt, product, policy["social_insurance"])])


def refund_reason(fmt: i18n.Formatter, policy: dict[str, Any]) -> str | None:
    """Why cancelling refunds what it does (退保退费说明), wholly in the customer's language, from the API's
    `cancellation` of the policy: before cancelling what a cancellation today would refund, after it what it
    refunded. None when the policy can no longer be cancelled."""
    terms = policy.get("cancellation")
    if not terms:
        return None
    _ = fmt.gettext
    if terms["reason"] == "claim_paid":
        claims = fmt.money(Decimal(terms["claims_paid"]) + Decimal(terms["claims_owed"]))
        if Decimal(terms["claims_owed"]):
            return _(
                "Claims of %(claims)s have been paid or approved under this policy, so cancelling it refunds nothing, even within the cooling-off period: a policy that has paid a benefit does not refund its premium.",  # noqa: E501 - one msgid, found by the catalogue check
                claims=claims,
            )
        return _(
            "Claims of %(claims)s have been paid under this policy, so cancelling it refunds nothing, even within the cooling-off period: a policy that has paid a benefit does not refund its premium.",  # noqa: E501 - one msgid, found by the catalogue check
            claims=claims,
        )
    last = fmt.day(terms["cooling_off_last_day"])
    if terms["reason"] == "cooling_off":
        return _(
            "Cancelled within the cooling-off period (through %(day)s), the whole premium of %(premium)s comes back.",
            day=last,
            premium=fmt.money(policy["premium"]),
        )
    if not Decimal(terms["refund"]):
        return _(
            "The cooling-off period ended on %(day)s and the premium is fully earned by %(on)s, so cancelling refunds nothing.",  # noqa: E501 - one msgid, found by the catalogue check
            day=last,
            on=fmt.day(terms["cancelled_on"]),
        )
    return _(
        "The cooling-off period ended on %(day)s, so only the unearned premium comes back: %(refund)s of the %(premium)s premium, for the %(days)s days of cover after %(on)s.",  # noqa: E501 - one msgid, found by the catalogue check
        day=last,
        refund=fmt.money(terms["refund"]),
        premium=fmt.money(policy["premium"]),
        days=terms["days_left"],
        on=fmt.day(terms["cancelled_on"]),
    )


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@router.get("/app/insurance")
@customer_page
async def insurance(request: Request) -> Response:
    products, policies = await _listed(request)
    fmt = render.formatter(request)
    return render.page(
        request, "insurance_home.html", products=products, policies=policies, cover=lambda p: cover_text(fmt, p)
    )


async def _buy_page(
    request: Request,
    code: str,
    version: int,
    age: int,
    social: bool,
    status: int = 200,
    error: str | None = None,
    held: str | None = None,
) -> Response:
    """The quote and the form to buy; after a refusal its `error`, and `held`: the policy already in force
    that refused the sale, linked."""
    fmt = render.formatter(request)
    product = await _get(request, f"/v1/insurance/products/{code}/{version}")
    body = {"product_code": code, "product_version": version, "age": age, "social_insurance": social}
    try:
        quote = await _post(request, "/v1/insurance/quotes", body, None)
    except client.ApiProblem as problem:
        if problem.status >= 500:
            raise
        return render.page(
            request,
            "insurance_buy.html",
            status=problem.status,
            error=tell(request, problem),
            product=product,
            quote=None,
            age=age,
            social=social,
        )
    text = disclosure(fmt, product, quote, await _insurer_name(request, product["insurer_id"]))
    return render.page(
        request,
        "insurance_buy.html",
        status=status,
        error=error,
        product=product,
        quote=quote,
        age=age,
        social=social,
        disclosure=text,
        disclosure_sha256=fingerprint(text),
        confirmations=[fmt.gettext(c) for c in CONFIRMATIONS],
        wallet=await _get(request, "/v1/wallets/me"),
        key=security.form_key(),
        held=held,
    )


@router.get("/app/insurance/buy")
@customer_page
async def quote_page(request: Request, code: CodeQuery, version: VersionQuery, social: SocialQuery = "") -> Response:
    """The quote at the customer's own age by their ID (not one typed in), with the form to buy."""
    if social == "":
        return render.error_page(
            request, 422, render.formatter(request).gettext("Say whether you have social insurance.")
        )
    try:
        age = await _my_age(request)
    except errors.InsuredBirthDateUnknown:
        return _no_birth_date(request)
    return await _buy_page(request, code, version, age, social == "yes")


def _answers(form: dict[str, str], product: dict[str, Any]) -> dict[str, bool] | None:
    """The yes/no answer to each health question, None when one is missing."""
    answers = {}
    for question in product["questionnaire"]:
        said = form.get(f"health_{question['id']}")
        if said not in ("yes", "no"):
            return None
        answers[question["id"]] = said == "yes"
    return answers


@router.post("/app/insurance/buy")
@customer_page
async def buy(request: Request) -> Response:
    form = await read_form(request)
    fmt = render.formatter(request)
    try:
        code, version = form.get("code", ""), int(form.get("version", ""))
    except ValueError:
        return render.error_page(request, 422, fmt.gettext("Choose a product."))
    social = form.get("social") == "yes"
    try:
        age = await _my_age(request)  # the disclosure shown named it; the API prices the policy on it again
    except errors.InsuredBirthDateUnknown:
        return _no_birth_date(request)
    product = await _get(request, f"/v1/insurance/products/{code}/{version}")
    quote = {"product_code": code, "product_version": version, "age": age, "social_insurance": social}
    quote = await _post(request, "/v1/insurance/quotes", quote, None)
    text = disclosure(fmt, product, quote, await _insurer_name(request, product["insurer_id"]))
    again = (code, version, age, social)
    if form.get("disclosure_sha256") != fingerprint(text):
        return await _buy_page(request, *again, 409, fmt.gettext("The terms changed: please read them again."))
    answers = _answers(form, product)
    ticked = [fmt.gettext(c) for n, c in enumerate(CONFIRMATIONS) if form.get(f"confirm_{n}") == "yes"]
    if answers is None or len(ticked) != len(CONFIRMATIONS):
        problem = fmt.gettext("Answer every health question and tick every confirmation.")
        return await _buy_page(request, *again, 422, problem)
    body = {**quote, "disclosure": text, "confirmations": ticked, "health_answers": answers}
    body.pop("premium")
    body.pop("age")  # the API takes the insured's age from their ID
    try:
        policy = await _post(request, "/v1/insurance/policies", body, form.get("key"))
    except client.ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.code == errors.PolicyAlreadyInForce.code:
            said, held = in_force(request, problem)
            return await _buy_page(request, *again, problem.status, said, held)
        return await _buy_page(request, *again, problem.status, tell(request, problem))
    return redirect(f"/app/insurance/policies/{policy['id']}")


async def _policy_page(request: Request, policy_id: str, status: int = 200, error: str | None = None) -> Response:
    policy = await _get(request, f"/v1/insurance/policies/{policy_id}")  # another's is 404: the API decides
    _, mine = await _listed(request)
    listed = {**next((p for p in mine if p["id"] == policy_id), policy), "cancellation": policy["cancellation"]}
    product = await _get(request, f"/v1/insurance/products/{policy['product_code']}/{policy['product_version']}")
    return render.page(
        request,
        "insurance_policy.html",
        status=status,
        error=error,
        policy=listed,
        product=product,
        keys={"cancel": security.form_key(), "renew": security.form_key()},
        renewal_disclosure=renewal_disclosure(render.formatter(request), product, listed),
        cover=cover_text(render.formatter(request), listed),
        refund_reason=refund_reason(render.formatter(request), listed),
        confirmations=[render.formatter(request).gettext(c) for c in CONFIRMATIONS],
    )


@router.get("/app/insurance/policies/{policy_id}")
@customer_page
async def policy_page(request: Request, policy_id: Ident) -> Response:
    return await _policy_page(request, policy_id)


@router.post("/app/insurance/policies/{policy_id}/cancel")
@customer_page
async def cancel(request: Request, policy_id: Ident) -> Response:
    form = await read_form(request)
    try:
        await _post(request, f"/v1/insurance/policies/{policy_id}/cancel", None, form.get("key"))
    except client.ApiProblem as problem:
        if problem.status in (401, 404) or problem.status >= 500:
            raise
        return await _policy_page(request, policy_id, problem.status, tell(request, problem))
    return redirect(f"/app/insurance/policies/{policy_id}")


@router.post("/app/insurance/policies/{policy_id}/renew")
@customer_page
async def renew(request: Request, policy_id: Ident) -> Response:
    form = await read_form(request)
    fmt = render.formatter(request)
    policy = await _get(request, f"/v1/insurance/policies/{policy_id}")
    product = await _get(request, f"/v1/insurance/products/{policy['product_code']}/{policy['product_version']}")
    ticked = [fmt.gettext(c) for n, c in enumerate(CONFIRMATIONS) if form.get(f"confirm_{n}") == "yes"]
    answers = _answers(form, product) if not product["guaranteed_renewal_years"] else {}
    if answers is None or len(ticked) != len(CONFIRMATIONS):
        problem = fmt.gettext("Answer every health question and tick every confirmation.")
        return await _policy_page(request, policy_id, 422, problem)
    body = {"disclosure": renewal_disclosure(fmt, product, policy), "confirmations": ticked, "health_answers": answers}
    try:
        renewed = await _post(request, f"/v1/insurance/policies/{policy_id}/renew", body, form.get("key"))
    except client.ApiProblem as problem:
        if problem.status in (401, 404) or problem.status >= 500:
            raise
        return await _policy_page(request, policy_id, problem.status, tell(request, problem))
    return redirect(f"/app/insurance/policies/{renewed['id']}")
