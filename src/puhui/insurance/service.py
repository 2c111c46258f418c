"""Insurance operations, each in the caller's unit of work: register an insurer, add a product
version (with its health questionnaire, 健康告知), buy a medical policy from the wallet once underwritten
(核保), renew it (续保), cancel it (退保).

Ledger (CNY), for a policy of premium P and a refund R on cancellation:
- purchase:     customer wallet → insurer.<id>.premium_held    P   (保费待划转: the insurer's money, held)
- cancellation: insurer.<id>.premium_held → customer wallet    R   (cooling-off: R = P; after it pro rata)
- renewal:      customer wallet → insurer.<id>.premium_held    P'  (the version's premium at the new age)
The insured (the policyholder) is priced on their age in full years (周岁) on the cover's start by the birth
date in their verified ID number (`insured_age`), never on an age they type. One person holds one cover of a
product (any version) at a time: a sale whose cover overlaps an active policy's is refused
(`policy_already_in_force`), the person's sales taking turns so two at once cannot both pass.
The held account cannot go below zero (debits_must_not_exceed_credits), so no refund exceeds what was
collected. Every sale is recorded with the disclosure shown and the customer's confirmations in a
hash chain (回溯): hash = sha256(prev_hash + canonical JSON of the row), the first prev_hash 64 zeros.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, select, text

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events.outbox import publish
from puhui.identity import org
from puhui.identity import service as identity
from puhui.identity.customers import wallet_id
from puhui.identity.queries import partner_name
from puhui.identity.vault import Vault
from puhui.insurance import errors, models
from puhui.insurance.claims import queries as claims_queries
from puhui.insurance.claims.models import Question, Underwriting, Verdict, check_questionnaire, underwrite
from puhui.insurance.tables import insurance_policies as policies
from puhui.insurance.tables import insurance_products as products
from puhui.insurance.tables import insurance_sales as sales
from puhui.insurance.tables import insurers
from puhui.ledger.models import AccountFlags, Transfer
from puhui.ledger.service import create_account, get_account, post_chain
from puhui.money import format_minor

TOPIC = "insurance"
LEDGER = "CNY"
GENESIS = "0" * 64
SALES_LOCK = 0x696E_7375  # "insu": the advisory lock that serialises the sales chain on PostgreSQL
# "poli": with a hash of the customer, the advisory lock (class, key) under which one customer's purchases and
# renewals take turns on PostgreSQL, so two racing sales of the same cover cannot both pass the overlap check
POLICYHOLDER_LOCK = 0x706F_6C69
MEDICAL = "medical"
ACTIVE, CANCELLED = "active", "cancelled"
RENEWAL_OPENS_DAYS = 30  # a policy may be renewed from 30 days before its cover ends


def premium_held_account(insurer_id: str) -> str:
    """The insurer's premiums collected and held by the platform (保费待划转)."""
    return f"insurer.{insurer_id}.premium_held"


def _policy_id(customer_id: str, client_id: str) -> str:
    return "pol_" + hashlib.sha256(f"{customer_id}\x1f{client_id}".encode()).hexdigest()[:24]


# -- insurers --------------------------------------------------------------------------------------


def register_insurer(uow: UnitOfWork, partner_id: str) -> dict[str, Any]:
    """Make an identity partner an insurer (保险公司) and open its premium-held account; again is a no-op."""
    if not org.partner_exists(uow.connection, partner_id):
        raise errors.InsurerNotFound(f"partner {partner_id} is not registered")
    if uow.execute(select(insurers).where(insurers.c.partner_id == partner_id)).first() is None:
        create_account(
            uow,
            ledger=LEDGER,
            code="insurer_premium_held",
            owner_id=partner_id,
            id=premium_held_account(partner_id),
            flags=AccountFlags.debits_must_not_exceed_credits,
        )
        uow.execute(insurers.insert().values(partner_id=partner_id, created_at=clock.now_micros()))
        publish(uow, TOPIC, "insurance.insurer_registered", partner_id, {"partner_id": partner_id})
    return insurer_json(uow.connection, partner_id)


def _require_insurer(connection: Connection, insurer_id: str) -> None:
    if connection.execute(select(insurers).where(insurers.c.partner_id == insurer_id)).first() is None:
        raise errors.InsurerNotFound(f"insurer {insurer_id} not found")


