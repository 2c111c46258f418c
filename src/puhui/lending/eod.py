"""End of day (日终批处理) for every loan at once, in set-based SQL: no query per loan.

For business date `d`, in one unit of work:
1. instalment fees falling due are recognized (fees receivable vs fee income);
2. interest accrues (应计利息) on the interest receivable vs interest income. The day count is 30/360
   (`schedule.DAY_COUNT`): each instalment's scheduled interest (balance × rate / 12) is spread
   evenly over the actual days of its period, so by the due date the receivable holds exactly the
   scheduled interest;
3. days past due (逾期天数) count from the earliest unpaid due date once the grace period
   (宽限期) has passed; then the delinquency bucket (current, M1–M3+) and the five-category class;
4. penalty interest (罚息) on overdue principal: the day's overdue principal × penalty rate / 360,
   half-up to the fen per loan. One day per run: a gap is run day by day (`puhui.eod.runs`), so
   an instalment falling due inside a gap is charged only from its own due date;
5. write-off (核销) of loans more than `WRITE_OFF_DPD` days past due: the provision is raised to
   the whole principal and used up against it; accrued interest, fees and penalties go to the
   write-off expense. Money received afterwards is a recovery (`repayments`);
6. provisions (贷款损失准备) set to the class rate of the platform's own outstanding principal: the
   whole of it for a loan from the platform's own book, its share (less the funding partner's
   principal still outstanding, `partners.partner_outstanding_sql`) in joint lending, since the
   partner bears its share of losses; nothing in pure facilitation.

A repayment that cures arrears does not wait for the night: `refresh_loan` reruns steps 3 and 6 for
that one loan, in the repayment's unit of work, with the same SQL, as of the last date run.

Every amount is computed by grouped queries over all loans; the postings are staged and written
set-based (`puhui.ledger.bulk`) with deterministic ids (`acr.<loan>.<yyyymmdd>` …). A date
runs once (`lending_eod_runs`); running it again changes nothing. Which dates may run is the rule
of every end of day (`puhui.eod.runs`): only dates that are over, none skipped before the last run, and
the days of a gap one by one, in order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import Engine, func, select, text

from puhui import clock
from puhui.db import UnitOfWork, transaction
from puhui.eod import runs as eod_runs
from puhui.events.outbox import publish
from puhui.ledger import bulk
from puhui.ledger import queries as ledger_queries
from puhui.lending import accounts
from puhui.lending.accounts import move, post
from puhui.lending.delinquency import BUCKETS as BUCKET_LIMITS
from puhui.lending.delinquency import CLASS_LIMITS, PROVISION_RATES
from puhui.lending.partners import service as partners
from puhui.lending.schedule import DAY_COUNT
from puhui.lending.service import TOPIC, day_of
from puhui.lending.tables import lending_eod_runs, loan_provisions

JOB = "lending"  # its dates in `eod_runs`
WRITE_OFF_DPD = 180  # written off once more than 180 days past due (documented platform rule)

# Delinquency buckets and classes by days past due, from the limits of `puhui.lending.delinquency`
# (a test checks these CASE expressions against its functions for every day count).
BUCKETS = tuple((limit, name) for name, limit in BUCKET_LIMITS)
CLASSES = tuple((limit, cls.value) for cls, limit in CLASS_LIMITS)


def _case(column: str, steps: tuple[tuple[int, str], ...], last: str) -> str:
    whens = " ".join(f"WHEN {column} <= {limit} THEN '{name}'" for limit, name in steps)
    return f"CASE {whens} ELSE '{last}' END"


BUCKET_SQL = _case("days_past_due", BUCKETS, "M3+")
CLASS_SQL = _case("days_past_due", CLASSES, "loss")


def _provision_bp_sql(column: str) -> str:
    whens = " ".join(f"WHEN '{cls.value}' THEN {int(rate * 10000)}" for cls, rate in PROVISION_RATES.items())
    return f"CASE {column} {whens} ELSE 0 END"


ACTIVE = "SELECT id FROM loans WHERE status = 'active'"
# Postings are staged as (id, debit account, credit account, amount, code); `acct(x, part)` names a
# loan's account in SQL.


def acct(loan: str, part: str) -> str:
    return f"'loan.' || {loan} || '.{part}'"


FEES_DUE = f"""
    SELECT 'due.' || loan_id || '.' || CAST(number AS VARCHAR(8)) || '.f', {acct("loan_id", "fees")},
           :fee_income, fee - fee_recognized, 'instalment_fee'
    FROM loan_instalments WHERE due_day <= :d AND fee > fee_recognized AND loan_id IN ({ACTIVE})
