"""Settlements over a range of business dates (`GET /v1/settlements?from=&to=`) on SQLite and PostgreSQL: one read
answers every date between, both ends included, the newest date first and by merchant within a date, each row as
the one-date read answers it; a merchant reads only its own, staff every merchant's or one's; a `limit` keeps the
newest and says the rest was left (`complete`). A backwards or too long range, half a range, or both forms at once
is a 422 problem with a stable code, and changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from puhui.db import reading
from puhui.payments import settlement
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.settlement_tables import settlements
from puhui.payments.tables import bank_orders
from tests.payments.test_operations_http import make_merchant_two, staff
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    ADMIN,
    BANK_KEY,
    D,
    card_of,
    client,
    login,
    make_customer,
    make_merchant,
    pay,
    transfer_count,
)

DAYS = [D + dt.timedelta(days=n) for n in range(3)]
TAKINGS = {0: ("100.00", "10.00"), 1: ("50.00", None), 2: ("20.00", "30.00")}
"""What the two merchants (first, second) took on each of the three dates; None: nothing (a `nothing` row)."""


@dataclass
class World:
    first: str
    second: str
    first_shop: dict
    second_shop: dict
    phone: str


@pytest.fixture
def world(client, engine, clock) -> World:  # noqa: F811 - the fixture
    """Two merchants, settled for D, D+1 and D+2, each date's payouts paid before the next; the clock on D+3."""
    _customer, phone = make_customer(client, engine, "13812345678", "531", 3_000_00)
    first, first_shop = make_merchant(client)
    second, second_shop = make_merchant_two(client)
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    for n, day in enumerate(DAYS):
        for merchant_id, shop, amount in zip((first, second), (first_shop, second_shop), TAKINGS[n], strict=True):
            if amount is not None:
                pay(client, phone, merchant_id, shop, amount)
        clock.advance(hours=24)
        settlement.settle(engine, bank, day, card_of=card_of)
        clock.advance(minutes=10)  # the bank pays the date's payouts before the next date is settled
        settlement.sync(engine, bank)
    return World(first, second, first_shop, second_shop, phone)


def between(client, headers: dict, first: dt.date, last: dt.date, **more: object):  # noqa: F811 - the fixture
    return client.get("/v1/settlements", headers=headers, params={"from": str(first), "to": str(last), **more})


def one_date(client, headers: dict, day: dt.date, **more: object) -> list[dict]:  # noqa: F811 - the fixture
    answer = client.get("/v1/settlements", headers=headers, params={"business_date": str(day), **more})
    assert answer.status_code == 200, answer.text
    assert answer.json()["business_date"] == str(day)
    return answer.json()["settlements"]


def test_a_merchant_reads_its_own_range_newest_first(client, world) -> None:  # noqa: F811 - the fixture
    answer = between(client, world.first_shop, DAYS[0], DAYS[-1])
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["from"], found["to"], found["complete"]) == (str(DAYS[0]), str(DAYS[-1]), True)
    rows = found["settlements"]
    assert [(r["business_date"], r["merchant_id"]) for r in rows] == [(str(d), world.first) for d in reversed(DAYS)]
    assert [r["gross"] for r in rows] == [TAKINGS[n][0] for n in (2, 1, 0)]
    assert [r["state"] for r in rows] == ["paid", "paid", "paid"]
    # each row is the one-date read's, figure for figure (what it tells besides its columns too)
    assert rows == [row for day in reversed(DAYS) for row in one_date(client, world.first_shop, day)]

    theirs = between(client, world.second_shop, DAYS[0], DAYS[-1]).json()["settlements"]
    assert [(r["merchant_id"], r["gross"], r["state"]) for r in theirs] == [
        (world.second, "30.00", "paid"),
        (world.second, "0.00", "nothing"),
        (world.second, "10.00", "paid"),
    ]


def test_a_merchant_cannot_read_another_merchants_range(client, world) -> None:  # noqa: F811 - the fixture
    stolen = between(client, world.first_shop, DAYS[0], DAYS[-1], merchant_id=world.second)
    assert stolen.status_code == 403 and stolen.json()["code"] == "forbidden"
    assert between(client, world.first_shop, DAYS[0], DAYS[-1], merchant_id=world.first).status_code == 200
    customer = login(client, world.phone)
    assert between(client, customer, DAYS[0], DAYS[-1]).status_code == 403


def test_staff_read_every_merchant_or_one(client, world) -> None:  # noqa: F811 - the fixture
    merchants = sorted((world.first, world.second))
    for headers in (ADMIN, staff(client, "regulator"), staff(client, "operator")):
        answer = between(client, headers, DAYS[0], DAYS[-1])
        assert answer.status_code == 200, answer.text
        listed = [(r["business_date"], r["merchant_id"]) for r in answer.json()["settlements"]]
        assert listed == [(str(day), m) for day in reversed(DAYS) for m in merchants]
    one = between(client, ADMIN, DAYS[0], DAYS[-1], merchant_id=world.second).json()["settlements"]
    assert {r["merchant_id"] for r in one} == {world.second} and len(one) == 3


