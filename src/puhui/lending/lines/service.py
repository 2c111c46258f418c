"""Revolving credit lines (循环授信额度) and draws on them (用信), in the caller's unit of work.

A line holds a limit, a grade, a status and an expiry — never a balance of money. What is
available is the limit less the outstanding principal of the active loans drawn on the line, read
from each loan's receivable account in the ledger, so repaying restores the room by itself.

The limit comes from risk: with a platform credit model the customer is scored and
`puhui.risk.scoring.limits.credit_line` gives the grade and the limit (an operator's requested
limit can only lower it; grade E is declined). Fallback (documented): with no platform model the
operator's requested limit is used, bounded by the regulatory limits (single-borrower cap, a third
of the annual income), grade none, reason `no_platform_model`. The income is the one declared when
the line is opened, else the customer's income on file (`service.income_on_file`); with none, no
line is opened (`annual_income_required`).

A draw locks the line row (SELECT ... FOR UPDATE on PostgreSQL; SQLite serializes writers from
BEGIN IMMEDIATE), then checks the room, so concurrent draws never pass the limit, and the borrower
limits over all the customer's loans against the income on file (none on file: refused). It creates a
loan with the lending service's own loan creation (contract, schedule, disbursement backed by the
reserve) on a zero-interest line product (`catalog.LINE_PRODUCTS`: drawn only through a line, never
applied for directly): pay later (免息, due on the statement's repayment day) or instalments with a fee
each period (分期手续费), the plans and fees of those products, disclosed by IRR and refused above the cap.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.events.outbox import publish
from puhui.identity.errors import CustomerNotFound
from puhui.identity.service import customer_wallet_id
from puhui.ledger import queries as ledger_queries
from puhui.lending import bnpl, catalog, service
from puhui.lending.disclosure import Disclosure, check_cap
from puhui.lending.errors import (
    AnnualIncomeRequired,
    LimitInvalid,
    LineDeclined,
    LineExists,
    LineExpired,
    LineFrozen,
    LineLimitExceeded,
    LineNotFound,
    LineOverdue,
)
from puhui.lending.lines.tables import credit_line_draws, credit_lines
from puhui.lending.policy import (
    INCOME_SHARE_DENOMINATOR,
    SINGLE_BORROWER_CAP,
    borrower_headroom,
    check_borrower_limits,
)
from puhui.lending.products import InstalmentPlan, check_application
from puhui.lending.tables import loans
from puhui.money import format_minor

DEFAULT_TERM_DAYS = 365
PLANS = tuple(catalog.PLAN_PRODUCTS)  # pay_later, instalments


@dataclass(frozen=True)
class Grant:
    """A risk decision on a line (授信决策)."""

    limit: int
    grade: str | None
    score: str | None
    reasons: list[str]


# -- the limit from risk ---------------------------------------------------------------------------


def regulatory_ceiling(annual_income: int | None) -> int:
    ceiling = SINGLE_BORROWER_CAP
    return min(ceiling, annual_income // INCOME_SHARE_DENOMINATOR) if annual_income is not None else ceiling


def grant(connection: Connection, customer_id: str, annual_income: int | None, requested: int | None) -> Grant:
    """The grade and limit for a customer: the platform model and `limits`, or the fallback."""
    from puhui.risk.errors import UnknownModel
    from puhui.risk.scoring import registry
    from puhui.risk.scoring.platform import PLATFORM_MODEL

    ceiling = regulatory_ceiling(annual_income)
    try:
        registry.champion(connection, PLATFORM_MODEL)
    except UnknownModel:
        if requested is None:
            raise LimitInvalid("without a platform credit model the operator must give the limit") from None
        return Grant(
            min(requested, ceiling),
            None,
            None,
            ["no_platform_model", "operator_limit"] + (["regulatory_ceiling"] if requested > ceiling else []),
        )
    from puhui.risk.scoring.limits import credit_line
    from puhui.risk.scoring.platform import score_customer

    scored = score_customer(connection, customer_id)
    line = credit_line(scored["score"], Decimal(annual_income or 0) / 1200)  # fen a year -> yuan a month
    if line.grade == "E" or line.limit <= 0:
        raise LineDeclined(f"grade {line.grade}, limit {line.limit}", grade=line.grade)
    limit = min(int(line.limit * 100), ceiling, requested if requested is not None else ceiling)
    return Grant(limit, line.grade, str(scored["score"]), ["platform_model", f"grade_{line.grade}"])


# -- lines -----------------------------------------------------------------------------------------


def _check_limit(limit: Any) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise LimitInvalid("a credit limit is a positive number of fen")


def open_line(
    uow: UnitOfWork,
    customer_id: str,
    opened_by: str,
    *,
    annual_income: int | None = None,
    limit: int | None = None,
    term_days: int = DEFAULT_TERM_DAYS,
) -> dict:
    """Open a line for a customer (one per customer): limit and grade from risk, expiry in `term_days`.
    `annual_income` is the income the customer declares; without it, the income on file; with none,
    refused (`annual_income_required`). The line's products exist from then on (listed before any draw)."""
    if limit is not None:
        _check_limit(limit)
    if annual_income is not None and (isinstance(annual_income, bool) or annual_income < 0):
        raise InvalidInput("annual income must not be negative")
    if not 1 <= term_days <= 3 * 366:
        raise InvalidInput("a line lasts from 1 day to 3 years")
    if ledger_queries.available(uow.connection, customer_wallet_id(customer_id)) is None:
        raise CustomerNotFound(f"customer {customer_id} has no wallet")
    if uow.execute(select(credit_lines.c.id).where(credit_lines.c.customer_id == customer_id)).first() is not None:
        raise LineExists(f"customer {customer_id} already has a credit line")
    annual_income = service.income_of(uow.connection, customer_id, annual_income)
    if annual_income is None:
        raise AnnualIncomeRequired(
            f"no annual income is on file for customer {customer_id}: give the income the customer declares "
            "(annual_income), which bounds the line at a third of it",
            field="annual_income",
        )
    decision = grant(uow.connection, customer_id, annual_income, limit)
    now = clock.now_micros()
    row: dict[str, Any] = {
        "id": service.new_id("cl_"),
        "customer_id": customer_id,
        "credit_limit": decision.limit,
        "grade": decision.grade,
        "score": decision.score,
        "annual_income": annual_income,
        "reasons": json.dumps(decision.reasons),
        "status": "active",
        "expires_day": service.today() + term_days,
        "opened_by": opened_by,
        "created_at": now,
        "updated_at": now,
    }
    uow.execute(credit_lines.insert().values(**row))
    ensure_products(uow)
    publish(
        uow,
        service.TOPIC,
        "lending.line_opened",
        row["id"],
        {"id": row["id"], "customer_id": customer_id, "limit": format_minor(decision.limit, 2)},
    )
    return line_json(uow.connection, row)