def insurer_json(connection: Connection, insurer_id: str) -> dict[str, Any]:
    _require_insurer(connection, insurer_id)
    account = get_account(connection, premium_held_account(insurer_id))
    held = 0 if account is None else account.credits_posted - account.debits_posted
    return {"partner_id": insurer_id, "premium_held": format_minor(held, 2)}


def insurer_name(connection: Connection, insurer_id: str) -> str:
    """The insurer's registered name (the partner's name, 保险公司名称): what a disclosure names as the one who
    underwrites (承保), never its internal id."""
    _require_insurer(connection, insurer_id)
    name = partner_name(connection, insurer_id)
    if name is None:
        raise errors.InsurerNotFound(f"insurer {insurer_id} is not a registered partner")
    return str(name)


# -- product versions ------------------------------------------------------------------------------


def terms_of(product: models.MedicalProduct) -> dict[str, Any]:
    """A product version's terms as JSON values (amounts in fen, ratios as decimal strings)."""
    return {
        "code": product.code,
        "version": product.version,
        "name": product.name,
        "bands": [
            {
                "min_age": b.min_age,
                "max_age": b.max_age,
                "with_social_insurance": b.with_social_insurance,
                "without_social_insurance": b.without_social_insurance,
            }
            for b in product.bands
        ],
        "deductible": product.deductible,
        "annual_limit": product.annual_limit,
        "ratio_with_social": str(product.ratio_with_social),
        "ratio_without_social": str(product.ratio_without_social),
        "waiting_days": product.waiting_days,
        "cooling_off_days": product.cooling_off_days,
        "guaranteed_renewal_years": product.guaranteed_renewal_years,
        # stored only when set, so the terms (and the no-op check of adding them again) of versions stored
        # before products had an early-claim period stay as they were
        **({"early_claim_days": product.early_claim_days} if product.early_claim_days else {}),
    }


