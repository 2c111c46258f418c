"""A loan's statement (贷款对账单) from its business rows — schedule, repayments, end-of-day facts —
and the check that its ledger accounts say the same (`reconcile`).

Outstanding interest is what was accrued less what was paid; fees are those fallen due (recognized)
less paid; penalties accrued less paid; principal the amount lent less principal repaid. A
written-off loan owes nothing on the books (it was written off); what was written off and what has
been recovered since are shown instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Connection, func, select

from puhui import clock
from puhui.lending import accounts
from puhui.lending.accrual import accrual_dates
from puhui.lending.service import loan_row
from puhui.lending.tables import loan_instalments, loan_provisions, loan_repayments
from puhui.money import format_minor


@dataclass(frozen=True)
class Statement:
    loan_id: str
    status: str
    as_of: str  # business date of the statement
    accrued_through: str  # the last end of day run (before its payoff; its write-off date), or its start if later
    paid_off_on: str | None  # the date it was paid off (结清日), None until then
    written_off_on: str | None  # the date it was written off (核销日), None unless it was
    outstanding_principal: int
    accrued_interest: int
    fees: int
    penalties: int
    provision: int
    paid_principal: int
    paid_interest: int
    paid_fees: int
    paid_penalties: int
    paid_early_fees: int
    written_off: int
    recovered: int

    @property
    def paid_to_date(self) -> int:
        return (
            self.paid_principal
            + self.paid_interest
            + self.paid_fees
            + self.paid_penalties
            + self.paid_early_fees
            + self.recovered
        )

    def as_json(self) -> dict:
        out = {}
        for key, value in asdict(self).items():
            out[key] = format_minor(value, 2) if isinstance(value, int) else value
        out["paid_to_date"] = format_minor(self.paid_to_date, 2)
        return out


def statement(connection: Connection, loan_id: str) -> Statement:
    loan = loan_row(connection, loan_id)
    s = loan_instalments.c
    schedule = connection.execute(
        select(
            func.coalesce(func.sum(s.interest_accrued - s.interest_paid), 0),
            func.coalesce(func.sum(s.fee_recognized - s.fee_paid), 0),
        ).where(s.loan_id == loan_id)
    ).one()
    r = loan_repayments.c
    paid = connection.execute(
        select(
            *(
                func.coalesce(func.sum(col), 0)
                for col in (r.principal, r.interest, r.fees, r.penalty, r.early_fee, r.recovery)
            )
        ).where(r.loan_id == loan_id)
    ).one()
    provision = (
        connection.execute(
            select(loan_provisions.c.amount).where(loan_provisions.c.loan_id == loan_id)
        ).scalar_one_or_none()
        or 0
    )
    live = loan["status"] != "written_off"
    dates = accrual_dates(connection, loan)
    return Statement(
        loan_id=loan_id,
        status=loan["status"],
        as_of=clock.business_date().isoformat(),
        accrued_through=str(dates["accrued_through"]),
        paid_off_on=dates["paid_off_on"],
        written_off_on=dates["written_off_on"],
        outstanding_principal=loan["principal"] - int(paid[0]) if live else 0,
        accrued_interest=int(schedule[0]) if live else 0,
        fees=int(schedule[1]) if live else 0,
        penalties=loan["penalty_accrued"] - int(paid[3]) if live else 0,
        provision=int(provision) if live else 0,
        paid_principal=int(paid[0]),
        paid_interest=int(paid[1]),
        paid_fees=int(paid[2]),
        paid_penalties=int(paid[3]),
        paid_early_fees=int(paid[4]),
        written_off=loan["written_off"],
        recovered=int(paid[5]),
    )


def reconcile(connection: Connection, loan_id: str) -> dict[str, tuple[int, int]]:
    """Where the statement and the loan's ledger accounts differ: {item: (statement, ledger)}."""
    st = statement(connection, loan_id)
    ledger = accounts.balances(connection, loan_id)
    pairs = {
        "outstanding_principal": (st.outstanding_principal, ledger.principal),
        "accrued_interest": (st.accrued_interest, ledger.interest),
        "fees": (st.fees, ledger.fees),
        "penalties": (st.penalties, ledger.penalty),
        "provision": (st.provision, ledger.provision),
    }
    return {k: v for k, v in pairs.items() if v[0] != v[1]}