def line_row(connection: Connection, line_id: str, *, lock: bool = False) -> dict:
    query = select(credit_lines).where(credit_lines.c.id == line_id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).mappings().first()
    if row is None:
        raise LineNotFound(f"credit line {line_id} not found")
    return dict(row)


def line_of(connection: Connection, customer_id: str) -> str:
    found = connection.execute(select(credit_lines.c.id).where(credit_lines.c.customer_id == customer_id)).first()
    if found is None:
        raise LineNotFound(f"customer {customer_id} has no credit line")
    return found[0]


def outstanding(connection: Connection, line_id: str) -> int:
    """Outstanding principal of the active loans drawn on the line, from the ledger (fen)."""
    ids = (
        select(credit_line_draws.c.loan_id)
        .join(loans, loans.c.id == credit_line_draws.c.loan_id)
        .where(credit_line_draws.c.line_id == line_id, loans.c.status == "active")
    )
    return ledger_queries.net_debit(connection, codes=["loan_receivable"], owners=ids)


def overdue(connection: Connection, line_id: str) -> bool:
    """Whether an active loan drawn on the line is past due (逾期): no new credit until it is repaid."""
    found = connection.execute(
        select(loans.c.id)
        .join(credit_line_draws, credit_line_draws.c.loan_id == loans.c.id)
        .where(credit_line_draws.c.line_id == line_id, loans.c.status == "active", loans.c.days_past_due > 0)
        .limit(1)
    ).first()
    return found is not None


def draws_of(connection: Connection, line_id: str) -> list[dict]:
    """The loans drawn on a line, oldest first, each with its plan and what is still owed."""
    rows = connection.execute(
        select(credit_line_draws)
        .where(credit_line_draws.c.line_id == line_id)
        .order_by(credit_line_draws.c.created_at, credit_line_draws.c.loan_id)
        .limit(500)
    )
    out = []
    for row in rows.mappings():
        loan = service.get_loan(connection, row["loan_id"])
        out.append(
            {
                "loan_id": row["loan_id"],
                "amount": format_minor(row["amount"], 2),
                "plan": row["plan"],
                "periods": row["periods"],
                "annualized_rate": row["annualized_rate"],
                "payment_id": row["payment_id"],
                "status": loan["status"],
                "days_past_due": loan["days_past_due"],
                "outstanding_principal": loan["outstanding_principal"],
            }
        )
    return out


