"""Disclosure: the annualized rate by IRR (fees included) against numpy_financial.irr; the cap."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.errors import InvalidInput
from puhui.lending.disclosure import (
    RateAboveCap,
    annualized_rate,
    cash_flows,
    check_cap,
    disclose,
    irr,
)
from puhui.lending.products import Product, RepaymentMethod
from puhui.lending.schedule import add_months

START = dt.date(2026, 3, 15)


def product(**terms) -> Product:
    base = {
        "code": "P",
        "name": "consumer loan",
        "min_amount": 100_00,
        "max_amount": 200_000_00,
        "min_term": 1,
        "max_term": 36,
        "method": RepaymentMethod.equal_instalments,
        "annual_rate": Decimal("0.15"),
    }
    return Product(**{**base, **terms})


def test_nominal_15_percent_with_upfront_fee_discloses_above_the_cap_and_is_refused():
    # 10,000.00 over 12 months at a nominal 15% with a 5% fee taken at disbursement:
    # the borrower receives 9,500.00 and repays 12 x 902.58 = 10,830.96 (10,831.00 less the residue).
    offer = disclose(product(upfront_fee_rate=Decimal("0.05")), 1_000_000, 12, START)
    assert offer.nominal_rate == Decimal("0.15")
    assert offer.upfront_fee == offer.total_fees == 50_000
    assert offer.schedule[0].total == 90_258
    flows = [-950_000] + [i.total for i in offer.schedule]
    assert abs(float(offer.annualized_rate) - npf.irr(flows) * 12) < 1e-6
    assert offer.annualized_rate > Decimal("0.24")  # 24.93%: 15% nominal hides ~10 points of fee
    with pytest.raises(RateAboveCap) as error:
        check_cap(offer)
    assert error.value.code == "rate_above_cap" and error.value.status == 422
    assert error.value.extra["annualized_rate"] == str(offer.annualized_rate)
    # the same product without the fee discloses its nominal rate (IRR of an annuity) and passes
    plain = disclose(product(), 1_000_000, 12, START)
    assert abs(plain.annualized_rate - Decimal("0.15")) <= Decimal("0.000010")
    check_cap(plain)
    # and a higher cap is configurable
    check_cap(offer, cap=Decimal("0.36"))


def test_instalment_fees_count_in_the_annualized_rate():
    # BNPL: 0% interest, 6 instalments of 1,000.00, a 0.6% fee per instalment looks like "3.6% in total"
    bnpl = product(annual_rate=Decimal(0), instalment_fee_rate=Decimal("0.006"))
    offer = disclose(bnpl, 600_000, 6, START)
    assert offer.total_interest == 0 and offer.total_fees == 6 * 3_600
    assert all(i.fee == 3_600 for i in offer.schedule)
    flows = [-600_000] + [i.total for i in offer.schedule]
    assert abs(float(offer.annualized_rate) - npf.irr(flows) * 12) < 1e-6
    assert Decimal("0.12") < offer.annualized_rate < Decimal("0.13")  # about twice the flat 0.6% x 12


def test_bullet_flows_wait_until_maturity():
    offer = disclose(product(method=RepaymentMethod.bullet, upfront_fee_rate=Decimal("0.01")), 1_000_000, 6, START)
    flows = cash_flows(1_000_000, offer.upfront_fee, offer.schedule, START)
    assert flows == [-990_000, 0, 0, 0, 0, 0, 1_000_000 + 75_000]
    assert abs(float(offer.annualized_rate) - npf.irr(flows) * 12) < 1e-6


products_ = st.builds(
    product,
    annual_rate=st.integers(0, 300_000).map(lambda e6: Decimal(e6) / 1_000_000),
    upfront_fee_rate=st.integers(0, 50_000).map(lambda e6: Decimal(e6) / 1_000_000),
    instalment_fee_rate=st.integers(0, 10_000).map(lambda e6: Decimal(e6) / 1_000_000),
    interest_free_months=st.integers(0, 6),
    method=st.sampled_from(list(RepaymentMethod)),
)


@settings(max_examples=150)
@given(p=products_, amount=st.integers(100_00, 200_000_00), term=st.integers(1, 36))
def test_annualized_rate_agrees_with_numpy_financial_irr(p, amount, term):
    offer = disclose(p, amount, term, START)
    flows = cash_flows(amount, offer.upfront_fee, offer.schedule, START)
    assert len(flows) == term + 1 and flows[0] == -(amount - offer.upfront_fee)
    assert sum(flows[1:]) == amount + offer.total_interest + sum(i.fee for i in offer.schedule)
    oracle = npf.irr(flows)
    assert abs(float(offer.annualized_rate) - oracle * 12) < 1e-6
    assert offer.total_fees == offer.upfront_fee + sum(i.fee for i in offer.schedule)
    if offer.total_fees == 0 and p.interest_free_months == 0 and p.method is not RepaymentMethod.bullet:
        # no fees and interest on the balance: discounted at the nominal rate, the repayments are
        # worth the amount lent, to the rounding of the fen (under a fen per period)
        assert abs(npf.npv(float(p.annual_rate) / 12, flows)) < term


def test_irr_of_a_simple_flow():
    assert irr([-100, 110]) == Decimal("0.1")
    assert annualized_rate([-1000, 0, 0, 1000]) == 0
    assert annualized_rate([-1000, 500, 400]) < 0  # repaid less than received


@pytest.mark.parametrize("flows", [[], [100, 10], [-100, 0, 0], [-100, 50, -10, 80]])
def test_irr_refuses_unconventional_flows(flows):
    with pytest.raises(InvalidInput):
        irr(flows)


def test_disclose_checks_the_application_range():
    with pytest.raises(InvalidInput) as error:
        disclose(product(), 50_00, 12, START)
    assert error.value.code == "amount_out_of_range"
    with pytest.raises(InvalidInput) as error:
        disclose(product(), 1_000_00, 37, START)
    assert error.value.code == "term_out_of_range"


def test_schedule_starts_a_month_after_the_start():
    offer = disclose(product(), 1_000_00, 3, START)
    assert [i.due_date for i in offer.schedule] == [add_months(START, k) for k in (1, 2, 3)]
