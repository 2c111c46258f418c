"""The loan lifecycle as services, each running in the caller's unit of work: products, applications
with a risk decision, offers with the price disclosure, acceptance and disbursement. Repayments are
in `puhui.lending.repayments`, the daily batch in `puhui.lending.eod`.

Every operation writes its ledger transfers, its rows and its outbox event together; a refusal
raises before anything is written, so nothing changes.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, Select, select, union_all

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events.outbox import publish
from puhui.identity.service import customer_wallet_id, tier_of
from puhui.ledger import queries as ledger_queries
from puhui.lending import accounts, bnpl
from puhui.lending.accounts import move, post
from puhui.lending.accrual import accrual_dates
from puhui.lending.catalog import (
    LINE_PRODUCTS,
    PLAN_PRODUCTS,
    Channel,
    channel_of,
    check_direct,
    get_direct_product,
    get_product,
    terms_of,
)
from puhui.lending.disclosure import Disclosure, check_cap, check_penalty_cap, disclose
from puhui.lending.errors import (
    ApplicationAlreadyUsed,
    ApplicationDeclined,
    ApplicationNotFound,
    BorrowerUnverified,
    LoanNotFound,
    OfferNotFound,
    OfferNotOpen,
    ProductExists,
    ProductInvalid,
)
from puhui.lending.lines.tables import credit_line_draws, credit_lines
from puhui.lending.partners import service as partners
from puhui.lending.policy import check_borrower_limits
from puhui.lending.products import (
    Product,
    check_application,
    product_from_json,
    product_to_json,
)
from puhui.lending.tables import (
    lending_products,
    loan_applications,
    loan_instalments,
    loan_offers,
    loans,
)
from puhui.money import format_minor
from puhui.payments import reserve

TOPIC = "lending"


class OfferStatus(enum.StrEnum):
    """An offer's status (`loan_offers.status`, at most 10 characters)."""

    open = "open"  # may be accepted
    accepted = "accepted"  # it became the loan
    superseded = "superseded"  # another offer of its application became the loan


RATE_SCALE = 1_000_000  # rates in SQL are millionths


# -- helpers ---------------------------------------------------------------------------------------


def day_of(date: dt.date) -> int:
    return date.toordinal()


def date_of(day: int) -> dt.date:
    return dt.date.fromordinal(day)


def today() -> int:
    return day_of(clock.business_date())


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def rate_e6(rate: Decimal) -> int:
    return int((Decimal(rate) * RATE_SCALE).to_integral_value(ROUND_HALF_UP))


# -- products --------------------------------------------------------------------------------------


def check_product_cap(product: Product, start: dt.date) -> None:
    """Refuse a product any of whose extreme offers would be priced above the cap (IRR incl. fees), or whose
    penalty rate (罚息) is: what a borrower in arrears is charged is held to the same cap as the contract
    rate (`rate_above_cap`)."""
    check_penalty_cap(product.penalty_annual_rate)
    for amount in {product.min_amount, product.max_amount}:
        for term in {product.min_term, product.max_term}:
            check_cap(disclose(product, amount, term, start))
    for plan in product.instalment_plans:  # the quote of a plan is at most its listed rate, on any amount
        rate = bnpl.listed_rate(plan)
        check_cap(Disclosure(Decimal(0), rate, 0, 0, (), 0, 0))


def _text(product: Product) -> str:
    return json.dumps(product_to_json(product), sort_keys=True)


