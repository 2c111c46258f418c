"""Buy-now-pay-later plans and joint-lending splits, worked by hand and by property."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.lending import bnpl, catalog
from puhui.lending.partners import joint

INSTALMENT_PLANS = {p.periods: p for p in catalog.line_product("line-instalments").instalment_plans}


def test_pay_later_is_due_on_the_tenth_after_the_month_of_purchase():
    assert bnpl.pay_later(123_45, dt.date(2026, 11, 15)) == (bnpl.Instalment(1, dt.date(2026, 12, 10), 123_45, 0, 0),)
    assert bnpl.due_date(dt.date(2026, 11, 30)) == dt.date(2026, 12, 10)
    assert bnpl.due_date(dt.date(2026, 12, 1)) == dt.date(2027, 1, 10)


def test_three_instalments_by_hand():
    # 1,000.00 in 3 at 0.76% a period: fee 22.80 -> 7.60 each; principal 333.33, 333.33, 333.34
    assert INSTALMENT_PLANS[3] == bnpl.InstalmentPlan(3, Decimal("0.0076"))
    plan = bnpl.instalments(1_000_00, INSTALMENT_PLANS[3], dt.date(2026, 11, 15))
    assert [(i.due_date.isoformat(), i.principal, i.fee) for i in plan] == [
        ("2026-12-10", 333_33, 7_60),
        ("2027-01-10", 333_33, 7_60),
        ("2027-02-10", 333_34, 7_60),
    ]
    # 1,000.01 in 3: fee 22.800228 rounded down to 22.80; a fen of principal residue last
    odd = bnpl.instalments(1_000_01, INSTALMENT_PLANS[3], dt.date(2026, 11, 15))
    assert [(i.principal, i.fee) for i in odd] == [(333_33, 7_60), (333_33, 7_60), (333_35, 7_60)]
    # 100.00 in 6 at 0.75% a period: fee 4.50 -> 0.75 each
    assert [i.fee for i in bnpl.instalments(100_00, INSTALMENT_PLANS[6], dt.date(2026, 11, 15))] == [75] * 6
    # 10.01 in 12 at 0.625%: fee 0.750750 rounded down to 0.75 -> 0.06 eleven times, 0.09 last
    assert [i.fee for i in bnpl.instalments(10_01, INSTALMENT_PLANS[12], dt.date(2026, 11, 15))] == [6] * 11 + [9]
    assert Decimal("0.10") < bnpl.plan_rate(1_000_00, plan, dt.date(2026, 11, 15)) < Decimal("0.24")
    with pytest.raises(bnpl.UnknownPlan) as refused:
        catalog.choose_plan("instalments", 4)
    assert refused.value.extra["field"] == "periods" and "3, 6, 12 periods, not 4" in refused.value.detail


def test_pay_later_is_the_one_free_period_of_its_product():
    (only,) = catalog.line_product("line-pay-later").instalment_plans
    assert only == bnpl.InstalmentPlan(1, Decimal(0))
    assert bnpl.pay_later(123_45, dt.date(2026, 11, 15)) == bnpl.instalments(123_45, only, dt.date(2026, 11, 15))


@given(amount=st.integers(1, 50_000_00), periods=st.sampled_from(sorted(INSTALMENT_PLANS)))
def test_plans_add_up_exactly_and_never_quote_above_the_listed_rate(amount, periods):
    terms = INSTALMENT_PLANS[periods]
    plan = bnpl.instalments(amount, terms, dt.date(2026, 1, 31))
    assert sum(i.principal for i in plan) == amount
    total_fee = int(  # rounded down: a rounded-up fen on 0.12 CNY was 26.5% a year, over the cap
        (Decimal(amount) * terms.fee_rate * periods).quantize(Decimal(1), rounding="ROUND_DOWN")
    )
    assert sum(i.fee for i in plan) == total_fee and all(i.principal >= 0 and i.fee >= 0 for i in plan)
    assert all(i.fee == total_fee // periods for i in plan[:-1])
    # the listing states the most a plan costs: on any amount the fen rounding only lowers the quote
    assert bnpl.plan_rate(amount, plan, dt.date(2026, 1, 31)) <= bnpl.listed_rate(terms)


@pytest.mark.parametrize("periods", [3, 6, 12])
def test_the_listed_rate_is_numpy_financials_rate_of_the_plan(periods):
    """The oracle: numpy-financial's IRR of the plan's monthly flows, times 12."""
    npf = pytest.importorskip("numpy_financial")
    terms = INSTALMENT_PLANS[periods]
    flows = [-1.0] + [1.0 / periods + float(terms.fee_rate)] * periods  # per unit of amount, fee on the amount
    expected = Decimal(str(npf.irr(flows) * 12)).quantize(Decimal("0.000001"))
    assert abs(bnpl.listed_rate(terms) - expected) <= Decimal("0.000001")


def test_split_by_hand():
    # a 30% platform share of 100.01 then 100.01: 30.00 then 30.01 (cumulative: 60.01 of 200.02)
    assert joint.split(0, 100_01, Decimal("0.3")) == (30_00, 70_01)
    assert joint.split(100_01, 100_01, Decimal("0.3")) == (30_01, 70_00)


@given(payments=st.lists(st.integers(1, 10_000_00), min_size=1, max_size=40), share=st.decimals("0", "1", places=4))
def test_splits_never_lose_a_fen(payments, share):
    paid, platform_total = 0, 0
    for amount in payments:
        platform, partner = joint.split(paid, amount, share)
        assert platform + partner == amount and platform >= 0 and partner >= 0
        paid += amount
        platform_total += platform
    assert platform_total == int((Decimal(paid) * share).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def test_partner_file():
    text = joint.partner_file(
        [
            joint.PartnerLine("2026-11-28", "loan_2", "repayment", 100_00, 5_00, 70_00, 3_50),
            joint.PartnerLine("2026-11-28", "loan_1", "disbursement", 1_000_00, 0, 700_00, 0),
        ]
    )
    assert text.splitlines() == [
        "business_date,loan_id,event,principal,interest,partner_principal,partner_interest",
        "2026-11-28,loan_1,disbursement,1000.00,0.00,700.00,0.00",
        "2026-11-28,loan_2,repayment,100.00,5.00,70.00,3.50",
    ]


def test_a_few_fen_in_instalments_stay_under_the_rate_cap():
    """Found by the cap property: 0.12 CNY in 6 instalments had a fee of 1 fen rounded up, 26.5% a year."""
    from puhui.lending.lines import service as lines

    disclosure = lines.plan_of("instalments", 6, 12, dt.date(2026, 1, 1))
    assert disclosure.total_fees == 0 and disclosure.annualized_rate <= Decimal("0.24")
