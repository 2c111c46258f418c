"""A changed password (改密) as account-takeover evidence: identity publishes `identity.password_changed`
when a customer changes it over HTTP, the fraud state takes it in, and for a day the payer's takeover
score carries it; a refused change publishes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from puhui import clock as time_source
from puhui.db import reading
from puhui.db.tables import outbox
from puhui.payments.risk_hook import PaymentRequest
from puhui.risk.fraud.engine import decide, features
from puhui.risk.fraud.hook import FraudHook
from puhui.risk.fraud.models import FEATURES, TAKEOVER_WEIGHTS, takeover_rule
from puhui.risk.fraud.state import DAY, SECOND, WindowState
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    PASSWORD,
    client,
    login,
    make_customer,
)

T0 = 1_772_000_000 * SECOND


def named(values: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(FEATURES, values))


def test_a_password_changed_in_the_last_day_lifts_the_takeover_score() -> None:
    state = WindowState()
    for day in range(5):
        state.observe(PaymentRequest("qr_static", "amy", "shop", 20_00, 2, "phone-1", "上海", T0 + day * DAY))
    at = T0 + 6 * DAY
    thief = PaymentRequest("p2p", "amy", "mule", 500_00, 2, "phone-x", "境外-金边", at)
    before = named(features(thief, state.get("amy"), None, 1_000_00))
    rule = takeover_rule(enabled=True)
    before_points = decide(thief, [rule], state, 1_000_00)[1]

    state.password_changed("amy", at - 3600 * SECOND)
    after = named(features(thief, state.get("amy"), None, 1_000_00))
    after_points = decide(thief, [rule], state, 1_000_00)[1]
    assert before["password_changed_24h"] == 0 and after["password_changed_24h"] == 1
    assert before_points is not None and after_points is not None and after_points > before_points
    assert TAKEOVER_WEIGHTS["password_changed_24h"] > 0

    a_day_later = PaymentRequest("p2p", "amy", "mule", 500_00, 2, "phone-x", "境外-金边", at + DAY)
    assert named(features(a_day_later, state.get("amy"), None, 1_000_00))["password_changed_24h"] == 0


def test_a_password_changed_over_http_reaches_the_fraud_state(client, engine, clock) -> None:  # noqa: F811
    clock.set(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))
    payer_id, phone = make_customer(client, engine, "13812345678", "531", 100_00)
    other_id, _ = make_customer(client, engine, "13998765432", "246", 0)
    hook = FraudHook.start(engine)
    url = f"/v1/customers/{payer_id}/password"
    new = "a much longer passphrase"

    def changes() -> list[str]:
        with reading(engine) as connection:
            rows = connection.execute(select(outbox.c.key).where(outbox.c.type == "identity.password_changed"))
            return [row.key for row in rows]

    wrong = client.post(url, headers=login(client, phone), json={"current_password": "not it", "new_password": new})
    assert wrong.status_code == 403 and changes() == []
    hook.catch_up()
    assert hook.state.get(payer_id) is None or hook.state.get(payer_id).password_at == -1

    changed = client.post(url, headers=login(client, phone), json={"current_password": PASSWORD, "new_password": new})
    assert changed.status_code == 200, changed.text
    assert changes() == [payer_id]
    hook.catch_up()
    at = time_source.now_micros()
    assert hook.state.get(payer_id).password_at == at
    paying = PaymentRequest("p2p", payer_id, other_id, 50_00, 2, "phone-1", "上海", at + 60 * SECOND)
    assert named(features(paying, hook.state.get(payer_id), None))["password_changed_24h"] == 1
    assert hook.state.get(other_id) is None or hook.state.get(other_id).password_at == -1

    rebuilt = FraudHook.start(engine)  # a new process replays the identity topic too
    assert rebuilt.state.get(payer_id).password_at == at
