"""The reserve end of day (准备金日终, job `insurance.reserves`) and the reserve reports.

For business date D, per insurer, in one unit of work, each line of business (险种, `lines`):
- medical (百万医疗): the premium figures through D come from one grouped scan of the policies (written,
  refunded, earned by 1/365 per day to the fen exactly as `puhui.insurance.models.earned_through`, a
  cancelled policy keeping premium − refund), the claims figures from `claims_source` (paid, case
  estimates), IBNR by chain-ladder on the insurer's paid triangle (Bornhuetter-Ferguson alongside, for
  comparison);
- return shipping (退货运费险): the covers and claims as of D's end (`returns_source`), earned over each
  cover's term and IBNR by chain-ladder or BF as `return_line` says;
then each line's books (`puhui.insurance.reserves.books`) are moved to its figures by their differences
alone, a handful of transfers per insurer, line and day, whatever the number of policies. A date runs once
per insurer (`insurance_reserve_runs`, with each line's figures as booked in `insurance_reserve_run_lines`,
which the reports read back), and never once the job has completed it or the insurer has run a later date
(books only move forwards); which dates may run is the rule of every end of day (`puhui.eod.runs`). The
reports answer each line and their totals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from puhui import clock
from puhui.db import UnitOfWork, transaction
from puhui.eod import runs as eod_runs
from puhui.eod.dates import check_date
from puhui.events.outbox import publish
from puhui.insurance.errors import InsurerNotFound
from puhui.insurance.reserves import books, claims_source, lines, models, return_line, returns_source
from puhui.insurance.reserves.errors import ReserveRunNotFound, ReserveTermsInvalid
from puhui.insurance.reserves.lines import MEDICAL, RETURN_SHIPPING, LineFigures
from puhui.insurance.reserves.tables import insurance_reserve_run_lines as run_lines
from puhui.insurance.reserves.tables import insurance_reserve_runs as runs
from puhui.insurance.reserves.tables import insurer_reserve_terms as terms_table
from puhui.insurance.settlement import service as settlement
from puhui.insurance.settlement.errors import SettlementTermsMissing
from puhui.insurance.tables import insurers
from puhui.ledger.models import Transfer
from puhui.ledger.service import post_chain
from puhui.money import format_minor

JOB = "insurance.reserves"
TOPIC = "insurance"


@dataclass(frozen=True, slots=True)
class Terms:
    """An insurer's ratios as data: a-priori expected loss ratio (预期赔付率, for BF), commission
    (佣金率) and expense (费用率) ratios of earned premium (for the combined ratio)."""

    expected_loss_ratio: Decimal
    commission_ratio: Decimal
    expense_ratio: Decimal


DEFAULT_TERMS = Terms(Decimal("0.70"), Decimal("0.10"), Decimal("0.05"))


def _elapsed_sql(dialect: str) -> tuple[str, str]:
    """(days from start_date to :day, days of cover) as integer SQL on this backend."""
    if dialect == "postgresql":
        return "(CAST(:day AS DATE) - start_date)", "(end_date - start_date)"
    return (
        "CAST(julianday(:day) - julianday(start_date) AS INTEGER)",
        "CAST(julianday(end_date) - julianday(start_date) AS INTEGER)",
    )


def _premium_sql(dialect: str) -> str:
    since, span = _elapsed_sql(dialect)
    earned = (
        f"CASE WHEN {since} + 1 >= {span} THEN premium WHEN {since} + 1 <= 0 THEN 0 "
        f"ELSE premium * ({since} + 1) / {span} END"
    )
    cancelled = "cancelled_at IS NOT NULL AND cancelled_at < :end"
    return f"""
        SELECT insurer_id, count(CASE WHEN created_at < :end THEN 1 END),
               sum(CASE WHEN created_at < :end THEN premium ELSE 0 END),
               sum(CASE WHEN {cancelled} THEN refund ELSE 0 END),
               sum(CASE WHEN created_at >= :end THEN 0 WHEN {cancelled} THEN premium - refund ELSE {earned} END)
        FROM insurance_policies GROUP BY insurer_id
    """


@dataclass(frozen=True, slots=True)
class PremiumTotals:
    policies: int
    written: int
    refunded: int
    earned: int


def premium_totals(connection: Connection, day: dt.date) -> dict[str, PremiumTotals]:
    """Per insurer, over the policies sold by the end of `day`: written, refunded and earned (fen)."""
    sql = _premium_sql(connection.dialect.name)
    params = {
        "day": day.isoformat() if connection.dialect.name != "postgresql" else day,
        "end": clock.day_bounds(day)[1],
    }
    return {
        str(insurer): PremiumTotals(int(n), int(written or 0), int(refunded or 0), int(earned or 0))
        for insurer, n, written, refunded, earned in connection.execute(text(sql), params).all()
    }


def get_terms(connection: Connection, insurer_id: str) -> Terms:
    """The insurer's ratios: its own row (else the defaults), the commission ratio being the platform's
    commission rate from the insurer's settlement terms (保险代理佣金) where it has them."""
    row = connection.execute(select(terms_table).where(terms_table.c.insurer_id == insurer_id)).mappings().first()
    terms = DEFAULT_TERMS
    if row is not None:
        terms = Terms(
            Decimal(row["expected_loss_ratio"]), Decimal(row["commission_ratio"]), Decimal(row["expense_ratio"])
        )
    commission = _settlement_commission(connection, insurer_id)
    return terms if commission is None else replace(terms, commission_ratio=commission)


