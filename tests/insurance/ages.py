"""Customers of a given age for the insurance tests: the insured's age is read from the birth date in
their ID number, so a test that needs a 45-year-old registers one (age in 周岁 on the cover start)."""

from __future__ import annotations

import datetime as dt

from tests.identity.helpers import id_number

COVER_START = dt.date(2026, 1, 6)
"""A policy bought under the `clock` fixture (business date 2026-01-05) starts the next day."""


def born_aged(age: int, on: dt.date = COVER_START) -> dt.date:
    """A birth date 60 days past the birthday: `age` on `on` and for some ten months after it."""
    return on.replace(year=on.year - age) - dt.timedelta(days=60)


def aged(person: dict, age: int, on: dt.date = COVER_START, *, phone: str | None = None) -> dict:
    """`person` with an ID number (same region and sequence) whose birth date makes them `age` on `on`;
    `phone` makes them another customer (one per age where a test buys at several ages)."""
    number = person["id_number"]
    found = {**person, "id_number": id_number(number[:6], f"{born_aged(age, on):%Y%m%d}", number[14:17])}
    return found if phone is None else {**found, "phone": phone}
