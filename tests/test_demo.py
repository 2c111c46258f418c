"""The demo world seeds through the real services on both backends and the ledger audit passes."""

from __future__ import annotations

from sqlalchemy import func, select

from puhui.db import reading
from puhui.demo import CUSTOMERS, MERCHANTS, seed_demo_world
from puhui.identity.service import with_demo_secrets
from puhui.insurance.returns import listings
from puhui.ledger.audit import audit
from puhui.ledger.tables import transfers
from puhui.settings import Settings


def test_demo_world_seeds_and_audits(engine, clock):
    world = seed_demo_world(engine, with_demo_secrets(Settings()))
    assert len(world.customers) == len(CUSTOMERS) == 6
    assert len(world.merchants) == len(MERCHANTS) == 3
    assert (world.top_ups, world.payments, world.refunds, world.p2p) == (6, 12, 1, 1)
    assert (world.credit_lines, world.funds) == (6, 3)
    assert world.covered_orders == 2  # bought with return-shipping cover at the first merchant: its page shows them
    with reading(engine) as connection:
        covered = listings.merchant_policies(connection, world.merchants[0]["id"])["policies"]
    assert sorted(p["order_ref"] for p in covered) == ["DEMO-RS-1", "DEMO-RS-2"]
    assert {p["policy"]["status"] for p in covered} == {"active"}
    text = str(world)
    assert world.customers[0]["phone"] in text and world.merchants[0]["api_key"] in text
    with reading(engine) as connection:
        report = audit(connection)
        count = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
    assert report.ok, report
    assert count >= 6 + 12 + 1 + 1