def drawable_now(connection: Connection, row: dict, available: int) -> tuple[int, str | None]:
    """What a draw on the line may take now (fen), and why it is less than the line's `available` (None when
    it is not): a line that refuses draws (frozen, expired, a loan past due: the draw's own refusal codes)
    gives 0; otherwise the lesser of `available` and the borrower's headroom under the regulatory limits
    over all their loans, judged by `policy.borrower_headroom`, the function a draw's check uses, against
    the same income on file (`income_third`, `single_borrower_cap`, `annual_income_required`)."""
    if row["status"] != "active":
        return 0, f"credit_line_{row['status']}"
    if service.today() > row["expires_day"]:
        return 0, "credit_line_expired"
    if overdue(connection, row["id"]):
        return 0, "credit_line_overdue"
    customer_id = row["customer_id"]
    room = borrower_headroom(
        service.outstanding_of(connection, customer_id), service.income_on_file(connection, customer_id)
    )
    return (room.amount, room.rule) if room.amount < available else (available, None)


def line_json(connection: Connection, row: dict) -> dict:
    used = outstanding(connection, row["id"])
    available = max(row["credit_limit"] - used, 0)
    drawable, why = drawable_now(connection, row, available)
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "limit": format_minor(row["credit_limit"], 2),
        "outstanding": format_minor(used, 2),
        "available": format_minor(available, 2),
        "drawable_now": format_minor(drawable, 2),
        "drawable_now_reason": why,
        "grade": row["grade"],
        "score": row["score"],
        "reasons": json.loads(row["reasons"]),
        "status": row["status"],
        "expires_on": service.date_of(row["expires_day"]).isoformat(),
    }


def get_line(connection: Connection, line_id: str) -> dict:
    return line_json(connection, line_row(connection, line_id))


def change_limit(uow: UnitOfWork, line_id: str, limit: int) -> dict:
    """An operator's new limit (调额), within the regulatory ceiling; below what is owed, no room is left."""
    _check_limit(limit)
    row = line_row(uow.connection, line_id, lock=True)
    ceiling = regulatory_ceiling(service.income_of(uow.connection, row["customer_id"], None))
    if limit > ceiling:
        raise LimitInvalid(f"the limit is above the regulatory ceiling of {format_minor(ceiling, 2)}")
    return _update(uow, row, "lending.line_limit_changed", credit_limit=limit)


def set_status(uow: UnitOfWork, line_id: str, status: str) -> dict:
    """Freeze (冻结) or unfreeze a line; a frozen line refuses draws, its loans run on."""
    if status not in ("active", "frozen"):
        raise InvalidInput("a line's status is active or frozen")
    row = line_row(uow.connection, line_id, lock=True)
    return _update(uow, row, f"lending.line_{'frozen' if status == 'frozen' else 'unfrozen'}", status=status)


def _update(uow: UnitOfWork, row: dict, event: str, **values: Any) -> dict:
    values["updated_at"] = clock.now_micros()
    uow.execute(credit_lines.update().where(credit_lines.c.id == row["id"]).values(**values))
    publish(uow, service.TOPIC, event, row["id"], {"id": row["id"], **{k: str(v) for k, v in values.items()}})
    return get_line(uow.connection, row["id"])


# -- draws -----------------------------------------------------------------------------------------


def plan_of(plan: str, periods: int | None, amount: int, purchase: dt.date) -> Disclosure:
    """The disclosed plan: pay later (one interest-free instalment) or instalments with a fee each period, as
    the line product of the plan states them (`catalog.choose_plan`: an unknown plan or periods refused with
    what was wrong and the plans offered)."""
    _, chosen = catalog.choose_plan(plan, periods)
    schedule = bnpl.instalments(amount, chosen, purchase)
    fees, rate = sum(i.fee for i in schedule), bnpl.plan_rate(amount, schedule, purchase)
    return Disclosure(Decimal(0), rate, 0, fees, schedule, 0, amount)


def plan_choices() -> tuple[tuple[str, int, InstalmentPlan], ...]:
    """The plans a purchase can take, as the line's products state them: (plan, periods, its fee) for pay later
    (免息) and each of the instalment plans (分期)."""
    return tuple(
        (plan, terms.periods, terms)
        for plan, code in catalog.PLAN_PRODUCTS.items()
        for terms in catalog.line_product(code).instalment_plans
    )


