"""Precision and recall per typology from the monitor's alerts against the run's labels, on both DBs."""

from __future__ import annotations

from puhui.db import reading, transaction
from puhui.regtech.tables import monitor_alerts
from puhui.sim.detection import benign_flags, evaluate
from puhui.sim.tables import sim_labels


def label(n: int, customer: str, typology: str, role: str = "principal") -> dict:
    return {
        "id": f"r1:{n}",
        "run_id": "r1",
        "agent": n,
        "customer_id": customer,
        "typology": typology,
        "role": role,
        "payment_id": None,
        "created_at": 0,
    }


def alert(n: int, party: str, typology: str) -> dict:
    return {
        "id": f"a{n}",
        "rule_code": typology,
        "rule_version": 1,
        "typology": typology,
        "party": party,
        "window_start": 0,
        "window_end": 1,
        "amount": 1,
        "evidence": "[]",
        "position": n,
        "event_at": 0,
        "raised_at": 0,
        "case_id": None,
    }


def test_precision_and_recall_per_typology(engine):
    labels = [
        label(1, "c1", "fan_in"),
        label(2, "c2", "fan_in"),
        label(3, "m1", "fan_in", "accomplice"),
        label(4, "c3", "round_amounts"),
        label(5, "c4", "structuring"),
        label(6, "c5", "cycle"),
        label(7, "m2", "cycle", "accomplice"),
        label(8, "m3", "cycle", "accomplice"),
    ]
    alerts = [
        alert(1, "c1", "fan_in"),
        alert(2, "c9", "fan_in"),
        alert(3, "c1", "fan_in"),  # c1 twice: one party
        alert(4, "c3", "round_amount"),
        alert(5, "c4", "fan_out"),  # c4 found by another rule: not a catch
        alert(6, "c5", "cycle"),
        alert(7, "m2", "cycle"),
        alert(8, "c9", "cycle"),
    ]  # m2 took part: precise

    def work(uow):  # type: ignore[no-untyped-def]
        uow.execute(sim_labels.insert(), labels)
        uow.execute(monitor_alerts.insert(), alerts)

    transaction(engine, work)
    with reading(engine) as connection:
        found = {d.typology: d for d in evaluate(connection, "r1")}
    assert (found["fan_in"].planted, found["fan_in"].flagged, found["fan_in"].caught) == (2, 2, 1)
    assert found["fan_in"].precision == 0.5 and found["fan_in"].recall == 0.5
    assert found["round_amounts"].precision == 1.0 and found["round_amounts"].recall == 1.0
    assert found["structuring"].recall == 0.0 and found["structuring"].precision is None
    assert found["fan_out"].planted == 0 and found["fan_out"].recall is None and found["fan_out"].precision == 0.0
    cycle = found["cycle"]
    assert (cycle.planted, cycle.flagged, cycle.caught, cycle.involved) == (1, 3, 1, 2)
    assert cycle.recall == 1.0 and abs(cycle.precision - 2 / 3) < 1e-12  # type: ignore[operator]
    assert cycle.launderers == 2 and found["fan_out"].launderers == 1  # c4 launders, if not by fan-out
    assert found["fan_in"].precision_any == 0.5  # c9 took part in nothing: an innocent flagged


def test_a_chain_flags_every_account_it_names_and_benign_flags_are_counted(engine):
    """A chain alert counts for every account in its evidence; customers in no scheme flagged by a laundering
    rule (not by a large-value report) are the benign flags, overall and per look-alike kind."""
    labels = [
        label(1, "cus_o", "mule_chain"),
        label(2, "cus_m1", "mule_chain", "accomplice"),
        label(3, "cus_m2", "mule_chain", "accomplice"),
        label(4, "cus_bride", "lookalike_wedding", "benign"),
        label(5, "cus_boss", "lookalike_payroll", "benign"),
    ]
    chain = {**alert(1, "cus_o", "mule_chain"), "evidence": '{"key":"chain:p1","accounts":["cus_o","cus_m1","cus_x"]}'}
    alerts = [chain, alert(2, "cus_bride", "fan_in"), alert(3, "cus_boss", "large_value")]

    def work(uow):  # type: ignore[no-untyped-def]
        uow.execute(sim_labels.insert(), labels)
        uow.execute(monitor_alerts.insert(), alerts)

    transaction(engine, work)
    with reading(engine) as connection:
        found = {d.typology: d for d in evaluate(connection, "r1", customers=100)}
        honest = benign_flags(connection, "r1", customers=100)
    chained = found["mule_chain"]
    assert (chained.planted, chained.flagged, chained.caught, chained.involved) == (1, 3, 1, 2)
    assert chained.benign == 97 and chained.benign_flagged == 1  # cus_x, named but in no scheme
    assert found["fan_in"].benign_flagged == 1 and found["fan_in"].benign_rate == 1 / 97
    assert (honest.customers, honest.flagged) == (97, 2) and honest.rate == 2 / 97  # cus_x and the bride
    assert honest.lookalikes == {"payroll": (0, 1), "wedding": (1, 1)}  # large-value reports are no suspicion
