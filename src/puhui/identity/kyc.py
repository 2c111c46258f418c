"""Know your customer (实名认证): independent verifications and wallet tiers (支付账户分类).

A verification is one answer from one external channel (public security ID check, bank card, mobile
operator, face, ...), kept with its reference and time. A customer's *eligible* tier follows the
number of distinct channels that passed (I: 1, II: 3, III: 5 — `TIER_RULES`); their *actual* tier
moves only by `upgrade_tier`, an operation of its own with its own record in `tier_changes`.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, update

from puhui import clock
from puhui.db import UnitOfWork
from puhui.db.prepared import Prepared, Read, run
from puhui.events import outbox
from puhui.identity import customers as customer_ops
from puhui.identity.errors import CustomerNotFound, InsufficientVerifications, TierNotHigher, VerificationExists
from puhui.identity.models import TIER_RULES, Actor, VerificationChannel, WalletTier, tier_for, tier_name
from puhui.identity.tables import customers, tier_changes, verifications
from puhui.money import format_minor

TOPIC = "identity"

__all__ = ["TIER_RULES", "tier_of", "eligible_tier", "record_verification", "upgrade_tier", "passed_channels"]


_TIER = Prepared(select(customers.c.tier).where(customers.c.id == bindparam("id")))  # every payment reads it


def tier_read(customer_id: str) -> Read:
    """The read `tier_of` makes, to be read ahead (`puhui.db.prepared.read_ahead`)."""
    return _TIER, {"id": customer_id}


def tiers_sql(customer_ids: list[str]) -> tuple[str, tuple[list[str]]]:
    """Driver SQL (PostgreSQL) reading these customers' tiers, (id, tier) rows, for a caller to send with
    its own statements: what a group-commit batch's payers were when it began (a guess's ground, never
    a payment's check: that reads `tier_of` in its own unit of work)."""
    return "SELECT id, tier FROM customers WHERE id = ANY(%s)", (customer_ids,)


def tier_of(connection: Connection, customer_id: str) -> WalletTier | None:
    """The customer's current wallet tier; None while unverified (no payment account class yet).
    Payments enforce `TIER_RULES[tier]` limits from this (one column: every payment reads it)."""
    found = run(connection, *tier_read(customer_id)).first()
    if found is None:
        raise CustomerNotFound(f"customer {customer_id!r} does not exist")
    return WalletTier(found[0]) if found[0] is not None else None


def passed_channels(connection: Connection, customer_id: str) -> set[str]:
    rows = connection.execute(
        select(verifications.c.channel)
        .where(verifications.c.customer_id == customer_id, verifications.c.passed == True)  # noqa: E712
        .distinct()
    )
    return {r[0] for r in rows}


def eligible_tier(connection: Connection, customer_id: str) -> WalletTier | None:
    return tier_for(len(passed_channels(connection, customer_id)))


def record_verification(
    uow: UnitOfWork,
    customer_id: str,
    channel: VerificationChannel,
    reference: str,
    passed: bool,
    actor: Actor,
    reason: str | None = None,
) -> dict:
    """Record one channel's answer, with why it failed (`reason`, a `verifier.Reason`; None when it passed or
    nobody said). A channel reference is recorded once, for one customer."""
    customer_ops.require_active(uow.connection, customer_id, lock=True)
    taken = uow.execute(
        select(verifications.c.seq).where(
            verifications.c.channel == channel.value, verifications.c.reference == reference
        )
    ).first()
    if taken:
        raise VerificationExists()
    now = clock.now_micros()
    uow.execute(
        verifications.insert().values(
            customer_id=customer_id,
            channel=channel.value,
            reference=reference,
            passed=passed,
            reason=None if passed else reason,
            recorded_by=actor.id,
            at=now,
        )
    )
    outbox.publish(
        uow,
        TOPIC,
        "identity.verification_recorded",
        customer_id,
        {"customer_id": customer_id, "channel": channel.value, "passed": passed},
    )
    return {
        "channel": channel.value,
        "reference": reference,
        "passed": passed,
        "at": clock.from_micros(now).isoformat(),
    }


def verifications_of(connection: Connection, customer_id: str) -> list[dict]:
    rows = connection.execute(
        select(verifications).where(verifications.c.customer_id == customer_id).order_by(verifications.c.seq)
    ).mappings()
    return [
        {
            "channel": r["channel"],
            "reference": r["reference"],
            "passed": r["passed"],
            "reason": r["reason"],
            "recorded_by": r["recorded_by"],
            "at": clock.from_micros(r["at"]).isoformat(),
        }
        for r in rows
    ]


def upgrade_tier(
    uow: UnitOfWork, customer_id: str, actor: Actor, reason: str, target: WalletTier | None = None
) -> dict:
    """Raise the customer's tier to `target` (default: the highest eligible), never above what the
    verifications allow, never down or sideways. Writes one `tier_changes` row."""
    row = customer_ops.require_active(uow.connection, customer_id, lock=True)
    current = WalletTier(row["tier"]) if row["tier"] is not None else None
    channels = len(passed_channels(uow.connection, customer_id))
    eligible = tier_for(channels)
    wanted = target or eligible
    if wanted is None or eligible is None or wanted > eligible:
        needed = TIER_RULES[wanted or WalletTier.I].verifications
        raise InsufficientVerifications(
            f"tier {tier_name(wanted or WalletTier.I)} needs {needed} independent verifications; {channels} passed",
            passed=channels,
            required=needed,
        )
    if current is not None and wanted <= current:
        raise TierNotHigher(f"the customer is already at tier {current.name}")
    now = clock.now_micros()
    uow.execute(update(customers).where(customers.c.id == customer_id).values(tier=int(wanted)))
    uow.execute(
        tier_changes.insert().values(
            customer_id=customer_id,
            from_tier=int(current) if current else None,
            to_tier=int(wanted),
            reason=reason[:256],
            changed_by=actor.id,
            changed_by_role=str(actor.role),
            at=now,
        )
    )
    outbox.publish(
        uow,
        TOPIC,
        "identity.tier_changed",
        customer_id,
        {"customer_id": customer_id, "from": tier_name(current), "to": wanted.name},
    )
    return {
        "customer_id": customer_id,
        "from": tier_name(current),
        "to": wanted.name,
        "reason": reason,
        "by": actor.id,
        "at": clock.from_micros(now).isoformat(),
    }


def tier_history(connection: Connection, customer_id: str) -> list[dict]:
    rows = connection.execute(
        select(tier_changes).where(tier_changes.c.customer_id == customer_id).order_by(tier_changes.c.seq)
    ).mappings()
    return [
        {
            "from": tier_name(r["from_tier"]),
            "to": tier_name(r["to_tier"]),
            "reason": r["reason"],
            "by": r["changed_by"],
            "role": r["changed_by_role"],
            "at": clock.from_micros(r["at"]).isoformat(),
        }
        for r in rows
    ]


def tier_json(tier: WalletTier | None) -> dict | None:
    """A tier and its limits as the API shows them (amounts as decimal strings)."""
    if tier is None:
        return None
    rule = TIER_RULES[tier]
    return {
        "class": tier.name,
        "limit": format_minor(rule.limit_minor, 2),
        "period": rule.period,
        "may_invest": rule.may_invest,
    }
