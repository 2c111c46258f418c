"""The supervision console's deadline figures classify the large-value dates as the deadlines view does: a date
never generated (missing) is owed and overdue after its deadline, a date with nothing to report is not; the
dashboard's summary and the reports page's "deadlines not yet met" both show them."""

from __future__ import annotations

import re

from puhui.db import transaction
from puhui.regtech import reports
from tests.regtech.test_report_coverage import D, at_china, plant
from tests.regtech.test_reports_world import World

from .staff_world import add_staff, log_in

ZH = {"Accept-Language": "zh-CN"}


def _section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</section>", start)]


def _cells(section: str) -> list[list[str]]:
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)]
    return [row for row in rows if row]


def test_missing_dates_are_owed_and_dates_with_nothing_to_report_are_not(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = World(engine)
    for _ in range(3):
        w.customer()
    plant(w)  # transactions on 12-26, 12-29, 12-30, 12-31, 01-03 (and 01-07)
    generated = transaction(engine, lambda uow: reports.generate(uow, D("2025-12-30"), "risk.one"))
    at_china(clock, "2026-01-07")  # 12-26 (due 01-05) and 12-29 (due 01-06) are missing and overdue
    assert log_in(client, add_staff(client, "regulator", "regulator.due")).status_code == 303

    summary = _section(client.get("/supervision", headers=ZH).text, "report-summary")
    # owed: 12-30 generated, and 12-26, 12-29, 12-31, 01-03 never generated; the 7 quiet dates owe nothing
    assert "待报送 5 份;逾期 2 份" in summary, summary
    assert "已报送 0 天;已生成 1 天;未生成 4 天;无可报告 7 天" in summary
    assert "未生成且已逾期:2025年12月26日, 2025年12月29日" in summary

    due = _cells(_section(client.get("/supervision/reports", headers=ZH).text, "deadlines"))
    assert [(row[0], row[3], row[5]) for row in due] == [
        ("—", "未生成", "已逾期"),  # 12-26, due 01-05
        ("—", "未生成", "已逾期"),  # 12-29, due 01-06
        (generated["id"], "已生成", ""),  # 12-30, due 01-07 (today)
        ("—", "未生成", ""),  # 12-31, due 01-08
        ("—", "未生成", ""),  # 01-03, due 01-08
    ]
    assert [row[2] for row in due] == [
        "2025年12月26日",
        "2025年12月29日",
        "2025年12月30日",
        "2025年12月31日",
        "2026年1月3日",
    ]
    assert all(row[1] == "大额交易报告" for row in due)
