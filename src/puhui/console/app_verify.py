"""The customer's own real-name verification (自助实名认证) on the Me page (`app_me`): a form per channel not yet
passed (name and ID number for the public security, social security and tax records, the mobile number for the
operator's check, a bound card for the bank card's four elements, a liveness token for face recognition in the
sandbox), and taking the account class the passed checks allow. Face recognition processes biometrics (敏感个人信息):
until the customer has given their separate consent (单独同意, PIPL art. 29), its form carries a box to tick
beside a plain explanation, sent as the check's `biometrics_consent` and recorded by the API as a consent; the
Consents section shows it standing and withdraws it. Each form is one call of the API's
`/v1/customers/me/verifications` or `/v1/customers/me/tier`, idempotent by the form's key; a check that fails is
recorded by the API and said as a notice, a refusal (bad input, a channel already passed, no consent) on the
page."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request

from puhui.console import security
from puhui.identity.verifier import SELF_SERVICE

FIELDS = {
    "public_security": ("name", "id_number"),
    "social_security": ("name", "id_number"),
    "tax": ("name", "id_number"),
    "mobile_operator": ("phone",),
    "bank_card": ("card_id",),
    "face": ("liveness_token",),
}
"""What each channel's form sends (the API's body for that channel)."""
OUTCOMES = {None: "check_passed", "details_mismatch": "check_mismatch", "not_confirmed": "check_failed"}
"""The notice (`render.NOTICES`) after a check, by the API's `reason`: passed, not the customer's own details,
not confirmed by the channel."""


def check_body(form: dict[str, str]) -> dict[str, str | bool]:
    """The API's body for the channel the form names: its own fields only, and on the face check whether its
    separate-consent box is ticked."""
    channel = form.get("channel", "")
    body: dict[str, str | bool] = {"channel": channel}
    body.update({name: form.get(name, "") for name in FIELDS.get(channel, ())})
    if channel == "face":
        body["biometrics_consent"] = form.get("biometrics_consent") in ("on", "true")
    return body


def has_biometrics_consent(customer: dict) -> bool:
    """Whether the customer's separate consent to process their biometrics stands (the latest word a grant)."""
    return any(c["purpose"] == "biometrics" and c["sensitive"] and c["granted"] for c in customer["consents"])


def verification_context(request: Request, customer: dict) -> dict[str, Any]:
    """What the Me page's verification section needs beyond the customer: the channels still to run (none
    without a provider; face only with the sandbox's, whose liveness token the page stands in for), a key per
    form, the bound cards, whether the separate consent to biometrics stands and whether a higher class can be
    taken."""
    verifier = getattr(request.app.state, "verifier", None)
    passed = sorted({v["channel"] for v in customer["verifications"] if v["passed"]})
    sandbox = bool(getattr(verifier, "sandbox_only", False))
    channels = [
        c.value for c in SELF_SERVICE if c.value not in passed and verifier is not None and (c != "face" or sandbox)
    ]
    current = customer["tier"]["class"] if customer["tier"] else None
    eligible = customer.get("eligible_tier")
    order = ("I", "II", "III")
    return {
        "self_service": verifier is not None,
        "passed_channels": passed,
        "open_channels": channels,
        "check_keys": {channel: security.form_key() for channel in channels},
        "tier_key": security.form_key(),
        "bound_cards": [c for c in customer["cards"] if c["status"] == "bound"],
        "liveness_token": f"liveness-{secrets.token_hex(6)}",
        "biometrics_consent": has_biometrics_consent(customer),
        "can_take": eligible
        if eligible and (current is None or order.index(eligible) > order.index(current))
        else None,
    }