def create_product(uow: UnitOfWork, data: dict[str, Any]) -> dict:
    """Add a product (the same terms again answer it as it is). The codes of the credit line's own products
    (`catalog.LINE_PRODUCTS`) are theirs: another product under one of them is refused (`loan_product_exists`),
    or a cash loan could take the code the line draws on."""
    product = product_from_json(data)
    if product.instalment_plans and product.code not in LINE_PRODUCTS:
        raise ProductInvalid(
            "instalment_plans are the credit line's own products' (pay later, instalments, drawn at checkout or by "
            "a draw); a product applied for directly is priced by annual_rate and its fee rates",
            field="instalment_plans",
        )
    check_product_cap(product, clock.business_date())
    text = _text(product)
    if product.code in LINE_PRODUCTS and text != _text(product_from_json(LINE_PRODUCTS[product.code])):
        raise ProductExists(f"product code {product.code} is the credit line's own product (channel credit_line)")
    existing = uow.execute(select(lending_products).where(lending_products.c.code == product.code)).mappings().first()
    if existing is not None:
        if existing["data"] != text:
            if product.code not in LINE_PRODUCTS:
                raise ProductExists(f"product {product.code} exists with different terms")
            # the line's own product, stored before its plans were written down: its copy takes the terms of
            # `catalog.LINE_PRODUCTS` (read from there all along, so nothing drawn or listed changes)
            uow.execute(lending_products.update().where(lending_products.c.code == product.code).values(data=text))
            publish(uow, TOPIC, "lending.product_terms_synced", product.code, {"code": product.code})
            existing = {**existing, "data": text}
        return product_json(existing)
    row = {"code": product.code, "data": text, "status": "active", "created_at": clock.now_micros()}
    uow.execute(lending_products.insert().values(**row))
    publish(uow, TOPIC, "lending.product_created", product.code, {"code": product.code})
    return product_json(row)


def product_json(row: Any) -> dict:
    """A product as listed: its terms (a line product's from `catalog.LINE_PRODUCTS`, what it charges), and
    each plan it is taken in with the periods, the fee rate of a period and the annualized rate (年化利率) the
    plan quotes (`GET /v1/lending/plans`) and a draw discloses."""
    terms = terms_of(row["code"], row["data"])
    product = product_from_json(terms)
    plan_name = next((name for name, code in PLAN_PRODUCTS.items() if code == row["code"]), None)
    terms["instalment_plans"] = [
        {
            "plan": plan_name,
            "periods": plan.periods,
            "fee_rate_per_period": str(plan.fee_rate),
            "total_fee_rate": f"{plan.total_fee_rate.normalize():f}",
            "annualized_rate": str(bnpl.listed_rate(plan)),
        }
        for plan in product.instalment_plans
    ]
    return {"code": row["code"], "status": row["status"], "channel": channel_of(row["code"]).value, **terms}


def list_products(connection: Connection, channel: Channel | str | None = None) -> list[dict]:
    """The products, those applied for directly first (`channel` direct, by code), then those drawn only
    through a credit line (`credit_line`, by code): the first is always one a customer can apply for when
    there is one, however many line products a checkout has stored. `channel` keeps only that channel."""
    rows = connection.execute(select(lending_products).order_by(lending_products.c.code)).mappings()
    listed = sorted((product_json(r) for r in rows), key=lambda p: (p["channel"] != Channel.direct, p["code"]))
    return [p for p in listed if channel is None or p["channel"] == channel]


# -- applications and the risk decision ------------------------------------------------------------


def outstanding_of(connection: Connection, customer_id: str) -> int:
    """The customer's outstanding principal over all active loans, from the ledger: cash loans, credit-line
    draws and pay-later checkouts alike (each draw is a loan), joint loans at their whole principal (the
    borrower owes all of it, whoever funded it)."""
    ids = select(loans.c.id).where(loans.c.customer_id == customer_id, loans.c.status == "active")
    return ledger_queries.net_debit(connection, codes=["loan_receivable"], owners=ids)


def income_on_file(connection: Connection, customer_id: str) -> int | None:
    """The customer's annual income on file (申报年收入, fen): the latest one declared, on a loan application
    or when a credit line was opened; None when none was ever declared. Declarations made at the same
    instant (a clock that stands still) count as the lowest of them."""
    declared = union_all(
        select(loan_applications.c.annual_income.label("income"), loan_applications.c.created_at.label("at")).where(
            loan_applications.c.customer_id == customer_id, loan_applications.c.annual_income.is_not(None)
        ),
        select(credit_lines.c.annual_income.label("income"), credit_lines.c.created_at.label("at")).where(
            credit_lines.c.customer_id == customer_id, credit_lines.c.annual_income.is_not(None)
        ),
    ).subquery()
    found = connection.execute(
        select(declared.c.income).order_by(declared.c.at.desc(), declared.c.income).limit(1)
    ).scalar()
    return int(found) if found is not None else None


def income_of(connection: Connection, customer_id: str, declared: int | None = None) -> int | None:
    """The income a credit decision uses: the one declared with the request, else the income on file."""
    return declared if declared is not None else income_on_file(connection, customer_id)


