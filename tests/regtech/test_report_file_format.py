"""The large-value report file names its business date and its reporting institution (format version 2), on
SQLite and PostgreSQL: two empty reports of different dates differ in their bytes and their SHA-256, a file
cannot be passed off for another date, and version 1 files (stored before version 2) are still read."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from puhui.db import reading, transaction
from puhui.errors import InvalidInput
from puhui.regtech import reports, str_report

from .test_reports_world import World, china

Y = 100  # fen per yuan
D = dt.date.fromisoformat


@pytest.fixture
def world(engine, clock):  # type: ignore[no-untyped-def]
    w = World(engine)
    w.customer(), w.customer()
    return w


def _generate(engine, day: str) -> tuple[dict, str]:  # type: ignore[no-untyped-def]
    made = transaction(engine, lambda uow: reports.generate(uow, D(day), "risk.one"))
    with reading(engine) as connection:
        return made, reports.content_of(connection, made["id"])


def test_two_empty_reports_of_different_dates_name_their_dates_and_differ(engine, world):  # type: ignore[no-untyped-def]
    """A file without a line (a date with nothing to report is refused now, so only files stored before that
    rule have none) still names its date: two dates' files differ."""
    a, b = world.customers
    world.payment(a, b, 100 * Y, china("2025-12-29"))  # under every threshold: nothing to report, refused
    with pytest.raises(reports.NoDataForDate):
        _generate(engine, "2025-12-29")
    files = {day: reports.render(reports.report_id(D(day)), D(day), [], {}) for day in ("2025-12-29", "2025-12-30")}
    assert files["2025-12-29"] != files["2025-12-30"]
    for day, content in files.items():
        meta, lines = reports.parse_file(content)
        assert lines == [] and meta == {
            "format_version": 2,
            "report_kind": "large_value",
            "report_id": reports.report_id(D(day)),
            "business_date": day,
            "institution_code": reports.INSTITUTION["code"],
            "institution_name": reports.INSTITUTION["name"],
            "lines": 0,
        }
    assert str_report.INSTITUTION == reports.INSTITUTION  # the same institution files both kinds


def test_a_report_with_lines_carries_its_metadata_and_the_lines_agree(engine, world):  # type: ignore[no-untyped-def]
    a, b = world.customers
    world.payment(a, b, 600_000 * Y, china("2025-12-31"))
    made, content = _generate(engine, "2025-12-31")
    meta, lines = reports.parse_file(content)
    assert meta["business_date"] == "2025-12-31" and meta["lines"] == made["lines"] == len(lines) == 2
    assert {(line["report_id"], line["business_date"]) for line in lines} == {(made["id"], "2025-12-31")}
    # the file cannot be passed off for another date: change the metadata's date and the lines disagree
    forged = content.replace(",2025-12-31,PUHUI,", ",2026-01-05,PUHUI,", 1)
    with pytest.raises(InvalidInput, match="date"):
        reports.parse_file(forged)
    truncated = "\n".join(content.split("\n")[:-2]) + "\n"  # the last line dropped
    with pytest.raises(InvalidInput, match="lines"):
        reports.parse_file(truncated)


def test_the_metadata_is_checked_and_version_1_files_are_still_read() -> None:
    header = ",".join(reports.COLUMNS)
    line = (
        "rpt_lv_20251231,2025-12-31,c1,natural,out,single,transfer,500000.00,500000.00,p1,payment,p2p,c2,"
        "500000.00,CNY,2025-12-31T10:00:00+08:00"
    )
    old_meta, old_lines = reports.parse_file(f"{header}\n{line}\n")
    assert old_meta == {"format_version": 1, "report_id": "rpt_lv_20251231", "business_date": "2025-12-31"}
    assert old_lines[0]["transaction_id"] == "p1" and reports.parse(f"{header}\n{line}\n") == old_lines
    assert reports.parse_file(f"{header}\n") == ({"format_version": 1, "report_id": None, "business_date": None}, [])
    meta_header = ",".join(reports.METADATA_COLUMNS)
    good = f"{meta_header}\n2,large_value,rpt_lv_20251231,2025-12-31,PUHUI,x,1\n{header}\n{line}\n"
    assert reports.parse(good) == old_lines
    for bad in (
        good.replace("\n2,large_value,", "\n3,large_value,"),  # an unknown version
        good.replace(",large_value,", ",suspicious,"),  # another kind
        good.replace(",x,1\n", ",x,\n"),  # no line count
        f"{meta_header}\n2,large_value,rpt_lv_20251231,2025-12-31,PUHUI,x,0\n",  # no transaction header
        good.replace(",CNY,", ","),  # a line short of a column
        "party,amount\nx,1\n",
        "",
    ):
        with pytest.raises(InvalidInput):
            reports.parse_file(bad)