def product_of(terms: dict[str, Any]) -> models.MedicalProduct:
    """The MedicalProduct a stored terms JSON describes (checked again by its own rules)."""
    return models.MedicalProduct(
        code=terms["code"],
        version=terms["version"],
        name=terms["name"],
        bands=tuple(models.AgeBand(**band) for band in terms["bands"]),
        deductible=terms["deductible"],
        annual_limit=terms["annual_limit"],
        ratio_with_social=Decimal(terms["ratio_with_social"]),
        ratio_without_social=Decimal(terms["ratio_without_social"]),
        waiting_days=terms["waiting_days"],
        cooling_off_days=terms["cooling_off_days"],
        guaranteed_renewal_years=terms["guaranteed_renewal_years"],
        early_claim_days=terms.get("early_claim_days", 0),
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def questionnaire_json(questions: Sequence[Question]) -> list[dict[str, Any]]:
    """A health questionnaire (健康告知) as JSON values, in order."""
    return [{"id": q.id, "text": q.text, "on_yes": q.on_yes.value, "condition": q.condition} for q in questions]


def questionnaire_of(terms: Mapping[str, Any]) -> tuple[Question, ...]:
    """The questionnaire a stored terms JSON carries (none for a product without one)."""
    return tuple(
        Question(q["id"], q["text"], Verdict(q["on_yes"]), q["condition"]) for q in terms.get("questionnaire", ())
    )


def add_medical_product(
    uow: UnitOfWork, insurer_id: str, product: models.MedicalProduct, questionnaire: Sequence[Question] = ()
) -> dict[str, Any]:
    """Store a product version (产品版本), with its health questionnaire (健康告知) if it has one. The same
    terms again are a no-op; other terms under the same (code, version) are refused: a version never
    changes once policies may point to it."""
    _require_insurer(uow.connection, insurer_id)
    check_questionnaire(questionnaire)
    described = terms_of(product)
    if questionnaire:
        described["questionnaire"] = questionnaire_json(questionnaire)
    terms = _canonical(described)
    row = (
        uow.execute(select(products).where(products.c.code == product.code, products.c.version == product.version))
        .mappings()
        .first()
    )
    if row is None:
        uow.execute(
            products.insert().values(
                code=product.code,
                version=product.version,
                insurer_id=insurer_id,
                kind=MEDICAL,
                terms=terms,
                created_at=clock.now_micros(),
            )
        )
        key = f"{product.code}:{product.version}"
        publish(uow, TOPIC, "insurance.product_added", key, {"code": product.code, "version": product.version})
    elif (row["insurer_id"], row["terms"]) != (insurer_id, terms):
        raise errors.InsuranceProductExists(f"{product.code} v{product.version} exists with other terms")
    return product_json(uow.connection, product.code, product.version)


def _product_row(connection: Connection, code: str, version: int) -> Any:
    row = (
        connection.execute(select(products).where(products.c.code == code, products.c.version == version))
        .mappings()
        .first()
    )
    if row is None:
        raise errors.InsuranceProductNotFound(f"no product {code} version {version}")
    return row


def get_product(connection: Connection, code: str, version: int) -> models.MedicalProduct:
    """The product version a policy points to."""
    return product_of(json.loads(_product_row(connection, code, version)["terms"]))


def product_json(connection: Connection, code: str, version: int) -> dict[str, Any]:
    row = _product_row(connection, code, version)
    terms = json.loads(row["terms"])
    money = ("deductible", "annual_limit")
    bands = [
        {
            "min_age": b["min_age"],
            "max_age": b["max_age"],
            "with_social_insurance": format_minor(b["with_social_insurance"], 2),
            "without_social_insurance": format_minor(b["without_social_insurance"], 2),
        }
        for b in terms["bands"]
    ]
    shown = {k: (format_minor(v, 2) if k in money else v) for k, v in terms.items() if k != "bands"}
    shown.setdefault("questionnaire", [])
    shown.setdefault("early_claim_days", 0)
    return {**shown, "bands": bands, "insurer_id": row["insurer_id"], "kind": row["kind"]}


def quote(connection: Connection, code: str, version: int, age: int, has_social_insurance: bool) -> dict[str, Any]:
    """The yearly premium (保费) for the insured's age and social-insurance status."""
    product = get_product(connection, code, version)
    premium = models.quote(product, age, has_social_insurance)
    return {
        "product_code": code,
        "product_version": version,
        "age": age,
        "social_insurance": has_social_insurance,
        "premium": format_minor(premium, 2),
    }


# -- policies --------------------------------------------------------------------------------------


def cover_start() -> dt.date:
    """A new policy's cover starts the next business day."""
    return clock.business_date() + dt.timedelta(days=1)


def birth_date(connection: Connection, vault: Vault, customer_id: str) -> dt.date:
    """The birth date in the customer's verified ID number, or `InsuredBirthDateUnknown` (409)."""
    born = identity.birth_date_of(connection, vault, customer_id)
    if born is None:
        raise errors.InsuredBirthDateUnknown(f"customer {customer_id} has no birth date on file")
    return born


def insured_age(connection: Connection, vault: Vault, customer_id: str, on: dt.date | None = None) -> int:
    """The customer's age in full years (周岁) on `on` (default: a new policy's cover start) by their ID."""
    return models.age_on(birth_date(connection, vault, customer_id), cover_start() if on is None else on)


def buy_medical(
    uow: UnitOfWork,
    customer_id: str,
    code: str,
    version: int,
    age: int | None,
    has_social_insurance: bool,
    disclosure_text: str,
    confirmations: list[str],
    client_id: str,
    health_answers: Mapping[str, bool] | None = None,
    *,
    born: dt.date | None = None,
) -> dict[str, Any]:
    """Buy a year of medical cover (投保) from the wallet, starting the next business day, once the health
    declaration (健康告知) is underwritten (核保): declined, nothing moves; accepted with exclusions, the
    policy keeps them. The premium moves to the insurer's held account in the same unit of work, the sale
    (with the answers and the outcome) is chained into the record; the same client_id again answers the
    policy it made.

    The insured's age is their 周岁 on the cover start by `born`, the birth date in their verified ID
    (`birth_date`): an `age` sent besides that differs is refused (`insured_age_mismatch`, nothing moves).
    Without `born` the `age` given is used as is — for in-process callers that own the person (the simulator).

    One person holds one cover of a product at a time: a policy of the same product (any version) whose cover
    overlaps the new one's and is in force or awaiting its start refuses the sale (`policy_already_in_force`,
    409, nothing moves); the customer's purchases take turns (`_policyholder_turn`) so two at once cannot
    both pass that check."""
    _policyholder_turn(uow, customer_id)
    existing = _policy_by_client(uow.connection, customer_id, client_id)
    if existing is not None:
        return policy_answer(uow.connection, existing)
    start = cover_start()
    if born is not None:
        by_id = models.age_on(born, start)
        if age is not None and age != by_id:
            raise errors.InsuredAgeMismatch(f"the age sent ({age}) is not the insured's age by their ID on {start}")
        age = by_id
    if age is None:
        raise errors.InsuredBirthDateUnknown(f"customer {customer_id} has no birth date on file")
    row = _product_row(uow.connection, code, version)
    terms = json.loads(row["terms"])
    answers = dict(health_answers or {})
    underwriting = _underwrite(terms, answers)
    premium = models.quote(product_of(terms), age, has_social_insurance)
    cover = models.one_year_from(start, premium)
    issued = _Issue(customer_id, client_id, code, version, row["insurer_id"], age, has_social_insurance, cover)
    record = None if underwriting is None else _underwriting_record(answers, underwriting)
    exclusions = () if underwriting is None else underwriting.exclusions
    return _issue(uow, issued, exclusions, None, (disclosure_text, confirmations, record))


def _underwrite(terms: Mapping[str, Any], answers: Mapping[str, bool]) -> Underwriting | None:
    """The outcome of the health declaration, None for a product without questions answered with none."""
    questions = questionnaire_of(terms)
    if not questions and not answers:
        return None
    outcome = underwrite(questions, answers)
    if outcome.verdict is Verdict.decline:
        raise errors.UnderwritingDeclined(f"declined on the health answers to {', '.join(outcome.declined_by)}")
    return outcome


def _underwriting_record(answers: Mapping[str, bool], outcome: Underwriting, **extra: Any) -> dict[str, Any]:
    return {"answers": dict(answers), "verdict": outcome.verdict.value, "exclusions": list(outcome.exclusions), **extra}


class _Issue:
    """What a new policy is issued on: who, which version, the insured's age and status, and the cover."""

    def __init__(
        self,
        customer_id: str,
        client_id: str,
        code: str,
        version: int,
        insurer_id: str,
        age: int,
        social: bool,
        cover: models.Cover,
    ) -> None:
        self.customer_id, self.client_id, self.code, self.version = customer_id, client_id, code, version
        self.insurer_id, self.age, self.social, self.cover = insurer_id, age, social, cover


def _issue(
    uow: UnitOfWork,
    issued: _Issue,
    exclusions: Sequence[str],
    renewed_from: str | None,
    sale: tuple[str, list[str], dict[str, Any] | None],
) -> dict[str, Any]:
    """Insert the policy, chain its sale and move its premium from the wallet to the insurer's held account,
    unless the insured already holds this cover for an overlapping period (`policy_already_in_force`)."""
    _policyholder_turn(uow, issued.customer_id)
    _refuse_overlap(uow.connection, issued)
    policy_id = _policy_id(issued.customer_id, issued.client_id)
    now = clock.now_micros()
    uow.execute(
        policies.insert().values(
            id=policy_id,
            customer_id=issued.customer_id,
            client_id=issued.client_id,
            product_code=issued.code,
            product_version=issued.version,
            insurer_id=issued.insurer_id,
            insured_age=issued.age,
            social_insurance=issued.social,
            premium=issued.cover.premium,
            start_date=issued.cover.start,
            end_date=issued.cover.end,
            status=ACTIVE,
            refund=None,
            created_at=now,
            cancelled_at=None,
            exclusions=_canonical(list(exclusions)) if exclusions else None,
            renewed_from=renewed_from,
        )
    )
    disclosure, confirmations, record = sale
    _record_sale(uow, policy_id, issued.code, issued.version, disclosure, confirmations, now, record)
    premium = issued.cover.premium
    move = Transfer(
        f"ins.{policy_id}.premium",
        wallet_id(issued.customer_id),
        premium_held_account(issued.insurer_id),
        premium,
        LEDGER,
        "premium",
    )
    post_chain(uow, [move], what=f"the wallet does not hold the premium {format_minor(premium, 2)}")
    topic = "insurance.policy_bought" if renewed_from is None else "insurance.policy_renewed"
    event = {"policy_id": policy_id, "customer_id": issued.customer_id, "premium": format_minor(premium, 2)}
    publish(uow, TOPIC, topic, policy_id, event)
    return policy_answer(uow.connection, _policy_row(uow.connection, policy_id))


def _policyholder_turn(uow: UnitOfWork, customer_id: str) -> None:
    """Make the customer's purchases and renewals take turns until commit: on PostgreSQL a transaction advisory
    lock on (POLICYHOLDER_LOCK, hash of the customer), taken before anything is read, so the one that waits
    reads the other's policy once it commits (READ COMMITTED); on SQLite the write lock (BEGIN IMMEDIATE)
    already serialises every write transaction. Taking it again in the same transaction is a no-op."""
    if uow.postgres:
        uow.execute(text("SELECT pg_advisory_xact_lock(:k, hashtext(:c))"), {"k": POLICYHOLDER_LOCK, "c": customer_id})


def in_force_overlapping(
    connection: Connection, customer_id: str, code: str, start: dt.date, end: dt.date
) -> RowMapping | None:
    """The insured's active policy of product `code` (any version) whose cover [start_date, end_date) overlaps
    [start, end) — in force or awaiting its start — the one ending last, or None. A cancelled policy, or one
    whose cover ended by `start`, is not in the way."""
    query = (
        select(policies)
        .where(
            policies.c.customer_id == customer_id,
            policies.c.product_code == code,
            policies.c.status == ACTIVE,
            policies.c.start_date < end,
            policies.c.end_date > start,
        )
        .order_by(policies.c.end_date.desc(), policies.c.id)
        .limit(1)
    )
    return connection.execute(query).mappings().first()


def _refuse_overlap(connection: Connection, issued: _Issue) -> None:
    cover = issued.cover
    found = in_force_overlapping(connection, issued.customer_id, issued.code, cover.start, cover.end)
    if found is not None:
        raise errors.PolicyAlreadyInForce(
            f"the insured already has {issued.code} cover under policy {found['id']} until {found['end_date']} "
            f"(exclusive); a new one may start from then (renew it), not {cover.start}",
            policy_id=found["id"],
            cover_end=found["end_date"].isoformat(),
        )


def renew(
    uow: UnitOfWork,
    customer_id: str,
    policy_id: str,
    disclosure_text: str,
    confirmations: list[str],
    health_answers: Mapping[str, bool] | None = None,
    *,
    born: dt.date | None = None,
) -> dict[str, Any]:
    """Renew a policy (续保) for the year after it, from 30 days before its cover ends until it ends: a new
    policy on the same product version, at its premium for the insured's age on the new start, paid from
    the wallet. While renewal is guaranteed (保证续保, the first `guaranteed_renewal_years` renewals) the
    health answers are not asked and the exclusions stay; otherwise the declaration is underwritten again.
    Renewing a renewed policy answers the renewal made. The age is recomputed from `born` (the birth date in
    the insured's ID) on the new start; without it, the old policy's age plus the years since its start."""
    _policyholder_turn(uow, customer_id)
    old = owned_policy(uow, customer_id, policy_id)
    renewal = uow.execute(select(policies).where(policies.c.renewed_from == policy_id)).mappings().first()
    if renewal is not None:
        return policy_answer(uow.connection, renewal)
    if old["status"] != ACTIVE:
        raise errors.PolicyNotActive(f"policy {policy_id} is {old['status']}")
    _check_renewal_window(old)
    row = _product_row(uow.connection, old["product_code"], old["product_version"])
    terms = json.loads(row["terms"])
    product = product_of(terms)
    start = old["end_date"]
    if born is not None:
        age = models.age_on(born, start)
    else:
        age = old["insured_age"] + models.age_on(old["start_date"], start)
    guaranteed = _renewals_before(uow.connection, old) < product.guaranteed_renewal_years
    answers = dict(health_answers or {})
    if guaranteed:
        exclusions: Sequence[str] = exclusions_of(old)
        record: dict[str, Any] | None = {"renewal_of": policy_id, "guaranteed": True, "exclusions": list(exclusions)}
    else:
        outcome = _underwrite(terms, answers)
        exclusions = () if outcome is None else outcome.exclusions
        record = {"renewal_of": policy_id, "guaranteed": False}
        if outcome is not None:
            record = _underwriting_record(answers, outcome, **record)
    cover = models.one_year_from(start, models.quote(product, age, bool(old["social_insurance"])))
    client_id = f"renew.{policy_id}"
    issued = _Issue(
        customer_id,
        client_id,
        old["product_code"],
        old["product_version"],
        old["insurer_id"],
        age,
        bool(old["social_insurance"]),
        cover,
    )
    return _issue(uow, issued, exclusions, policy_id, (disclosure_text, confirmations, record))


def _check_renewal_window(old: RowMapping) -> None:
    today = clock.business_date()
    opens = old["end_date"] - dt.timedelta(days=RENEWAL_OPENS_DAYS)
    if not opens <= today < old["end_date"]:
        raise errors.RenewalNotOpen(f"policy {old['id']} renews from {opens} until {old['end_date']}, not {today}")


def _renewals_before(connection: Connection, policy: RowMapping) -> int:
    """How many renewals led to this policy (0 for a first purchase)."""
    count, before = 0, policy["renewed_from"]
    while before is not None:
        count += 1
        before = connection.execute(select(policies.c.renewed_from).where(policies.c.id == before)).scalar()
    return count


def exclusions_of(policy: RowMapping) -> tuple[str, ...]:
    """The conditions a policy excludes (除外责任), from its underwriting."""
    return tuple(json.loads(policy["exclusions"])) if policy["exclusions"] else ()


def cancel(uow: UnitOfWork, customer_id: str, policy_id: str) -> dict[str, Any]:
    """Cancel a policy (退保) today: before its cover starts and within the cooling-off period (犹豫期) the
    whole premium comes back, after it the unearned premium; a cancelled policy cannot be cancelled again.
    A policy that has paid a claim (or owes an approved one) refunds nothing (已发生保险金给付的，不退还保险费):
    the cover was used. What the cancellation decided (reason, day, the cooling-off period's last day, the
    claims) is kept in the row; the answer's `cancellation` says what was refunded and why."""
    row = owned_policy(uow, customer_id, policy_id)
    if row["status"] != ACTIVE:
        raise errors.PolicyNotActive(f"policy {policy_id} is {row['status']}")
    product = get_product(uow.connection, row["product_code"], row["product_version"])
    cover = models.Cover(row["start_date"], row["end_date"], row["premium"])
    paid, owed = claims_queries.compensation_on_policy(uow.connection, policy_id)
    decided = models.cancellation(product, cover, clock.business_date(), paid, owed)
    refund = decided.refund
    updated = uow.execute(
        policies.update()
        .where(policies.c.id == policy_id, policies.c.status == ACTIVE)
        .values(status=CANCELLED, cancelled_at=clock.now_micros(), **_decided_values(decided))
    )
    if updated.rowcount != 1:
        raise errors.PolicyNotActive(f"policy {policy_id} is already cancelled")
    move = Transfer(
        f"ins.{policy_id}.refund",
        premium_held_account(row["insurer_id"]),
        wallet_id(customer_id),
        refund,
        LEDGER,
        "refund",
    )
    post_chain(uow, [move] if refund else [])
    answer = policy_answer(uow.connection, _policy_row(uow.connection, policy_id))
    event = {"policy_id": policy_id, "customer_id": customer_id, "refund": format_minor(refund, 2)}
    publish(uow, TOPIC, "insurance.policy_cancelled", policy_id, {**event, "reason": answer["cancellation"]["reason"]})
    return answer


def _decided_values(decided: models.Cancellation) -> dict[str, Any]:
    """The policy row's columns that keep what a cancellation decided as it was made."""
    return {
        "refund": decided.refund,
        "refund_reason": decided.reason.value,
        "cancelled_on": decided.cancelled_on,
        "cooling_off_last_day": decided.cooling_off_last_day,
        "refund_claims_paid": decided.claims_paid,
        "refund_claims_owed": decided.claims_owed,
    }


def _decided(row: Any, cover: models.Cover) -> models.Cancellation:
    """What a cancellation decided, as its row keeps it (policies cancelled from migration 0046 on)."""
    on = _as_date(row["cancelled_on"])
    return models.Cancellation(
        refund=int(row["refund"]),
        reason=models.RefundReason(row["refund_reason"]),
        cancelled_on=on,
        cooling_off_last_day=_as_date(row["cooling_off_last_day"]),
        days_left=models.days_left_after(cover, on),
        claims_paid=int(row["refund_claims_paid"] or 0),
        claims_owed=int(row["refund_claims_owed"] or 0),
        before_cover=on < cover.start,
    )


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def cancellation_of(connection: Connection, row: Any) -> models.Cancellation | None:
    """What cancelling the policy refunds and why: for an active policy, a cancellation today (None once
    its cover has ended: it can no longer be cancelled); for a cancelled one, what its cancellation decided,
    as its row keeps it. A policy cancelled before that was kept (migration 0046) has the reason found again
    (`_reconstructed`)."""
    product = get_product(connection, row["product_code"], row["product_version"])
    cover = models.Cover(row["start_date"], row["end_date"], row["premium"])
    if row["status"] == ACTIVE:
        on = clock.business_date()  # before the cover starts: today, the whole premium back
        if on >= cover.end:
            return None
        paid, owed = claims_queries.compensation_on_policy(connection, row["id"])
        return models.cancellation(product, cover, on, paid, owed)
    if row["cancelled_at"] is None or row["refund"] is None:
        return None
    if row.get("refund_reason") is not None and row.get("cancelled_on") is not None:
        return _decided(row, cover)
    return _reconstructed(connection, row, product, cover)


def _reconstructed(
    connection: Connection, row: Any, product: models.MedicalProduct, cover: models.Cover
) -> models.Cancellation:
    """The cancellation of a policy cancelled before its decision was kept: found again from the rule, the
    refund stored and the claims as they stood when it was made (a refund of nothing where the rule gives
    something is the claims' doing)."""
    on = min(max(clock.china_date(row["cancelled_at"]), cover.start), cover.end - dt.timedelta(days=1))
    paid, owed = claims_queries.compensation_on_policy(connection, row["id"], as_of=row["cancelled_at"])
    by_rule = models.cancellation(product, cover, on)
    if row["refund"] == 0 and by_rule.refund > 0:
        if not paid + owed:  # decided in the same microsecond as the cancellation: what was decided at all
            paid, owed = claims_queries.compensation_on_policy(connection, row["id"])
        return models.cancellation(product, cover, on, paid, owed) if paid + owed else replace(by_rule, refund=0)
    return replace(by_rule, refund=row["refund"])


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def refund_explanation(terms: models.Cancellation, premium: int) -> str:
    """The reason for a cancellation's refund in words (English; the console words it in the customer's
    language from the reason and the amounts)."""
    last = terms.cooling_off_last_day.isoformat()
    if terms.reason is models.RefundReason.claim_paid:
        what = "paid or approved" if terms.claims_owed else "paid"
        return (
            f"Nothing is refunded: claims of {_yuan(terms.claims_paid + terms.claims_owed)} CNY have been {what} "
            "under this policy, and a policy that has paid a benefit does not refund its premium, even within "
            "the cooling-off period."
        )
    if terms.before_cover:
        return (
            f"The whole premium of {_yuan(premium)} CNY is refunded: cancelled before the cover starts, within "
            f"the cooling-off period (through {last})."
        )
    if terms.reason is models.RefundReason.cooling_off:
        return (
            f"The whole premium of {_yuan(premium)} CNY is refunded: cancelled within the cooling-off period "
            f"(through {last})."
        )
    if terms.refund == 0:
        return (
            f"Nothing is refunded: the cooling-off period ended on {last} and the premium is fully earned by "
            f"{terms.cancelled_on.isoformat()}."
        )
    return (
        f"Only the unearned premium is refunded, {_yuan(terms.refund)} of the {_yuan(premium)} CNY premium, for "
        f"the {terms.days_left} days of cover after {terms.cancelled_on.isoformat()}: the cooling-off period ended "
        f"on {last}."
    )


def cancellation_json(terms: models.Cancellation | None, premium: int) -> dict[str, Any] | None:
    if terms is None:
        return None
    return {
        "refund": format_minor(terms.refund, 2),
        "reason": terms.reason.value,
        "explanation": refund_explanation(terms, premium),
        "cancelled_on": terms.cancelled_on.isoformat(),
        "cooling_off_last_day": terms.cooling_off_last_day.isoformat(),
        "days_left": terms.days_left,
        "claims_paid": format_minor(terms.claims_paid, 2),
        "claims_owed": format_minor(terms.claims_owed, 2),
    }


def policy_answer(connection: Connection, row: Any) -> dict[str, Any]:
    """A policy as the API answers it: its row, and what cancelling it refunds and why (`cancellation`)."""
    return {**policy_json(row), "cancellation": cancellation_json(cancellation_of(connection, row), row["premium"])}


def owned_policy(uow: UnitOfWork, customer_id: str, policy_id: str) -> RowMapping:
    """The customer's own policy, locked for the unit of work (another's is 404: not revealed)."""
    query = select(policies).where(policies.c.id == policy_id)
    row: RowMapping | None = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
    if row is None or row["customer_id"] != customer_id:
        raise errors.PolicyNotFound(f"policy {policy_id} not found")
    return row


def _policy_by_client(connection: Connection, customer_id: str, client_id: str) -> Any:
    return (
        connection.execute(
            select(policies).where(policies.c.customer_id == customer_id, policies.c.client_id == client_id)
        )
        .mappings()
        .first()
    )


def policy_row(connection: Connection, policy_id: str) -> RowMapping:
    """A policy's stored row (for the claims of the same package)."""
    row: RowMapping = _policy_row(connection, policy_id)
    return row


def _policy_row(connection: Connection, policy_id: str) -> Any:
    row = connection.execute(select(policies).where(policies.c.id == policy_id)).mappings().first()
    if row is None:
        raise errors.PolicyNotFound(f"policy {policy_id} not found")
    return row


def read_policy(connection: Connection, customer_id: str, policy_id: str) -> dict[str, Any]:
    """A customer's own policy; another's is 404 (its existence is not revealed)."""
    row = _policy_row(connection, policy_id)
    if row["customer_id"] != customer_id:
        raise errors.PolicyNotFound(f"policy {policy_id} not found")
    return policy_answer(connection, row)


def policy_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "product_code": row["product_code"],
        "product_version": row["product_version"],
        "insurer_id": row["insurer_id"],
        "insured_age": row["insured_age"],
        "social_insurance": bool(row["social_insurance"]),
        "premium": format_minor(row["premium"], 2),
        "start_date": row["start_date"].isoformat(),
        "end_date": row["end_date"].isoformat(),
        "status": row["status"],
        "cover_state": models.cover_state(
            row["status"], models.Cover(row["start_date"], row["end_date"], row["premium"]), clock.business_date()
        ).value,
        "refund": None if row["refund"] is None else format_minor(row["refund"], 2),
        "created_at": clock.iso(row["created_at"]),
        "cancelled_at": clock.iso(row["cancelled_at"]),
        "exclusions": list(exclusions_of(row)),
        "renewed_from": row["renewed_from"],
    }


