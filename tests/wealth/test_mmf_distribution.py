"""The set-based distribution in SQL agrees holder by holder with the pure formula (Hypothesis), on
SQLite and PostgreSQL, for funds created at run time: Σ holders' income + residue = distributed."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer, TransferResult
from puhui.ledger.service import create_transfers
from puhui.ledger.tables import transfers
from puhui.wealth import units as funds
from puhui.wealth.mmf import distribution, yields

DAY = dt.date(2026, 1, 5)
_codes = itertools.count(1)


def _fund_with_holders(engine, holdings: list[int]) -> str:  # type: ignore[no-untyped-def]
    code = f"HT{next(_codes):04d}"

    def work(uow):  # type: ignore[no-untyped-def]
        funds.create_fund(uow, code, f"test fund {code}")
        batch = []
        for i, units in enumerate(holdings):
            holder = funds.ensure_holder(uow, code, f"h{i}")
            if units:
                batch.append(
                    Transfer(
                        f"seed.{code}.{i}",
                        funds.issued_account(code),
                        holder,
                        units,
                        funds.ledger_of(code),
                        "mmf_confirm",
                    )
                )
        assert all(r == TransferResult.ok for r in create_transfers(uow, batch))

    transaction(engine, work)
    return code


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    holdings=st.lists(st.integers(min_value=0, max_value=10**11), min_size=0, max_size=25),
    r_e4=st.integers(min_value=0, max_value=60_000),
)
def test_sql_distribution_matches_the_formula(engine, clock, holdings: list[int], r_e4: int) -> None:  # type: ignore[no-untyped-def]
    code = _fund_with_holders(engine, holdings)
    result = transaction(engine, lambda uow: distribution.distribute(uow, code, DAY, r_e4))
    expected = yields.distribute(holdings, r_e4)
    with reading(engine) as c:
        paid = dict(
            c.execute(
                select(transfers.c.credit_account_id, transfers.c.amount).where(
                    transfers.c.ledger == funds.ledger_of(code), transfers.c.code == "mmf_income"
                )
            ).all()
        )
        report = audit(c)
    assert report.ok, report.violations
    for i, income in enumerate(expected.incomes):
        assert paid.get(funds.holder_account(code, f"h{i}"), 0) == income
    assert (result.paid, result.distributed, result.residue) == (expected.paid, expected.distributed, expected.residue)
    assert result.paid + result.residue == result.distributed