def _settlement_commission(connection: Connection, insurer_id: str) -> Decimal | None:
    try:
        return Decimal(settlement.terms_json(connection, insurer_id)["commission_rate"])
    except (InsurerNotFound, SettlementTermsMissing):
        return None


def set_terms(uow: UnitOfWork, insurer_id: str, terms: Terms) -> Terms:
    """Set an insurer's ratios (each from 0 to 2 with at most four places)."""
    values = (terms.expected_loss_ratio, terms.commission_ratio, terms.expense_ratio)
    if any(not Decimal(0) <= v <= 2 or v != v.quantize(Decimal("0.0001")) for v in values):
        raise ReserveTermsInvalid("ratios are from 0 to 2 with at most four places")
    row = {
        "expected_loss_ratio": format(terms.expected_loss_ratio, "f"),
        "commission_ratio": format(terms.commission_ratio, "f"),
        "expense_ratio": format(terms.expense_ratio, "f"),
        "updated_at": clock.now_micros(),
    }
    uow.execute(terms_table.delete().where(terms_table.c.insurer_id == insurer_id))
    uow.execute(terms_table.insert().values(insurer_id=insurer_id, **row))
    return terms


def _earned_by_month(connection: Connection, insurer_id: str, triangle: models.Triangle, earned_now: int) -> list[int]:
    """Earned premium in each accident month of the triangle, from the month-end reserve runs (the
    last month's from today's figure): the exposure Bornhuetter-Ferguson weighs."""
    rows = connection.execute(
        select(runs.c.business_date, runs.c.earned)
        .where(runs.c.insurer_id == insurer_id)
        .order_by(runs.c.business_date)
    ).all()
    at_month_end: dict[int, int] = {}
    for day, earned in rows:
        at_month_end[models.month_of(day)] = int(earned)
    cumulative, previous = [], 0
    for row in range(triangle.ages):
        month = triangle.first_month + row
        value = earned_now if row == triangle.ages - 1 else at_month_end.get(month, previous)
        cumulative.append(value)
        previous = value
    return [b - a for a, b in zip([0, *cumulative[:-1]], cumulative, strict=True)]


def _ibnr(
    connection: Connection, insurer_id: str, day: dt.date, payments: list[models.Payment], case: int, earned: int
) -> tuple[int, int]:
    """(chain-ladder IBNR, BF IBNR) from the insurer's paid triangle at `day`."""
    if not payments:
        return 0, 0
    triangle = models.paid_triangle(payments, day)
    chain = models.ibnr(models.chain_ladder(triangle), case)
    exposure = _earned_by_month(connection, insurer_id, triangle, earned)
    expected = get_terms(connection, insurer_id).expected_loss_ratio
    bf = models.ibnr(models.bornhuetter_ferguson(triangle, exposure, expected), case)
    return chain, bf


def _transfer_key(insurer_id: str, day: dt.date) -> str:
    return f"insres.{hashlib.sha256(insurer_id.encode()).hexdigest()[:16]}.{day:%Y%m%d}"


def _insurers(connection: Connection, *found: dict[str, Any]) -> list[str]:
    registered = {str(r) for r in connection.execute(select(insurers.c.partner_id)).scalars()}
    return sorted(registered.union(*(set(f) for f in found)))


