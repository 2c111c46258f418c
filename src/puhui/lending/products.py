"""Loan products (贷款产品) as data: ranges, repayment method (还款方式), rates and fees.

A product is validated once, when it is read from JSON; the schedule, disclosure and lifecycle
code then trust it. JSON carries amounts as decimal strings in CNY (yuan, `"1000.00"`), as everywhere
else on the platform, and rates as decimal strings (`"0.18"` = 18%), never floats. A bare number for an
amount is refused (`product_invalid`): it is never read as fen, nor as yuan.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from puhui.errors import InvalidInput
from puhui.lending.errors import AmountOutOfRange, ProductInvalid, TermOutOfRange
from puhui.money import format_minor, parse_minor, scale_of

ALLOCATION_PARTS = ("penalty", "fees", "interest", "principal")
DEFAULT_ALLOCATION = ALLOCATION_PARTS
RATE_PLACES = 6  # rates are stored as millionths (rate_e6)
MAX_TERM = 360  # months
MAX_GRACE_DAYS = 90


class RepaymentMethod(enum.StrEnum):
    equal_instalments = "equal_instalments"  # 等额本息
    equal_principal = "equal_principal"  # 等额本金
    interest_first = "interest_first"  # 先息后本
    bullet = "bullet"  # 到期一次还本付息


@dataclass(frozen=True)
class InstalmentPlan:
    """One plan a product drawn through a credit line is taken in (分期方案): `periods` monthly instalments,
    each charged `fee_rate` of the amount (每期手续费率): the plan's total fee is the amount times
    `fee_rate` times `periods`, rounded down to the fen and spread evenly, the residue in the last instalment
    (`puhui.lending.bnpl.instalments`)."""

    periods: int
    fee_rate: Decimal

    @property
    def total_fee_rate(self) -> Decimal:
        return self.fee_rate * self.periods


@dataclass(frozen=True)
class Product:
    """A loan product. Amounts in fen, terms in months, rates as Decimal fractions.

    - grace_days: 宽限期, days after a due date before the instalment is overdue.
    - interest_free_months: 免息期, the first months carry no interest (BNPL).
    - penalty_annual_rate: 罚息 rate on overdue principal.
    - allocation_order: 还款冲销顺序, default penalty → fees → interest → principal.
    - early_repayment_fee_rate: 提前还款违约金, on the principal repaid early.
    - platform_share: 出资比例 of the platform in joint lending (联合贷款); 1 = own book,
      0 = pure facilitation (助贷), otherwise at least 30%.
    - instalment_plans: 分期方案 of a product drawn through a credit line (pay later, instalments): the
      periods it is taken in and the fee rate of each period; the one place those fees are written down
      (`catalog.LINE_PRODUCTS`), read by the listing, the plan quotes and a draw alike.
    """

    code: str
    name: str
    min_amount: int
    max_amount: int
    min_term: int
    max_term: int
    method: RepaymentMethod
    annual_rate: Decimal
    currency: str = "CNY"
    upfront_fee_rate: Decimal = Decimal(0)
    instalment_fee_rate: Decimal = Decimal(0)
    grace_days: int = 0
    interest_free_months: int = 0
    penalty_annual_rate: Decimal = Decimal(0)
    allocation_order: tuple[str, ...] = DEFAULT_ALLOCATION
    early_repayment_fee_rate: Decimal = Decimal(0)
    platform_share: Decimal = Decimal(1)
    instalment_plans: tuple[InstalmentPlan, ...] = ()

    @property
    def facilitation(self) -> bool:
        """Pure facilitation (助贷): the partner funds everything, the platform earns a fee."""
        return self.platform_share == 0


# -- parsing ---------------------------------------------------------------------------------------

RATE_FIELDS = (
    "annual_rate",
    "upfront_fee_rate",
    "instalment_fee_rate",
    "penalty_annual_rate",
    "early_repayment_fee_rate",
    "platform_share",
)
_REQUIRED = ("code", "name", "min_amount", "max_amount", "min_term", "max_term", "method", "annual_rate")


def parse_rate(name: str, value: Any) -> Decimal:
    """A rate in [0, 1] with at most six decimal places; floats and over-precise values refused."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ProductInvalid(f'{name} must be a decimal string such as "0.18", not {type(value).__name__}', field=name)
    try:
        rate = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except ArithmeticError:
        raise ProductInvalid(f"{name} {value!r} is not a decimal", field=name) from None
    if not rate.is_finite() or rate < 0 or rate > 1:
        raise ProductInvalid(f"{name} {value} must be between 0 and 1", field=name)
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise ProductInvalid(f"{name} {value} has more than {RATE_PLACES} decimal places", field=name)
    return rate.normalize() if rate else Decimal(0)


