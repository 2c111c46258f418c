"""Products as data: parsing, validation with stable codes, application ranges."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.lending.errors import (
    AmountOutOfRange,
    PartnerShareTooLow,
    ProductInvalid,
    TermOutOfRange,
)
from puhui.lending.products import (
    DEFAULT_ALLOCATION,
    Product,
    RepaymentMethod,
    check_application,
    product_from_json,
    product_to_json,
)
from puhui.money import format_minor

BASE = {
    "code": "consumer-12",
    "name": "消费贷 12 期",
    "min_amount": "500.00",
    "max_amount": "50000.00",
    "min_term": 3,
    "max_term": 12,
    "method": "equal_instalments",
    "annual_rate": "0.18",
}


def test_minimal_product_takes_the_defaults():
    product = product_from_json(BASE)
    assert product == Product(
        code="consumer-12",
        name="消费贷 12 期",
        min_amount=500_00,
        max_amount=50_000_00,
        min_term=3,
        max_term=12,
        method=RepaymentMethod.equal_instalments,
        annual_rate=Decimal("0.18"),
    )
    assert product.currency == "CNY" and product.allocation_order == DEFAULT_ALLOCATION
    assert product.platform_share == 1 and not product.facilitation


def test_full_product():
    data = {
        **BASE,
        "min_amount": "500.00",
        "max_amount": "50000",
        "upfront_fee_rate": "0.01",
        "instalment_fee_rate": "0.005",
        "grace_days": 3,
        "interest_free_months": 1,
        "penalty_annual_rate": "0.27",
        "allocation_order": ["principal", "interest", "fees", "penalty"],
        "early_repayment_fee_rate": "0.02",
        "platform_share": "0.3",
        "method": "equal_principal",
    }
    product = product_from_json(data)
    assert (product.min_amount, product.max_amount) == (500_00, 50_000_00)
    assert product.penalty_annual_rate == Decimal("0.27") and product.grace_days == 3
    assert product.allocation_order == ("principal", "interest", "fees", "penalty")
    assert product.method is RepaymentMethod.equal_principal and product.platform_share == Decimal("0.3")


rate_text = st.integers(0, 1_000_000).map(lambda e6: str(Decimal(e6) / 1_000_000))


@settings(max_examples=60)
@given(
    low=st.integers(1, 10**9),
    span=st.integers(0, 10**9),
    terms=st.tuples(st.integers(1, 360), st.integers(1, 360)),
    method=st.sampled_from(list(RepaymentMethod)),
    rate=rate_text,
    fee=rate_text,
    share=st.sampled_from(["0", "0.3", "0.5", "1"]),
)
def test_json_round_trip(low, span, terms, method, rate, fee, share):
    data = {
        **BASE,
        "min_amount": format_minor(low, 2),
        "max_amount": format_minor(low + span, 2),
        "min_term": min(terms),
        "max_term": max(terms),
        "method": method.value,
        "annual_rate": rate,
        "upfront_fee_rate": fee,
        "platform_share": share,
    }
    product = product_from_json(data)
    assert product_from_json(product_to_json(product)) == product


@pytest.mark.parametrize(
    "change",
    [
        {"annual_rate": "-0.01"},  # negative
        {"annual_rate": "0.1234567"},  # over-precise (more than 6 places)
        {"annual_rate": 0.18},  # a float
        {"annual_rate": "abc"},
        {"annual_rate": "1.5"},
        {"upfront_fee_rate": "NaN"},
        {"method": "balloon"},  # unknown method
        {"min_amount": "500.001"},  # over-precise amount
        {"min_amount": 0.5},
        {"min_amount": "0"},
        {"min_amount": "60000.00"},  # min above max
        {"min_term": 0},
        {"min_term": 13},
        {"max_term": True},
        {"max_term": 361},
        {"grace_days": -1},
        {"interest_free_months": 13},
        {"allocation_order": ["principal", "interest"]},
        {"allocation_order": ["penalty", "fees", "interest", "principal", "principal"]},
        {"currency": "USD"},
        {"code": ""},
        {"annual_rte": "0.18"},  # unknown field (a typo must not default silently)
        {"annual_rate": None},
    ],
)
def test_bad_products_are_refused(change):
    with pytest.raises(ProductInvalid) as error:
        product_from_json({**BASE, **change})
    assert error.value.code == "product_invalid" and error.value.status == 422
    assert error.value.detail


@pytest.mark.parametrize(
    "value",
    [
        1000,
        100000,
        50000,
        10**9,
        0,
        -1,
        1000.0,
        True,
        None,
        ["1000.00"],
        "1e3",
        "+1000.00",
        " 1000.00",
        "1,000.00",
        "01000.00",
        "1000.",
        ".50",
        "-1000.00",
        "１０００",
    ],
)
@pytest.mark.parametrize("field", ["min_amount", "max_amount"])
def test_amounts_are_decimal_strings_in_cny_never_numbers_read_as_fen(field, value):
    """New-user finding: `"min_amount": 1000` was read as 1000 fen (10.00 CNY) where every other amount on the
    platform is a decimal string in yuan. A number is now refused with the field named, as is any string
    not written as the platform writes amounts."""
    data = {**BASE, field: value}
    if value is None:
        data.pop(field)
    with pytest.raises(ProductInvalid) as error:
        product_from_json(data)
    assert (error.value.code, error.value.status) == ("product_invalid", 422)
    if value is not None:
        assert error.value.extra["field"] == field, error.value.extra
    if isinstance(value, int) and not isinstance(value, bool):
        assert "decimal string in CNY" in error.value.detail and "fen" in error.value.detail


def test_amount_strings_are_yuan():
    product = product_from_json({**BASE, "min_amount": "10", "max_amount": "1000.5"})
    assert (product.min_amount, product.max_amount) == (10_00, 1000_50)
    assert product_to_json(product)["min_amount"] == "10.00" and product_to_json(product)["max_amount"] == "1000.50"


def test_missing_field_named():
    data = dict(BASE)
    del data["method"]
    with pytest.raises(ProductInvalid, match="method"):
        product_from_json(data)


def test_partner_share_below_the_rule_is_refused():
    with pytest.raises(PartnerShareTooLow) as error:
        product_from_json({**BASE, "platform_share": "0.29"})
    assert error.value.code == "partner_share_too_low"
    assert product_from_json({**BASE, "platform_share": "0"}).facilitation


def test_application_range():
    product = product_from_json(BASE)
    check_application(product, 500_00, 3)
    check_application(product, 50_000_00, 12)
    for amount in (499_99, 50_000_01, True, "1000"):
        with pytest.raises(AmountOutOfRange) as error:
            check_application(product, amount, 6)
        assert error.value.code == "amount_out_of_range" and error.value.status == 422
    for term in (2, 13):
        with pytest.raises(TermOutOfRange) as error:
            check_application(product, 1000_00, term)
        assert error.value.code == "term_out_of_range"