NO_MODEL_REASONS = ["no_platform_model", "no_manual_review_for_loans"]
"""Why an application is declined when no platform credit model is champion: a lender does not approve
credit it has not assessed, and the platform has no manual review queue (人工审核) for loan applications
(its review queue holds payments), so the application is declined, not approved on declared figures."""


def platform_score(connection: Connection, customer_id: str) -> dict | None:
    """The customer's score now by the platform credit model (`puhui.risk`, its champion), or None when
    no platform model is registered and promoted."""
    from puhui.risk.errors import UnknownModel
    from puhui.risk.scoring import registry
    from puhui.risk.scoring.platform import PLATFORM_MODEL, score_customer

    try:
        registry.champion(connection, PLATFORM_MODEL)
    except UnknownModel:
        return None
    return score_customer(connection, customer_id)


def _reason_of(reason: Any) -> str:
    """A model's reason as the application keeps it: its code, else a scorecard reason's sentence
    (`risk.scoring.scorecard.Reason`: what the feature earned and lost), else its feature's name."""
    if isinstance(reason, dict):
        return str(reason.get("code") or reason.get("text") or reason.get("feature") or "")
    return str(reason)


def risk_decision(connection: Connection, customer_id: str, amount: int, annual_income: int | None) -> dict:
    """Score, grade, limit and reasons from the platform credit model: approved when the grade is not E and
    the amount is within the limit the grade and the income give (`risk.scoring.limits.credit_line`).

    Without a platform model nothing is approved: the application is declined with the reasons
    `NO_MODEL_REASONS` (`no_platform_model`), since income is self-declared and the borrower limits alone
    assess nothing."""
    scored = platform_score(connection, customer_id)
    if scored is None:
        return {"decision": "declined", "grade": None, "credit_limit": None, "reasons": list(NO_MODEL_REASONS)}
    from puhui.risk.scoring.limits import credit_line

    reasons = [_reason_of(r) for r in scored.get("reasons", [])][:5]
    income = Decimal(annual_income or 0) / 1200  # fen a year -> yuan a month
    line = credit_line(scored["score"], income)
    limit = int(line.limit * 100)
    approved = line.grade != "E" and amount <= limit
    reasons.append("within_credit_limit" if approved else ("grade_e" if line.grade == "E" else "above_credit_limit"))
    return {
        "decision": "approved" if approved else "declined",
        "grade": line.grade,
        "credit_limit": limit,
        "reasons": reasons,
    }


def require_verified(connection: Connection, customer_id: str) -> None:
    """Credit is for verified customers (实名): a customer with no wallet class yet is refused. The
    people's ways in (the API's application and credit line) check it; the service's own functions
    work on any wallet, as the ledger-level tests and the simulator use them."""
    if tier_of(connection, customer_id) is None:
        raise BorrowerUnverified(f"customer {customer_id} is not verified: credit needs a verified identity")


def apply(
    uow: UnitOfWork, customer_id: str, product_code: str, amount: int, term: int, annual_income: int | None = None
) -> dict:
    """An application (借款申请): range and policy checks refuse (422); the risk decision is recorded.

    `annual_income` is the income declared with it; without one the income on file is used, and with
    none on file the application is refused (`annual_income_required`) and nothing is stored. The row
    keeps the income the decision was made on, which becomes (or stays) the income on file.

    A product drawn only through a credit line (pay later, instalments) is refused first (422
    `product_not_for_direct_application`): it is used at checkout or by a draw on the line, with its fees."""
    product = get_direct_product(uow.connection, product_code)
    check_application(product, amount, term)
    annual_income = income_of(uow.connection, customer_id, annual_income)
    check_borrower_limits(outstanding_of(uow.connection, customer_id), amount, annual_income)
    decision = risk_decision(uow.connection, customer_id, amount, annual_income)
    row = {
        "id": new_id("la_"),
        "customer_id": customer_id,
        "product_code": product_code,
        "amount": amount,
        "term": term,
        "annual_income": annual_income,
        "decision": decision["decision"],
        "grade": decision["grade"],
        "credit_limit": decision["credit_limit"],
        "reasons": json.dumps(decision["reasons"]),
        "created_at": clock.now_micros(),
    }
    uow.execute(loan_applications.insert().values(**row))
    publish(
        uow,
        TOPIC,
        "lending.application_decided",
        row["id"],
        {"id": row["id"], "customer_id": customer_id, "decision": row["decision"]},
    )
    return application_json(row)