# -- sales traceability (回溯) ---------------------------------------------------------------------


def _sale_hash(row: dict[str, Any]) -> str:
    body = {k: row[k] for k in ("policy_id", "product_code", "product_version", "disclosure_sha256", "at")}
    body["confirmations"] = json.loads(row["confirmations"])
    if row.get("underwriting") is not None:
        body["underwriting"] = json.loads(row["underwriting"])
    return hashlib.sha256((row["prev_hash"] + _canonical(body)).encode()).hexdigest()


def _record_sale(
    uow: UnitOfWork,
    policy_id: str,
    code: str,
    version: int,
    disclosure: str,
    confirmations: list[str],
    at: int,
    underwriting: dict[str, Any] | None = None,
) -> None:
    """Append the sale to the chain, with the health answers and the underwriting outcome when there
    were any (they are hashed with the rest). On PostgreSQL sales take turns (an advisory lock held to commit), so
    each reads the last committed hash; on SQLite the write lock does it; the unique prev_hash is the guard."""
    if uow.postgres:
        uow.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SALES_LOCK})
    last = uow.execute(select(sales.c.hash).order_by(sales.c.seq.desc()).limit(1)).scalar()
    row: dict[str, Any] = {
        "policy_id": policy_id,
        "product_code": code,
        "product_version": version,
        "disclosure_sha256": hashlib.sha256(disclosure.encode()).hexdigest(),
        "confirmations": _canonical(list(confirmations)),
        "underwriting": None if underwriting is None else _canonical(underwriting),
        "at": at,
        "prev_hash": last or GENESIS,
    }
    uow.execute(sales.insert().values(**row, hash=_sale_hash(row)))


def verify_sales_chain(connection: Connection) -> bool:
    """Whether every sale's hash matches its row and links to the sale before it."""
    prev = GENESIS
    for row in connection.execute(select(sales).order_by(sales.c.seq)).mappings():
        if row["prev_hash"] != prev or _sale_hash(dict(row)) != row["hash"]:
            return False
        prev = row["hash"]
    return True
