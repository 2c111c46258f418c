"""A partial early repayment (提前部分还款) charges the contract's early repayment fee and no more (user pass,
finding 2): the fee is the rate × the principal prepaid, half-up to the fen as an early full repayment's
is; the principal is the largest that fits with its fee; a fen that fits neither is not taken."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.lending import accounts
from puhui.lending.repayments import prepay_and_fee

from .lending_world import MONTHLY, World


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_two_thousand_prepays_1980_20_with_a_fee_of_19_80(engine, clock):
    world = World(engine, clock)
    world.product(MONTHLY)  # early_repayment_fee_rate 0.01
    cid = world.customer()
    loan_id = world.loan(cid, "cash-12", 20_000_00, 6)
    wallet = world.wallet(cid)
    with reading(engine) as connection:
        principal = accounts.balances(connection, loan_id).principal
    paid = world.repay(loan_id, cid, 2_000_00, kind="early_partial")  # nothing is due yet: all of it ahead
    assert (paid["amount"], paid["principal"], paid["early_fee"]) == ("2000.00", "1980.20", "19.80"), paid
    assert world.wallet(cid) == wallet - 2_000_00
    with reading(engine) as connection:
        assert accounts.balances(connection, loan_id).principal == principal - 1_980_20
        assert audit(connection).ok


def test_a_fen_that_fits_neither_principal_nor_fee_stays_in_the_wallet(engine, clock):
    """0.49 of principal costs no fee (0.0049 rounds to 0); 0.50 costs 0.01, 0.51 in all: of 0.50, 0.49 is
    prepaid and the last fen is not taken."""
    world = World(engine, clock)
    world.product(MONTHLY)
    cid = world.customer()
    loan_id = world.loan(cid, "cash-12", 20_000_00, 6)
    wallet = world.wallet(cid)
    paid = world.repay(loan_id, cid, 50, kind="early_partial")
    assert (paid["amount"], paid["principal"], paid["early_fee"]) == ("0.49", "0.49", "0.00"), paid
    assert world.wallet(cid) == wallet - 49
    with reading(engine) as connection:
        assert audit(connection).ok


@given(
    rest=st.integers(1, 10_000_000_00),
    rate=st.integers(0, 1_000_000).map(lambda n: Decimal(n) / 1_000_000),  # a product's rate: 0 to 1, six places
)
def test_the_fee_is_the_rate_on_the_principal_and_at_most_a_fen_is_left(rest: int, rate: Decimal) -> None:
    principal, fee = prepay_and_fee(rest, rate)
    assert fee == half_up(rate * principal)
    assert rest - 1 <= principal + fee <= rest
    assert principal + 1 + half_up(rate * (principal + 1)) > rest  # the largest principal that fits
