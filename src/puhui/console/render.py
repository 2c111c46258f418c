"""Rendering a page (页面渲染): the Jinja2 environment, what every template can use (gettext as `_`,
money and dates in the locale, China time, the CSRF token, the signed-in viewer), and the error page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from puhui.console import i18n, security

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
NOTICE_COOKIE = "puhui_notice"
NOTICES = {
    "signed_up": "Welcome! Your account is open.",
    "logged_in": "You are logged in.",
    "logged_out": "You are logged out.",
    "session_ended": "Your session has ended: log in again.",
    "account_closed": "Your account is closed.",
    "card_bound": "The card is bound.",
    "paid": "Paid.",
    "paid_with_cover": "Paid, with return-shipping cover: its premium is a charge of its own in the wallet statement.",
    "transferred": "Transferred.",
    "subscribed": "Subscribed to the fund.",
    "redeemed": "Redemption ordered.",
    "consent_saved": "Your consent choice is saved.",
    "check_passed": "The check confirmed your identity.",
    "check_mismatch": "The check failed: what you entered is not what your account holds. It is recorded and does "
    "not count.",
    "check_failed": "The check failed: the channel did not confirm your identity. It is recorded and does not count.",
    "class_taken": "Your account class is raised.",
    "language": "Language changed.",
}

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # only this origin's own files: a page can neither load nor send anything elsewhere (no CDN, offline)
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html",), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def formatter(request: Request) -> i18n.Formatter:
    found = getattr(request.state, "formatter", None)
    if found is None:
        found = request.state.formatter = i18n.Formatter(i18n.choose(request))
    return found


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """The template rendered for this request, with its CSRF cookie set when it is new."""
    fmt = formatter(request)
    context = {
        "request": request,
        "_": fmt.gettext,
        "fmt": fmt,
        "lang": fmt.locale,
        "html_lang": fmt.html_lang,
        "csrf_field": security.CSRF_FIELD,
        "csrf_token": security.csrf_token(request),
        "viewer": security.viewer_of(request),
        "path": request.url.path,
        "notice": NOTICES.get(request.cookies.get(NOTICE_COOKIE, "")),
        **values,
    }
    html = environment.get_template(template).render(context)
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    security.keep_csrf(response, request)
    return response


AMOUNT_INVALID = (
    "The amount is not valid: enter a number greater than zero with at most two decimal places, such as 66.00."
)
FORM_SENT = "This form was already sent with other values. Reload the page and try again."
PROBLEMS = {
    "bill_range_invalid": "The start date is after the end date.",
    "unknown_transaction_kind": "There is no such kind of transaction: choose a kind from the list.",
    "assessment_limit_reached": "You have taken the risk questionnaire three times today. Please try again tomorrow.",
    "invalid_credentials": "The mobile number or password is wrong.",
    "too_many_login_attempts": "Too many attempts. Please wait a while and try again.",
    "rate_limited": "Too many attempts. Please wait a while and try again.",
    "registration_refused": "We cannot open this account. If you already have one, log in instead.",
    "id_number_already_registered": "We cannot open this account. If you already have one, log in instead.",
    "phone_already_registered": "We cannot open this account. If you already have one, log in instead.",
    "invalid_id_number": "The resident ID number is not valid.",
    "customer_under_age": "You must be 18 or over.",
    "invalid_phone": "The mobile number is not valid.",
    "invalid_name": "Please enter your name as on your ID card.",
    "weak_password": "The password is too weak: use a longer one.",
    "invalid_card_number": "The card number is not valid.",
    "card_already_bound": "This card is already bound.",
    "insufficient_funds": "Not enough money in the wallet.",
    "insufficient_units": "You do not hold that many units.",
    "limit_exceeded": "This is over your account's limit.",
    "wallet_class_too_low": "Your account class does not allow this yet.",
    "wallet_unverified": "Verify your identity before topping up or withdrawing.",
    "borrower_unverified": "Verify your identity before borrowing.",
    "payment_password_invalid": "The password is wrong.",
    "qr_code_expired": "This QR code has expired.",
    "qr_code_not_payable": "This QR code cannot be paid.",
    "fast_redemption_cap_exceeded": "Fast redemption is capped at 10,000 CNY a day; choose normal.",
    "wallet_not_empty": "Empty the wallet before closing the account.",
    "account_has_holdings": "Settle everything in your name before closing: repay loans, move brokerage cash out and "
    "sell shares, redeem fund and money-market units, let pending orders finish, and end or cancel policies.",
    "payment_declined": "Risk control declined this payment.",
    "customer_not_found": "There is no such customer.",
    "merchant_balance_insufficient": "The wallet and the refund funds cannot pay this refund: its takings were "
    "settled to the bank account.",
    "refund_funds_insufficient": "The refund funds do not have that much available.",
    "amount_above_order_maximum": "The amount is above the largest single bank order, 5,000,000.00 CNY.",
    # supply-chain finance (the merchant portal's /merchant/supply-chain)
    "payables_funds_insufficient": "The payables funds do not have that much available.",
    "supplier_not_found": "There is no merchant with that id to be the supplier.",
    "supplier_is_core_enterprise": "A core enterprise cannot be its own supplier.",
    "invalid_maturity_date": "The maturity date must be 1 to 365 days after today.",
    "credit_limit_exceeded": "Confirming this payable would pass the core enterprise's credit limit.",
    "invoice_already_confirmed": "This invoice is already confirmed with other terms.",
    "receivable_already_financed": "This receivable is already financed.",
    "receivable_matured": "This receivable has matured: it can no longer be financed.",
    "receivable_not_open": "This receivable is already paid.",
    "receivable_not_due": "This receivable is not due yet: it can be paid from its maturity date.",
    # return-shipping insurance (the merchant portal's /merchant/return-shipping)
    "return_cover_expired": "The cover's term has ended: the return can no longer be confirmed.",
    "return_shipping_policy_not_found": "There is no such covered order.",
    # the platform's generic codes (`puhui.errors`, `money`, the API's validation): one sentence each, since
    # their details vary ("1.001 has more than 2 decimal places", "amount must be greater than zero")
    "invalid_amount": AMOUNT_INVALID,
    "invalid_input": "Please check what you entered: a value is not valid.",
    "invalid_request": "Please fill in every field with a valid value.",
    "conflict": "That cannot be done now.",
    "forbidden": "Your account may not do this.",
    "idempotency_key_reused": FORM_SENT,
    "invalid_idempotency_key": FORM_SENT,
    "form_too_large": "The form is too large.",
    # what the app's forms can meet from identity, payments, wealth and lending (`code = "…"` of their errors)
    "customer_closed": "That account is closed.",
    "channel_already_verified": "This channel has already confirmed your identity.",
    "card_not_found": "Choose one of your bound bank cards.",
    "too_many_verification_attempts": "Too many checks failed today. Please try again tomorrow.",
    "verification_in_progress": "A check of this channel is running. Please try again in a moment.",
    "verification_provider_unavailable": "Identity checks are not available just now. Please try again later.",
    "insufficient_verifications": "Not enough identity checks have passed for this class.",
    "tier_not_higher": "The account is already at this class or higher.",
    "consent_required": "Tick the consents needed to open an account.",
    "biometric_consent_required": "Face recognition needs your separate consent: tick the box to give it.",
    "invalid_address": "The address is not valid.",
    "current_password_invalid": "The password is wrong.",
    "merchant_suspended": "This merchant cannot be paid at the moment.",
    "verification_not_proven": "Enter your password to pay this amount.",
    "challenge_open": "Confirm this payment first: it is waiting for your answer.",
    "challenge_failed": "The answer is wrong.",
    "payment_under_review": "Risk control holds this payment for a review; it was not made.",
    "bank_channel_unavailable": "The bank did not answer. Check your orders before you try again.",
    "bank_channel_error": "The bank could not take the order. Please try again later.",
    "invalid_bank_order": "The bank cannot take this order.",
    "fund_closed": "This fund is closed to orders.",
    "fund_not_found": "There is no such fund.",
    "invalid_fund_order": "The order is not valid: check the amount or the units.",
    "questionnaire_required": "Take the risk questionnaire before buying a fund (or again: yours has expired).",
    "unsuitable_product": "This fund's risk level is above yours: the purchase is refused.",
    "no_eligible_funds": "No fund on offer suits your risk level yet.",
    "invalid_answers": "Please answer every question.",
    "repayment_invalid": AMOUNT_INVALID,
    "payoff_amount_mismatch": "An early repayment in full pays exactly the payoff amount shown.",
    "partial_covers_loan": "This pays the whole loan: choose to repay in full instead.",
    "amount_out_of_range": "The amount is outside what this product lends.",
    "term_out_of_range": "The term is outside what this product offers.",
}
"""API problem codes a person is told in their own language. Any other code, on a page of the customer
app in Chinese, is told by its status (`FALLBACK`), never in the API's English words."""

