"""The sandbox's identity verification provider (沙箱核验渠道): every channel confirms the identity it is asked
about, except for reserved values that always fail, so a failure can be tried on purpose:

- the bank card `FAILING_CARD` (Luhn-valid; bind it, then run the bank card check with its id): the four-element
  check is not confirmed, as for a card the bank reports lost;
- the liveness token `FAILING_LIVENESS` on the face check: no live face was seen.

What the customer types (name and ID number, phone) is compared with their own record by `self_kyc` before any
provider is asked; a mismatch fails there. So in the sandbox a check passes exactly when the customer's input is
their own and no reserved value is used: deterministic, with no network. The answer's reference is the
provider's serial number, `SBX-<channel>-<12 hex digits>`, which holds nothing personal.

It confirms anyone, so `verifier.configured` refuses it outside the sandbox (`sandbox_only`).
"""

from __future__ import annotations

import secrets

from puhui.identity.models import VerificationChannel
from puhui.identity.verifier import Answer, Check

FAILING_CARD = "6222020000000009993"
FAILING_LIVENESS = "liveness-fail"
PREFIXES = {
    VerificationChannel.public_security: "GA",  # 公安
    VerificationChannel.bank_card: "UP",  # 银联
    VerificationChannel.mobile_operator: "MO",
    VerificationChannel.face: "FACE",
    VerificationChannel.social_security: "SI",  # 社保
    VerificationChannel.tax: "TAX",
    VerificationChannel.in_person: "IP",
}


class SandboxVerifier:
    name = "sandbox"
    sandbox_only = True

    def verify(self, check: Check) -> Answer:
        reference = f"SBX-{PREFIXES[check.channel]}-{secrets.token_hex(6).upper()}"
        if check.channel == VerificationChannel.bank_card and check.card_number == FAILING_CARD:
            return Answer(False, reference, "not_confirmed")
        if check.channel == VerificationChannel.face and check.liveness_token == FAILING_LIVENESS:
            return Answer(False, reference, "not_confirmed")
        return Answer(True, reference)


def sandbox(settings: object) -> SandboxVerifier:
    """The factory PUHUI_VERIFICATION_PROVIDER may name (`puhui.identity.sandbox_verifier:sandbox`)."""
    return SandboxVerifier()
