"""A customer's own real-name checks (自助实名认证), through an external provider (`verifier`).

The customer names a channel and gives what it checks: the name and ID number as they type them (public
security, social security, tax), their mobile number (the operator's three elements), one of their bound cards
(the bank card's four elements: name, ID number, card, reserved phone) or a face liveness token. What they type
is compared with their own record in the vault; a mismatch fails without asking the provider. Otherwise the
provider is asked about the customer's own identity only. The answer is recorded either way, with why it failed
(`kyc.record_verification`: a failed attempt is a fact), by the customer themself; a channel that already passed
is not run again (it counts once), and after `MAX_FAILURES_PER_DAY` failed checks of their own in a China day the
next is refused until the day ends, before any provider is asked. Face recognition (人脸识别) processes biometrics
(敏感个人信息): it needs the customer's separate consent (单独同意, PIPL art. 28-29) to `biometrics`, standing or
given with the check (then recorded with it, as a consent row); without it nothing is asked or recorded. Nothing
typed is stored: the verification row holds the channel, the provider's reference, the result and its reason;
the answer shows what was checked masked.

A provider is a network call (seconds), so a check runs in steps and the provider is asked inside no
transaction: `prepare` reads (the customer active, the channel open, the card, today's failures, the consent, the
vault's comparison) and builds the `Check`; `hold` marks the check running (核验进行中) in a short unit of work of its
own; `ask` asks the provider, no transaction open; `record` takes the customer's row, checks again what may have
changed meanwhile (409 `channel_already_verified`, 429, the consent) and records the answer; `release` ends the
hold, whatever happened. One check a channel runs at a time (the same request sent twice at once among them:
409 `verification_in_progress`, before asking), and today's limit counts the checks still running, so requests
sent side by side ask the provider no more often than requests sent one after another.

The wallet class then moves by `kyc.upgrade_tier`, which the customer calls for themself (`routes_self_kyc`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select

from puhui import clock
from puhui.db import UnitOfWork, reading
from puhui.identity import consent, kyc, pii
from puhui.identity import customers as customer_ops
from puhui.identity import verifier as provider
from puhui.identity.errors import (
    BiometricConsentRequired,
    CardNotFound,
    ChannelAlreadyVerified,
    TooManyVerificationAttempts,
    VerificationInProgress,
)
from puhui.identity.models import (
    MASKS,
    Actor,
    ConsentPurpose,
    VerificationChannel,
    normalize_id_number,
    normalize_name,
    normalize_phone,
)
from puhui.identity.tables import bank_cards, verification_checks_running, verifications
from puhui.identity.vault import Vault
from puhui.identity.verifier import Answer, Check, Verifier

MAX_FAILURES_PER_DAY = 5
RECORD_CHANNELS = (VerificationChannel.public_security, VerificationChannel.social_security, VerificationChannel.tax)
"""Channels that check the name and ID number the customer types against a public record."""
BIOMETRIC_CHANNELS = (VerificationChannel.face,)
"""Channels that process biometrics (生物识别信息): each needs the separate consent to `biometrics`."""
HOLD_SECONDS = 120
"""How long a running check holds its channel: a hold older than this is its request's, gone (a crash, a provider
that never answered), and the next check takes it over."""
RETRY_SECONDS = 2
"""What a check refused as `verification_in_progress` is told to wait: a provider answers in seconds."""


@dataclass(frozen=True, repr=False)
class Claim:
    """What the customer gave for one channel (repr hides it: personal information), and on the face check
    whether they give their separate consent to process their biometrics with it (`biometrics_consent`)."""

    channel: VerificationChannel
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    card_id: str | None = None
    liveness_token: str | None = None
    biometrics_consent: bool = False

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
            self.biometrics_consent,
        )


@dataclass(frozen=True, repr=False)
class ReadyCheck:
    """A check `prepare` found may run (repr hides it: personal information): the customer's `check` for the
    provider, or the answer already `decided` (what was typed is not theirs: no provider is asked), and the clear
    number of the card checked, shown masked."""

    customer_id: str
    claim: Claim
    check: Check | None
    decided: Answer | None
    card: str | None


def prepare(engine: Engine, vault: Vault, claim: Claim, actor: Actor) -> ReadyCheck:
    """Step one, reading only: the customer `actor` is may run this check (`CustomerClosed`, 409
    `channel_already_verified`, 404 `card_not_found`, 429 `too_many_verification_attempts`, 422
    `biometric_consent_required`), and what to ask the provider, or the mismatch that needs no provider."""
    customer_id = actor.id
    claim = claim.normalized()
    with reading(engine) as connection:
        row = customer_ops.require_active(connection, customer_id)
        _check_open(connection, customer_id, claim.channel)
        card = _bound_card(connection, vault, customer_id, claim.card_id) if claim.card_id is not None else None
        _check_attempts(connection, customer_id)
        _check_consent(connection, customer_id, claim)
    own = customer_ops.open_fields(vault, row)
    if not _matches(claim, own):
        return ReadyCheck(customer_id, claim, None, _mismatch(claim.channel), card)
    check = Check(
        claim.channel,
        own["name"] or "",
        own["id_number"] or "",
        phone=claim.phone or own["phone"],
        card_number=card,
        liveness_token=claim.liveness_token,
    )
    return ReadyCheck(customer_id, claim, check, None, card)


@dataclass(frozen=True)
class Hold:
    """A running check's hold on its channel (`hold`), and the token only its own request releases it by."""

    customer_id: str
    channel: VerificationChannel
    token: str


