"""Schedules: numpy-financial as the oracle for equal instalments; hand arithmetic for the rest."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.lending.errors import ProductInvalid
from puhui.lending.products import RepaymentMethod
from puhui.lending.schedule import (
    accrued_interest,
    add_months,
    build_schedule,
    reamortize,
)

M = RepaymentMethod
START = dt.date(2026, 1, 31)
EPS = 1e-6  # float noise of the oracle near a half fen

amounts = st.integers(min_value=100_00, max_value=300_000_00)
terms = st.integers(min_value=1, max_value=60)
rates = st.integers(min_value=0, max_value=360_000).map(lambda e6: Decimal(e6) / 1_000_000)
methods = st.sampled_from(list(RepaymentMethod))
starts = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31))


def half_up(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@settings(max_examples=300)
@given(amount=amounts, rate=rates, term=terms)
def test_equal_instalments_agree_with_numpy_financial(amount, rate, term):
    schedule = build_schedule(amount, rate, term, M.equal_instalments, START)
    r, per = float(rate) / 12, np.arange(1, term + 1)
    with np.errstate(invalid="ignore", divide="ignore"):  # npf divides by the rate, then picks the r = 0 branch
        pmt = -npf.pmt(r, term, amount)
        ipmt, ppmt = -npf.ipmt(r, per, term, amount), -npf.ppmt(r, per, term, amount)
    assert [i.number for i in schedule] == list(range(1, term + 1))
    assert sum(i.principal for i in schedule) == amount
    # numpy-financial works in floats: at tiny rates (1 - (1 + r) ** -n) / r cancels, and its pmt is
    # off by up to about amount x 1e-10 (2e7 fen at 0.0002% a year: 0.0007 fen); the schedule is exact.
    tol = EPS + amount * 1e-9
    for i in schedule[:-1]:
        assert abs(i.total - pmt) <= 0.5 + tol  # the level instalment, half-up to the fen
        assert abs(i.interest - ipmt[i.number - 1]) <= 0.5 + tol
        assert abs(i.principal - ppmt[i.number - 1]) < 1 + tol
    last = schedule[-1]
    assert abs(last.interest - ipmt[-1]) <= 0.5 + EPS
    assert abs(last.principal - ppmt[-1]) < term  # the rounding residue: under a fen per period
    assert all(i.fee == 0 and i.principal >= 0 for i in schedule)


def test_equal_instalments_by_hand():
    # 12,000.00 at 12% over 12 months: pmt = 106,618.546 fen -> 106,619; 1st interest 12,000.
    schedule = build_schedule(1_200_000, Decimal("0.12"), 12, M.equal_instalments, START)
    first = schedule[0]
    assert (first.interest, first.principal, first.total) == (12000, 94619, 106619)
    # 2nd interest on the scheduled balance 1,105,381.454 at 1%: 11,053.81 fen -> 11054
    assert (schedule[1].interest, schedule[1].principal) == (11054, 95565)
    assert all(i.total == 106619 for i in schedule[:-1])
    # last: what is left of the principal, interest 1% of the scheduled balance 105,563.907 -> 1056;
    # the instalment is 4 fen below the others, the residue of rounding the payment up.
    left = 1_200_000 - sum(i.principal for i in schedule[:-1])
    assert (schedule[-1].principal, schedule[-1].interest) == (left, 1056) == (105559, 1056)


def test_equal_principal_by_hand():
    # 1,000.00 (100000 fen) over 3 months at 12%: principal 33333, 33333, 33334 (residue last);
    # interest on the balance at 1%: 1000.00, 666.67, 333.34 yuan*100 -> 1000, 667, 333.
    schedule = build_schedule(100_000, Decimal("0.12"), 3, M.equal_principal, START)
    assert [(i.principal, i.interest) for i in schedule] == [(33333, 1000), (33333, 667), (33334, 333)]


def test_interest_first_and_bullet_by_hand():
    # 10,000.00 at 18% for 6 months: 150.00 interest each month, principal at the end.
    schedule = build_schedule(1_000_000, Decimal("0.18"), 6, M.interest_first, START)
    assert [(i.principal, i.interest) for i in schedule] == [(0, 15000)] * 5 + [(1_000_000, 15000)]
    # bullet: one instalment at maturity, simple interest 10,000 x 18% x 6/12 = 900.00
    (only,) = build_schedule(1_000_000, Decimal("0.18"), 6, M.bullet, START)
    assert (only.number, only.due_date, only.principal, only.interest) == (1, dt.date(2026, 7, 31), 1_000_000, 90000)


def test_due_dates_clamp_to_month_end_from_the_start():
    dues = [i.due_date for i in build_schedule(100_000, Decimal("0.1"), 4, M.equal_principal, START)]
    assert dues == [dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30), dt.date(2026, 5, 31)]
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)


@settings(max_examples=200)
@given(
    amount=amounts,
    rate=rates,
    term=terms,
    method=methods,
    start=starts,
    fee=st.integers(0, 50_00),
    free=st.integers(0, 60),
)
def test_every_schedule_repays_the_principal_exactly(amount, rate, term, method, start, fee, free):
    free = min(free, term)
    schedule = build_schedule(amount, rate, term, method, start, instalment_fee=fee, interest_free_months=free)
    assert sum(i.principal for i in schedule) == amount
    assert all(i.principal >= 0 and i.interest >= 0 and i.fee == fee for i in schedule)
    assert all(i.interest == 0 for i in schedule[:free]) or method is M.bullet
    dues = [i.due_date for i in schedule]
    assert dues == sorted(dues) and dues[-1] == add_months(start, term)
    assert len(schedule) == (1 if method is M.bullet else term)


@settings(max_examples=100)
@given(amount=amounts, rate=rates, term=st.integers(2, 36))
def test_equal_principal_interest_is_on_the_balance(amount, rate, term):
    schedule = build_schedule(amount, rate, term, M.equal_principal, START)
    share = amount // term
    assert [i.principal for i in schedule[:-1]] == [share] * (term - 1)
    assert schedule[-1].principal == amount - share * (term - 1)
    balance = amount
    for i in schedule:
        assert i.interest == half_up(balance * rate / 12)
        balance -= i.principal


@settings(max_examples=100)
@given(amount=amounts, rate=rates, term=terms, free=st.integers(0, 60))
def test_interest_first_and_bullet_properties(amount, rate, term, free):
    free = min(free, term)
    monthly = half_up(amount * rate / 12)
    schedule = build_schedule(amount, rate, term, M.interest_first, START, interest_free_months=free)
    assert [i.interest for i in schedule] == [0] * free + [monthly] * (term - free)
    assert [i.principal for i in schedule] == [0] * (term - 1) + [amount]
    (only,) = build_schedule(amount, rate, term, M.bullet, START, interest_free_months=free)
    assert only.interest == half_up(amount * rate * (term - free) / 12)
    assert (only.principal, only.due_date) == (amount, add_months(START, term))


def test_interest_free_months_bnpl():
    # BNPL 6 instalments, 2 interest-free months, 12%, 3.00 fee per instalment.
    schedule = build_schedule(
        60_000, Decimal("0.12"), 6, M.equal_instalments, START, instalment_fee=300, interest_free_months=2
    )
    assert [i.interest for i in schedule[:2]] == [0, 0]
    assert all(i.fee == 300 for i in schedule)
    totals = {i.total for i in schedule[:-1]}
    assert len(totals) == 1  # level across the free months
    # after the free months the rest is an ordinary annuity on the balance left
    balance = 60_000 - schedule[0].principal - schedule[1].principal
    assert abs(schedule[2].principal + schedule[2].interest + npf.pmt(0.01, 4, balance)) <= 0.5 + EPS
    # fully interest-free: 60,000 fen in 6 equal parts, no interest at all
    free = build_schedule(60_000, Decimal("0.12"), 6, M.equal_instalments, START, interest_free_months=6)
    assert [(i.principal, i.interest) for i in free] == [(10_000, 0)] * 6


@pytest.mark.parametrize("term", [3, 6, 12])
def test_bnpl_instalments_zero_rate(term):
    schedule = build_schedule(99_999, Decimal(0), term, M.equal_instalments, START, instalment_fee=250)
    assert len(schedule) == term and all(i.fee == 250 for i in schedule)
    assert sum(i.principal for i in schedule) == 99_999 and all(i.interest == 0 for i in schedule)
    assert max(i.principal for i in schedule) - min(i.principal for i in schedule) <= term


@settings(max_examples=150)
@given(
    amount=amounts,
    rate=rates,
    term=st.integers(2, 48),
    paid=st.integers(1, 47),
    fraction=st.integers(1, 99),
    method=methods,
)
def test_reamortize_keeps_the_term_and_lowers_the_instalment(amount, rate, term, paid, fraction, method):
    paid = min(paid, term - 1)
    schedule = build_schedule(amount, rate, term, method, START)
    if method is M.bullet:
        paid = 0
    balance = amount - sum(i.principal for i in schedule[:paid])
    outstanding = balance * (100 - fraction) // 100  # a partial prepayment of `fraction` %
    if outstanding == 0:
        return
    remaining = term - paid
    next_due = add_months(START, paid + 1)
    rest = reamortize(outstanding, rate, remaining, method, next_due, paid + 1, anchor_day=START.day)
    assert sum(i.principal for i in rest) == outstanding
    assert [i.number for i in rest] == list(range(paid + 1, paid + 1 + len(rest)))
    assert [i.due_date for i in rest] == [i.due_date for i in schedule[paid:]]
    if method is M.equal_instalments and remaining > 1:
        before = build_schedule(balance, rate, remaining, method, START)
        assert rest[0].total <= before[0].total


def test_reamortize_by_hand():
    # 12,000.00 at 12% over 12 months; after 6 payments, 3,000.00 prepaid of the balance.
    schedule = build_schedule(1_200_000, Decimal("0.12"), 12, M.equal_instalments, START)
    balance = 1_200_000 - sum(i.principal for i in schedule[:6])
    rest = reamortize(balance - 300_000, Decimal("0.12"), 6, M.equal_instalments, schedule[6].due_date, 7)
    assert len(rest) == 6 and rest[0].number == 7
    assert rest[0].total == round(-npf.pmt(0.01, 6, balance - 300_000))
    assert rest[0].total < schedule[6].total


@pytest.mark.parametrize(
    "args",
    [
        (0, Decimal("0.1"), 12, M.equal_instalments),
        (100, Decimal("0.1"), 0, M.equal_instalments),
        (100, Decimal("0.1"), 361, M.equal_instalments),
        (100, Decimal("-0.01"), 12, M.equal_instalments),
        (100, Decimal("NaN"), 12, M.equal_instalments),
        (100, 0.1, 12, M.equal_instalments),
        (100, Decimal("0.1"), 12, "balloon"),
    ],
)
def test_bad_input_is_refused(args):
    with pytest.raises(ProductInvalid) as error:
        build_schedule(*args, START)
    assert error.value.code == "product_invalid" and error.value.status == 422


def test_daily_accrual_on_360_days():
    # 10,000.00 at 18% for 31 days: 1,000,000 x 0.18 x 31 / 360 = 15,500 fen
    assert accrued_interest(1_000_000, Decimal("0.18"), 31) == 15_500
    assert accrued_interest(333, Decimal("0.18"), 1) == 0  # 0.1665 fen
    assert accrued_interest(1_000, Decimal("0.18"), 1) == 1  # 0.5 fen, half up


def test_interest_free_longer_than_term_refused():
    with pytest.raises(ProductInvalid):
        build_schedule(100_000, Decimal("0.1"), 3, M.equal_instalments, START, interest_free_months=4)
