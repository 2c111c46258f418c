"""External identity verification providers (外部验证渠道) for a customer's own real-name checks (自助实名认证).

A provider answers one `Check`: the identity elements of one channel (the public security check of name and
ID number 公安部身份核查, UnionPay's bank card four-element check 银行卡四要素 of name, ID number, card and
reserved phone, the mobile operator's three-element check 运营商三要素, face liveness 人脸识别, the social
security and tax records) with an `Answer`: passed or not, and the provider's own reference (流水号), which holds
no personal data. `self_kyc` builds the check from the customer's own record in the vault, so a provider is
only ever asked about the customer's own identity; it asks with no transaction open (a provider takes seconds)
and records the answer, passed or failed, afterwards.

The app's provider is `app.state.verifier`, made once by `configured(settings)`: the one PUHUI_VERIFICATION_PROVIDER
names (`module:factory`, the factory called with the settings), else the sandbox's in the sandbox
(`sandbox_verifier`), else none: self-verification then answers 503 `verification_provider_unavailable`.
A provider that cannot answer (a timeout, its service down) raises `VerificationProviderUnavailable`: nothing
is recorded and the customer may try again.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Literal, Protocol

from puhui.identity.errors import VerificationProviderInvalid, VerificationProviderUnavailable
from puhui.identity.models import VerificationChannel
from puhui.settings import Settings

SELF_SERVICE = (
    VerificationChannel.public_security,
    VerificationChannel.bank_card,
    VerificationChannel.mobile_operator,
    VerificationChannel.face,
    VerificationChannel.social_security,
    VerificationChannel.tax,
)
"""The channels a customer runs themself; `in_person` (面对面核验) is the counter's, recorded by staff."""

Reason = Literal["details_mismatch", "not_confirmed"]
REASONS: tuple[Reason, ...] = ("details_mismatch", "not_confirmed")
REFERENCE = re.compile(r"^[A-Za-z0-9._:/\-]{1,128}$")  # as a reference staff record (`VerificationIn`)


@dataclass(frozen=True, repr=False)
class Check:
    """What a provider is asked (repr hides it: personal information). `name` and `id_number` are the
    customer's own, from the vault; `phone`, `card_number` and `liveness_token` as the channel needs them."""

    channel: VerificationChannel
    name: str
    id_number: str
    phone: str | None = None
    card_number: str | None = None
    liveness_token: str | None = None


@dataclass(frozen=True)
class Answer:
    """A provider's answer: `reference` is its own (no personal data); `reason` says why it did not pass."""

    passed: bool
    reference: str
    reason: Reason | None = None


SANDBOX = "puhui.identity.sandbox_verifier:sandbox"
"""The provider in the sandbox when none is named (named, not imported: it imports this module)."""


class Verifier(Protocol):
    """An identity verification provider."""

    name: str

    def verify(self, check: Check) -> Answer:
        """The provider's answer; `VerificationProviderUnavailable` when it cannot give one."""
        ...


def configured(settings: Settings) -> Verifier | None:
    """The provider self-verification asks under `settings` (see the module's doc), or None."""
    named = settings.verification_provider or (SANDBOX if settings.sandbox else None)
    if not named:
        return None
    module, _, factory = named.partition(":")
    try:
        made: Verifier = getattr(importlib.import_module(module), factory)(settings)
    except (ImportError, AttributeError, ValueError) as error:
        raise VerificationProviderInvalid(
            f"PUHUI_VERIFICATION_PROVIDER={named!r} names no `module:factory`: {error}"
        ) from None
    if getattr(made, "sandbox_only", False) and not settings.sandbox:
        raise VerificationProviderInvalid(
            "the sandbox's verifier confirms anyone: it runs only with PUHUI_SANDBOX=true"
        )
    return made


def ask(verifier: Verifier | None, check: Check) -> Answer:
    """The provider's answer, its reference checked (a reference the verifications table can hold) and its reason
    one of `REASONS` (a failure it gives no known reason for is `not_confirmed`; a pass has none). A network call:
    the caller holds no transaction while it runs (`self_kyc`)."""
    if verifier is None:
        raise VerificationProviderUnavailable("self-verification needs a provider: none is configured")
    answer = verifier.verify(check)
    if not REFERENCE.match(answer.reference):
        raise VerificationProviderUnavailable(f"the provider {verifier.name!r} answered without a usable reference")
    if answer.passed:
        return answer if answer.reason is None else Answer(True, answer.reference)
    return answer if answer.reason in REASONS else Answer(False, answer.reference, "not_confirmed")
