"""Staff pages say things in words, on SQLite and PostgreSQL: a customer's account class as its class and
limit (Ⅲ类户 · 年限额 200,000.00), not the API's JSON object; an end-of-day job by its name (the id beside
it), not its id alone; the supervision thresholds in the unit of the values beside them (percentages)."""

from __future__ import annotations

import datetime as dt
import html
import re

from .conftest import customer_id_of, sign_up
from .staff_world import add_staff, log_in
from .world import ADMIN, verify

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}


def _cells(page: str, testid: str) -> list[list[str]]:
    start = page.index(f'data-testid="{testid}"')
    section = page[start : page.index("</section>", start)]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)]
    return [[html.unescape(cell).strip() for cell in row] for row in rows if row]


def test_the_account_class_is_shown_in_words(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 61)
    cid = customer_id_of(client)
    verify(client, cid)  # five verifications: Class III
    log_in(client, add_staff(client, "operator", "op.class-words"))
    zh = dict(_cells(client.get("/ops/customers", params={"id": cid}, headers=ZH).text, "customer"))
    en = dict(_cells(client.get("/ops/customers", params={"id": cid}, headers=EN).text, "customer"))
    assert zh["账户类别"] == "Ⅲ类户 · 年限额 200,000.00"
    assert en["Account class"] == "Class III account · annual limit 200,000.00"
    assert not any("{" in value for value in (*zh.values(), *en.values()))


def test_end_of_day_jobs_have_names(client, clock) -> None:  # type: ignore[no-untyped-def]
    from puhui import clock as clock_module

    today = clock_module.business_date()
    clock.set(clock_module.china_midnight(today + dt.timedelta(days=1)) + dt.timedelta(minutes=5))  # today is over
    day = today.isoformat()
    for path in ("/v1/wealth/funds-eod", "/v1/wealth/eod"):
        ran = client.post(path, headers={**ADMIN, "Idempotency-Key": f"eod-{path}"}, json={"business_date": day})
        assert ran.status_code == 200, ran.text
    log_in(client, add_staff(client, "operator", "op.eod-words"))
    zh = [row[0] for row in _cells(client.get("/ops/eod", headers=ZH).text, "eod-last")]
    en = [row[0] for row in _cells(client.get("/ops/eod", headers=EN).text, "eod-last")]
    assert zh == ["代销基金：按净值确认申赎（wealth.funds）", "货币基金：每日收益分配（wealth.mmf）"]
    assert en == [
        "Distributed funds: orders confirmed at NAV (wealth.funds)",
        "Money-market fund: daily income (wealth.mmf)",
    ]


def test_supervision_thresholds_are_in_the_unit_of_the_values(client) -> None:  # type: ignore[no-untyped-def]
    log_in(client, add_staff(client, "regulator", "reg.units"))
    rows = _cells(client.get("/supervision", headers=ZH).text, "flags")
    assert rows
    for _, value, threshold, _ in rows:
        assert re.fullmatch(r"[<>] [0-9.]+%", threshold), threshold
        assert value == "—" or value.endswith("%")
    thresholds = {row[0]: row[2] for row in rows}
    assert thresholds["备付金覆盖率"] == "< 100%", thresholds
