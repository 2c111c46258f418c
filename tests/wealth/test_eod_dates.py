"""Which dates the wealth end of day accepts (issue 12, defect 3), on SQLite and PostgreSQL: the
money-market and the distributed funds' end of day refuse a future date, today (not over yet), a non-ISO
date and a date skipped before the last run; a gap runs day by day, so no day's income (每日收益) is lost."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from puhui.db import reading
from puhui.eod.errors import BusinessDateClosed, BusinessDateInFuture, BusinessDateNotOver
from puhui.wealth.funds import orders as fo
from puhui.wealth.mmf import eod
from puhui.wealth.mmf.tables import mmf_daily, mmf_eod_runs

from .mmf_world import FUND, World, over
from .test_mmf_http import ADMIN, _state, client  # noqa: F401 - the HTTP client fixture

D = dt.date.fromisoformat


def _daily(engine) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return [
            tuple(r)
            for r in connection.execute(
                select(mmf_daily.c.business_date, mmf_daily.c.distributed).order_by(mmf_daily.c.business_date)
            )
        ]


def test_a_gap_distributes_every_days_income(engine, clock):
    w = World(engine, clock)
    cid = w.customer(fen=3_000_000)
    w.subscribe(cid, 1_000_000)  # due 2026-01-06
    clock.set(over("2026-01-05"))
    eod.run_eod(engine, D("2026-01-05"))
    clock.set(over("2026-01-09"))
    runs = eod.run_eod(engine, D("2026-01-09"))  # 6, 7 and 8 were missed
    assert [r["business_date"] for r in runs] == ["2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"]
    daily = _daily(engine)
    assert [d for d, _ in daily] == ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"]
    assert all(distributed > 0 for _, distributed in daily[1:])
    assert w.units(cid) == 1_000_000 + sum(distributed for _, distributed in daily)
    assert w.audit_ok()


def test_a_skipped_or_future_date_is_refused_and_a_date_run_changes_nothing(engine, clock):
    w = World(engine, clock)
    w.subscribe(w.customer(fen=3_000_000), 1_000_000)
    clock.set(over("2026-01-07"))  # 01-08 00:05
    eod.run_eod(engine, D("2026-01-07"))  # the first runs: this date alone
    fo.funds_eod(engine, D("2026-01-07"))
    with reading(engine) as connection:
        before = connection.execute(select(mmf_eod_runs).order_by(mmf_eod_runs.c.business_date)).all()
    state = _state(engine)
    refusals = (
        ("2026-01-06", BusinessDateClosed),
        ("2026-01-08", BusinessDateNotOver),  # today
        ("2026-01-09", BusinessDateInFuture),
    )
    for day, error in refusals:
        with pytest.raises(error):
            eod.run_eod(engine, D(day))
        with pytest.raises(error):
            fo.funds_eod(engine, D(day))
    [again] = eod.run_eod(engine, D("2026-01-07"))
    assert again["already_done"] is True and fo.funds_eod(engine, D("2026-01-07"))["already_done"] is True
    assert _state(engine) == state
    with reading(engine) as connection:
        assert connection.execute(select(mmf_eod_runs).order_by(mmf_eod_runs.c.business_date)).all() == before


def test_http_takes_only_iso_date_strings_of_days_that_are_over(client, engine, clock):  # noqa: F811
    before = _state(engine)
    for path in ("/v1/wealth/eod", "/v1/wealth/funds-eod"):
        for n, (date, status, code) in enumerate(
            [
                ("2035-06-01", 422, "business_date_in_future"),
                ("2026-01-05", 409, "business_date_not_over"),  # today, the clock fixture's date
                (86400, 422, "date_invalid"),
                ("2026/01/05", 422, "date_invalid"),
                ("2026-W02-1", 422, "date_invalid"),
            ]
        ):
            answer = client.post(path, headers={**ADMIN, "Idempotency-Key": f"{path}{n}"}, json={"business_date": date})
            assert (answer.status_code, answer.json()["code"]) == (status, code), (path, date, answer.text)
    assert _state(engine) == before
    clock.set(over("2026-01-05"))
    for path in ("/v1/wealth/eod", "/v1/wealth/funds-eod"):
        ran = client.post(path, headers={**ADMIN, "Idempotency-Key": f"{path}ok"}, json={"business_date": "2026-01-05"})
        assert ran.status_code == 200, ran.text
        before = _state(engine)
        skipped = client.post(
            path, headers={**ADMIN, "Idempotency-Key": f"{path}old"}, json={"business_date": "2026-01-02"}
        )
        assert (skipped.status_code, skipped.json()["code"]) == (409, "business_date_closed"), skipped.text
        assert _state(engine) == before
