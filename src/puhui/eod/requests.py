"""The request body of every end-of-day run over HTTP (日终): the date to run is `business_date`, the name the
answers use (`puhui.eod.answers`) and settlement and reconciliation always took.

Lending's, the money-market funds' and the funds' end of day took `date` before (securities clearing
`trade_day`): that name is still accepted as a deprecated alias (`validation_alias`), so existing clients keep
working, and the published document shows `business_date` alone. Exactly one of the two is sent: both, or
neither, is refused with 422 `invalid_request` before anything runs, as any body failing validation is.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from puhui.eod.dates import BusinessDate, parse_date

NAME = "business_date"


def described(former: str) -> str:
    return (
        f"the business date to run, YYYY-MM-DD (China time), once it is over. `{former}`, its former name, is "
        f"a deprecated alias still accepted: send `{NAME}` (one of the two, not both)."
    )


def business_date_field(former: str) -> Any:
    """The field `business_date`, read from `business_date` or its deprecated alias `former`."""
    return Field(validation_alias=AliasChoices(NAME, former), description=described(former))


class EodIn(BaseModel):
    """The business date an end-of-day job runs for (`business_date`; `date` is its deprecated alias)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    FORMER: ClassVar[str] = "date"  # the name the date was sent as before: a subclass with another names it

    business_date: BusinessDate = business_date_field("date")

    @model_validator(mode="before")
    @classmethod
    def _one_name(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # not an object: the model's own error
        sent = [name for name in (NAME, cls.FORMER) if name in data]
        if not sent:
            raise ValueError(f"{NAME} is required: the business date to run, YYYY-MM-DD")
        if len(sent) > 1:
            raise ValueError(f"send {NAME} alone: {cls.FORMER} is its deprecated alias, not a second date")
        if sent == [cls.FORMER]:
            parse_date(data[cls.FORMER], cls.FORMER)  # a bad date names the field it was sent in (`date_invalid`)
        return data
