"""Property: running lending end of day on each day of a span, on time, and running the span at once
(a gap, caught up day by day) leave identical books: the balance of every account and every loan's
rows. Random borrowers (some stop paying, so penalties, classes and write-offs are in play) on SQLite:
the database is copied at the last common day, and each copy runs the span its way."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from puhui import clock as clock_module
from puhui.db import reading
from puhui.db.engine import create_engine_from_url
from puhui.ledger.audit import audit
from puhui.ledger.tables import accounts
from puhui.lending import eod
from puhui.lending.service import instalments
from puhui.lending.tables import loan_instalments, loan_provisions, loans

from .lending_world import INTEREST_FIRST, MONTHLY, World

BORROWERS = st.lists(
    st.fixed_dictionaries(
        {
            "product": st.sampled_from(["cash-12", "biz-6"]),
            "amount_yuan": st.integers(5_000, 20_000),
            "pays": st.integers(0, 6),  # instalments paid before the borrower stops
            "late_days": st.integers(0, 20),
        }
    ),
    min_size=1,
    max_size=3,
)
START = dt.datetime(2026, 1, 5, 1, 30, tzinfo=dt.UTC)


def books(engine) -> dict:  # type: ignore[no-untyped-def]
    """Every account's balances and every loan's rows (no timestamps)."""
    with engine.connect() as connection:
        balance = select(
            accounts.c.id,
            accounts.c.debits_posted,
            accounts.c.credits_posted,
            accounts.c.debits_pending,
            accounts.c.credits_pending,
        ).order_by(accounts.c.id)
        loan = select(*[c for c in loans.c if c.name != "created_at"]).order_by(loans.c.id)
        return {
            "accounts": connection.execute(balance).all(),
            "loans": connection.execute(loan).all(),
            "instalments": connection.execute(
                select(loan_instalments).order_by(loan_instalments.c.loan_id, loan_instalments.c.number)
            ).all(),
            "provisions": connection.execute(select(loan_provisions).order_by(loan_provisions.c.loan_id)).all(),
        }


def copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _live(world: World, people: list[tuple[str, str, dict]], through: int) -> None:
    """Each day up to `through`: borrowers pay their first `pays` instalments `late_days` late; end of day."""
    with reading(world.engine) as connection:
        due = {loan: [r["due_day"] for r in instalments(connection, loan)] for _, loan, _ in people}
    while world.today().toordinal() <= through:
        day = world.today().toordinal()
        for cid, loan, plan in people:
            if day - plan["late_days"] in due[loan][: plan["pays"]]:
                world.repay(loan, cid)
        world.eod()
        if world.today().toordinal() < through:
            world.next_day()
        else:
            break


@settings(
    max_examples=5,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(borrowers=BORROWERS, common=st.integers(20, 140), span=st.integers(2, 40))
@example(borrowers=[{"product": "cash-12", "amount_yuan": 12_000, "pays": 1, "late_days": 0}], common=50, span=30)
def test_a_span_day_by_day_and_at_once_give_the_same_books(sqlite_template, tmp_path_factory, borrowers, common, span):
    folder = tmp_path_factory.mktemp("eod-span")
    daily_path, gap_path = folder / "daily.db", folder / "gap.db"
    copy(sqlite_template, daily_path)
    daily = create_engine_from_url(f"sqlite:///{daily_path}")
    manual = clock_module.ManualClock(START)
    try:
        with clock_module.using(manual):
            w = World(daily, manual)
            w.product(MONTHLY)
            w.product(INTEREST_FIRST)
            people = []
            for plan in borrowers:
                cid = w.customer()
                people.append((cid, w.loan(cid, plan["product"], plan["amount_yuan"] * 100, 6), plan))
            last_common = w.today().toordinal() + common
            _live(w, people, last_common)
            copy(daily_path, gap_path)
            for _ in range(span):  # on time: every day of the span
                w.next_day()
                last = w.eod()
                assert last.ran
            gap = create_engine_from_url(f"sqlite:///{gap_path}")
            try:
                result = eod.run(gap, last.business_date)  # the same span, caught up in one call
                assert result.ran and len(result.caught_up) == span - 1
                assert books(gap) == books(daily)
                with reading(gap) as connection:
                    assert audit(connection).ok
            finally:
                gap.dispose()
    finally:
        daily.dispose()
