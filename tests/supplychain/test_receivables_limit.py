"""`GET /v1/supplychain/receivables?limit=3` was refused with 422 `unknown_query_parameter` while the other
list routes take `limit`: it takes it now (soonest maturity first; 1 to 1000; all without it)."""

from __future__ import annotations

from tests.supplychain.test_supplychain_http import ADMIN, client, confirm, merchant, world  # noqa: F401 - fixtures


def test_receivables_take_a_limit(client, engine, world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    made = [confirm(client, world["core"], world["a_id"], "100.00", 30 + n, f"INV-L-{n}") for n in range(4)]
    assert all(r.status_code == 201 for r in made), [r.text for r in made]
    everything = client.get("/v1/supplychain/receivables", headers=ADMIN)
    assert everything.status_code == 200 and len(everything.json()) == 4
    first = client.get("/v1/supplychain/receivables?limit=3", headers=ADMIN)
    assert first.status_code == 200, first.text
    assert [r["id"] for r in first.json()] == [r["id"] for r in everything.json()[:3]]
    mine = client.get("/v1/supplychain/receivables", headers=world["a"], params={"limit": 1})
    assert [r["id"] for r in mine.json()] == [made[0].json()["id"]]
    for bad in ("0", "1001", "x"):
        refused = client.get(f"/v1/supplychain/receivables?limit={bad}", headers=ADMIN)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_request", refused.text
