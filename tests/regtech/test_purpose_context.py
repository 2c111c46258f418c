"""Declared purposes (用途) as the monitor's context, never a pass: a fan-in of gifts declared around one date
is still alerted but ranks lower, payroll declared where it does not fit ranks higher, and payments that
declare nothing score as before. Pure over flows, then end to end through the payments service (the purpose
in the event, the flow, the evidence) with a monitor restart in the middle, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from puhui.regtech.alerts import PURPOSE_POINTS, purpose_context
from puhui.regtech.monitor import Monitor, MonitorCrash
from puhui.regtech.windows import OWN_CARD, Flow
from tests.regtech.test_new_rules_services import Market, _of

HOUR = 3600 * 1_000_000
DAY = 24 * HOUR


def fan(direction: str, purposes: list[str | None], spread: int = HOUR) -> tuple[Flow, ...]:
    return tuple(
        Flow(i, 0, "hub", f"p{i}", direction, 1_000_00, "transfer", "natural", False, i * spread, f"r{i}", "person", p)
        for i, p in enumerate(purposes)
    )


def test_the_purpose_context_of_a_fan() -> None:
    gifts = fan("in", ["gift"] * 9 + [None])
    assert purpose_context("fan_in", gifts)[0] == -PURPOSE_POINTS
    assert purpose_context("fan_in", fan("in", ["gift"] * 7 + [None] * 3)) == (0, [])  # too few declared
    assert purpose_context("fan_in", fan("in", ["gift"] * 10, spread=DAY)) == (0, [])  # not around one date
    assert purpose_context("fan_in", fan("in", [None] * 10)) == (0, [])
    assert purpose_context("fan_in", fan("in", ["payroll"] * 10))[0] == PURPOSE_POINTS  # a person employs nobody
    assert purpose_context("rapid_in_out", gifts) == (0, [])  # other typologies: no purpose context
    own = Flow(99, 0, "hub", "bank", "in", 12_000_00, "transfer", "natural", False, 0, "tu", OWN_CARD)
    third = Flow(99, 0, "hub", "src", "in", 12_000_00, "transfer", "natural", False, 0, "p", "person")
    payroll = fan("out", ["payroll"] * 10)
    assert purpose_context("fan_out", (own, *payroll))[0] == -PURPOSE_POINTS  # paid from its own card
    assert purpose_context("fan_out", (third, *payroll))[0] == PURPOSE_POINTS  # "payroll" of others' money


@pytest.mark.parametrize("restart", [False, True], ids=["one-run", "restarted"])
def test_declared_gifts_rank_a_fan_in_lower_but_still_alert(engine, clock, restart) -> None:  # type: ignore[no-untyped-def]
    m = Market(engine, clock)
    hubs = {"declared": m.customer(), "silent": m.customer()}
    sink = m.customer()
    for name, hub in hubs.items():
        for _ in range(10):
            guest = m.customer(2_000_00)
            purpose = "gift" if name == "declared" else None
            assert m.platform.p2p(guest.customer_id, hub.customer_id, 1_200_00, purpose=purpose) is not None
            m.later(minutes=30)
        m.pay(hub, sink, 7_000_00)  # most of it passed on: a fan-in whatever was declared
        m.later(hours=1)
    if restart:
        with pytest.raises(MonitorCrash):
            Monitor(engine, batch=7, crash_after=30).run()
    Monitor(engine, batch=11).run()
    alerts = {a["party"]: a for a in _of(engine, "fan_in")}
    declared, silent = alerts[hubs["declared"].customer_id], alerts[hubs["silent"].customer_id]
    evidence = json.loads(declared["evidence"])
    assert evidence["score"] == json.loads(silent["evidence"])["score"] - PURPOSE_POINTS
    assert "gift" in evidence["context"][0] and "context" not in json.loads(silent["evidence"])
    assert sorted(f.get("purpose") for f in evidence["flows"] if f["direction"] == "in") == ["gift"] * 10
    assert m.audit_ok()
