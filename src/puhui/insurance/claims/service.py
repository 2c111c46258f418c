"""Claims operations (理赔), each in the caller's unit of work: report a claim and adjudicate it by the
rules (自动核赔), approve or decline one under review (人工审核), and pay an approved claim.

Payment: insurer.<id>.premium_held → the customer's wallet, the benefit, under transfer id
`clm.<claim id>`, in the same unit of work as the claim's `approved → paid` (a conditional UPDATE ...
WHERE status = 'approved') and its outbox event; so racing approvals pay once. When the held account
holds less than the benefit the claim stays `approved` with `paid_at` empty and the reason
`insurer_funds_insufficient` (待支付) until the money is there: funding the insurer's held account
(理赔备付金, `settlement.service.fund`) pays its waiting claims in the same unit of work, oldest approval
first, strictly in turn (`claims.waiting`); staff may also pay them on demand, or approve one again.

Out of cover: an event date outside the policy's period of cover is a 422 `claim_outside_cover` that
stores nothing; a policy cancelled (退保) before the event stores the claim, declined `policy_cancelled`, and
so does any event under a policy cancelled in its cooling-off period with the whole premium back (void
from the start). A policy that has paid a claim refunds nothing when cancelled (`service.cancel`).

Indemnity (补偿原则): every claim here is on a medical policy (百万医疗), which reimburses a bill; the
fixed-benefit cover of the package (return-shipping, 退货运费险) pays through `insurance.returns` and is
not counted. One medical event is one insured person, one event date and one diagnosis category
(`models.event_category`). A claim is adjudicated on the bill less social insurance less what the
insured's other claims for the same event, on any policy of any insurer, have paid or owe (approved or
paid): a later claim for a bill already compensated gets only what its policy's terms give on the
remainder, `other_benefits_deducted`; nothing left is a claim stored and declined `already_indemnified`
(201, like `within_deductible` or `limit_reached`: an adjudicated claim, not a refusal). So the claims
of an event never add up to more than the bill less social insurance. The claims of one event take turns
(an advisory lock on PostgreSQL, the write lock on SQLite), so racing claims cannot both take the
remainder.

Duplicates (重复报案): while a policy has a claim for an event under review, approved or paid, another
claim on that policy for the same event is a 409 `claim_duplicate` that stores nothing, whatever its
amount or documents; after a decline the event may be claimed again with new papers.

Early claims (出险距生效日过近): a claim for an event within the product's early-claim period
(`early_claim_days` from the cover start) goes to review with the reason `early_claim`, an accident's too;
an illness in the waiting period (等待期) is declined `waiting_period` before that.

Review (人工审核): approving pays the rules' answer again on what the policy and the event have used by
now, and never more than the benefit the review queue showed (`models.approve_on_review`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection, RowMapping, func, select, text

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events.outbox import publish
from puhui.identity.customers import wallet_id
from puhui.insurance import models, service
from puhui.insurance.claims import errors
from puhui.insurance.claims.models import (
    Adjudication,
    ClaimFacts,
    Decision,
    ReviewRules,
    adjudicate,
    approve_on_review,
    event_category,
)
from puhui.insurance.claims.queries import event_benefits, same_event
from puhui.insurance.claims.tables import insurance_claim_documents as documents
from puhui.insurance.claims.tables import insurance_claims as claims
from puhui.ledger.models import Transfer
from puhui.ledger.service import get_account, post_chain
from puhui.money import format_minor

PAID, APPROVED, REVIEW, DECLINED = "paid", "approved", "review", "declined"
DECIDED = (APPROVED, PAID, DECLINED)  # what counts toward the year's deductible and limit
CLAIMED = (REVIEW, APPROVED, PAID)  # a policy's claim for an event that a second one would duplicate
UNFUNDED = "insurer_funds_insufficient"

Scorer = Callable[[ClaimFacts], Decimal | None]
"""A fraud score hook (反欺诈评分): from 0 to 1, or None when it cannot say."""


class ClaimScoring(Protocol):
    """A claims-fraud model as the server runs it (理赔反欺诈): for a claim about to be reported, the scorer
    that scores it (from the claim, its policy and the customer's history, read on `connection`) and the
    review rules with the model's threshold."""

    def for_claim(
        self, connection: Connection, customer_id: str, report: ClaimReport
    ) -> tuple[Scorer | None, ReviewRules]: ...


@dataclass(frozen=True, slots=True)
class Document:
    """A claim document (理赔材料): name, media type and content."""

    name: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class ClaimReport:
    """What a customer reports (报案)."""

    policy_id: str
    kind: models.LossKind
    condition: str
    event_date: dt.date
    billed: int
    social_insurance_paid: int
    documents: tuple[Document, ...]


def _claim_id(customer_id: str, client_id: str) -> str:
    return "clm_" + hashlib.sha256(f"{customer_id}\x1f{client_id}".encode()).hexdigest()[:24]


def documents_hash(docs: tuple[Document, ...]) -> str:
    """sha256 over the documents' own sha256s in order: the same papers give the same hash."""
    return hashlib.sha256("".join(hashlib.sha256(d.content).hexdigest() for d in docs).encode()).hexdigest()


def _used_this_year(connection: Connection, policy_id: str) -> tuple[int, int]:
    """Deductible used and benefit approved by the policy's decided claims (a policy runs one year)."""
    query = select(
        func.coalesce(func.sum(claims.c.deductible_applied), 0), func.coalesce(func.sum(claims.c.benefit), 0)
    ).where(claims.c.policy_id == policy_id, claims.c.status.in_(DECIDED))
    deductible, paid = connection.execute(query).one()
    return int(deductible), int(paid)


def _lock_event(uow: UnitOfWork, customer_id: str, condition: str, event_date: dt.date) -> None:
    """Let the claims of one event take turns: on PostgreSQL a transaction-scoped advisory lock on the
    event, always taken after the policy's or the claim's row lock; on SQLite the write lock does it.
    After it, what the event's other claims paid is read as committed."""
    if uow.postgres:
        name = f"insurance.claim_event\x1f{customer_id}\x1f{event_category(condition)}\x1f{event_date.isoformat()}"
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        uow.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _cancelled_from(policy: RowMapping) -> dt.date | None:
    """The first day a cancelled policy no longer covers: the day after its cancellation (that day is covered,
    it being earned), or its first day when the whole premium came back in the cooling-off period (犹豫期内
    退保: the contract is void from the start, and no event under it is covered)."""
    if policy["cancelled_at"] is None:
        return None
    start: dt.date = policy["start_date"]
    if policy["premium"] and policy["refund"] == policy["premium"]:
        return start
    return max(clock.china_date(policy["cancelled_at"]), start) + dt.timedelta(days=1)


def _adjudicate(connection: Connection, policy: RowMapping, facts: ClaimFacts, rules: ReviewRules) -> Adjudication:
    product = service.get_product(connection, policy["product_code"], policy["product_version"])
    cover = models.Cover(policy["start_date"], policy["end_date"], policy["premium"])
    cancelled_from = _cancelled_from(policy)
    exclusions = service.exclusions_of(policy)
    return adjudicate(product, cover, policy["social_insurance"], exclusions, cancelled_from, facts, rules)


def report_claim(
    uow: UnitOfWork,
    customer_id: str,
    report: ClaimReport,
    client_id: str,
    rules: ReviewRules = ReviewRules(),
    scorer: Scorer | None = None,
) -> dict[str, Any]:
    """Report a claim (报案) on one's own policy and adjudicate it at once (自动核赔): approved claims are
    paid straight through, flagged ones wait for review, others are declined with their reasons."""
    claim_id = _claim_id(customer_id, client_id)
    if _claim_row(uow.connection, claim_id) is not None:
        return claim_json(uow.connection, claim_id)
    if report.social_insurance_paid > report.billed or report.billed <= 0 or report.social_insurance_paid < 0:
        raise errors.ClaimAmountsInvalid("the billed amount is positive and social insurance paid at most it")
    policy = service.owned_policy(uow, customer_id, report.policy_id)
    today = clock.business_date()
    if report.event_date > today:
        raise errors.ClaimEventInFuture(f"the event date {report.event_date} is after {today}")
    _lock_event(uow, customer_id, report.condition, report.event_date)
    _refuse_duplicate(uow.connection, customer_id, report)
    deductible_used, paid = _used_this_year(uow.connection, report.policy_id)
    facts = ClaimFacts(
        report.kind,
        report.condition,
        report.event_date,
        report.billed,
        report.social_insurance_paid,
        bool(report.documents),
        deductible_used,
        paid,
        other_benefits_paid=event_benefits(uow.connection, customer_id, report.condition, report.event_date),
    )
    if scorer is not None:
        facts = replace(facts, fraud_score=scorer(facts))
    decided = _adjudicate(uow.connection, policy, facts, rules)
    _insert_claim(uow, claim_id, customer_id, client_id, policy, report, facts, decided)
    if decided.decision is Decision.approved:
        pay(uow, claim_id)
    return claim_json(uow.connection, claim_id)


def _refuse_duplicate(connection: Connection, customer_id: str, report: ClaimReport) -> None:
    """Refuse a second claim on a policy for an event it has a claim under review, approved or paid for,
    whatever the amount and documents; and the same event date, diagnosis, amount and documents as any earlier
    claim of the policy (a declined one too: the stored papers are unique per policy). Another diagnosis the same
    day, for the same amount, is another event."""
    claimed = (
        select(claims.c.id, claims.c.status)
        .where(
            claims.c.policy_id == report.policy_id,
            same_event(customer_id, report.condition, report.event_date),
            claims.c.status.in_(CLAIMED),
        )
        .order_by(claims.c.created_at, claims.c.id)
        .limit(1)
    )
    earlier = connection.execute(claimed).first()
    if earlier is not None:
        raise errors.ClaimDuplicate(
            f"claim {earlier.id} on this policy is for the same event "
            f"({event_category(report.condition)} on {report.event_date}) and is {earlier.status}"
        )
    query = select(claims.c.id).where(
        claims.c.policy_id == report.policy_id,
        claims.c.event_date == report.event_date,
        claims.c.condition == report.condition,
        claims.c.billed == report.billed,
        claims.c.documents_sha256 == documents_hash(report.documents),
    )
    found = connection.execute(query).scalar()
    if found is not None:
        raise errors.ClaimDuplicate(
            f"claim {found} reports the same event ({report.condition} on {report.event_date}), amount and documents"
        )


def _insert_claim(
    uow: UnitOfWork,
    claim_id: str,
    customer_id: str,
    client_id: str,
    policy: RowMapping,
    report: ClaimReport,
    facts: ClaimFacts,
    decided: Adjudication,
) -> None:
    now = clock.now_micros()
    uow.execute(
        claims.insert().values(
            id=claim_id,
            customer_id=customer_id,
            client_id=client_id,
            policy_id=report.policy_id,
            insurer_id=policy["insurer_id"],
            product_code=policy["product_code"],
            kind=report.kind.value,
            condition=report.condition,
            event_date=report.event_date,
            reported_date=clock.business_date(),
            billed=report.billed,
            social_insurance_paid=report.social_insurance_paid,
            documents_sha256=documents_hash(report.documents),
            benefit=decided.benefit,
            deductible_applied=decided.deductible_applied,
            status=decided.decision.value,
            reasons=json.dumps(list(decided.reasons)),
            fraud_score=None if facts.fraud_score is None else str(facts.fraud_score),
            created_at=now,
            decided_at=None if decided.decision is Decision.review else now,
        )
    )
    for seq, doc in enumerate(report.documents):
        uow.execute(
            documents.insert().values(
                claim_id=claim_id,
                seq=seq,
                name=doc.name,
                media_type=doc.media_type,
                size=len(doc.content),
                sha256=hashlib.sha256(doc.content).hexdigest(),
                content=doc.content,
            )
        )
    event = {"claim_id": claim_id, "policy_id": report.policy_id, "status": decided.decision.value}
    publish(uow, service.TOPIC, "insurance.claim_reported", claim_id, event)


# -- payment ---------------------------------------------------------------------------------------


def held(connection: Connection, insurer_id: str) -> int:
    """The insurer's money held by the platform (保费待划转 and 理赔备付金), in fen: what claims are paid from."""
    account = get_account(connection, service.premium_held_account(insurer_id))
    return 0 if account is None else account.credits_posted - account.debits_posted


def pay(uow: UnitOfWork, claim_id: str) -> bool:
    """Pay an approved claim once (赔款支付): the conditional UPDATE makes one payer; the transfer id
    `clm.<claim id>` is the ledger's guard besides. Short held money leaves it approved, unpaid (待支付).
    True when this call paid it."""
    row = _locked(uow, claim_id)
    if row["status"] != APPROVED:
        return False
    if held(uow.connection, row["insurer_id"]) < row["benefit"]:
        uow.execute(claims.update().where(claims.c.id == claim_id).values(reasons=_with_reason(row, UNFUNDED)))
        return False
    paid = uow.execute(
        claims.update()
        .where(claims.c.id == claim_id, claims.c.status == APPROVED)
        .values(
            status=PAID,
            transfer_id=f"clm.{claim_id}",
            paid_at=clock.now_micros(),
            paid_date=clock.business_date(),
            reasons=_without_reason(row, UNFUNDED),
        )
    )
    if paid.rowcount != 1:
        return False
    move = Transfer(
        f"clm.{claim_id}",
        service.premium_held_account(row["insurer_id"]),
        wallet_id(row["customer_id"]),
        row["benefit"],
        service.LEDGER,
        "claim",
    )
    post_chain(uow, [move])
    event = {"claim_id": claim_id, "customer_id": row["customer_id"], "benefit": format_minor(row["benefit"], 2)}
    publish(uow, service.TOPIC, "insurance.claim_paid", claim_id, event)
    return True


def _reasons(row: RowMapping) -> list[str]:
    return list(json.loads(row["reasons"]))


def _with_reason(row: RowMapping, reason: str) -> str:
    reasons = _reasons(row)
    return json.dumps(reasons if reason in reasons else [*reasons, reason])


def _without_reason(row: RowMapping, reason: str) -> str:
    return json.dumps([r for r in _reasons(row) if r != reason])


# -- review (人工审核) -----------------------------------------------------------------------------


def _locked(uow: UnitOfWork, claim_id: str) -> RowMapping:
    query = select(claims).where(claims.c.id == claim_id)
    row: RowMapping | None = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
    if row is None:
        raise errors.ClaimNotFound(f"claim {claim_id} not found")
    return row


NOTE_REQUIRED_FOR = frozenset({"documents_missing", "fraud_score"})
"""Review reasons an approval must answer with a note (核赔意见): the claim came without documents or
scored as risky, so the officer says what they saw instead. A claim sent to review only for its amount
(`amount_above_threshold`) is approved on its papers, the note optional."""


def note_required(reasons: list[str]) -> bool:
    """Whether approving a claim under review with these reasons needs the officer's note."""
    return bool(NOTE_REQUIRED_FOR.intersection(reasons))


def approve(uow: UnitOfWork, staff_id: str, claim_id: str, note: str | None = None) -> dict[str, Any]:
    """Approve a claim under review and pay it; the benefit is worked out again on what the policy and
    the event have used by now, and is never more than the review showed. The officer's `note` is stored
    with the decision; it is required (`claim_note_required`, nothing changed) when the claim is under
    review for `documents_missing` or `fraud_score` (`NOTE_REQUIRED_FOR`): approving without documents,
    or despite a fraud score, must say why. An approved claim not yet paid is paid now; a paid claim
    answers as it is (a note sent then is not stored: the decision was made already)."""
    row = _locked(uow, claim_id)
    if row["status"] == DECLINED:
        raise errors.ClaimNotReviewable(f"claim {claim_id} is declined")
    if row["status"] == REVIEW:
        if not note and note_required(_reasons(row)):
            flagged = sorted(NOTE_REQUIRED_FOR.intersection(_reasons(row)))
            raise errors.ClaimNoteRequired(f"claim {claim_id} is under review for {', '.join(flagged)}: add a note")
        _decide_review(uow, staff_id, row, note)
    pay(uow, claim_id)
    return claim_json(uow.connection, claim_id)


def _decide_review(uow: UnitOfWork, staff_id: str, row: RowMapping, note: str | None) -> None:
    """The review's decision: the rules again, without the review flags, on what the policy has used this
    year and what the event's other claims have paid since, held to the benefit the review showed."""
    _lock_event(uow, row["customer_id"], row["condition"], row["event_date"])
    policy = service.policy_row(uow.connection, row["policy_id"])
    deductible_used, paid = _used_this_year(uow.connection, row["policy_id"])
    other = event_benefits(uow.connection, row["customer_id"], row["condition"], row["event_date"], row["id"])
    facts = ClaimFacts(
        models.LossKind(row["kind"]),
        row["condition"],
        row["event_date"],
        row["billed"],
        row["social_insurance_paid"],
        True,
        deductible_used,
        paid,
        other_benefits_paid=other,
    )
    unflagged = ReviewRules(amount_above=2**62, fraud_score_from=Decimal(2), early_claims=False)
    decided = approve_on_review(_adjudicate(uow.connection, policy, facts, unflagged), row["benefit"])
    status = APPROVED if decided.decision is Decision.approved else DECLINED
    uow.execute(
        claims.update()
        .where(claims.c.id == row["id"], claims.c.status == REVIEW)
        .values(
            status=status,
            benefit=decided.benefit,
            deductible_applied=decided.deductible_applied,
            reasons=json.dumps([*decided.reasons, "approved_on_review"]),
            decided_by=staff_id,
            decision_note=note,
            decided_at=clock.now_micros(),
        )
    )
    event = {"claim_id": row["id"], "status": status, "decided_by": staff_id, "note": note}
    publish(uow, service.TOPIC, "insurance.claim_approved_on_review", row["id"], event)


def decline(uow: UnitOfWork, staff_id: str, claim_id: str, reason: str) -> dict[str, Any]:
    """Decline a claim under review (拒赔) for the officer's stated `reason`, stored with the decision and
    told to the customer (拒绝赔付通知书, 保险法 Art. 24: a refusal states its reasons); declining a declined
    claim again answers it as it is (its first reason stays)."""
    if not reason.strip():
        raise errors.ClaimReasonRequired("a decline states its reason")
    row = _locked(uow, claim_id)
    if row["status"] == DECLINED:
        return claim_json(uow.connection, claim_id)
    if row["status"] != REVIEW:
        raise errors.ClaimNotReviewable(f"claim {claim_id} is {row['status']}")
    uow.execute(
        claims.update()
        .where(claims.c.id == claim_id, claims.c.status == REVIEW)
        .values(
            status=DECLINED,
            benefit=0,
            deductible_applied=0,
            reasons=_with_reason(row, "declined_on_review"),
            decided_by=staff_id,
            decision_note=reason.strip(),
            decided_at=clock.now_micros(),
        )
    )
    event = {"claim_id": claim_id, "decided_by": staff_id, "reason": reason.strip()}
    publish(uow, service.TOPIC, "insurance.claim_declined", claim_id, event)
    return claim_json(uow.connection, claim_id)


# -- reads -----------------------------------------------------------------------------------------


def _claim_row(connection: Connection, claim_id: str) -> RowMapping | None:
    return connection.execute(select(claims).where(claims.c.id == claim_id)).mappings().first()


def read_claim(connection: Connection, customer_id: str | None, claim_id: str) -> dict[str, Any]:
    """A claim: a customer sees only their own (another's is 404); staff (customer_id None) see any."""
    row = _claim_row(connection, claim_id)
    if row is None or (customer_id is not None and row["customer_id"] != customer_id):
        raise errors.ClaimNotFound(f"claim {claim_id} not found")
    return claim_json(connection, claim_id)


def reviews(connection: Connection, limit: int) -> list[dict[str, Any]]:
    """The review queue (人工审核队列): claims under review, oldest first."""
    query = select(claims.c.id).where(claims.c.status == REVIEW).order_by(claims.c.created_at, claims.c.id)
    return [claim_json(connection, claim_id) for claim_id in connection.execute(query.limit(limit)).scalars()]


def claim_json(connection: Connection, claim_id: str) -> dict[str, Any]:
    row = _claim_row(connection, claim_id)
    if row is None:
        raise errors.ClaimNotFound(f"claim {claim_id} not found")
    docs = connection.execute(
        select(documents.c.name, documents.c.media_type, documents.c.size, documents.c.sha256)
        .where(documents.c.claim_id == claim_id)
        .order_by(documents.c.seq)
    ).mappings()
    return {
        "id": row["id"],
        "policy_id": row["policy_id"],
        "customer_id": row["customer_id"],
        "insurer_id": row["insurer_id"],
        "kind": row["kind"],
        "condition": row["condition"],
        "event_date": row["event_date"].isoformat(),
        "reported_date": row["reported_date"].isoformat(),
        "billed": format_minor(row["billed"], 2),
        "social_insurance_paid": format_minor(row["social_insurance_paid"], 2),
        "benefit": format_minor(row["benefit"], 2),
        "deductible_applied": format_minor(row["deductible_applied"], 2),
        "status": row["status"],
        "reasons": _reasons(row),
        "fraud_score": row["fraud_score"],
        "documents": [dict(d) for d in docs],
        "paid_date": None if row["paid_date"] is None else row["paid_date"].isoformat(),
        "decision_note": row["decision_note"],
        "created_at": clock.iso(row["created_at"]),
    }
