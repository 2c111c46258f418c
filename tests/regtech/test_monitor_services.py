"""The monitor over events the real payment services publish (card top-ups, P2P, QR payments), run
through `puhui regtech monitor --once`; the books audit clean afterwards."""

from __future__ import annotations

from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.payments.bank.channel import OrderKind
from puhui.regtech.monitor import Monitor
from puhui.regtech.rules import parse_rule
from tests.regtech.streams import pairs
from tests.risk.test_features_profiles import World

# Small thresholds as data, so amounts within the tier limits of a verified customer trip them.
RULES = [
    parse_rule("rapid_small", {"params": {"typology": "rapid_in_out", "min_in": "1000", "out_ratio": "0.8"}}),
    parse_rule("fan_in_small", {"params": {"typology": "fan_in", "min_counterparties": 2, "party_kind": "any"}}),
    parse_rule("large_small", {"params": {"typology": "large_value", "channel": "transfer", "threshold": "1500"}}),
]


def tripping_payments(w: World) -> tuple[str, str, str, str]:
    """a receives 1,000 from c and tops up 1,000 from its own card, then pays 1,700 on within the hour
    (rapid in-out on c's money, and large at 1,500); c and b pay a shop (fan-in of 2). Returns (a, b, c, shop)."""
    a, b, c = w.customer(), w.customer(), w.customer()
    shop = w.merchant()
    w.bank(c, OrderKind.debit_card, 1_400_00)
    w.p2p(c, a, 1_000_00)
    w.bank(a, OrderKind.debit_card, 1_000_00)
    w.later(hours=1)
    w.p2p(a, b, 1_700_00)
    w.qr_pay(c, shop, 100_00)
    w.qr_pay(b, shop, 200_00)
    return a, b, c, shop


def test_rules_trip_on_what_the_services_publish(engine, clock) -> None:  # type: ignore[no-untyped-def]
    a, b, c, shop = tripping_payments(World(engine, clock))
    events, _ = Monitor(engine, rules=RULES).run()
    assert events > 10
    assert pairs(engine) == {("rapid_small", a), ("fan_in_small", shop), ("large_small", a), ("large_small", b)}
    with reading(engine) as connection:
        assert audit(connection).ok


def test_own_card_money_paid_on_is_no_rapid_in_out(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """A top-up from one's own card is one's own money: paying it on (tuition, a car, gifts) is no in-and-out."""
    w = World(engine, clock)
    payer, school = w.customer(), w.customer()
    w.bank(payer, OrderKind.debit_card, 2_000_00)
    w.later(minutes=30)
    w.p2p(payer, school, 1_900_00)
    Monitor(engine, rules=RULES).run()
    assert {rule for rule, _ in pairs(engine)} == {"large_small"}  # the amounts are large; nothing else


def test_cli_monitor_once(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    a, b = w.customer(), w.customer()
    w.bank(a, OrderKind.debit_card, 1_000_00)
    w.p2p(a, b, 10_00)
    url = engine.url.render_as_string(hide_password=False)
    first = CliRunner().invoke(app, ["regtech", "monitor", "--once", "--db", url])
    assert first.exit_code == 0, first.output
    assert '"events": ' in first.output and '"events": 0' not in first.output
    again = CliRunner().invoke(app, ["regtech", "monitor", "--once", "--db", url])
    assert '"events": 0' in again.output and '"alerts": 0' in again.output