def hold(uow: UnitOfWork, ready: ReadyCheck) -> Hold | None:
    """The check marked running before its provider is asked, with the customer's row locked: refused while a check
    of the channel runs (409 `verification_in_progress`, `retry_after_seconds`), and while today's failures and the
    checks still running reach the limit (429 when the failures alone do). None when no provider is asked (what
    was typed is not the customer's own: the answer is decided)."""
    if ready.decided is not None:
        return None
    customer_id, channel = ready.customer_id, ready.claim.channel
    customer_ops.require_active(uow.connection, customer_id, lock=True)
    _check_open(uow.connection, customer_id, channel)
    now = clock.now_micros()
    running = _running(uow.connection, customer_id, now)
    if channel.value in running:
        raise _in_progress(f"a {channel.value} check of yours is running now", running[channel.value], now)
    _check_attempts(uow.connection, customer_id)
    if running and failures_today(uow.connection, customer_id) + len(running) >= MAX_FAILURES_PER_DAY:
        raise _in_progress("your checks running now may reach today's limit", min(running.values()), now)
    c = verification_checks_running.c
    gone = or_(c.channel == channel.value, c.started_at <= now - HOLD_SECONDS * 1_000_000)  # this one's is stale
    uow.execute(delete(verification_checks_running).where(c.customer_id == customer_id, gone))
    held = Hold(customer_id, channel, secrets.token_hex(16))
    uow.execute(
        insert(verification_checks_running).values(
            customer_id=customer_id, channel=channel.value, token=held.token, started_at=now
        )
    )
    return held


def release(uow: UnitOfWork, held: Hold) -> None:
    """The hold ended (the answer recorded or refused, the provider unable to answer); another's is left alone."""
    c = verification_checks_running.c
    uow.execute(
        delete(verification_checks_running).where(
            c.customer_id == held.customer_id, c.channel == held.channel.value, c.token == held.token
        )
    )


def ask(verifier: Verifier | None, ready: ReadyCheck) -> Answer:
    """Step two, with no transaction open (a provider takes seconds): the provider's answer, or the one already
    decided. `VerificationProviderUnavailable` (503) when there is none or it cannot answer: nothing is recorded."""
    if ready.decided is not None:
        return ready.decided
    assert ready.check is not None
    return provider.ask(verifier, ready.check)


def record(uow: UnitOfWork, ready: ReadyCheck, answer: Answer, actor: Actor) -> dict:
    """Step three, one unit of work: with the customer's row locked, what may have changed since `prepare` is
    checked again (the channel passed meanwhile: 409; today's failures reached the limit: 429; the consent
    withdrawn: 422), the consent given with the check recorded, then the answer. The answer of
    `kyc.record_verification` with `reason` (why it failed), `checked` (what was checked, masked) and where the
    customer now stands."""
    customer_id, claim = ready.customer_id, ready.claim
    customer_ops.require_active(uow.connection, customer_id, lock=True)  # one check at a time
    _check_open(uow.connection, customer_id, claim.channel)
    _check_attempts(uow.connection, customer_id)
    _check_consent(uow.connection, customer_id, claim)
    if claim.biometrics_consent and not _has_biometrics_consent(uow.connection, customer_id):
        consent.record_consent(uow, customer_id, ConsentPurpose.biometrics, granted=True, sensitive=True, actor=actor)
    recorded = kyc.record_verification(
        uow, customer_id, claim.channel, answer.reference, answer.passed, actor, answer.reason
    )
    eligible = kyc.eligible_tier(uow.connection, customer_id)
    current = kyc.tier_of(uow.connection, customer_id)
    return {
        "customer_id": customer_id,
        "verification": recorded,
        "reason": answer.reason,
        "checked": _checked(claim, ready.card),
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


def _running(connection: Connection, customer_id: str, now: int) -> dict[str, int]:
    """The customer's checks running now, channel to when it started (holds older than `HOLD_SECONDS` are gone)."""
    c = verification_checks_running.c
    found = connection.execute(
        select(c.channel, c.started_at).where(
            c.customer_id == customer_id, c.started_at > now - HOLD_SECONDS * 1_000_000
        )
    )
    return {channel: started for channel, started in found}


def _in_progress(why: str, started: int, now: int) -> VerificationInProgress:
    left = -(-(started + HOLD_SECONDS * 1_000_000 - now) // 1_000_000)
    wait = max(1, min(RETRY_SECONDS, left))
    return VerificationInProgress(f"{why}: try again in {wait} s", retry_after_seconds=wait)


def _check_open(connection: Connection, customer_id: str, channel: VerificationChannel) -> None:
    if channel.value in kyc.passed_channels(connection, customer_id):
        raise ChannelAlreadyVerified(f"{channel.value} has already confirmed your identity: it counts once")


def _check_attempts(connection: Connection, customer_id: str) -> None:
    if failures_today(connection, customer_id) < MAX_FAILURES_PER_DAY:
        return
    _, end = clock.day_bounds(clock.business_date())
    wait = -(-(end - clock.now_micros()) // 1_000_000)
    raise TooManyVerificationAttempts(
        f"{MAX_FAILURES_PER_DAY} identity checks failed today: try again after midnight (China time)",
        retry_after_seconds=max(wait, 1),
    )


def _check_consent(connection: Connection, customer_id: str, claim: Claim) -> None:
    """A biometric channel needs the separate consent to `biometrics`: given with the check, or standing."""
    if claim.channel not in BIOMETRIC_CHANNELS or claim.biometrics_consent:
        return
    if not _has_biometrics_consent(connection, customer_id):
        raise BiometricConsentRequired(
            "face recognition processes your biometrics (sensitive personal information): give your separate "
            "consent to `biometrics` first, or with the check (`biometrics_consent: true`)",
            missing=[ConsentPurpose.biometrics.value],
        )


def _has_biometrics_consent(connection: Connection, customer_id: str) -> bool:
    return consent.has_consent(connection, customer_id, ConsentPurpose.biometrics, sensitive=True)


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