def plan_options(amount: int, purchase: dt.date) -> list[dict]:
    """Every plan for `amount` bought on `purchase`, disclosed as a draw would be (息费披露), before the
    customer chooses: the product and fee rate a period it is priced by, rates by IRR, fees, the total and
    the schedule. An amount outside what a plan's product lends is refused as a draw of it would be (422
    `amount_out_of_range`, with the range), so no plan is quoted beyond it. The quote is an illustration for
    any caller, with a line or without: the caller's own room (the line's limit, the borrower's regulatory
    limits) is checked by the draw or the checkout itself, as it stands then."""
    for plan, periods, _ in plan_choices():
        check_application(catalog.line_product(catalog.PLAN_PRODUCTS[plan]), amount, periods)
    options = []
    for plan, periods, terms in plan_choices():
        disclosure = plan_of(plan, periods, amount, purchase)
        options.append(
            {
                "plan": plan,
                "periods": periods,
                "product_code": catalog.PLAN_PRODUCTS[plan],
                "fee_rate_per_period": str(terms.fee_rate),
                **disclosure_json(disclosure),
            }
        )
    return options


def ensure_products(uow: UnitOfWork) -> None:
    """The line products exist (idempotent: an identical product is returned as it is)."""
    for data in catalog.LINE_PRODUCTS.values():
        service.create_product(uow, data)


def draw(
    uow: UnitOfWork,
    line_id: str,
    customer_id: str,
    amount: int,
    plan: str,
    periods: int | None = None,
    *,
    request_key: str | None = None,
    payment_id: str | None = None,
) -> dict:
    """Draw `amount` on the line as a loan disbursed to the customer's wallet; refused past the limit. Another
    customer's line is refused as an unknown one is (`credit_line_not_found`, the same detail)."""
    start = clock.business_date()
    disclosure = plan_of(plan, periods, amount, start)  # refuses bad amounts and plans before any lock
    check_cap(disclosure)
    row = line_row(uow.connection, line_id, lock=True)
    if row["customer_id"] != customer_id:
        raise LineNotFound(f"credit line {line_id} not found")  # another's line answers as one that does not exist
    if row["status"] != "active":
        raise LineFrozen(f"credit line {line_id} is {row['status']}")
    if service.today() > row["expires_day"]:
        raise LineExpired(f"credit line {line_id} expired on {service.date_of(row['expires_day'])}")
    if overdue(uow.connection, line_id):
        raise LineOverdue(f"a loan on credit line {line_id} is past due")
    used = outstanding(uow.connection, line_id)
    if used + amount > row["credit_limit"]:
        raise LineLimitExceeded(
            f"{format_minor(amount, 2)} is more than the {format_minor(max(row['credit_limit'] - used, 0), 2)} "
            f"available on credit line {line_id} (limit {format_minor(row['credit_limit'], 2)}, "
            f"{format_minor(used, 2)} outstanding)",
            available=format_minor(max(row["credit_limit"] - used, 0), 2),
        )
    check_borrower_limits(  # all the customer's loans against the latest income declared, not the line's own
        service.outstanding_of(uow.connection, customer_id), amount, service.income_on_file(uow.connection, customer_id)
    )
    ensure_products(uow)
    product = catalog.get_product(uow.connection, catalog.PLAN_PRODUCTS[plan])  # the product that priced the plan
    term = len(disclosure.schedule)
    check_application(product, amount, term)
    loan_id = service.book_loan(uow, customer_id, product, amount, term, disclosure, start, 0)
    uow.execute(
        credit_line_draws.insert().values(
            loan_id=loan_id,
            line_id=line_id,
            customer_id=customer_id,
            amount=amount,
            plan=plan,
            periods=term,
            annualized_rate=str(disclosure.annualized_rate),
            request_key=request_key,
            payment_id=payment_id,
            created_at=clock.now_micros(),
        )
    )
    publish(
        uow,
        service.TOPIC,
        "lending.line_drawn",
        loan_id,
        {"id": loan_id, "line_id": line_id, "customer_id": customer_id, "principal": format_minor(amount, 2)},
    )
    return draw_json(uow.connection, loan_id, disclosure)


def draw_json(connection: Connection, loan_id: str, disclosure: Disclosure) -> dict:
    return {"loan": service.get_loan(connection, loan_id), "plan": disclosure_json(disclosure)}


def disclosure_json(disclosure: Disclosure) -> dict:
    return {
        "nominal_rate": str(disclosure.nominal_rate),
        "annualized_rate": str(disclosure.annualized_rate),
        "total_fees": format_minor(disclosure.total_fees, 2),
        "total_repayment": format_minor(disclosure.total_repayment, 2),
        "schedule": service.schedule_json(disclosure.schedule),
    }


def draw_by_key(connection: Connection, request_key: str) -> dict | None:
    found = connection.execute(select(credit_line_draws).where(credit_line_draws.c.request_key == request_key))
    row = found.mappings().first()
    return dict(row) if row is not None else None
