"""Field types every router shares: what an id, an amount or a page size looks like on the wire.

Inputs are strict (a number where a string is expected is a 422); outputs document their format so
a client generated from the OpenAPI spec knows an amount is a decimal string, never a float.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, ValidationInfo

from puhui.errors import InvalidInput
from puhui.money import InvalidAmount, parse_minor, parse_positive_minor

ID_PATTERN = r"^[A-Za-z0-9._:\-]+$"

Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
"""An id in the path (a customer, a payment, a QR code...)."""

POSITIVE_AMOUNT = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,15}(\.[0-9]{1,2})?)$"
AMOUNT_OR_ZERO = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$"


def _positive_amount(text: str, info: ValidationInfo) -> str:
    """The service's own refusals first: "-1" and "0" (invalid_input), "1.001"; each names the field it was
    sent in (its detail and the problem's `field`), not "amount" whatever the field."""
    field = info.field_name or "amount"
    try:
        parse_positive_minor(text, field)
    except InvalidInput as refused:
        detail = refused.detail if refused.detail.startswith(f"{field} ") else f"{field}: {refused.detail}"
        raise type(refused)(detail, **{**refused.extra, "field": field}) from None
    if not re.match(POSITIVE_AMOUNT, text):
        raise InvalidAmount(
            f"{field}: {text[:40]!r}: write an amount as digits with at most two decimal places, e.g. 12.34",
            field=field,
        )
    return text


def _amount_or_zero(text: str) -> str:
    if parse_minor(text, 2) < 0:
        raise InvalidInput("the amount may not be negative")
    if not re.match(AMOUNT_OR_ZERO, text):
        raise InvalidAmount(f"{text!r}: write an amount as digits with at most two decimal places, e.g. 0.00")
    return text


AmountStr = Annotated[
    StrictStr,
    AfterValidator(_positive_amount),
    Field(
        min_length=1,
        max_length=32,
        description='an amount in CNY greater than zero, as a decimal string with at most two places, e.g. "12.34" '
        "(zero or less is a 422 `invalid_input`, any other form a 422 `invalid_amount`)",
        json_schema_extra={"pattern": POSITIVE_AMOUNT},
    ),
]
"""An amount sent by the client: a decimal string, parsed exactly (`puhui.money`). What the pattern does not
match is refused before the operation runs, with the codes the services use (a PuhuiError raised in a
validator is not wrapped by pydantic: it reaches the problem handler as it is)."""

UnitsStr = Annotated[
    AmountStr,
    Field(
        description='fund units (份额) greater than zero, as a decimal string with at most two places, e.g. "100.00" '
        "(zero or less is a 422 `invalid_input`, any other form a 422 `invalid_amount`)"
    ),
]
"""Units of a fund sent by the client: written and checked as an amount is, but units, not CNY."""

AmountOrZeroStr = Annotated[
    StrictStr,
    AfterValidator(_amount_or_zero),
    Field(
        min_length=1,
        max_length=32,
        description='an amount in CNY, zero or more, as a decimal string with at most two places, e.g. "0.00"',
        json_schema_extra={"pattern": AMOUNT_OR_ZERO},
    ),
]

ClientId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
"""The client's own id for what it creates (defaults to the call's Idempotency-Key)."""

FundCode = Annotated[str, Path(min_length=1, max_length=8, pattern=r"^[A-Z0-9]+$")]

Limit = Annotated[int, Query(ge=1, le=100, description="how many, newest first")]


def _whole_number(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


AS_WHOLE_NUMBER = BeforeValidator(_whole_number)
"""After an integer's constraints: `Annotated[StrictInt, Field(ge=0), AS_WHOLE_NUMBER]` takes 610 and 610.0 (the
same integer to JSON Schema), never "610" or true."""

DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DayQuery = Annotated[
    str,
    Query(
        pattern=DAY_PATTERN,
        json_schema_extra={"format": "date"},
        description="a calendar date, YYYY-MM-DD (a business date in China Standard Time)",
    ),
]
"""A date in the query string; the service parses it (`date_invalid` for 2026-02-30)."""

Money = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+\.[0-9]{2}$",
        examples=["12.34"],
        description="an amount in CNY as a decimal string with two places (元)",
    ),
]
"""An amount the API answers with."""

Timestamp = Annotated[
    str,
    Field(
        json_schema_extra={"format": "date-time"},
        examples=["2026-12-04T03:41:23+00:00"],
        description="ISO 8601 with its offset (UTC)",
    ),
]
"""A moment the API answers with (stored as UTC microseconds, `puhui.clock.iso`)."""

Day = Annotated[
    str,
    Field(
        json_schema_extra={"format": "date"},
        examples=["2026-12-04"],
        description="a business date in China Standard Time (营业日)",
    ),
]


class Schema(BaseModel):
    """An answer's published shape. `shape` checks a service's answer against it and gives back what
    the API sends (fields the service left out stay out), so the spec cannot drift from the wire.
    A field the shape does not name is refused, so every field sent is documented."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def shape(cls, data: dict[str, Any]) -> dict[str, Any]:
        return cls.model_validate(data).model_dump(mode="json", exclude_unset=True, by_alias=True)