def run_day(uow: UnitOfWork, day: dt.date) -> dict[str, Any]:
    """The reserve step for one date: each insurer not yet run for it has its books moved to the day's
    totals and its figures recorded. Running it again moves nothing.

    Books only ever move forwards: a date the job has completed (`puhui.eod.runs` sends it here once more
    for its idempotent answer) runs no insurer, even one without a row for it (onboarded after it), and a
    date before an insurer's latest run never runs that insurer — its books hold a later day's totals, and
    moving them to an earlier day's would undo that day's movements. A date not yet completed runs the
    insurers missing from it (a step that committed for some and crashed before the date was recorded).
    The step runs before its date is recorded (`eod.runs.run_days`), never after."""
    if eod_runs.completed(uow.connection, JOB, day):
        return _summary(day, 0, 0, already_done=True)
    premiums = premium_totals(uow.connection, day)
    payments = claims_source.payments_by_insurer(uow.connection, day)
    open_claims = claims_source.open_claims_by_insurer(uow.connection, day)
    returns = returns_source.figures_by_insurer(uow.connection, day)
    done = {str(i) for i in uow.execute(select(runs.c.insurer_id).where(runs.c.business_date == day)).scalars()}
    latest = latest_runs(uow.connection)
    ran, moved, passed = 0, 0, 0
    for insurer_id in _insurers(uow.connection, premiums, payments, open_claims, returns):
        if insurer_id in done:
            continue
        if insurer_id in latest and latest[insurer_id] > day:
            passed += 1  # its books are at a later day: this date is behind it
            continue
        medical = _medical(uow.connection, insurer_id, day, premiums, payments, open_claims)
        moved += _run_insurer(uow, insurer_id, day, medical, returns.get(insurer_id))
        ran += 1
    summary = _summary(day, ran, moved, already_done=ran == 0 and bool(done or passed))
    if moved:
        publish(uow, TOPIC, "insurance.reserves_run", day.isoformat(), summary)
    return summary


def _summary(day: dt.date, ran: int, moved: int, *, already_done: bool) -> dict[str, Any]:
    return {"business_date": day.isoformat(), "insurers": ran, "transfers": moved, "already_done": already_done}


def latest_runs(connection: Connection) -> dict[str, dt.date]:
    """Each insurer's latest reserve run date: the day its books are at."""
    query = select(runs.c.insurer_id, func.max(runs.c.business_date)).group_by(runs.c.insurer_id)
    return {str(insurer): _as_date(last) for insurer, last in connection.execute(query).all() if last is not None}


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _medical(
    connection: Connection,
    insurer_id: str,
    day: dt.date,
    premiums: dict[str, PremiumTotals],
    payments: dict[str, list[models.Payment]],
    open_claims: dict[str, list[claims_source.OpenClaimFigure]],
) -> LineFigures:
    """The medical line's figures at the end of `day`."""
    totals = premiums.get(insurer_id, PremiumTotals(0, 0, 0, 0))
    paid_claims = payments.get(insurer_id, [])
    paid = sum(p.amount for p in paid_claims if p.paid_date <= day)
    case = sum(c.case_estimate for c in open_claims.get(insurer_id, []))
    chain, bf = _ibnr(connection, insurer_id, day, paid_claims, case, totals.earned)
    return LineFigures(
        MEDICAL, totals.policies, totals.written, totals.refunded, totals.earned, paid, case, chain, bf, "chain_ladder"
    )


def _book(uow: UnitOfWork, insurer_id: str, key: str, figures: LineFigures) -> list[Transfer]:
    """The transfers that move a line's books to its figures (opening them first)."""
    books.open_books(uow, insurer_id, figures.line)
    booked = books.read_books(uow, insurer_id, figures.line)
    f = figures
    moves = books.movements(booked, f.written, f.refunded, f.earned, f.paid, f.case_reserve, f.ibnr)
    return list(books.transfers(insurer_id, key, moves, f.line))


def _run_insurer(
    uow: UnitOfWork, insurer_id: str, day: dt.date, figures: LineFigures, returns: LineFigures | None
) -> int:
    """Move the insurer's books line by line (the return-shipping line's once it has a cover) and record
    its run: the medical line's figures in the run's row, and each line booked as booked."""
    key = _transfer_key(insurer_id, day)
    booked = [figures] if returns is None or not returns.policies else [figures, returns]
    posted = [transfer for line in booked for transfer in _book(uow, insurer_id, key, line)]
    post_chain(uow, posted)
    uow.execute(
        run_lines.insert(), [{"insurer_id": insurer_id, "business_date": day, **lines.as_row(f)} for f in booked]
    )
    uow.execute(
        runs.insert().values(
            insurer_id=insurer_id,
            business_date=day,
            policies=figures.policies,
            written=figures.written,
            refunded=figures.refunded,
            earned=figures.earned,
            upr=figures.upr,
            paid=figures.paid,
            case_reserve=figures.case_reserve,
            ibnr=figures.ibnr,
            ibnr_bf=figures.ibnr_bf,
            transfers=len(posted),
            at=clock.now_micros(),
        )
    )
    return len(posted)