AMOUNT_TEXT = re.compile(r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$")
"""An amount in CNY as the platform writes one: digits, at most two decimal places (`"1000.00"`, `"0.01"`)."""


def parse_amount(name: str, value: Any, currency: str) -> int:
    """Fen from a decimal string in yuan, parsed strictly (no silent rounding). A number (`1000`) is refused:
    it was once read as fen, so `1000` meant 10.00 CNY where every other amount on the platform is yuan."""
    if isinstance(value, bool) or not isinstance(value, str):
        kind = "a number" if isinstance(value, (int, float)) and not isinstance(value, bool) else "not a string"
        raise ProductInvalid(
            f'{name} must be a decimal string in CNY such as "1000.00" ({value!r} is {kind}; amounts are '
            "never read as fen)",
            field=name,
        )
    if not AMOUNT_TEXT.match(value):
        raise ProductInvalid(
            f'{name} {value!r}: write an amount in CNY as digits with at most two decimal places, e.g. "1000.00"',
            field=name,
        )
    try:
        return parse_minor(value, scale_of(currency))
    except InvalidInput as error:
        raise ProductInvalid(f"{name}: {error.detail}", field=name) from None


def parse_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProductInvalid(f"{name} must be an integer from {low} to {high}", field=name)
    return value


def parse_method(value: Any) -> RepaymentMethod:
    try:
        return RepaymentMethod(value)
    except ValueError:
        known = ", ".join(m.value for m in RepaymentMethod)
        raise ProductInvalid(f"unknown repayment method {value!r} (one of {known})", field="method") from None


def parse_order(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or sorted(value) != sorted(ALLOCATION_PARTS):
        raise ProductInvalid(
            f"allocation_order must order exactly {', '.join(ALLOCATION_PARTS)}", field="allocation_order"
        )
    return tuple(value)


PLAN_KEYS = ("periods", "fee_rate_per_period")


def parse_plans(value: Any) -> tuple[InstalmentPlan, ...]:
    """The instalment plans of a product, `[{"periods": 3, "fee_rate_per_period": "0.0076"}, ...]`, by periods."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ProductInvalid("instalment_plans must be a non-empty list of plans", field="instalment_plans")
    plans = []
    for item in value:
        if not isinstance(item, dict) or sorted(item) != sorted(PLAN_KEYS):
            raise ProductInvalid(
                f"an instalment plan is an object of exactly {', '.join(PLAN_KEYS)}", field="instalment_plans"
            )
        plans.append(
            InstalmentPlan(
                parse_int("instalment_plans.periods", item["periods"], 1, MAX_TERM),
                parse_rate("instalment_plans.fee_rate_per_period", item["fee_rate_per_period"]),
            )
        )
    periods = [p.periods for p in plans]
    if len(set(periods)) != len(periods):
        raise ProductInvalid("instalment plans must each have their own number of periods", field="instalment_plans")
    return tuple(sorted(plans, key=lambda p: p.periods))


def product_from_json(data: dict) -> Product:
    """A validated product from its JSON form; ProductInvalid (422, `product_invalid`) on bad data."""
    if not isinstance(data, dict):
        raise ProductInvalid("a product is a JSON object")
    known = {f.name for f in fields(Product)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ProductInvalid(f"unknown product fields: {', '.join(unknown)}", fields=unknown)
    missing = [name for name in _REQUIRED if data.get(name) is None]
    if missing:
        raise ProductInvalid(f"missing product fields: {', '.join(missing)}", fields=missing)
    for name in ("code", "name"):
        if not isinstance(data[name], str) or not data[name].strip() or len(data[name]) > 100:
            raise ProductInvalid(f"{name} must be a non-empty string of at most 100 characters", field=name)
    currency = data.get("currency", "CNY")
    if not isinstance(currency, str) or currency not in ("CNY",):
        raise ProductInvalid(f"currency {currency!r} is not lent (CNY only)", field="currency")
    values: dict[str, Any] = {
        "code": data["code"],
        "name": data["name"],
        "currency": currency,
        "min_amount": parse_amount("min_amount", data["min_amount"], currency),
        "max_amount": parse_amount("max_amount", data["max_amount"], currency),
        "min_term": parse_int("min_term", data["min_term"], 1, MAX_TERM),
        "max_term": parse_int("max_term", data["max_term"], 1, MAX_TERM),
        "method": parse_method(data["method"]),
        "grace_days": parse_int("grace_days", data.get("grace_days", 0), 0, MAX_GRACE_DAYS),
        "interest_free_months": parse_int("interest_free_months", data.get("interest_free_months", 0), 0, MAX_TERM),
        "allocation_order": parse_order(data.get("allocation_order", DEFAULT_ALLOCATION)),
    }
    for name in RATE_FIELDS:
        if name in data:
            values[name] = parse_rate(name, data[name])
    if "instalment_plans" in data:
        values["instalment_plans"] = parse_plans(data["instalment_plans"])
    product = Product(**values)
    validate(product)
    return product


def validate(product: Product) -> None:
    """Cross-field rules of a product (ranges ordered, shares allowed)."""
    from puhui.lending.policy import check_partner_share

    if not 0 < product.min_amount <= product.max_amount:
        raise ProductInvalid("amounts must satisfy 0 < min_amount <= max_amount", field="min_amount")
    if product.min_term > product.max_term:
        raise ProductInvalid("min_term must not exceed max_term", field="min_term")
    if product.interest_free_months > product.max_term:
        raise ProductInvalid("interest_free_months must not exceed max_term", field="interest_free_months")
    check_partner_share(product.platform_share, product.facilitation)
    for plan in product.instalment_plans:
        if not product.min_term <= plan.periods <= product.max_term:
            raise ProductInvalid(
                f"an instalment plan of {plan.periods} periods is outside the terms {product.min_term} to "
                f"{product.max_term}",
                field="instalment_plans",
            )
    if product.instalment_plans and product.instalment_fee_rate:
        raise ProductInvalid(
            "a product with instalment plans charges each plan's fee_rate_per_period: instalment_fee_rate must be 0",
            field="instalment_fee_rate",
        )


def product_to_json(product: Product) -> dict:
    """The JSON form read back by `product_from_json`: amounts in yuan strings, rates as strings."""
    scale = scale_of(product.currency)
    data: dict[str, Any] = {}
    for f in fields(Product):
        value = getattr(product, f.name)
        if f.name in ("min_amount", "max_amount"):
            value = format_minor(value, scale)
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, RepaymentMethod):
            value = value.value
        if f.name == "instalment_plans":
            if not value:
                continue  # left out when there are none: the stored form of every product before plans existed
            value = [{"periods": p.periods, "fee_rate_per_period": str(p.fee_rate)} for p in value]
        data[f.name] = value
    return data


def check_application(product: Product, amount: int, term: int) -> None:
    """AmountOutOfRange / TermOutOfRange (422) when the request falls outside the product."""
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int)
        or not product.min_amount <= amount <= product.max_amount
    ):
        raise AmountOutOfRange(
            f"amount must be from {format_minor(product.min_amount, 2)} to {format_minor(product.max_amount, 2)}",
            min_amount=format_minor(product.min_amount, 2),
            max_amount=format_minor(product.max_amount, 2),
        )
    if isinstance(term, bool) or not isinstance(term, int) or not product.min_term <= term <= product.max_term:
        raise TermOutOfRange(
            f"term must be from {product.min_term} to {product.max_term} months",
            min_term=product.min_term,
            max_term=product.max_term,
        )
