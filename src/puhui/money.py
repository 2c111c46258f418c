"""Money: a `Decimal` amount in a currency, stored as integer minor units (fen).

Rounding is half-up to the currency's minor unit unless a rule says otherwise. Parsing is
strict: an amount with more decimals than the currency allows is refused, never rounded
silently. Floats are refused everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from puhui.errors import InvalidInput

# ISO 4217 minor-unit exponents for the currencies the platform books.
CURRENCY_SCALES: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}

MAX_MINOR = 2**63 - 1


class InvalidAmount(InvalidInput):
    code = "invalid_amount"
    title = "Invalid amount"


class UnknownCurrency(InvalidInput):
    code = "unknown_currency"
    title = "Unknown currency"


class CurrencyMismatch(InvalidInput):
    code = "currency_mismatch"
    title = "Amounts are in different currencies"


Amountish = Decimal | int | str


def scale_of(currency: str) -> int:
    try:
        return CURRENCY_SCALES[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown currency {currency!r}") from None


_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def to_decimal(value: Amountish) -> Decimal:
    """A `Decimal` from a string, int or Decimal; floats and non-finite values are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidAmount(f"amount must be a decimal string, not {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _DECIMAL.match(text):
            raise InvalidAmount(f"{value!r} is not a decimal amount")
        result = Decimal(text)
    else:
        raise InvalidAmount(f"amount must be a decimal string, not {type(value).__name__}")
    if not result.is_finite():
        raise InvalidAmount(f"{value!r} is not a finite amount")
    return result


def quantum(scale: int) -> Decimal:
    return Decimal(1).scaleb(-scale)


def round_half_up(amount: Decimal, scale: int) -> Decimal:
    return amount.quantize(quantum(scale), rounding=ROUND_HALF_UP)


def parse_minor(value: Amountish, scale: int) -> int:
    """Exact minor units of `value` at `scale`; refuses over-precise or out-of-range values.

    Works on the decimal digits themselves, never through a rounding context, so no input is
    rounded silently and no huge exponent costs time.
    """
    amount = to_decimal(value)
    if amount.is_zero():
        return 0
    if amount.adjusted() + scale > 18:
        raise InvalidAmount(f"{value} is out of range")
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    shift = exponent + scale
    coefficient = int("".join(map(str, digits)))
    units: int
    if shift >= 0:
        units = coefficient * 10**shift
    else:
        units, rest = divmod(coefficient, 10**-shift)
        if rest:
            raise InvalidAmount(f"{value} has more than {scale} decimal places")
    if units > MAX_MINOR:
        raise InvalidAmount(f"{value} is out of range")
    return -units if sign else units


def parse_positive_minor(value: Amountish, what: str = "amount", scale: int = 2) -> int:
    """`parse_minor`, refusing zero and negative amounts with a message naming `what`."""
    minor = parse_minor(value, scale)
    if minor <= 0:
        raise InvalidInput(f"{what} must be greater than zero")
    return minor


def format_minor(units: int, scale: int) -> str:
    """The decimal string of `units` minor units (`1234, 2 -> "12.34"`)."""
    return str(Decimal(units).scaleb(-scale).quantize(quantum(scale)))


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency. Arithmetic keeps full precision; `rounded()` goes to the fen."""

    amount: Decimal
    currency: str = "CNY"

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        scale_of(self.currency)

    @classmethod
    def parse(cls, value: Amountish, currency: str = "CNY") -> Money:
        """Strict: refuses amounts finer than the currency's minor unit."""
        scale = scale_of(currency)
        return cls.of_minor(parse_minor(value, scale), currency)

    @classmethod
    def of_minor(cls, units: int, currency: str = "CNY") -> Money:
        if isinstance(units, bool) or not isinstance(units, int):
            raise InvalidAmount("minor units must be an integer")
        return cls(Decimal(units).scaleb(-scale_of(currency)), currency)

    @classmethod
    def zero(cls, currency: str = "CNY") -> Money:
        return cls(Decimal(0), currency)

    @property
    def scale(self) -> int:
        return scale_of(self.currency)

    def rounded(self) -> Money:
        return Money(round_half_up(self.amount, self.scale), self.currency)

    def to_minor(self) -> int:
        """Minor units after half-up rounding to the currency's unit."""
        if self.amount.is_zero():
            return 0
        if self.amount.adjusted() > 4000:
            raise InvalidAmount(f"{self.amount} is out of range")
        with localcontext() as context:
            context.prec = max(28, self.amount.adjusted() + self.scale + 2)
            sign, digits, exponent = round_half_up(self.amount, self.scale).as_tuple()
        units: int = int("".join(map(str, digits))) * 10 ** (int(exponent) + self.scale)
        return -units if sign else units

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Amountish) -> Money:
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def __str__(self) -> str:
        """The decimal string at the currency's scale, as in JSON (`"12.34"`)."""
        return format_minor(self.to_minor(), self.scale)

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split by integer weights: each part rounded down to the fen, the residue on the last part.

        Rounding down keeps every part of a positive amount non-negative; the residue (less than
        one fen per part) goes to the last part, as the design's rounding rule says.
        """
        if not weights or any(isinstance(w, bool) or not isinstance(w, int) or w < 0 for w in weights):
            raise InvalidAmount("weights must be non-negative integers")
        if sum(weights) == 0:
            raise InvalidAmount("weights must not all be zero")
        total, whole = self.to_minor(), sum(weights)
        sign = -1 if total < 0 else 1
        parts = [sign * (abs(total) * w // whole) for w in weights[:-1]]
        parts.append(total - sum(parts))
        return [Money.of_minor(p, self.currency) for p in parts]