ERROR_TITLES = {
    400: "The request could not be understood",
    401: "Please log in",
    403: "You may not open this page",
    404: "Page not found",
    409: "That cannot be done now",
    422: "Please check what you entered",
}


def error_page(request: Request, status: int, detail: str = "") -> HTMLResponse:
    """The 403/404 (or other) page, in the visitor's language."""
    return page(
        request, "error.html", status=status, status_code=status, title=ERROR_TITLES.get(status, "Error"), detail=detail
    )


FALLBACK = "That could not be done. Please check what you entered and try again."
"""An API problem of a code the app does not know, told to a customer whose language is not the API's."""


def say(request: Request, code: str, detail: str, status: int | None = None) -> str:
    """What to tell the person about an API problem, in their language when its code is a known one;
    a 404 (`status`, or the generic `not_found` code) of any other code is told as not found, naming the
    link's id the API named. Another code is told in the API's English words only where the page is in
    English or is a staff page; a customer's page in Chinese says `ERROR_TITLES` of its status or `FALLBACK`."""
    fmt = formatter(request)
    message = PROBLEMS.get(code)
    if message:
        return fmt.gettext(message)
    if status == 404 or code == "not_found":
        return not_found(request, asked_for(request, detail))
    if fmt.locale == "en" or not is_customer_page(request):
        return detail
    return fmt.gettext(ERROR_TITLES.get(status or 0, FALLBACK))


def is_customer_page(request: Request) -> bool:
    path = request.url.path
    return path == "/app" or path.startswith("/app/")


def not_found(request: Request, ident: str | None = None) -> str:
    """That `ident` (or what the page asked for) was not found, in the visitor's language; the API's own
    detail is English ("loan ln_… not found") and is not shown."""
    _ = formatter(request).gettext
    return _("%(id)s was not found.", id=ident) if ident else _("What you asked for was not found.")


def asked_for(request: Request, detail: str) -> str | None:
    """The id in the page's link that the API's detail names (the one not found), if it names one."""
    given = [str(value) for value in request.path_params.values()]
    return next((value for value in reversed(given) if value and value in detail), None)
