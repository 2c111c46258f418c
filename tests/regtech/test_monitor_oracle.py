"""The monitor raises exactly the alerts it raised before its throughput work, on the same streams:
the flow events of a seeded simulation (planted typologies and honest look-alikes) and the bench
stream, recorded in tests/regtech/oracle.py — every alert's id, rule, party, window, amount and
evidence. Small batches and a crash with a restart in the middle change nothing either. Rules added
after the recording (`NEWER`) are left out of the comparison: the old monitor had none of their alerts."""

from __future__ import annotations

import pytest

from puhui.regtech.monitor import Monitor, MonitorCrash
from tests.regtech.oracle import alert_rows, publish_bench, publish_rows, recorded

NEWER = {"loan_layering"}  # rule codes added after the recording


def old_rules_alerts(engine) -> list:  # type: ignore[no-untyped-def]
    return [row for row in alert_rows(engine) if row[1] not in NEWER]


@pytest.fixture(scope="module")
def answers() -> dict:
    return recorded()


def _publish(engine, name: str, answers: dict) -> None:  # type: ignore[no-untyped-def]
    publish_rows(engine, answers["sim"]["events"]) if name == "sim" else publish_bench(engine)


@pytest.mark.parametrize("name", ["sim", "bench"])
def test_same_alerts_as_recorded(engine, clock, answers, name: str) -> None:
    _publish(engine, name, answers)
    read, written = Monitor(engine).run()
    assert read == answers[name]["read"]
    assert old_rules_alerts(engine) == answers[name]["alerts"]
    assert written >= len({a[0] for a in answers[name]["alerts"]}) > 10


def test_small_batches_and_a_restart_change_no_alert(engine, clock, answers) -> None:
    _publish(engine, "sim", answers)
    with pytest.raises(MonitorCrash):
        Monitor(engine, batch=97, crash_after=9_001).run()
    Monitor(engine, batch=333).run()
    assert old_rules_alerts(engine) == answers["sim"]["alerts"]