def test_both_ends_are_included_and_a_range_reaches_92_dates(client, world) -> None:  # noqa: F811 - the fixture
    def dates(first: dt.date, last: dt.date) -> list[str]:
        answer = between(client, world.first_shop, first, last)
        assert answer.status_code == 200, answer.text
        return [r["business_date"] for r in answer.json()["settlements"]]

    assert dates(DAYS[1], DAYS[1]) == [str(DAYS[1])]
    assert dates(DAYS[1], DAYS[2]) == [str(DAYS[2]), str(DAYS[1])]
    assert dates(DAYS[0], DAYS[1]) == [str(DAYS[1]), str(DAYS[0])]
    assert dates(D - dt.timedelta(days=30), D - dt.timedelta(days=1)) == []  # before the first settlement
    longest = DAYS[-1] - dt.timedelta(days=settlement.MAX_RANGE_DAYS - 1)
    assert dates(longest, DAYS[-1]) == [str(d) for d in reversed(DAYS)]


def test_a_limit_keeps_the_newest_and_says_more_were_left(client, world) -> None:  # noqa: F811 - the fixture
    merchants = sorted((world.first, world.second))
    cut = between(client, ADMIN, DAYS[0], DAYS[-1], limit=3).json()
    listed = [(r["business_date"], r["merchant_id"]) for r in cut["settlements"]]
    assert listed == [(str(DAYS[2]), merchants[0]), (str(DAYS[2]), merchants[1]), (str(DAYS[1]), merchants[0])]
    assert cut["complete"] is False
    whole = between(client, ADMIN, DAYS[0], DAYS[-1], limit=6).json()
    assert len(whole["settlements"]) == 6 and whole["complete"] is True
    mine = between(client, world.first_shop, DAYS[0], DAYS[-1], limit=1).json()
    assert [r["business_date"] for r in mine["settlements"]] == [str(DAYS[2])] and mine["complete"] is False


def _counts(engine) -> tuple[int, int, int]:
    with reading(engine) as connection:
        rows, orders = (
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (settlements, bank_orders)
        )
    return rows, orders, transfer_count(engine)


TOO_EARLY = DAYS[-1] - dt.timedelta(days=settlement.MAX_RANGE_DAYS)  # a range from it to DAYS[-1] spans 93 dates
BAD = [
    ({"from": str(DAYS[2]), "to": str(DAYS[0])}, "settlement_range_invalid"),
    ({"from": str(TOO_EARLY), "to": str(DAYS[-1])}, "settlement_range_invalid"),
    ({"from": "2025-01-01", "to": "2026-12-31"}, "settlement_range_invalid"),
    ({"business_date": str(DAYS[0]), "from": str(DAYS[0]), "to": str(DAYS[1])}, "settlement_query_invalid"),
    ({"business_date": str(DAYS[0]), "from": str(DAYS[0])}, "settlement_query_invalid"),
    ({"business_date": str(DAYS[0]), "limit": 5}, "settlement_query_invalid"),
    ({"from": str(DAYS[0])}, "settlement_query_invalid"),
    ({"to": str(DAYS[0])}, "settlement_query_invalid"),
    ({}, "settlement_query_invalid"),
    ({"from": "2026-02-30", "to": str(DAYS[0])}, "date_invalid"),
    ({"from": "2026/01/05", "to": str(DAYS[0])}, "invalid_request"),
    ({"from": str(DAYS[0]), "to": str(DAYS[1]), "limit": 0}, "invalid_request"),
    ({"from": str(DAYS[0]), "to": str(DAYS[1]), "limit": 501}, "invalid_request"),
]


def test_a_bad_range_is_a_problem_with_a_stable_code_and_changes_nothing(client, engine, world) -> None:  # noqa: F811
    before, answered = _counts(engine), between(client, ADMIN, DAYS[0], DAYS[-1]).json()
    for params, code in BAD:
        for headers in (ADMIN, world.first_shop):
            answer = client.get("/v1/settlements", headers=headers, params=params)
            assert answer.status_code == 422, (params, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json"), params
            assert answer.json()["code"] == code, (params, answer.json())
    too_long = client.get("/v1/settlements", headers=ADMIN, params=BAD[1][0]).json()
    assert too_long["max_days"] == settlement.MAX_RANGE_DAYS and "93" in too_long["detail"]
    assert _counts(engine) == before
    assert between(client, ADMIN, DAYS[0], DAYS[-1]).json() == answered


def test_one_date_is_read_as_before(client, world) -> None:  # noqa: F811 - the fixture
    """`business_date` alone still answers that date's settlements by merchant, with no range fields."""
    answer = client.get("/v1/settlements", headers=ADMIN, params={"business_date": str(DAYS[1])})
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"business_date", "settlements"}
    assert [r["merchant_id"] for r in answer.json()["settlements"]] == sorted((world.first, world.second))
    assert [r["gross"] for r in one_date(client, world.second_shop, DAYS[2])] == ["30.00"]
