"""Repayment allocation: penalty → fees → interest → principal by default; never more than owed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.lending.allocation import Allocation, Owed, allocate
from puhui.lending.errors import ProductInvalid, RepaymentExceedsOwed, RepaymentInvalid
from puhui.lending.products import DEFAULT_ALLOCATION

OWED = Owed(penalty=500, fees=300, interest=2_000, principal=10_000)


def test_default_order_by_hand():
    assert allocate(600, OWED, DEFAULT_ALLOCATION) == Allocation(penalty=500, fees=100, interest=0, principal=0)
    assert allocate(3_000, OWED, DEFAULT_ALLOCATION) == Allocation(500, 300, 2_000, 200)
    assert allocate(OWED.total, OWED, DEFAULT_ALLOCATION) == Allocation(500, 300, 2_000, 10_000)


def test_principal_first_order():
    order = ("principal", "interest", "fees", "penalty")
    assert allocate(10_500, OWED, order) == Allocation(penalty=0, fees=0, interest=500, principal=10_000)


def test_repaying_more_than_owed_is_refused():
    with pytest.raises(RepaymentExceedsOwed) as error:
        allocate(OWED.total + 1, OWED, DEFAULT_ALLOCATION)
    assert error.value.code == "repayment_exceeds_owed" and error.value.status == 422
    assert error.value.extra["owed"] == "128.00"


@pytest.mark.parametrize("amount", [-1, True, 1.0])
def test_bad_amounts_refused(amount):
    with pytest.raises(RepaymentInvalid):
        allocate(amount, OWED, DEFAULT_ALLOCATION)


def test_bad_order_refused():
    with pytest.raises(ProductInvalid):
        allocate(100, OWED, ("penalty", "interest", "principal"))


parts = st.integers(0, 10**7)
orders = st.permutations(list(DEFAULT_ALLOCATION)).map(tuple)


@given(st.builds(Owed, parts, parts, parts, parts), orders, st.data())
def test_allocation_is_exact_and_in_order(owed, order, data):
    amount = data.draw(st.integers(0, owed.total))
    result = allocate(amount, owed, order)
    assert result.total == amount
    paid = [getattr(result, p) for p in order]
    due = [getattr(owed, p) for p in order]
    assert all(0 <= x <= d for x, d in zip(paid, due))
    for k in range(1, 4):  # a later part is touched only when earlier ones are settled
        if paid[k]:
            assert paid[:k] == due[:k]