def application_json(row: Any) -> dict:
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "product_code": row["product_code"],
        "amount": format_minor(row["amount"], 2),
        "term": row["term"],
        "decision": row["decision"],
        "grade": row["grade"],
        "credit_limit": format_minor(row["credit_limit"], 2) if row["credit_limit"] is not None else None,
        "reasons": json.loads(row["reasons"]),
    }


def get_application(connection: Connection, application_id: str) -> dict:
    row = (
        connection.execute(select(loan_applications).where(loan_applications.c.id == application_id)).mappings().first()
    )
    if row is None:
        raise ApplicationNotFound(f"application {application_id} not found")
    return dict(row)


# -- offers and acceptance -------------------------------------------------------------------------


def schedule_json(schedule: Any) -> list[dict]:
    return [
        {
            "number": i.number,
            "due_date": i.due_date.isoformat(),
            "principal": format_minor(i.principal, 2),
            "interest": format_minor(i.interest, 2),
            "fee": format_minor(i.fee, 2),
            "total": format_minor(i.principal + i.interest + i.fee, 2),
        }
        for i in schedule
    ]


def make_offer(uow: UnitOfWork, application_id: str, customer_id: str | None = None) -> dict:
    """An offer with its disclosure (综合年化利率 by IRR next to the nominal rate); above the cap, refused.
    Another customer's application is refused as an unknown one is (`loan_application_not_found`)."""
    application = get_application(uow.connection, application_id)
    if customer_id is not None and application["customer_id"] != customer_id:
        raise ApplicationNotFound(f"application {application_id} not found")  # as if there were none: see `accept`
    check_direct(application["product_code"])  # a line's product: drawn through the line, never offered
    if application["decision"] != "approved":
        reasons = ", ".join(json.loads(application["reasons"]))
        raise ApplicationDeclined(f"application {application_id} was declined ({reasons}): no offer is made on it")
    used = accepted_offer(uow.connection, application_id)
    if used is not None:  # an offer made now would read open and could never be accepted
        raise ApplicationAlreadyUsed(
            f"application {application_id} already became loan {used['loan_id']} (offer {used['id']} was "
            "accepted): no more offers are made on it; apply again for another loan",
            application_id=application_id,
            loan_id=used["loan_id"],
            offer_id=used["id"],
        )
    product = get_product(uow.connection, application["product_code"])
    disclosure = disclose(product, application["amount"], application["term"], clock.business_date())
    check_cap(disclosure)
    row = {
        "id": new_id("lo_"),
        "application_id": application_id,
        "customer_id": application["customer_id"],
        "nominal_rate": str(disclosure.nominal_rate),
        "annualized_rate": str(disclosure.annualized_rate),
        "total_interest": disclosure.total_interest,
        "total_fees": disclosure.total_fees,
        "schedule": json.dumps(schedule_json(disclosure.schedule)),
        "status": OfferStatus.open,
        "loan_id": None,
        "created_at": clock.now_micros(),
    }
    uow.execute(loan_offers.insert().values(**row))
    publish(uow, TOPIC, "lending.offer_made", row["id"], {"id": row["id"], "application_id": application_id})
    fee_rate = {"early_repayment_fee_rate": product.early_repayment_fee_rate}
    return offer_json({**row, **{k: application[k] for k in OFFERED}, **fee_rate})


