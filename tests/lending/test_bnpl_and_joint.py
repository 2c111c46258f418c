"""Buy-now-pay-later plans and joint-lending splits, worked by hand and by property."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.lending import bnpl
from puhui.lending.partners import joint


def test_pay_later_is_due_on_the_tenth_after_the_month_of_purchase():
    assert bnpl.pay_later(123_45, dt.date(2026, 11, 15)) == (bnpl.Instalment(1, dt.date(2026, 12, 10), 123_45, 0, 0),)
    assert bnpl.due_date(dt.date(2026, 11, 30)) == dt.date(2026, 12, 10)
    assert bnpl.due_date(dt.date(2026, 12, 1)) == dt.date(2027, 1, 10)


def test_three_instalments_by_hand():
    # 1,000.00 in 3: fee 2.3% = 23.00 -> 7.66, 7.66, 7.68; principal 333.33, 333.33, 333.34
    plan = bnpl.instalments(1_000_00, 3, dt.date(2026, 11, 15))
    assert [(i.due_date.isoformat(), i.principal, i.fee) for i in plan] == [
        ("2026-12-10", 333_33, 7_66),
        ("2027-01-10", 333_33, 7_66),
        ("2027-02-10", 333_34, 7_68),
    ]
    assert Decimal("0.10") < bnpl.plan_rate(1_000_00, plan, dt.date(2026, 11, 15)) < Decimal("0.24")
    with pytest.raises(bnpl.UnknownPlan):
        bnpl.instalments(1_000_00, 4, dt.date(2026, 11, 15))


@given(amount=st.integers(1, 50_000_00), periods=st.sampled_from([3, 6, 12]))
def test_plans_add_up_exactly(amount, periods):
    plan = bnpl.instalments(amount, periods, dt.date(2026, 1, 31))
    assert sum(i.principal for i in plan) == amount
    total_fee = int(  # rounded down: a rounded-up fen on 0.12 CNY was 26.5% a year, over the cap
        (Decimal(amount) * bnpl.INSTALMENT_FEE_RATES[periods]).quantize(Decimal(1), rounding="ROUND_DOWN")
    )
    assert sum(i.fee for i in plan) == total_fee and all(i.principal >= 0 and i.fee >= 0 for i in plan)


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
