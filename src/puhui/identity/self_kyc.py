"""A customer's own real-name checks (自助实名认证), through an external provider (`verifier`).

The customer names a channel and gives what it checks: the name and ID number as they type them (public
security, social security, tax), their mobile number (the operator's three elements), one of their bound cards
(the bank card's four elements: name, ID number, card, reserved phone) or a face liveness token. What they type
is compared with their own record in the vault; a mismatch fails without asking the provider. Otherwise the
provider is asked about the customer's own identity only. The answer is recorded either way (`kyc.
record_verification`: a failed attempt is a fact), by the customer themself; a channel that already passed is
not run again (it counts once), and after `MAX_FAILURES_PER_DAY` failed checks of their own in a China day the
next is refused until the day ends, before any provider is asked. Nothing typed is stored: the verification row
holds the channel, the provider's reference and the result; the answer shows what was checked masked.

The wallet class then moves by `kyc.upgrade_tier`, which the customer calls for themself (`routes_self_kyc`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.identity import customers as customer_ops
from puhui.identity import kyc, pii
from puhui.identity.errors import CardNotFound, ChannelAlreadyVerified, TooManyVerificationAttempts
from puhui.identity.models import (
    MASKS,
    Actor,
    VerificationChannel,
    normalize_id_number,
    normalize_name,
    normalize_phone,
)
from puhui.identity.tables import bank_cards, verifications
from puhui.identity.vault import Vault
from puhui.identity.verifier import Answer, Check, Verifier, ask

MAX_FAILURES_PER_DAY = 5
RECORD_CHANNELS = (VerificationChannel.public_security, VerificationChannel.social_security, VerificationChannel.tax)
"""Channels that check the name and ID number the customer types against a public record."""


@dataclass(frozen=True, repr=False)
class Claim:
    """What the customer gave for one channel (repr hides it: personal information)."""

    channel: VerificationChannel
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    card_id: str | None = None
    liveness_token: str | None = None

    def normalized(self) -> Claim:
        """The claim with its typed values in the platform's form (422 `invalid_name`, `invalid_id_number`,
        `invalid_phone` when one is not a valid value at all: refused, not recorded)."""
        return Claim(
            self.channel,
            normalize_name(self.name) if self.name is not None else None,
            normalize_id_number(self.id_number) if self.id_number is not None else None,
            normalize_phone(self.phone) if self.phone is not None else None,
            self.card_id,
            self.liveness_token,
        )


def verify_self(uow: UnitOfWork, vault: Vault, verifier: Verifier | None, claim: Claim, actor: Actor) -> dict:
    """Run one check for the customer `actor` is and record its answer; the answer of `kyc.record_verification`
    with `reason` (why it failed), `checked` (what was checked, masked) and where the customer now stands."""
    customer_id = actor.id
    claim = claim.normalized()
    row = customer_ops.require_active(uow.connection, customer_id, lock=True)  # one check at a time
    if claim.channel.value in kyc.passed_channels(uow.connection, customer_id):
        raise ChannelAlreadyVerified(f"{claim.channel.value} has already confirmed your identity: it counts once")
    card = _bound_card(uow.connection, vault, customer_id, claim.card_id) if claim.card_id is not None else None
    _check_attempts(uow.connection, customer_id)
    own = customer_ops.open_fields(vault, row)
    check = Check(
        claim.channel,
        own["name"] or "",
        own["id_number"] or "",
        phone=claim.phone or own["phone"],
        card_number=card,
        liveness_token=claim.liveness_token,
    )
    answer = ask(verifier, check) if _matches(claim, own) else _mismatch(claim.channel)
    recorded = kyc.record_verification(uow, customer_id, claim.channel, answer.reference, answer.passed, actor)
    eligible = kyc.eligible_tier(uow.connection, customer_id)
    current = kyc.tier_of(uow.connection, customer_id)
    return {
        "customer_id": customer_id,
        "verification": recorded,
        "reason": answer.reason,
        "checked": _checked(claim, card),
        "passed_channels": sorted(kyc.passed_channels(uow.connection, customer_id)),
        "eligible_tier": eligible.name if eligible else None,
        "tier": current.name if current else None,
    }


def failures_today(connection: Connection, customer_id: str) -> int:
    """The customer's own failed checks in today's China day (staff's records are not theirs)."""
    start, end = clock.day_bounds(clock.business_date())
    c = verifications.c
    return connection.execute(
        select(func.count()).where(
            c.customer_id == customer_id,
            c.recorded_by == customer_id,
            c.passed == False,  # noqa: E712
            c.at >= start,
            c.at < end,
        )
    ).scalar_one()


def _check_attempts(connection: Connection, customer_id: str) -> None:
    if failures_today(connection, customer_id) < MAX_FAILURES_PER_DAY:
        return
    _, end = clock.day_bounds(clock.business_date())
    wait = -(-(end - clock.now_micros()) // 1_000_000)
    raise TooManyVerificationAttempts(
        f"{MAX_FAILURES_PER_DAY} identity checks failed today: try again after midnight (China time)",
        retry_after_seconds=max(wait, 1),
    )


def _bound_card(connection: Connection, vault: Vault, customer_id: str, card_id: str) -> str:
    """The clear number of the customer's bound card `card_id`; `CardNotFound` for anyone else's or none."""
    found = connection.execute(
        select(bank_cards.c.card_sealed).where(
            bank_cards.c.id == card_id, bank_cards.c.customer_id == customer_id, bank_cards.c.status == "bound"
        )
    ).first()
    if found is None or found[0] is None:
        raise CardNotFound(f"card {card_id} is not bound to you")
    number: str = vault.open(found[0], field=pii.FIELD_CARD, owner=pii.card_owner(customer_id, card_id))
    return number


def _matches(claim: Claim, own: dict[str, str | None]) -> bool:
    """Whether what the customer typed is what their record holds (a card or a face has nothing typed)."""
    typed = {"name": claim.name, "id_number": claim.id_number, "phone": claim.phone}
    return all(own[field] == value for field, value in typed.items() if value is not None)


def _mismatch(channel: VerificationChannel) -> Answer:
    """A failed check of input that is not the customer's own: the platform's reference, no provider asked."""
    return Answer(
        False, f"PUHUI-{channel.value.upper().replace('_', '-')}-{secrets.token_hex(6).upper()}", "details_mismatch"
    )


def _checked(claim: Claim, card: str | None) -> dict[str, str]:
    shown = {"name": claim.name, "id_number": claim.id_number, "phone": claim.phone, "card_number": card}
    return {field: MASKS[field](value) for field, value in shown.items() if value is not None}