def run_reserves(engine: Engine, day: dt.date) -> dict[str, Any]:
    """`puhui insurance eod --date D`: one unit of work per date under the rule of every end of day
    (only dates that are over, none skipped before the last run, a gap's days in order first)."""
    done = eod_runs.run_days(engine, JOB, day, lambda d: transaction(engine, lambda uow: run_day(uow, d)))
    return {**done.result, "caught_up": [summary for _, summary in done.caught_up]}


# -- reports ---------------------------------------------------------------------------------------


def _run_row(connection: Connection, insurer_id: str, day: dt.date) -> Any:
    row = (
        connection.execute(select(runs).where(runs.c.insurer_id == insurer_id, runs.c.business_date == day))
        .mappings()
        .first()
    )
    if row is None:
        raise ReserveRunNotFound(f"the reserve end of day has not run for insurer {insurer_id} on {day}")
    return row


def line_figures(connection: Connection, insurer_id: str, day: dt.date) -> list[LineFigures]:
    """Each line's figures at the end of `day`, as the run booked them (a line it did not book: zeros). The run
    must have run the insurer. A run recorded before its lines were kept (migration 0051): the medical line
    from its row, the return-shipping line worked out again from its covers and claims as of that day."""
    row = _run_row(connection, insurer_id, day)
    c = run_lines.c
    query = select(run_lines).where(c.insurer_id == insurer_id, c.business_date == day)
    stored = {f.line: f for f in map(lines.of_row, connection.execute(query).mappings())}
    if not stored:
        return [lines.medical_of(row), returns_source.figures(connection, insurer_id, day)]
    return [stored.get(line) or _nothing_booked(line, day) for line in lines.LINES]


def _nothing_booked(line: str, day: dt.date) -> LineFigures:
    if line == RETURN_SHIPPING:
        return return_line.line_figures([], day)
    return LineFigures(line, 0, 0, 0, 0, 0, 0, 0, 0, "chain_ladder")


def reserves_json(connection: Connection, insurer_id: str, day: dt.date) -> dict[str, Any]:
    """An insurer's reserves at the end of `day` (准备金): UPR, case, IBNR, with what they rest on, for
    the totals of its lines of business and for each line."""
    found = line_figures(connection, insurer_id, day)
    return {
        "insurer_id": insurer_id,
        "business_date": day.isoformat(),
        **lines.money_json(lines.total(found)),
        "lines": [{"line": f.line, **lines.money_json(f)} for f in found],
    }


def ratios_json(connection: Connection, insurer_id: str, day: dt.date) -> dict[str, Any]:
    """Loss ratio (赔付率) = (paid + case + IBNR) ÷ earned; combined ratio (综合成本率) adds the
    commission and expense ratios; both since the insurer's first policy, for the totals and each line."""
    found = line_figures(connection, insurer_id, day)
    terms = get_terms(connection, insurer_id)
    commission, expense = terms.commission_ratio, terms.expense_ratio
    return {
        "insurer_id": insurer_id,
        "business_date": day.isoformat(),
        **lines.ratios_json(lines.total(found), commission, expense),
        "commission_ratio": format(commission, "f"),
        "expense_ratio": format(expense, "f"),
        "lines": [{"line": f.line, **lines.ratios_json(f, commission, expense)} for f in found],
    }


def claims_ageing_json(connection: Connection, insurer_id: str, day: dt.date) -> dict[str, Any]:
    """The insurer's open claims at the end of `day` by days since reported (0-30, 31-90, 91-180, >180)."""
    check_date(day)
    claims = claims_source.open_claims_by_insurer(connection, day).get(insurer_id, [])
    buckets = models.claims_ageing(((c.reported_date, c.case_estimate) for c in claims), day)
    return {
        "insurer_id": insurer_id,
        "business_date": day.isoformat(),
        "claims_present": claims_source.claims_present(),
        "buckets": [
            {"bucket": name, "claims": count, "case_estimate": format_minor(total, 2)}
            for name, (count, total) in buckets.items()
        ],
    }