"""
RECOGNIZE_FEES = f"""
    UPDATE loan_instalments SET fee_recognized = fee
    WHERE due_day <= :d AND fee > fee_recognized AND loan_id IN ({ACTIVE})
"""

TARGET = """CASE WHEN due_day <= :d THEN interest
    ELSE (2 * interest * (:d - period_start_day) + (due_day - period_start_day))
         / (2 * (due_day - period_start_day)) END"""
ACCRUING = f"period_start_day < :d AND interest_accrued < {TARGET} AND loan_id IN ({ACTIVE})"
ACCRUALS = f"""
    SELECT 'acr.' || loan_id || '.' || :stamp, {acct("loan_id", "interest")}, :interest_income,
           sum({TARGET} - interest_accrued), 'interest_accrual'
    FROM loan_instalments WHERE {ACCRUING} GROUP BY loan_id
"""
ACCRUE = f"UPDATE loan_instalments SET interest_accrued = {TARGET} WHERE {ACCRUING}"

UNPAID = "(i.principal_paid < i.principal OR i.interest_paid < i.interest OR i.fee_paid < i.fee)"
PAST_DUE = f"""coalesce((
        SELECT :d - min(i.due_day) FROM loan_instalments i
        WHERE i.loan_id = loans.id AND i.due_day + loans.grace_days < :d AND {UNPAID}), 0)"""
# Only rows that change are written: a full rewrite of every loan is what end of day must avoid.
DAYS_PAST_DUE = f"""
    UPDATE loans SET days_past_due = {PAST_DUE} WHERE status = 'active' AND days_past_due <> {PAST_DUE}
"""
CLASSIFY = f"""UPDATE loans SET bucket = {BUCKET_SQL}, loan_class = {CLASS_SQL}
    WHERE status = 'active' AND (bucket <> {BUCKET_SQL} OR loan_class <> {CLASS_SQL})"""

PENALTY = f"""(
    SELECT (2 * CAST(sum(i.principal - i.principal_paid) AS BIGINT) * loans.penalty_rate_e6
            + {DAY_COUNT * 1_000_000}) / {2 * DAY_COUNT * 1_000_000}
    FROM loan_instalments i
    WHERE i.loan_id = loans.id AND i.due_day + loans.grace_days < :d AND i.principal_paid < i.principal)"""
PENALIZED = "status = 'active' AND days_past_due > 0 AND penalty_rate_e6 > 0"
PENALTIES = f"""
    SELECT 'pen.' || id || '.' || :stamp, {acct("id", "penalty")}, :penalty_income, amount, 'penalty_interest'
    FROM (SELECT id, {PENALTY} AS amount FROM loans WHERE {PENALIZED}) p WHERE amount > 0
"""
ADD_PENALTIES = f"UPDATE loans SET penalty_accrued = penalty_accrued + coalesce({PENALTY}, 0) WHERE {PENALIZED}"


def _balance(part: str) -> str:
    return ledger_queries.balance_sql(f"'loan.' || loans.id || '.{part}'", debit_normal=part != "provision")


WRITE_OFFS = f"""
    SELECT id, {_balance("principal")} AS principal, {_balance("interest")} AS interest,
           {_balance("fees")} AS fees, {_balance("penalty")} AS penalty, {_balance("provision")} AS provision
    FROM loans WHERE status = 'active' AND days_past_due > {WRITE_OFF_DPD}
"""
WRITE_OFF = f"""
    UPDATE loans SET status = 'written_off',
        written_off = {_balance("principal")} + {_balance("interest")} + {_balance("fees")} + {_balance("penalty")}
    WHERE status = 'active' AND days_past_due > {WRITE_OFF_DPD}
"""
DROP_WRITTEN_OFF = "DELETE FROM loan_provisions WHERE loan_id IN (SELECT id FROM loans WHERE status = 'written_off')"

# The platform's own share of the outstanding principal: in joint lending the partner bears its share of
# the losses (`partners.write_off`), so only the rest is provisioned.
OWN_PRINCIPAL = f"({_balance('principal')} - {partners.partner_outstanding_sql('loans.id')})"
PROVISION_TARGET = f"(2 * {OWN_PRINCIPAL} * {_provision_bp_sql('loans.loan_class')} + 10000) / 20000"
PROVISIONS = f"""
    SELECT 'prv.' || id || '.' || :stamp,
           CASE WHEN target > held THEN :expense ELSE {acct("id", "provision")} END,
           CASE WHEN target > held THEN {acct("id", "provision")} ELSE :expense END,
           CASE WHEN target > held THEN target - held ELSE held - target END,
           CASE WHEN target > held THEN 'provision' ELSE 'provision_release' END
    FROM (SELECT id, {PROVISION_TARGET} AS target, {_balance("provision")} AS held FROM loans WHERE status = 'active') p
    WHERE target <> held
