"""NAV files: every row checked before any is stored — negative or zero NAVs, unknown funds and
malformed rows refuse the whole file and change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.wealth.errors import InvalidNavFile
from puhui.wealth.funds import orders as fo
from puhui.wealth.funds.nav_files import load_navs, parse_file, parse_nav
from puhui.wealth.funds.tables import fund_navs

from .test_fund_orders import SCHEDULE, TIERS

HEADER = "date,fund_code,nav\n"


@given(st.integers(min_value=1, max_value=10**9 - 1))
def test_a_positive_nav_of_four_places_reads_back_exactly(nav_e4):
    assert parse_nav(str(Decimal(nav_e4).scaleb(-4))) == nav_e4


@pytest.mark.parametrize(
    "text", ["-1.0000", "0", "0.0000", "-0.0001", "1.23456", "abc", "", "NaN", "Infinity", "1e2", "100000"]
)
def test_bad_nav_values_are_refused(text):
    with pytest.raises(ValueError):
        parse_nav(text)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (HEADER + "2026-03-02,EQ1,1.0000\n2026-03-03,EQ1,-1.0100\n", "line 3"),  # negative NAV
        (HEADER + "2026-03-02,EQ1,0\n", "greater than zero"),
        (HEADER + "2026-03-02,NOPE,1.0000\n", "unknown fund"),
        (HEADER + "2026-03-02,EQ1\n", "expected 3 fields"),
        (HEADER + "2026-03-02,EQ1,1.0,extra\n", "expected 3 fields"),
        (HEADER + "2026-02-30,EQ1,1.0000\n", "line 2"),
        ("fund_code,date,nav\n", "header"),
        (HEADER, "no rows"),
        (HEADER + "2026-03-02,EQ1,1.0000\n2026-03-02,EQ1,1.0001\n", "twice"),
    ],
)
def test_bad_files_name_the_problem(content, says):
    with pytest.raises(InvalidNavFile, match=says):
        parse_file(content, {"EQ1"})


def _navs(engine) -> list:
    with reading(engine) as connection:
        return connection.execute(select(fund_navs).order_by(fund_navs.c.fund_code, fund_navs.c.nav_date)).all()


def test_a_bad_row_stores_nothing_and_a_good_file_loads_once(engine, clock):
    transaction(engine, lambda uow: fo.create_product(uow, "EQ1", "普惠稳健", 2, TIERS, SCHEDULE, 2))
    good = HEADER + "2026-03-02,EQ1,1.0123\n2026-03-03,EQ1,1.0200\n"
    for bad in (good + "2026-03-04,EQ1,-0.5000\n", good + "2026-03-04,OTHER,1.0000\n", good + "2026-03-04,EQ1\n"):
        with pytest.raises(InvalidNavFile):
            transaction(engine, lambda uow, c=bad: load_navs(uow, c))
        assert _navs(engine) == []
    assert transaction(engine, lambda uow: load_navs(uow, good)) == {"recorded": 2, "unchanged": 0}
    assert [(r.nav_date, r.nav) for r in _navs(engine)] == [("2026-03-02", 10_123), ("2026-03-03", 10_200)]
    assert transaction(engine, lambda uow: load_navs(uow, good)) == {"recorded": 0, "unchanged": 2}
    before = _navs(engine)
    with pytest.raises(InvalidNavFile, match="already has NAV"):  # orders may have been priced at it
        transaction(engine, lambda uow: load_navs(uow, HEADER + "2026-03-04,EQ1,1.1\n2026-03-03,EQ1,1.0300\n"))
    assert _navs(engine) == before
