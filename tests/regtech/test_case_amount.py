"""A case's priority amount counts each transaction once, on SQLite and PostgreSQL: two alerts citing the
same 22 transactions showed twice their total (summed over the alerts) while the suspicious transaction report
built from the case totalled them once. The amount is now the report's total, and cases rank by it."""

from __future__ import annotations

from decimal import Decimal

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.money import format_minor
from puhui.regtech import cases
from puhui.regtech.alerts import Alert, alert_id, insert_alerts
from puhui.regtech.windows import Flow

NARRATIVE = "客户资金快进快出，与其收入不符，疑似过渡账户。Funds passed straight through the account."


def flow(position: int, party: str, direction: str, amount: int) -> Flow:
    at = clock_module.now_micros() - (100 - position) * 60_000_000
    return Flow(position, 0, party, "cus_other", direction, amount, "transfer", "natural", False, at, f"pay_{position}")


def alert(rule: str, typology: str, party: str, flows: list[Flow]) -> Alert:
    last = max(f.at for f in flows)
    return Alert(
        alert_id(rule, party, typology), rule, 1, typology, party, typology, min(f.at for f in flows), last,
        tuple(flows), max(f.position for f in flows), last,
    )  # fmt: skip


def plant(engine) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """cus_x: two alerts over the same 22 transactions; cus_y: two alerts over one transaction each."""
    shared = [flow(i, "cus_x", "in" if i % 2 else "out", 1_000_000 + 7_919 * i) for i in range(1, 23)]
    made = {
        "cus_x": [alert("R_RAPID", "rapid_in_out", "cus_x", shared), alert("R_LARGE", "large_value", "cus_x", shared)],
        "cus_y": [
            alert("R_FAN", "fan_in", "cus_y", [flow(30, "cus_y", "in", 14_000_000)]),
            alert("R_LARGE", "large_value", "cus_y", [flow(31, "cus_y", "in", 13_000_000)]),
        ],
    }
    transaction(engine, lambda uow: insert_alerts(uow, [a for alerts in made.values() for a in alerts]))
    return {party: [a.id for a in alerts] for party, alerts in made.items()}


def test_two_alerts_over_the_same_transactions_count_them_once(engine, clock):  # type: ignore[no-untyped-def]
    ids = plant(engine)
    opened = {
        p: transaction(engine, lambda uow: cases.open_case(uow, alert_ids, "risk.one")) for p, alert_ids in ids.items()
    }
    x = opened["cus_x"]
    once = sum(1_000_000 + 7_919 * i for i in range(1, 23))
    summed = sum(Decimal(a["amount"]) for a in x["alerts"])
    assert summed == 2 * Decimal(format_minor(once, 2))  # what the priority showed before
    assert x["priority"]["amount"] == format_minor(once, 2) and x["priority"]["alerts"] == 2

    case_id = x["id"]
    for target, extra in (
        ("assigned", {"assignee": "risk.one"}),  # the officer takes the case themselves
        ("investigating", {}),
        ("escalated", {"narrative": NARRATIVE}),
        ("reported", {}),
    ):
        done = transaction(engine, lambda uow: cases.transition(uow, case_id, target, "risk.one", **extra))
    report = done["report"]
    assert report["transactions"] == 22 and report["total_amount"] == done["priority"]["amount"]


def test_cases_rank_by_the_amount_counted_once(engine, clock):  # type: ignore[no-untyped-def]
    """Both cases have two typologies: cus_y's 270,000.00 outranks cus_x's 22 transactions (240,035.07),
    which summed over its two alerts (480,070.14) ranked first."""
    ids = plant(engine)
    for alert_ids in ids.values():
        transaction(engine, lambda uow: cases.open_case(uow, alert_ids, "risk.one"))
    with reading(engine) as connection:
        listed = cases.list_cases(connection)
        opened = cases.list_cases(connection, sort="opened")
        only_open = cases.list_cases(connection, status="open", limit=1)
    assert [c["party"] for c in listed] == ["cus_y", "cus_x"]
    assert [Decimal(c["priority"]["amount"]) for c in listed] == sorted(
        (Decimal(c["priority"]["amount"]) for c in listed), reverse=True
    )
    assert {c["id"] for c in opened} == {c["id"] for c in listed}
    assert [c["party"] for c in only_open] == ["cus_y"]


def test_a_case_without_alerts_counts_nothing() -> None:
    assert cases.case_amount([]) == 0 and cases.case_figures([]) == (0, 0, 0)
