"""The fraud hook behind real payments (SQLite and PostgreSQL): P2P transfers over HTTP write
`p2p.completed` events that the consumer takes into the window state, and with the hook among the
payment risk rules a payee put on the block list by a risk officer is declined with nothing moved."""

from __future__ import annotations

from puhui.payments import risk_hook
from puhui.risk.fraud.hook import FraudHook
from tests.payments.test_settlement import ADMIN, balance, client, login, make_customer  # noqa: F401 - fixture


def test_hook_declines_a_blocked_payee_and_the_state_follows_real_payments(client, engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    payer, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    payee, _ = make_customer(client, engine, "13998765432", "246", 0)
    me = login(client, phone)
    hook = FraudHook.start(engine)
    monkeypatch.setattr(risk_hook, "RULES", [*risk_hook.RULES, hook])

    sent = client.post(
        "/v1/transfers/p2p",
        headers=me,
        json={"to_customer_id": payee, "amount": "12.34", "device_id": "phone-1", "location": "110000"},
    )
    assert sent.status_code == 201, sent.text
    assert hook.catch_up() == 1
    mine = hook.state.get(payer)
    assert (
        mine is not None
        and mine.count91 == 1
        and mine.sum91 == 12_34
        and mine.devices == {"phone-1": mine.recent[0][0]}
    )
    assert hook.state.get(payee).payers == {payer: mine.recent[0][0]}

    officer = client.post("/v1/staff", headers=ADMIN, json={"handle": "risk.one", "role": "risk_officer"})
    token = {"Authorization": f"Bearer {officer.json()['token']}"}
    assert client.post("/v1/risk/blocklists/payees", headers=token, json={"value": payee}).status_code == 201
    before = balance(engine, f"wallet.{payer}")
    refused = client.post("/v1/transfers/p2p", headers=me, json={"to_customer_id": payee, "amount": "1.00"})
    assert refused.status_code == 403 and refused.json()["code"] == "payment_declined", refused.text
    assert "blocked_payee" not in refused.text and refused.json()["reference"]
    assert balance(engine, f"wallet.{payer}") == before == 1_000_00 - 12_34
    position = hook.state.position
    hook.catch_up()  # takes the staff member's identity event
    assert hook.state.position == position  # a declined payment writes no payment event
