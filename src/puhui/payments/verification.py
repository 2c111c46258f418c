"""交易验证 (payment verification): a dynamic-QR payment's daily limit follows how strongly the payer was
verified, and that strength is what the platform itself verified in the request, never what the request
says. The session token is one factor (level C, 1,000 CNY a day); the payer's password checked again in
the payment makes two (level B, 5,000). Level A needs a digital certificate, which Puhui does not issue:
asking for it is refused rather than believed."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictStr
from sqlalchemy import Engine

from puhui.identity.sessions import confirm_password
from puhui.payments.errors import VerificationNotProven, VerificationUnsupported
from puhui.payments.models import VerificationStrength

PaymentPassword = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=256,
        description=("the payer's password, checked again in this payment: the second factor that `two_factors` needs"),
    ),
]


def proven(
    engine: Engine, customer_id: str, claimed: VerificationStrength, password: str | None
) -> VerificationStrength:
    """The strength the platform verified: `claimed` once its proof checks out (a wrong password is
    refused and counts towards the log-in lock like a wrong log-in)."""
    if claimed == VerificationStrength.certificate:
        raise VerificationUnsupported("pay with two_factors (the password) or one_factor")
    if claimed == VerificationStrength.two_factors:
        if password is None:
            raise VerificationNotProven("two_factors needs the payer's password in the payment request")
        confirm_password(engine, customer_id, password)
    return claimed