def accepted_offer(connection: Connection, application_id: str) -> dict | None:
    """The offer of an application that was accepted (its loan), if one was: one application makes one loan."""
    row = (
        connection.execute(
            select(loan_offers.c.id, loan_offers.c.loan_id).where(
                loan_offers.c.application_id == application_id, loan_offers.c.status == OfferStatus.accepted
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def offer_status(connection: Connection, row: Any) -> str:
    """An offer's status as it reads everywhere: `accepted` (it became the loan), `superseded` (another offer of
    its application was accepted: stored so when that one was, and read so for an offer stored open before that
    was written down), or `open`."""
    used = row["status"] == OfferStatus.open and accepted_offer(connection, row["application_id"]) is not None
    return _status_read(row["status"], used)


OFFERED = ("product_code", "amount", "term")
"""What an offer is for, from its application: the product, the amount and the term (months)."""


def _offer_rows() -> Select[Any]:
    """Offers with what each is for (`OFFERED`, from its application) and their product's stored terms."""
    a = loan_applications.c
    return (
        select(loan_offers, a.product_code, a.amount, a.term, lending_products.c.data.label("product_terms"))
        .join(loan_applications, loan_applications.c.id == loan_offers.c.application_id)
        .join(lending_products, lending_products.c.code == a.product_code)
    )


def _with_fee_rate(row: Any) -> dict:
    """An offer row with its product's early repayment fee rate (提前还款违约金), disclosed with the offer."""
    product = product_from_json(terms_of(row["product_code"], row["product_terms"]))
    return {**row, "early_repayment_fee_rate": product.early_repayment_fee_rate}


def offer_json(row: Any) -> dict:
    """An offer as answered; `row` is its row with what it is for (`OFFERED`)."""
    return {
        "id": row["id"],
        "application_id": row["application_id"],
        "customer_id": row["customer_id"],
        "product_code": row["product_code"],
        "amount": format_minor(row["amount"], 2),
        "term": row["term"],
        "offered_at": clock.iso(row["created_at"]),
        "nominal_rate": row["nominal_rate"],
        "annualized_rate": row["annualized_rate"],
        "total_interest": format_minor(row["total_interest"], 2),
        "total_fees": format_minor(row["total_fees"], 2),
        "early_repayment_fee_rate": str(row["early_repayment_fee_rate"]),
        "schedule": json.loads(row["schedule"]),
        "status": str(row["status"]),
        "loan_id": row["loan_id"],
    }


def get_offer(connection: Connection, offer_id: str) -> dict:
    """An offer's row with what it is for (`OFFERED`) and its status as it reads (`offer_status`)."""
    row = connection.execute(_offer_rows().where(loan_offers.c.id == offer_id)).mappings().first()
    if row is None:
        raise OfferNotFound(f"offer {offer_id} not found")
    return {**_with_fee_rate(row), "status": offer_status(connection, row)}


def list_offers(connection: Connection, customer_id: str | None = None) -> list[dict]:
    """Offers as answered, newest first (the last 500): a customer's own, or every one. Each status reads as
    `offer_status` says, in one more query for all of them: an offer stored open whose application already
    became a loan reads `superseded`."""
    query = _offer_rows().order_by(loan_offers.c.created_at.desc(), loan_offers.c.id.desc()).limit(500)
    if customer_id is not None:
        query = query.where(loan_offers.c.customer_id == customer_id)
    rows = connection.execute(query).mappings().all()
    used = set(
        connection.execute(
            select(loan_offers.c.application_id).where(
                loan_offers.c.application_id.in_({r["application_id"] for r in rows}),
                loan_offers.c.status == OfferStatus.accepted,
            )
        ).scalars()
    )
    return [
        offer_json({**_with_fee_rate(r), "status": _status_read(r["status"], r["application_id"] in used)})
        for r in rows
    ]


def _status_read(stored: str, application_used: bool) -> str:
    """`offer_status` of an offer stored `stored` whose application became a loan (`application_used`) or not."""
    return str(OfferStatus.superseded if stored == OfferStatus.open and application_used else stored)


def accept(uow: UnitOfWork, offer_id: str, customer_id: str) -> dict:
    """Contract acceptance (签约) and disbursement (放款) to the customer's wallet, in one unit of work.

    Another customer's offer is refused as an unknown one is (`loan_offer_not_found`, the same detail).

    The schedule starts today. The upfront fee is the disclosed fees less the instalment fees; it is
    kept from the amount paid out: debit principal receivable, credit wallet and fee income.

    One application makes one loan, however many offers were quoted on it; and on PostgreSQL the
    borrower's wallet row is locked first, so parallel acceptances are checked against the borrower
    limits one after another (SQLite's single writer already serialises them)."""
    ledger_queries.lock_account(uow, customer_wallet_id(customer_id))
    query = select(loan_offers).where(loan_offers.c.id == offer_id)
    offer = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
    if offer is None:
        raise OfferNotFound(f"offer {offer_id} not found")
    if offer["customer_id"] != customer_id:  # another's offer answers as one that does not exist
        raise OfferNotFound(f"offer {offer_id} not found")
    if offer["status"] == OfferStatus.accepted:
        raise OfferNotOpen(
            f"offer {offer_id} was already accepted: it became loan {offer['loan_id']}",
            offer_id=offer_id,
            loan_id=offer["loan_id"],
        )
    application = get_application(uow.connection, offer["application_id"])
    check_direct(application["product_code"])  # a line's product is never disbursed as a cash loan
    used = accepted_offer(uow.connection, application["id"])
    if used is not None:  # this offer is superseded (stored so, or stored open before that was written down)
        raise ApplicationAlreadyUsed(
            f"offer {offer_id} is superseded: its application {application['id']} already became loan "
            f"{used['loan_id']} when offer {used['id']} was accepted; apply again for another loan",
            application_id=application["id"],
            loan_id=used["loan_id"],
            offer_id=used["id"],
        )
    product = get_product(uow.connection, application["product_code"])
    start = clock.business_date()
    disclosure = disclose(product, application["amount"], application["term"], start)
    check_cap(disclosure)
    check_borrower_limits(  # again: another loan, or a lower declared income, may have come since
        outstanding_of(uow.connection, customer_id), application["amount"], income_on_file(uow.connection, customer_id)
    )
    loan_id = book_loan(
        uow,
        customer_id,
        product,
        application["amount"],
        application["term"],
        disclosure,
        start,
        upfront_fee(disclosure),
        offer_id,
    )
    uow.execute(
        loan_offers.update().where(loan_offers.c.id == offer_id).values(status=OfferStatus.accepted, loan_id=loan_id)
    )
    uow.execute(  # one application, one loan: its other offers are no longer open
        loan_offers.update()
        .where(
            loan_offers.c.application_id == application["id"],
            loan_offers.c.id != offer_id,
            loan_offers.c.status == OfferStatus.open,
        )
        .values(status=OfferStatus.superseded)
    )
    publish(
        uow,
        TOPIC,
        "lending.loan_disbursed",
        loan_id,
        {
            "id": loan_id,
            "customer_id": customer_id,
            "principal": format_minor(application["amount"], 2),
            "lenders": lenders_of(uow.connection, loan_id, product),
        },
    )
    return get_loan(uow.connection, loan_id)


def lenders_of(connection: Connection, loan_id: str, product: Product) -> list[str]:
    """Who lends a loan's money: "platform" for its own share, and the funding partner for the rest."""
    funding = None
    if product.platform_share < 1:
        funding = partners.funding_of(connection, loan_id)
    lenders = ["platform"] if product.platform_share > 0 else []
    return lenders + ([funding["partner_id"]] if funding else [])


def book_loan(
    uow: UnitOfWork,
    customer_id: str,
    product: Product,
    amount: int,
    term: int,
    disclosure: Disclosure,
    start: dt.date,
    fee: int,
    offer_id: str | None = None,
) -> str:
    """Create a loan from its disclosed schedule and disburse it (accepted offers, credit-line draws)."""
    loan_id = new_id("ln_")
    _insert_loan(uow, loan_id, customer_id, product, amount, term, start, offer_id)
    _insert_schedule(uow, loan_id, disclosure, day_of(start))
    _disburse(uow, loan_id, customer_id, amount, fee, product)
    return loan_id


def upfront_fee(disclosure: Disclosure) -> int:
    return disclosure.total_fees - sum(i.fee for i in disclosure.schedule)


def _insert_loan(
    uow: UnitOfWork,
    loan_id: str,
    customer_id: str,
    product: Product,
    amount: int,
    term: int,
    start: dt.date,
    offer_id: str | None,
) -> None:
    uow.execute(
        loans.insert().values(
            id=loan_id,
            customer_id=customer_id,
            product_code=product.code,
            offer_id=offer_id,
            principal=amount,
            annual_rate=str(product.annual_rate),
            penalty_rate_e6=rate_e6(product.penalty_annual_rate),
            method=str(product.method),
            term=term,
            grace_days=product.grace_days,
            start_day=day_of(start),
            status="active",
            days_past_due=0,
            bucket="current",
            loan_class="normal",
            penalty_accrued=0,
            written_off=0,
            recovered=0,
            created_at=clock.now_micros(),
        )
    )


def instalment_rows(loan_id: str, schedule: Any, first_period_start: int) -> list[dict]:
    rows, start = [], first_period_start
    for i in schedule:
        due = day_of(i.due_date)
        rows.append(
            {
                "loan_id": loan_id,
                "number": i.number,
                "period_start_day": start,
                "due_day": due,
                "principal": i.principal,
                "interest": i.interest,
                "fee": i.fee,
                "principal_paid": 0,
                "interest_paid": 0,
                "fee_paid": 0,
                "interest_accrued": 0,
                "fee_recognized": 0,
            }
        )
        start = due
    return rows


def _insert_schedule(uow: UnitOfWork, loan_id: str, disclosure: Disclosure, start: int) -> None:
    uow.execute(loan_instalments.insert(), instalment_rows(loan_id, disclosure.schedule, start))


def _disburse(
    uow: UnitOfWork, loan_id: str, customer_id: str, amount: int, fee: int, product: Product | None = None
) -> None:
    accounts.open_accounts(uow, loan_id)
    principal = accounts.account_id(loan_id, "principal")
    own = amount - fee
    if product is not None and product.platform_share < 1:  # joint lending / facilitation: the partner's cash
        own -= partners.fund_loan(uow, loan_id, product, amount, today())
    if own > 0:
        reserve.fund_reserve(uow, f"dsb.{loan_id}.own_funds", own)  # the platform's own cash backs the credit
    moves = [move(f"dsb.{loan_id}", principal, customer_wallet_id(customer_id), amount - fee, "loan_disbursement")]
    if fee:
        moves.append(move(f"dsb.{loan_id}.fee", principal, accounts.FEE_INCOME, fee, "loan_upfront_fee"))
    post(uow, moves)


# -- reading ---------------------------------------------------------------------------------------


def loan_row(connection: Connection, loan_id: str, *, lock: bool = False) -> dict:
    query = select(loans).where(loans.c.id == loan_id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).mappings().first()
    if row is None:
        raise LoanNotFound(f"loan {loan_id} not found")
    return dict(row)


def disclosed_rate(connection: Connection, loan_id: str) -> str | None:
    """The annualized rate disclosed for a loan before it was taken (综合年化利率, IRR of its schedule, fees
    included): its accepted offer's, or its credit-line draw's plan (pay later, instalments)."""
    offered = union_all(
        select(loan_offers.c.annualized_rate.label("rate")).where(loan_offers.c.loan_id == loan_id),
        select(credit_line_draws.c.annualized_rate.label("rate")).where(credit_line_draws.c.loan_id == loan_id),
    ).subquery()
    return connection.execute(select(offered.c.rate).limit(1)).scalar()


def get_loan(connection: Connection, loan_id: str) -> dict:
    row = loan_row(connection, loan_id)
    balance = accounts.balances(connection, loan_id)
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "product_code": row["product_code"],
        "principal": format_minor(row["principal"], 2),
        "annual_rate": row["annual_rate"],
        "annualized_rate": disclosed_rate(connection, loan_id),
        "method": row["method"],
        "term": row["term"],
        "start_date": date_of(row["start_day"]).isoformat(),
        "status": row["status"],
        "days_past_due": row["days_past_due"],
        "bucket": row["bucket"],
        "loan_class": row["loan_class"],
        **accrual_dates(connection, row),
        "outstanding_principal": format_minor(balance.principal, 2),
    }


def list_loans(connection: Connection, customer_id: str | None = None) -> list[dict]:
    query = select(loans.c.id).order_by(loans.c.created_at, loans.c.id)
    if customer_id is not None:
        query = query.where(loans.c.customer_id == customer_id)
    return [get_loan(connection, i) for i in connection.execute(query.limit(500)).scalars()]


def instalments(connection: Connection, loan_id: str) -> list[dict]:
    rows = connection.execute(
        select(loan_instalments).where(loan_instalments.c.loan_id == loan_id).order_by(loan_instalments.c.number)
    ).mappings()
    return [dict(r) for r in rows]


def schedule_of(connection: Connection, loan_id: str) -> list[dict]:
    loan_row(connection, loan_id)
    return [
        {
            "number": r["number"],
            "due_date": date_of(r["due_day"]).isoformat(),
            "principal": format_minor(r["principal"], 2),
            "interest": format_minor(r["interest"], 2),
            "fee": format_minor(r["fee"], 2),
            "principal_paid": format_minor(r["principal_paid"], 2),
            "interest_paid": format_minor(r["interest_paid"], 2),
            "fee_paid": format_minor(r["fee_paid"], 2),
        }
        for r in instalments(connection, loan_id)
    ]
