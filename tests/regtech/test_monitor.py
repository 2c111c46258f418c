"""The monitor over the real outbox on SQLite and PostgreSQL: each rule trips on its crafted stream
and stays quiet on the benign one; alerts carry their evidence, window and rule version; a crash
mid-stream and a restart give the same alerts as an uninterrupted run."""

from __future__ import annotations

import json

import pytest

from puhui.regtech.monitor import Monitor, MonitorCrash
from puhui.regtech.rules import DEFAULT_RULES
from tests.regtech.streams import (
    Stream,
    alerts_of,
    benign,
    forget_monitor,
    pairs,
    tripping,
)


def test_each_rule_trips_on_its_stream(engine, clock) -> None:
    expected = tripping(Stream(engine, clock))
    events, written = Monitor(engine, batch=16).run()
    assert events == 78
    assert pairs(engine) == expected
    assert written == len(alerts_of(engine))
    assert {code for code, _ in expected} == {r.code for r in DEFAULT_RULES}


def test_benign_stream_raises_nothing(engine, clock) -> None:
    benign(Stream(engine, clock))
    events, written = Monitor(engine).run()
    assert events > 30 and written == 0 and alerts_of(engine) == []


def test_alert_carries_evidence_window_and_version(engine, clock) -> None:
    tripping(Stream(engine, clock))
    Monitor(engine).run()
    day = [a for a in alerts_of(engine) if a["party"] == "cus_b1"]
    assert len(day) == 1
    alert = day[0]
    evidence = json.loads(alert["evidence"])
    assert evidence["key"].startswith("day:2026-01-05:out")
    assert [f["amount"] for f in evidence["flows"]] == [20_000_050] * 3
    assert alert["amount"] == 60_000_150 and alert["rule_version"] == 1
    assert alert["window_start"] <= min(f["at"] for f in evidence["flows"]) <= alert["window_end"]
    rapid = next(a for a in alerts_of(engine) if a["rule_code"] == "rapid_in_out")
    directions = [f["direction"] for f in json.loads(rapid["evidence"])["flows"]]
    assert directions == ["in", "out"]


def test_rerun_after_completion_adds_nothing(engine, clock) -> None:
    tripping(Stream(engine, clock))
    Monitor(engine).run()
    before = alerts_of(engine)
    assert Monitor(engine).run() == (0, 0)
    assert alerts_of(engine) == before


@pytest.mark.parametrize("crash_after", [5, 23, 38, 61, 64])
def test_crash_mid_stream_then_restart_gives_the_same_alerts(engine, clock, crash_after) -> None:
    tripping(Stream(engine, clock))
    Monitor(engine, batch=4).run()
    uninterrupted = alerts_of(engine)
    forget_monitor(engine)
    with pytest.raises(MonitorCrash):
        Monitor(engine, batch=4, crash_after=crash_after).run()
    assert len(alerts_of(engine)) < len(uninterrupted)
    Monitor(engine, batch=4).run()
    assert alerts_of(engine) == uninterrupted