"""
UPDATE_PROVISIONS = f"""
    UPDATE loan_provisions SET loan_class = (SELECT loan_class FROM loans WHERE loans.id = loan_provisions.loan_id),
        amount = (SELECT {PROVISION_TARGET} FROM loans WHERE loans.id = loan_provisions.loan_id), business_day = :d
    WHERE loan_id IN ({ACTIVE})
      AND (amount <> (SELECT {PROVISION_TARGET} FROM loans WHERE loans.id = loan_provisions.loan_id)
           OR loan_class <> (SELECT loan_class FROM loans WHERE loans.id = loan_provisions.loan_id))
"""
INSERT_PROVISIONS = f"""
    INSERT INTO loan_provisions (loan_id, loan_class, amount, business_day)
    SELECT id, loan_class, {PROVISION_TARGET}, :d FROM loans
    WHERE status = 'active' AND NOT EXISTS (SELECT 1 FROM loan_provisions p WHERE p.loan_id = loans.id)
"""


@dataclass(frozen=True)
class EodResult:
    business_date: dt.date
    ran: bool  # False when the date had already run (nothing changed)
    loans: int
    transfers: int
    caught_up: tuple[EodResult, ...] = ()  # the days of a gap, run first, in order

    def as_json(self) -> dict:
        return {
            "business_date": self.business_date.isoformat(),
            "already_done": not self.ran,  # the words of every end-of-day answer (`puhui.eod.answers`)
            "loans": self.loans,
            "transfers": self.transfers,
            "caught_up": [day.as_json() for day in self.caught_up],
        }


def run(engine: Engine, date: dt.date) -> EodResult:
    """End of day for `date` under the rule of every end of day (`puhui.eod.runs`): a date not over or
    one skipped before the last run is refused; a gap runs day by day, each day in its own unit of
    work; a date that already ran changes nothing."""
    done = eod_runs.run_days(engine, JOB, date, lambda d: transaction(engine, lambda uow: run_day(uow, d)))
    return _answer(done)


def run_in(uow: UnitOfWork, date: dt.date) -> EodResult:
    """The same in the caller's unit of work (the API): every day of a gap commits, or none."""
    return _answer(eod_runs.run_in(uow, JOB, date, run_day))


def _answer(done: eod_runs.Run[EodResult]) -> EodResult:
    return replace(done.result, caught_up=tuple(result for _, result in done.caught_up))


def run_day(uow: UnitOfWork, date: dt.date) -> EodResult:
    """One business day exactly as on time (the day after the last one run; `run` sees to that);
    a second run for the same date changes nothing."""
    d = day_of(date)
    done = uow.execute(select(lending_eod_runs).where(lending_eod_runs.c.business_day == d)).mappings().first()
    if done is not None:
        return EodResult(date, False, done["loans"], done["transfers"])
    if uow.postgres:  # repayments and disbursements wait (they lock a loan row first) until the day is closed
        uow.execute(text("LOCK TABLE loans IN EXCLUSIVE MODE"))
    started = clock.now_micros()
    uow.execute(
        lending_eod_runs.insert().values(
            business_day=d, status="running", loans=0, transfers=0, started_at=started, finished_at=started
        )
    )
    p = {
        "d": d,
        "stamp": date.strftime("%Y%m%d"),
        "fee_income": accounts.FEE_INCOME,
        "interest_income": accounts.INTEREST_INCOME,
        "penalty_income": accounts.PENALTY_INCOME,
        "expense": accounts.PROVISION_EXPENSE,
    }
    loans_count = uow.execute(text("SELECT count(*) FROM loans WHERE status = 'active'")).scalar_one()
    key = date.isoformat()
    bulk.begin(uow)
    # Posted step by step: write-offs and provisions read the balances the earlier steps made.
    bulk.stage_select(uow, FEES_DUE, p)
    uow.execute(text(RECOGNIZE_FEES), p)
    bulk.stage_select(uow, ACCRUALS, p)
    uow.execute(text(ACCRUE), p)
    uow.execute(text(DAYS_PAST_DUE), p)
    uow.execute(text(CLASSIFY))
    bulk.stage_select(uow, PENALTIES, p)
    uow.execute(text(ADD_PENALTIES), p)
    posted = bulk.post(uow, TOPIC, key, "lending.eod_posted")
    bulk.stage_rows(uow, _write_offs(uow, d))
    posted += bulk.post(uow, TOPIC, key, "lending.eod_posted")
    bulk.stage_select(uow, PROVISIONS, p)
    uow.execute(text(UPDATE_PROVISIONS), p)
    uow.execute(text(INSERT_PROVISIONS), p)
    posted += bulk.post(uow, TOPIC, key, "lending.eod_posted")
    uow.execute(
        lending_eod_runs.update()
        .where(lending_eod_runs.c.business_day == d)
        .values(status="done", loans=loans_count, transfers=posted, finished_at=clock.now_micros())
    )
    publish(uow, TOPIC, "lending.eod_completed", key, {"business_date": key, "loans": loans_count, "transfers": posted})
    return EodResult(date, True, loans_count, posted)


