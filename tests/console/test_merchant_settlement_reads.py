"""The merchant's settlements page reads its recent settlements in one API call (a range of business dates) and
takes the chosen date's settlement from that answer when it holds the date, reading it alone only when not; the
page shows the same either way: each figure the one-date read's. The merchant's and the operator's settlement
tables are headed alike, but for what a row is (a date, a merchant)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from puhui import clock as clock_module
from puhui.console import i18n, merchant

from .staff_world import add_staff, demo, log_in  # noqa: F401 - the fixture
from .test_merchant_pages import make_dynamic, pay
from .test_settlement_and_eod_pages import ZH, rows_of, section_of, settle

SETTLEMENTS = "/v1/settlements"


@pytest.fixture
def calls(monkeypatch) -> list[dict]:  # type: ignore[no-untyped-def]
    """The query of every settlements read the merchant pages make, in order."""
    seen: list[dict] = []
    real = merchant.get

    async def recording(request, path: str, **params: object):  # type: ignore[no-untyped-def]
        if path == SETTLEMENTS:
            seen.append(params)
        return await real(request, path, **params)

    monkeypatch.setattr(merchant, "get", recording)
    return seen


@pytest.fixture
def two_dates(demo, engine, clock):  # type: ignore[no-untyped-def]
    """A merchant signed in, with takings on two dates, both settled; the clock on the day after the second."""
    client, world = demo
    shop = world.merchants[1]
    log_in(client, shop["api_key"])
    days = []
    for n, amount in enumerate(("31.20", "12.80")):
        days.append(clock_module.business_date())
        pay(client, world, make_dynamic(client, amount))
        clock.advance(hours=24)
        settle(client, engine, days[-1], f"range-{n}")
    return client, {"Authorization": f"Bearer {shop['api_key']}"}, days


def api_row(client, key: dict, day: dt.date) -> list[str]:  # type: ignore[no-untyped-def]
    """The one-date read's settlement of the merchant, as the page's row shows it."""
    [found] = client.get(SETTLEMENTS, params={"business_date": day.isoformat()}, headers=key).json()["settlements"]
    return [ZH.day(day), *(ZH.money(found[f]) for f in ("gross", "fees", "refunds", "other_credits", "carried"))]


def shown(client, day: dt.date | None = None) -> tuple[list[list[str]], list[list[str]]]:  # type: ignore[no-untyped-def]
    """The rows of the chosen date's table and of the recent settlements."""
    page = client.get("/merchant/settlements" + (f"?date={day.isoformat()}" if day else ""))
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    return rows_of(section_of(text, "settlements")), rows_of(section_of(text, "recent-settlements"))


def test_the_recent_settlements_and_the_chosen_date_are_one_read(two_dates, calls) -> None:  # type: ignore[no-untyped-def]
    client, key, (first, second) = two_dates
    chosen, recent = shown(client)  # the default: yesterday, the second date
    assert len(calls) == 1 and set(calls[0]) == {"from", "to", "limit"}, calls
    assert [r[0] for r in recent[:2]] == [ZH.day(second), ZH.day(first)]
    assert [row[:6] for row in chosen] == [api_row(client, key, second)]

    calls.clear()
    chosen, _ = shown(client, first)  # an earlier date the recent answer holds
    assert len(calls) == 1 and [row[:6] for row in chosen] == [api_row(client, key, first)]

    calls.clear()
    later = clock_module.business_date() + dt.timedelta(days=3)  # past the range: read on its own, and empty
    chosen, _ = shown(client, later)
    assert calls[1:] == [{"business_date": later.isoformat()}] and chosen == [["该营业日尚无结算。"]]


def test_a_date_the_recent_answer_left_out_is_read_alone_and_shown_the_same(  # type: ignore[no-untyped-def]
    two_dates, calls, monkeypatch
) -> None:
    client, key, (first, second) = two_dates
    whole, _ = shown(client, first)
    monkeypatch.setattr(merchant, "RECENT", 1)  # the recent answer holds only the second date now
    calls.clear()
    chosen, recent = shown(client, first)
    assert [r[0] for r in recent] == [ZH.day(second)]
    assert calls[0]["limit"] == 1 and calls[1:] == [{"business_date": first.isoformat()}]
    assert chosen == whole and [row[:6] for row in chosen] == [api_row(client, key, first)]


def _head(page: str, testid: str) -> list[str]:
    part = section_of(html.unescape(page), testid)
    return re.findall(r'<th scope="col">(.*?)</th>', part[: part.index("</thead>")], re.S)


def test_the_merchant_and_the_operator_head_their_settlements_alike(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    log_in(client, world.merchants[0]["api_key"])
    mine = _head(client.get("/merchant/settlements").text, "settlements")
    log_in(client, add_staff(client, "operator", "ops.heads"))
    theirs = _head(client.get("/ops/settlements").text, "settlements")
    assert (mine[0], theirs[0]) == ("营业日", "商户")
    figures = ["交易总额", "手续费", "退款(扣除退回手续费)", "其他入账", "往日结转", "结算净额", "状态", "原因"]
    assert mine[1:] == theirs[1:] == figures
    english = i18n.Formatter("en")
    assert _head(client.get("/ops/settlements", headers={"Accept-Language": "en-GB"}).text, "settlements") == [
        english.gettext(h) for h in ("Merchant", "Gross", "Fees", "Refunds less fees returned", "Other credits")
    ] + [english.gettext(h) for h in ("Carried from earlier days", "Net paid out", "Status", "Reason")]
