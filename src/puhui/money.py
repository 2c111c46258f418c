"""Money: a `Decimal` amount in a currency, stored as integer minor units (fen).

Rounding is half-up to the currency's minor unit unless a rule says otherwise. Parsing is
strict: an amount with more decimals than the currency allows is refused, never rounded
silently. Floats are refused everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Union

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


Amountish = Union[Decimal, int, str]


def scale_of(currency: str) -> int:
    try:
        return CURRENCY_SCALES[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown currency {currency!r}") from None


def to_decimal(value: Amountish) -> Decimal:
    """A `Decimal` from a string, int or Decimal; floats and non-finite values are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidAmount(f"amount must be a decimal string, not {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidAmount(f"{value!r} is not a decimal amount") from None
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
    """Exact minor units of `value` at `scale`; refuses over-precise or out-of-range values."""
    amount = to_decimal(value)
    minor = amount.scaleb(scale)
    if minor != minor.to_integral_value():
        raise InvalidAmount(f"{value} has more than {scale} decimal places")
    units = int(minor)
    if abs(units) > MAX_MINOR:
        raise InvalidAmount(f"{value} is out of range")
    return units


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
    def parse(cls, value: Amountish, currency: str = "CNY") -> "Money":
        """Strict: refuses amounts finer than the currency's minor unit."""
        scale = scale_of(currency)
        return cls.of_minor(parse_minor(value, scale), currency)

    @classmethod
    def of_minor(cls, units: int, currency: str = "CNY") -> "Money":
        if isinstance(units, bool) or not isinstance(units, int):
            raise InvalidAmount("minor units must be an integer")
        return cls(Decimal(units).scaleb(-scale_of(currency)), currency)

    @classmethod
    def zero(cls, currency: str = "CNY") -> "Money":
        return cls(Decimal(0), currency)

    @property
    def scale(self) -> int:
        return scale_of(self.currency)

    def rounded(self) -> "Money":
        return Money(round_half_up(self.amount, self.scale), self.currency)

    def to_minor(self) -> int:
        """Minor units after half-up rounding to the currency's unit."""
        return int(round_half_up(self.amount, self.scale).scaleb(self.scale))

    def _same(self, other: "Money") -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Amountish) -> "Money":
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __lt__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def __str__(self) -> str:
        """The decimal string at the currency's scale, as in JSON (`"12.34"`)."""
        return str(self.rounded().amount)

    def allocate(self, weights: list[int]) -> list["Money"]:
        """Split into parts by integer weights, half-up to the fen, the residue on the last part."""
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise InvalidAmount("weights must be non-negative and not all zero")
        total = self.to_minor()
        parts = [int(round_half_up(Decimal(total * w) / sum(weights), 0)) for w in weights]
        parts[-1] += total - sum(parts)
        return [Money.of_minor(p, self.currency) for p in parts]
