"""Rules as data: defaults valid, a bad definition refused with `rule_invalid` (pure and over HTTP,
changing nothing), a good one stored as the next version, which the monitor then applies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from puhui.regtech.errors import RuleInvalid
from puhui.regtech.monitor import Monitor
from puhui.regtech.rules import DEFAULT_RULES, parse_rule
from puhui.regtech.tables import monitor_rules
from tests.identity.helpers import ADMIN, make_staff
from tests.regtech.streams import Stream, app_client, pairs

STRUCTURING = {"params": {"typology": "structuring", "threshold": "50000", "min_count": 2}}


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    with app_client(engine) as test_client:
        yield test_client


def test_defaults_follow_pboc_order_2016_no_3() -> None:
    by_code = {r.code: r for r in DEFAULT_RULES}
    assert str(by_code["large_cash"].params.threshold) == "50000"
    assert str(by_code["large_natural_domestic"].params.threshold) == "500000"
    assert str(by_code["large_natural_cross_border"].params.threshold) == "200000"
    assert str(by_code["large_non_natural"].params.threshold) == "2000000"
    assert all(r.version == 1 and r.enabled for r in DEFAULT_RULES)


@pytest.mark.parametrize(
    "body",
    [
        {"params": {"typology": "structuring", "threshold": "50000", "colour": "red"}},
        {"params": {"typology": "fan_in", "window_seconds": -60}},
        {"params": {"typology": "fan_in", "window_seconds": 0}},
        {"params": {"typology": "large_value", "channel": "cash", "threshold": "-1"}},
        {"params": {"typology": "large_value", "channel": "cash", "threshold": "1.001"}},
        {"params": {"typology": "teleport"}},
        {"params": {"typology": "fan_in"}, "owner": "me"},
        "not an object",
    ],
)
def test_bad_definitions_are_refused_with_a_stable_code(body) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleInvalid) as refused:
        parse_rule("some_rule", body)
    assert refused.value.code == "rule_invalid" and refused.value.status == 422


@given(st.integers(max_value=0))
def test_no_window_below_one_second(seconds: int) -> None:
    with pytest.raises(RuleInvalid):
        parse_rule("r", {"params": {"typology": "night_burst", "window_seconds": seconds}})


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(monitor_rules)).scalar_one()


@pytest.mark.parametrize(
    "body",
    [
        {"params": {"typology": "structuring", "threshold": "50000", "unknown": 1}},
        {"params": {"typology": "structuring", "threshold": "50000", "window_seconds": -1}},
    ],
)
def test_bad_rule_over_http_is_422_and_changes_nothing(client, engine, body) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    response = client.put("/v1/regtech/rules/structuring", json=body, headers={**officer, "Idempotency-Key": "r1"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "rule_invalid"
    assert _count(engine) == 0
    current = client.get("/v1/regtech/rules/structuring", headers=officer).json()
    assert current["rule"]["version"] == 1 and current["rule"]["params"]["min_count"] == 3


def test_only_officers_and_admin_change_rules(client, engine) -> None:  # type: ignore[no-untyped-def]
    for role in ("operator", "regulator"):
        staff = make_staff(client, role)
        response = client.put("/v1/regtech/rules/structuring", json=STRUCTURING, headers=staff)
        assert response.status_code == 403, response.text
    assert _count(engine) == 0
    regulator = make_staff(client, "regulator", "regulator.two")
    assert client.get("/v1/regtech/rules", headers=regulator).status_code == 200


def test_a_new_version_is_stored_and_applied(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    response = client.put(
        "/v1/regtech/rules/structuring", json=STRUCTURING, headers={**officer, "Idempotency-Key": "v2"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 2
    again = client.put("/v1/regtech/rules/structuring", json=STRUCTURING, headers={**officer, "Idempotency-Key": "v2"})
    assert again.json()["version"] == 2 and _count(engine) == 1  # a replay stores nothing new
    history = client.get("/v1/regtech/rules/structuring", headers=ADMIN).json()["history"]
    assert [h["version"] for h in history] == [1, 2]
    stream = Stream(engine, clock)
    stream.at_china(0, 10)
    stream.p2p("cus_s1", "cus_s2", "46000.00")
    stream.p2p("cus_s1", "cus_s3", "48000.00")
    Monitor(engine).run()
    assert pairs(engine) == {("structuring", "cus_s1")}
    alerts = client.get("/v1/regtech/alerts", params={"party": "cus_s1"}, headers=officer).json()["alerts"]
    assert alerts[0]["rule"] == {"code": "structuring", "version": 2}
    assert [f["amount"] for f in alerts[0]["evidence"]["flows"]] == ["46000.00", "48000.00"]


def test_disabling_a_rule_silences_it(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    stream, monitor = Stream(engine, clock), Monitor(engine)

    def three_round_amounts(payer: str, first_day: int) -> None:
        for n in range(3):
            stream.at_china(first_day + n, 10)
            stream.p2p(payer, f"{payer}_to{n}", "20000.00")
        monitor.run()

    three_round_amounts("cus_y1", 0)
    assert ("round_amount", "cus_y1") in pairs(engine)  # on, it fires
    body = {"enabled": False, "params": {"typology": "round_amount", "window_seconds": 7 * 86_400}}
    response = client.put("/v1/regtech/rules/round_amount", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    three_round_amounts("cus_x1", 3)
    assert ("round_amount", "cus_x1") not in pairs(engine)


DOMESTIC = {"typology": "large_value", "channel": "transfer", "party_kind": "natural", "cross_border": False}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"params": {**DOMESTIC, "threshold": "5000000"}}, "not raised above the statutory 500000"),
        ({"params": {**DOMESTIC, "threshold": "500000.01"}}, "not raised above the statutory 500000"),
        ({"enabled": False, "params": {**DOMESTIC, "threshold": "500000"}}, "cannot be disabled"),
        ({"params": {**DOMESTIC, "cross_border": True, "threshold": "100000"}}, "watches large_value"),
        ({"params": {**DOMESTIC, "party_kind": "any", "threshold": "100000"}}, "watches large_value"),
        ({"params": {"typology": "round_amount"}}, "watches large_value"),
    ],
)
def test_a_statutory_rule_cannot_be_weakened(client, engine, body, says) -> None:  # type: ignore[no-untyped-def]
    """PBOC Order 2016 No. 3's large-value rules: an admin once raised 自然人境内转账 tenfold, turned it into another
    typology and switched it off, each a 201."""
    officer = make_staff(client, "risk_officer")
    refused = client.put(
        "/v1/regtech/rules/large_natural_domestic", json=body, headers={**officer, "Idempotency-Key": f"w-{says}"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "rule_statutory" and says in refused.json()["detail"]
    assert _count(engine) == 0
    current = client.get("/v1/regtech/rules/large_natural_domestic", headers=officer).json()["rule"]
    assert (current["version"], current["enabled"], current["params"]["threshold"]) == (1, True, "500000")


def test_a_statutory_rule_may_be_made_stricter_and_every_version_says_who_and_when(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    stricter = {"params": {**DOMESTIC, "threshold": "300000"}}  # no description: the one in force is kept
    saved = client.put(
        "/v1/regtech/rules/large_natural_domestic", json=stricter, headers={**officer, "Idempotency-Key": "s1"}
    )
    assert saved.status_code == 201, saved.text
    rule = saved.json()
    assert (rule["version"], rule["params"]["threshold"], rule["description"]) == (
        2,
        "300000",
        "自然人境内转账 ≥ 500,000 CNY",
    )
    history = client.get("/v1/regtech/rules/large_natural_domestic", headers=ADMIN).json()["history"]
    assert [(h["version"], h["changed_by"]) for h in history] == [(1, None), (2, rule["changed_by"])]
    assert rule["changed_by"] and rule["changed_by"] != "admin" and history[1]["changed_at"] == rule["changed_at"]
    assert history[0]["changed_at"] is None and rule["changed_at"].startswith(clock.now().date().isoformat())
    listed = {r["code"]: r for r in client.get("/v1/regtech/rules", headers=ADMIN).json()["rules"]}
    assert listed["large_natural_domestic"]["changed_by"] == rule["changed_by"]
    assert listed["large_cash"]["changed_by"] is None


def test_a_running_monitor_picks_up_a_new_version(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from puhui.db import transaction
    from puhui.regtech.rules import save_rule

    worker = Monitor(engine)
    stream = Stream(engine, clock)
    stream.at_china(0, 10)
    stream.p2p("cus_v1", "cus_v2", "300000.00")
    worker.run()
    assert pairs(engine) == set()
    body = {
        "params": {
            "typology": "large_value",
            "channel": "transfer",
            "party_kind": "natural",
            "cross_border": False,
            "threshold": "250000",
        }
    }
    transaction(engine, lambda uow: save_rule(uow, "large_natural_domestic", body, "officer"))
    stream.p2p("cus_v3", "cus_v4", "260000.00")
    worker.run()
    assert pairs(engine) == {("large_natural_domestic", "cus_v3"), ("large_natural_domestic", "cus_v4")}
