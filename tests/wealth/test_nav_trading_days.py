"""NAVs were accepted for days the exchanges were closed, and the demo wrote one for every calendar day
(new-user pass, defect 4). Funds are valued on trading days: a NAV dated on a weekend or an exchange holiday
refuses the whole file (`nav_not_trading_day`, naming the line), and the demo seeds trading days only."""

from __future__ import annotations

import datetime as dt

import pytest

from puhui.wealth.calendar import is_trading_day
from puhui.wealth.errors import InvalidNavFile, NavNotTradingDay
from puhui.wealth.funds.nav_files import parse_file


@pytest.mark.parametrize(
    "day",
    [
        pytest.param("2026-03-07", id="saturday"),
        pytest.param("2026-03-08", id="sunday"),
        pytest.param("2026-02-17", id="spring-festival"),
        pytest.param("2026-10-01", id="national-day"),
    ],
)
def test_a_nav_on_a_day_the_exchanges_are_closed_is_refused(day):
    content = f"date,fund_code,nav\n2026-03-06,F1,1.0000\n{day},F1,1.0100\n"
    with pytest.raises(NavNotTradingDay) as refused:
        parse_file(content, {"F1"})
    assert refused.value.code == "nav_not_trading_day" and refused.value.status == 422
    assert refused.value.extra == {"line": 3, "date": day}


def test_a_nav_on_a_trading_day_is_taken():
    assert parse_file("date,fund_code,nav\n2026-03-06,F1,1.0000\n", {"F1"}) == [("F1", "2026-03-06", 10000)]


def test_a_bad_date_is_still_a_bad_file():
    with pytest.raises(InvalidNavFile):
        parse_file("date,fund_code,nav\n2026-02-30,F1,1.0000\n", {"F1"})


def test_the_demo_seeds_navs_on_trading_days_only(monkeypatch, clock):
    from puhui import demo

    posted: list[str] = []

    class Answer:
        status_code = 201

        def __init__(self, status: int) -> None:
            self.status_code = status

        def json(self) -> dict:
            return {}

    class Client:
        def post(self, path: str, headers: dict, json: dict) -> Answer:
            if path == "/v1/wealth/navs":
                posted.append(json["csv"])
                return Answer(200)
            return Answer(201)

    assert demo._seed_funds(Client(), {}) == len(demo.DEMO_FUNDS)
    rows = [line.split(",") for line in posted[0].splitlines()[1:]]
    days = sorted({dt.date.fromisoformat(day) for day, _, _ in rows})
    assert len(days) == demo.NAV_DAYS and len(rows) == demo.NAV_DAYS * len(demo.DEMO_FUNDS)
    assert all(is_trading_day(day) for day in days) and days[-1] < clock.now().date()
