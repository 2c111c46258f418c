"""Money: strict parsing, minor units, half-up rounding, allocation. Oracles use plain integer arithmetic."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from puhui.errors import InvalidInput, PuhuiError
from puhui.money import (
    CURRENCY_SCALES,
    MAX_MINOR,
    CurrencyMismatch,
    InvalidAmount,
    Money,
    UnknownCurrency,
    format_minor,
    parse_minor,
    round_half_up,
    scale_of,
    to_decimal,
)

currencies = st.sampled_from(sorted(CURRENCY_SCALES))
scales = st.sampled_from(sorted(set(CURRENCY_SCALES.values())))
minor_units = st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR)


# --- independent oracles ------------------------------------------------------------------------


def oracle_format(units: int, scale: int) -> str:
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}" if scale else f"{sign}{whole}"


def oracle_half_up_minor(coefficient: int, exponent: int, scale: int) -> int:
    """Minor units of `coefficient * 10**exponent`, rounded half away from zero (四舍五入) at `scale`."""
    shift = exponent + scale
    if shift >= 0:
        return coefficient * 10**shift
    divisor = 10**-shift
    quotient, remainder = divmod(abs(coefficient), divisor)
    if 2 * remainder >= divisor:
        quotient += 1
    return -quotient if coefficient < 0 else quotient


def oracle_share(total: int, weight: int, weights_sum: int) -> int:
    """round-half-up(total * weight / weights_sum), exactly, on integers."""
    numerator = abs(total) * weight
    quotient, remainder = divmod(numerator, weights_sum)
    if 2 * remainder >= weights_sum:
        quotient += 1
    return -quotient if total < 0 else quotient


# --- floats, junk and errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: to_decimal(1.5),
        lambda: to_decimal(0.0),
        lambda: to_decimal(True),
        lambda: to_decimal(None),
        lambda: to_decimal([1]),
        lambda: parse_minor(0.1, 2),
        lambda: Money(1.5),
        lambda: Money(float("nan")),
        lambda: Money.parse(12.34),
        lambda: Money.of_minor(100.0),
        lambda: Money.of_minor(True),
        lambda: Money.of_minor(Decimal(100)),
        lambda: Money.parse("1.00") * 1.1,
        lambda: 0.5 * Money.parse("1.00"),
    ],
    ids=[
        "to_decimal-float",
        "to_decimal-zero-float",
        "to_decimal-bool",
        "to_decimal-None",
        "to_decimal-list",
        "parse_minor-float",
        "Money-float",
        "Money-nan-float",
        "parse-float",
        "of_minor-float",
        "of_minor-bool",
        "of_minor-Decimal",
        "mul-float",
        "rmul-float",
    ],
)
def test_floats_and_non_amounts_are_refused(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidAmount):
        call()


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_is_refused(value: float) -> None:
    with pytest.raises(InvalidAmount):
        to_decimal(value)
    with pytest.raises(InvalidAmount):
        Money.parse(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["", " ", "abc", "1,00", "12.34.5", "NaN", "nan", "sNaN", "Infinity", "-inf", "1e", "¥1"]
)
def test_junk_and_non_finite_strings_are_refused(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_minor(text, 2)
    with pytest.raises(InvalidAmount):
        Money.parse(text)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")])
def test_non_finite_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(InvalidAmount):
        to_decimal(value)
    with pytest.raises(InvalidAmount):
        Money(value)


def test_money_errors_are_puhui_errors_with_stable_codes() -> None:
    assert issubclass(InvalidAmount, InvalidInput) and issubclass(InvalidAmount, PuhuiError)
    assert InvalidAmount.code == "invalid_amount" and InvalidAmount.status == 422
    assert UnknownCurrency.code == "unknown_currency" and UnknownCurrency.status == 422
    assert CurrencyMismatch.code == "currency_mismatch" and CurrencyMismatch.status == 422


def test_unknown_currencies_are_refused() -> None:
    for call in (
        lambda: scale_of("cny"),
        lambda: scale_of("XYZ"),
        lambda: Money(1, "BTC"),
        lambda: Money.parse("1", "RMB"),
    ):
        with pytest.raises(UnknownCurrency):
            call()


# --- parse_minor / format_minor -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scale", "units"),
    [
        ("12.34", 2, 1234),
        ("12.3", 2, 1230),
        ("12", 2, 1200),
        (" 12.34 ", 2, 1234),
        ("-0.05", 2, -5),
        ("-0.00", 2, 0),
        ("0", 2, 0),
        ("1e2", 2, 10000),
        ("1.00", 0, 1),
        ("500", 0, 500),
        ("92233720368547758.07", 2, MAX_MINOR),
        ("-92233720368547758.07", 2, -MAX_MINOR),
    ],
)
def test_parse_minor_examples(text: str, scale: int, units: int) -> None:
    assert parse_minor(text, scale) == units


@pytest.mark.parametrize(
    ("text", "scale"), [("1.001", 2), ("0.001", 2), ("-1.001", 2), ("12.345", 2), ("1.5", 0), ("0.1", 0)]
)
def test_parse_refuses_over_precise_amounts(text: str, scale: int) -> None:
    with pytest.raises(InvalidAmount):
        parse_minor(text, scale)


def test_money_parse_refuses_1_001_cny_but_accepts_1_00() -> None:
    with pytest.raises(InvalidAmount):
        Money.parse("1.001")
    with pytest.raises(InvalidAmount):
        Money.parse("1.001", "CNY")
    with pytest.raises(InvalidAmount):
        Money.parse("1.5", "JPY")
    assert Money.parse("1.00").to_minor() == 100
    assert Money.parse("1.0000") == Money.parse("1")


@pytest.mark.parametrize(
    ("text", "scale"),
    [("92233720368547758.08", 2), ("-92233720368547758.08", 2), ("1e50", 2), ("9223372036854775808", 0)],
)
def test_parse_refuses_out_of_range(text: str, scale: int) -> None:
    with pytest.raises(InvalidAmount):
        parse_minor(text, scale)


@pytest.mark.parametrize("text", ["1e999999", "-1e999999", "1E+1000"])
def test_parse_refuses_huge_exponents_with_invalid_amount(text: str) -> None:
    """Out of range is bad input (422), whatever its notation: not a `decimal.Overflow` (500)."""
    with pytest.raises(InvalidAmount):
        parse_minor(text, 2)
    with pytest.raises(InvalidAmount):
        Money.parse(text)


@pytest.mark.parametrize("text", ["1E+999997"])
def test_parse_refuses_huge_exponents_quickly(text: str) -> None:
    """A nine-character amount must not cost seconds of CPU (a denial of service on every
    endpoint that takes an amount). Run in a child process so a slow parse cannot stall the suite."""
    code = (
        "import sys, time\n"
        "from puhui.money import InvalidAmount, parse_minor\n"
        "started = time.perf_counter()\n"
        "try:\n"
        f"    parse_minor({text!r}, 2)\n"
        "except InvalidAmount:\n"
        "    pass\n"
        "else:\n"
        "    sys.exit('accepted')\n"
        "print(time.perf_counter() - started)\n"
    )
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3)
    except subprocess.TimeoutExpired:
        pytest.fail(f"parse_minor({text!r}) still running after 3 s")
    assert result.returncode == 0, result.stderr[-2000:]
    assert float(result.stdout) < 0.5, f"parse_minor({text!r}) took {float(result.stdout):.2f} s"


@given(minor_units, scales)
def test_format_minor_matches_integer_oracle(units: int, scale: int) -> None:
    text = format_minor(units, scale)
    assert text == oracle_format(units, scale)
    pattern = rf"-?\d+\.\d{{{scale}}}" if scale else r"-?\d+"
    assert re.fullmatch(pattern, text)


@given(minor_units, scales)
def test_parse_format_round_trip(units: int, scale: int) -> None:
    assert parse_minor(format_minor(units, scale), scale) == units


@given(minor_units, currencies)
def test_money_minor_round_trip(units: int, currency: str) -> None:
    money = Money.of_minor(units, currency)
    assert money.to_minor() == units
    assert Money.parse(str(money), currency) == money
    assert str(money) == format_minor(units, scale_of(currency))


@given(
    units=minor_units,
    scale=scales,
    zeros=st.integers(min_value=0, max_value=20),
    tail=st.integers(min_value=1, max_value=10**12 - 1),
)
@example(units=100, scale=2, zeros=25, tail=1)  # "1.00" + "0"*25 + "1": 30 significant digits
@example(units=1234567890123456700, scale=2, zeros=10, tail=1)
def test_parse_refuses_any_amount_finer_than_the_minor_unit(units: int, scale: int, zeros: int, tail: int) -> None:
    """Strict parsing: any non-zero digit beyond the minor unit is refused, never rounded away."""
    text = format_minor(units, scale)
    text += ("" if scale else ".") + "0" * zeros + str(tail)
    with pytest.raises(InvalidAmount):
        parse_minor(text, scale)


@given(minor_units, scales, st.integers(min_value=1, max_value=10))
def test_trailing_zeros_are_accepted(units: int, scale: int, zeros: int) -> None:
    text = format_minor(units, scale) + ("" if scale else ".") + "0" * zeros
    assert parse_minor(text, scale) == units


# --- rounding -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "minor"),
    [
        ("1.005", 101),
        ("1.004", 100),
        ("1.0049999", 100),
        ("-1.005", -101),
        ("-1.004", -100),
        ("0.005", 1),
        ("-0.005", -1),
        ("0.0049", 0),
        ("2.675", 268),  # the classic float trap: 2.675 is 2.67499999... as a float
        ("12.34", 1234),
    ],
)
def test_half_up_examples(amount: str, minor: int) -> None:
    assert Money(amount).to_minor() == minor
    assert Money(amount).rounded() == Money.of_minor(minor)


@given(
    coefficient=st.integers(min_value=-(10**20), max_value=10**20),
    exponent=st.integers(min_value=-10, max_value=2),
    currency=currencies,
)
def test_half_up_rounding_agrees_with_integer_oracle(coefficient: int, exponent: int, currency: str) -> None:
    amount = Decimal(f"{coefficient}E{exponent}")
    scale = scale_of(currency)
    expected = oracle_half_up_minor(coefficient, exponent, scale)
    money = Money(amount, currency)
    assert money.to_minor() == expected
    assert money.rounded() == Money.of_minor(expected, currency)
    assert round_half_up(amount, scale) == Decimal(expected).scaleb(-scale)
    # rounding is idempotent and lands exactly on the minor unit
    assert money.rounded().rounded() == money.rounded()
    assert money.rounded().amount.as_tuple().exponent == -scale


def test_str_is_the_json_string_at_the_currency_scale() -> None:
    assert str(Money("12.34")) == "12.34"
    assert str(Money("12.3")) == "12.30"
    assert str(Money("12.345")) == "12.35"
    assert str(Money(5)) == "5.00"
    assert str(Money(5, "JPY")) == "5"
    assert str(Money.of_minor(-5)) == "-0.05"
    assert str(Money.zero()) == "0.00"


# --- arithmetic ---------------------------------------------------------------------------------------


def test_arithmetic_keeps_precision_and_currency() -> None:
    a, b = Money.parse("10.10"), Money.parse("0.05")
    assert a + b == Money.parse("10.15")
    assert a - b == Money.parse("10.05")
    assert -a == Money.parse("-10.10")
    assert a * "0.5" == Money("5.05")
    assert a * 3 == 3 * a == Money.parse("30.30")
    assert (Money.parse("0.01") * "0.5").amount == Decimal("0.005")  # not rounded until asked
    assert (Money.parse("0.01") * "0.5").to_minor() == 1
    assert Money.parse("1", "USD") + Money.parse("2", "USD") == Money.parse("3", "USD")


def test_currencies_do_not_mix() -> None:
    cny, usd = Money.parse("1"), Money.parse("1", "USD")
    for op in (lambda: cny + usd, lambda: cny - usd, lambda: cny < usd, lambda: cny <= usd, lambda: cny > usd):
        with pytest.raises(CurrencyMismatch):
            op()
    assert cny != usd
    with pytest.raises(TypeError):
        cny + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = cny < 1  # type: ignore[operator]


def test_comparison_equality_and_hash() -> None:
    small, big = Money.parse("1.00"), Money.parse("2.00")
    assert small < big and small <= big and big > small and big >= small and small <= small
    assert not big < small
    assert Money("1.0") == Money("1.00") and hash(Money("1.0")) == hash(Money("1.00"))
    assert not Money.zero() and Money.parse("0.01")
    assert Money.zero("JPY") == Money(0, "JPY")


def test_money_is_immutable() -> None:
    money = Money.parse("1.00")
    with pytest.raises(dataclasses.FrozenInstanceError):
        money.amount = Decimal(2)  # type: ignore[misc]


@given(
    minor_units.filter(lambda u: abs(u) <= MAX_MINOR // 2),
    minor_units.filter(lambda u: abs(u) <= MAX_MINOR // 2),
    currencies,
)
def test_addition_is_exact_on_minor_units(a: int, b: int, currency: str) -> None:
    total = Money.of_minor(a, currency) + Money.of_minor(b, currency)
    assert total.to_minor() == a + b
    assert (total - Money.of_minor(b, currency)).to_minor() == a


# --- allocate -----------------------------------------------------------------------------------------

weights_lists = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=20).filter(
    lambda w: sum(w) > 0
)


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        ("100.00", [1, 1, 1], ["33.33", "33.33", "33.34"]),
        ("1000.00", [1] * 12, ["83.33"] * 11 + ["83.37"]),
        ("10.00", [1, 3], ["2.50", "7.50"]),
        ("0.01", [1, 1], ["0.00", "0.01"]),
        ("-100.00", [1, 1, 1], ["-33.33", "-33.33", "-33.34"]),
        ("5.00", [0, 1], ["0.00", "5.00"]),
        ("5.00", [7], ["5.00"]),
    ],
)
def test_allocate_examples(total: str, weights: list[int], parts: list[str]) -> None:
    assert [str(p) for p in Money.parse(total).allocate(weights)] == parts


def test_allocate_in_yen_uses_whole_units() -> None:
    assert Money.parse("100", "JPY").allocate([1, 2]) == [Money(33, "JPY"), Money(67, "JPY")]


@pytest.mark.parametrize("weights", [[], [0], [0, 0], [-1, 2], [1, -1, 5]])
def test_allocate_refuses_bad_weights(weights: list[int]) -> None:
    with pytest.raises(InvalidAmount):
        Money.parse("1.00").allocate(weights)


@given(minor_units, weights_lists, currencies)
def test_allocate_parts_sum_to_the_whole_with_the_residue_on_the_last_part(
    total: int, weights: list[int], currency: str
) -> None:
    parts = Money.of_minor(total, currency).allocate(weights)
    assert len(parts) == len(weights)
    assert all(p.currency == currency for p in parts)
    minors = [p.to_minor() for p in parts]
    assert all(p == p.rounded() for p in parts)  # whole minor units
    assert sum(minors) == total
    # every part but the last is its exact share rounded toward zero; the last takes the residue
    weights_sum = sum(weights)
    sign = -1 if total < 0 else 1
    assert minors[:-1] == [sign * (abs(total) * w // weights_sum) for w in weights[:-1]]
    assert 0 <= sign * (minors[-1] * weights_sum - total * weights[-1]) < len(weights) * weights_sum


@given(st.integers(min_value=0, max_value=MAX_MINOR), weights_lists)
@example(total=2, weights=[1, 1, 1, 1])  # 0.02 in four parts
@example(total=1, weights=[1, 1, 0])
def test_allocate_never_gives_a_negative_part_of_a_positive_amount(total: int, weights: list[int]) -> None:
    """Splitting a non-negative amount by non-negative weights cannot produce a negative part
    (a repayment schedule with a negative last instalment)."""
    parts = Money.of_minor(total).allocate(weights)
    assert all(p >= Money.zero() for p in parts), [str(p) for p in parts]


@given(minor_units, weights_lists)
def test_allocate_rounds_sub_minor_totals_first(total: int, weights: list[int]) -> None:
    assume(abs(total) < MAX_MINOR)
    money = Money.of_minor(total) + Money("0.004")
    assert sum(p.to_minor() for p in money.allocate(weights)) == money.to_minor()


@pytest.mark.parametrize(("value", "fen"), [("0.01", 1), ("12.34", 1234), ("1000", 100000)])
def test_parse_positive_minor_takes_positive_amounts(value, fen):
    from puhui.money import parse_positive_minor

    assert parse_positive_minor(value) == fen


@pytest.mark.parametrize("value", ["0", "0.00", "-1.00", "1.001"])
def test_parse_positive_minor_refuses_zero_negative_and_over_precise(value):
    from puhui.errors import InvalidInput
    from puhui.money import parse_positive_minor

    with pytest.raises(InvalidInput):
        parse_positive_minor(value, "the refund")
