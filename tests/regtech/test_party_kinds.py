"""The monitor classifies a bank order's party as the large-value report does (`party_types`: merchants
non-natural, customers natural): a merchant's settlement payout is no natural person's large transfer."""

from __future__ import annotations

from puhui.regtech.monitor import Monitor
from puhui.regtech.rules import DEFAULT_RULES
from tests.regtech.streams import Stream, alerts_of, pairs
from tests.risk.test_features_profiles import World

LARGE = [r for r in DEFAULT_RULES if r.code in ("large_natural_domestic", "large_non_natural")]


def _published(engine, clock):  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    customer, shop, big_shop = w.customer(), w.merchant(), w.merchant()
    s = Stream(engine, clock)
    s.at_china(0, 10)
    # what `wallets.finish` publishes for a settlement payout (credit_card to the settlement account) and a withdrawal
    s.bank(shop, "credit_card", "600000.00")
    s.bank(customer, "credit_card", "600000.00")
    s.bank(big_shop, "credit_card", "2000000.00")
    return customer, shop, big_shop


def test_merchant_payout_is_non_natural(engine, clock) -> None:  # type: ignore[no-untyped-def]
    customer, shop, big_shop = _published(engine, clock)
    Monitor(engine, rules=LARGE).run()
    assert pairs(engine) == {("large_natural_domestic", customer), ("large_non_natural", big_shop)}
    assert not [a for a in alerts_of(engine) if a["party"] == shop]


def test_partitioned_workers_classify_alike(engine, clock) -> None:  # type: ignore[no-untyped-def]
    customer, _, big_shop = _published(engine, clock)
    for k in range(2):
        Monitor(engine, name=f"regtech.monitor.p{k}", rules=LARGE, partition=(k, 2)).run()
    assert pairs(engine) == {("large_natural_domestic", customer), ("large_non_natural", big_shop)}