ONE_LOAN = " AND id = :loan"
ONE_PROVISION = f"""
    SELECT loan_class, {PROVISION_TARGET} AS target, {_balance("provision")} AS held FROM loans
    WHERE status = 'active' AND id = :loan
"""


def refresh_loan(uow: UnitOfWork, loan_id: str, transfer_id: str) -> None:
    """One active loan's days past due, bucket, class and provision, recomputed by this end of day's own
    SQL as of the last date run, after a repayment changed what is unpaid (逾期结清): the repayment shows
    at once, not after the next night. Days past due count from the oldest instalment still unpaid, 0
    when none is past its grace; the provision moves to the new class's target on the loan's balance
    now (posted as `transfer_id`, a release when it falls). The next end of day finds it all as it
    would have set it. Nothing to do before the first end of day (no loan is past due then)."""
    last = uow.execute(select(func.max(lending_eod_runs.c.business_day))).scalar()
    if last is None:
        return
    p = {"d": last, "loan": loan_id}
    uow.execute(text(DAYS_PAST_DUE + ONE_LOAN), p)
    uow.execute(text(CLASSIFY + ONE_LOAN), p)
    row = uow.execute(text(ONE_PROVISION), p).mappings().first()
    if row is None:
        return
    target, held = int(row["target"]), int(row["held"])
    provision = accounts.account_id(loan_id, "provision")
    if target > held:
        post(uow, [move(transfer_id, accounts.PROVISION_EXPENSE, provision, target - held, "provision")])
    elif target < held:
        post(uow, [move(transfer_id, provision, accounts.PROVISION_EXPENSE, held - target, "provision_release")])
    values = {"loan_class": row["loan_class"], "amount": target, "business_day": last}
    updated = uow.execute(loan_provisions.update().where(loan_provisions.c.loan_id == loan_id).values(**values))
    if not updated.rowcount:
        uow.execute(loan_provisions.insert().values(loan_id=loan_id, **values))


def _write_offs(uow: UnitOfWork, d: int) -> list[tuple[str, str, str, int, str]]:
    """The write-off postings of loans past the threshold (read before the loans are marked);
    a funding partner's share of the principal is written down on its account (`partners`)."""
    rows = uow.execute(text(WRITE_OFFS)).mappings().all()
    if not rows:
        return []
    uow.execute(text(WRITE_OFF))
    uow.execute(text(DROP_WRITTEN_OFF))
    moves = []
    for r in rows:
        loan = r["id"]
        provision, principal = accounts.account_id(loan, "provision"), accounts.account_id(loan, "principal")
        top_up = int(r["principal"]) - int(r["provision"])
        if top_up > 0:
            moves.append((f"wo.{loan}.prv", accounts.PROVISION_EXPENSE, provision, top_up, "provision"))
        elif top_up < 0:
            moves.append((f"wo.{loan}.prv", provision, accounts.PROVISION_EXPENSE, -top_up, "provision_release"))
        if r["principal"]:
            moves.append((f"wo.{loan}.principal", provision, principal, int(r["principal"]), "write_off"))
        for part in ("interest", "fees", "penalty"):
            if r[part]:
                moves.append(
                    (
                        f"wo.{loan}.{part}",
                        accounts.WRITE_OFF_EXPENSE,
                        accounts.account_id(loan, part),
                        int(r[part]),
                        "write_off",
                    )
                )
    partners.write_off(uow, [r["id"] for r in rows], d)  # posted apart: partner accounts carry flags bulk refuses
    return moves
