"""The merchant's settlements page adds up (gross − fees − refunds + other credits + carried = net, each
figure the API's), lists the recent settlements newest first with a failed payout marked, its reason and
where its money was carried, and warns of an earlier payout still unpaid; the operator's end-of-day page
names every job's last completed date however many runs the other jobs made since."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

from puhui import clock as clock_module
from puhui.console import i18n
from puhui.console.merchant import failure_reason, outstanding
from puhui.eod import runs as eod_runs
from puhui.payments.bank import worker

from .staff_world import add_staff, demo, log_in  # noqa: F401 - the fixture
from .test_merchant_pages import make_dynamic, pay
from .world import ADMIN

ZH = i18n.Formatter("zh_CN")


def section_of(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</section>", start)]


def rows_of(section: str) -> list[list[str]]:
    """The table's body rows, each cell's text (tags dropped, entities unescaped)."""
    body = section[section.index("<tbody>") : section.index("</tbody>")]
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def yuan(cell: str) -> Decimal:
    """`¥22,022.90` or `-¥1.00` as a Decimal; two places always."""
    assert re.fullmatch(r"-?¥[0-9,]+\.[0-9]{2}", cell), cell
    return Decimal(cell.replace("¥", "").replace(",", ""))


def settle(client, engine, day: dt.date, key: str) -> None:  # type: ignore[no-untyped-def]
    settled = client.post(
        "/v1/settlements", headers={**ADMIN, "Idempotency-Key": key}, json={"business_date": day.isoformat()}
    )
    assert settled.status_code == 200, settled.text
    worker.deliver(engine, client.app.state.bank, clock_module.now())


def test_a_failed_payout_is_explained_and_the_next_settlement_adds_up(demo, engine, clock) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    shop = world.merchants[1]
    key = {"Authorization": f"Bearer {shop['api_key']}"}
    bank = client.app.state.bank
    log_in(client, shop["api_key"])

    first = clock_module.business_date()
    pay(client, world, make_dynamic(client, "212.66"))
    clock.advance(hours=24)
    bank.align_reserve(0, "test: the reserve account is empty")
    settle(client, engine, first, "fail-1")
    [failed] = client.get("/v1/settlements", params={"business_date": first.isoformat()}, headers=key).json()[
        "settlements"
    ]
    assert failed["state"] == "failed" and Decimal(failed["net"]) > 0

    second = clock_module.business_date()
    paid = pay(client, world, make_dynamic(client, "88.10"))
    refunded = client.post(
        f"/v1/payments/{paid.get('payment_id') or paid['id']}/refunds",
        headers={**key, "Idempotency-Key": "r-1"},
        json={"amount": "12.92"},
    )
    assert refunded.status_code in (200, 201), refunded.text
    bank.fund_reserve(10_000_000_00, "test: the reserve refilled")
    clock.advance(hours=24)
    settle(client, engine, second, "pay-2")
    [api] = client.get("/v1/settlements", params={"business_date": second.isoformat()}, headers=key).json()[
        "settlements"
    ]
    assert Decimal(api["carried"]) == Decimal(failed["net"])  # the failed payout, paid with this one

    page = client.get(f"/merchant/settlements?date={second.isoformat()}").text
    [row] = rows_of(section_of(page, "settlements"))
    gross, fees, refunds, other, carried, net = (yuan(cell) for cell in row[1:7])
    assert (gross, fees, refunds, other, carried, net) == tuple(
        Decimal(api[name]) for name in ("gross", "fees", "refunds", "other_credits", "carried", "net")
    )
    assert gross - fees - refunds + other + carried == net and carried > 0
    assert "往日结转" in page
    terms = ("交易总额", "− 手续费", "− 退款(扣除退回手续费)", "+ 其他入账", "+ 往日结转", "= 结算净额")
    assert " ".join(f"{term} {cell}" for term, cell in zip(terms, row[1:7], strict=True)) in html.unescape(page)

    # the default view (the latest day) lists the recent ones, newest first, the failure marked and explained
    latest = html.unescape(client.get("/merchant/settlements").text)
    recent = rows_of(section_of(latest, "recent-settlements"))
    assert [r[0] for r in recent[:2]] == [ZH.day(second), ZH.day(first)]
    assert recent[1][7] == "失败" and recent[0][7] == "已打款", recent
    reason = failure_reason(ZH, failed)
    assert recent[1][8] == f"{reason};随 {ZH.day(second)} 的结算重新打款"
    assert failed["failure_reason"] == "reserve_insufficient" and reason == "备付金银行余额不足，平台将重试"
    assert '<span class="tag failed">失败</span>' in latest
    assert f'href="/merchant/settlements?date={first.isoformat()}"' in latest
    assert 'role="alert"' not in section_of(latest, "settlements")  # the failed money was paid since


def test_an_unpaid_earlier_settlement_is_announced_with_a_link(demo, engine, clock) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    shop = world.merchants[2]
    log_in(client, shop["api_key"])
    first = clock_module.business_date()
    pay(client, world, make_dynamic(client, "50.00"))
    clock.advance(hours=24)
    client.app.state.bank.align_reserve(0, "test: the reserve account is empty")
    settle(client, engine, first, "fail-a")
    clock.advance(hours=24)
    settle(client, engine, first + dt.timedelta(days=1), "fail-b")  # fails again: nothing settles the first
    page = html.unescape(client.get(f"/merchant/settlements?date={(first + dt.timedelta(days=1)).isoformat()}").text)
    alerts = re.findall(r'<p class="error" role="alert">(.*?)</p>', section_of(page, "settlements"), re.S)
    assert len(alerts) == 1, alerts
    assert f'href="/merchant/settlements?date={first.isoformat()}"' in alerts[0]
    assert f"{ZH.day(first)} 的结算失败" in alerts[0] and "尚未打款到账" in alerts[0]
    english = client.get(f"/merchant/settlements?date={first.isoformat()}", headers={"Accept-Language": "en-GB"}).text
    assert "Carried from earlier days" in english and "Recent settlements" in english


def test_failure_reasons_read_in_the_page_language() -> None:
    en = i18n.Formatter("en")
    failed = {"state": "failed", "failure_reason": "reserve_insufficient"}
    assert failure_reason(ZH, failed) == "备付金银行余额不足，平台将重试"
    assert "reserve" in failure_reason(en, failed)
    assert failure_reason(ZH, {"state": "failed"}) == "未提供原因"  # an API answer without the field
    assert failure_reason(ZH, {"state": "failed", "failure_reason": "something_new"}) == "something_new"
    assert failure_reason(ZH, {"state": "paid"}) == ""
    newest_first = [
        {"business_date": "2026-12-07", "state": "failed"},
        {"business_date": "2026-12-06", "state": "paid"},
        {"business_date": "2026-12-05", "state": "failed"},
        {"business_date": "2026-12-04", "state": "pending"},
        {"business_date": "2026-12-03", "state": "waiting"},
    ]
    assert [s["business_date"] for s in outstanding(newest_first)] == ["2026-12-07", "2026-12-04", "2026-12-03"]


def test_the_end_of_day_page_shows_every_jobs_last_date(demo, engine, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = demo
    log_in(client, add_staff(client, "operator", "op.eod.all"))
    today = clock_module.business_date()
    quiet = {
        "lending": 3,
        "wealth.mmf": 4,
        "wealth.funds": 5,
        "insurance.reserves": 6,
        "supplychain.mature": 7,
        "securities.clearing": 8,
    }
    for job, back in quiet.items():  # each ran many days, up to `back` days ago
        eod_runs.run_days(engine, job, today - dt.timedelta(days=back + 20), lambda d: None)
        eod_runs.run_days(engine, job, today - dt.timedelta(days=back), lambda d: None)
    clock.advance(minutes=5)
    for job in ("reconciliation", "settlement"):  # then two jobs caught up 40 days each: the newest 80 runs
        eod_runs.run_days(engine, job, today - dt.timedelta(days=41), lambda d: None)
        eod_runs.run_days(engine, job, today - dt.timedelta(days=1), lambda d: None)
    page = client.get("/ops/eod").text
    rows = rows_of(section_of(page, "eod-last"))
    shown = {re.search(r"[(（]([a-z.]+)[)）]$", job).group(1): day for job, day in rows}
    expected = {job: ZH.day(today - dt.timedelta(days=back)) for job, back in quiet.items()}
    expected |= {
        "reconciliation": ZH.day(today - dt.timedelta(days=1)),
        "settlement": ZH.day(today - dt.timedelta(days=1)),
    }
    assert shown == expected
    runs = section_of(page, "eod-runs")
    assert "lending" not in runs  # the list of runs is the newest 60 only: the summary does not depend on it
