"""Account-takeover evidence (账户盗用), each feature relative to the payer's own history: a new device or
place for a payer who has another, a first payee, a card bound in the last day, the share of the balance
paid out, a failed step-up challenge from a new device. Pure over the window state, then fed by real
payments, a card bound over HTTP and a failed challenge on SQLite and PostgreSQL, with the takeover score
as the cost policy's evidence."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from puhui import clock as time_source
from puhui.db import reading
from puhui.payments import challenges, risk_hook
from puhui.payments.risk_hook import PaymentRequest
from puhui.risk.fraud import store
from puhui.risk.fraud.calibration import calibration_from
from puhui.risk.fraud.decision import costs_from
from puhui.risk.fraud.engine import decide, features
from puhui.risk.fraud.hook import FraudHook, Policy
from puhui.risk.fraud.models import FEATURES, TAKEOVER_WEIGHTS, default_rules, takeover_rule
from puhui.risk.fraud.state import DAY, SECOND, WindowState
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    assert_books_clean,
    balance,
    client,
    login,
    make_customer,
)

T0 = 1_772_000_000 * SECOND  # a Wednesday, 06:13 China time
HOUR = 3600 * SECOND


def named(values: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(FEATURES, values))


def paid(state: WindowState, at: int, payee: str = "shop", device: str = "phone-1", place: str = "上海") -> None:
    state.observe(PaymentRequest("qr_static", "amy", payee, 20_00, 2, device, place, at))


def request(at: int, payee: str = "shop", device: str = "phone-1", place: str = "上海", amount: int = 50_00):
    return PaymentRequest("p2p", "amy", payee, amount, 2, device, place, at)


def history() -> WindowState:
    state = WindowState()
    for day in range(5):
        paid(state, T0 + day * DAY)
    return state


def test_a_new_device_or_place_counts_only_against_another_of_the_payers_own() -> None:
    state = history()
    at = T0 + 6 * DAY
    usual = named(features(request(at), state.get("amy"), None))
    assert usual["device_new_to_payer"] == usual["location_new_to_payer"] == 0
    other = named(features(request(at, device="phone-2", place="境外-金边"), state.get("amy"), None))
    assert other["device_new_to_payer"] == other["location_new_to_payer"] == 1
    # the payer's very first device is not a change: a newcomer has no own to compare with
    assert named(features(request(at, device="phone-2"), None, None))["device_new_to_payer"] == 0
    # the new phone stays new for a day after its first payment, then it is the payer's own
    paid(state, at, device="phone-2", place="境外-金边")
    soon = named(features(request(at + HOUR, device="phone-2", place="境外-金边"), state.get("amy"), None))
    assert soon["device_new_to_payer"] == soon["location_new_to_payer"] == 1
    later = named(features(request(at + DAY + HOUR, device="phone-2", place="境外-金边"), state.get("amy"), None))
    assert later["device_new_to_payer"] == later["location_new_to_payer"] == 0


def test_a_first_payee_is_one_not_paid_in_91_days_by_a_payer_with_history() -> None:
    state = history()
    at = T0 + 6 * DAY
    assert named(features(request(at, payee="shop"), state.get("amy"), None))["first_payee"] == 0
    assert named(features(request(at, payee="mule"), state.get("amy"), None))["first_payee"] == 1
    assert (
        named(features(request(at + 92 * DAY, payee="shop"), state.get("amy"), None))["first_payee"] == 0
    )  # no history
    paid(state, at + 91 * DAY, payee="cafe")
    assert named(features(request(at + 92 * DAY, payee="shop"), state.get("amy"), None))["first_payee"] == 1
    assert named(features(request(at, payee="mule"), None, None))["first_payee"] == 0


def test_a_card_bound_in_the_last_day_and_the_share_of_the_balance() -> None:
    state = history()
    at = T0 + 6 * DAY
    state.credentials_changed("amy", at - 2 * HOUR)
    fresh = named(features(request(at, amount=40_00), state.get("amy"), None, balance=100_00))
    assert fresh["card_bound_24h"] == 1 and fresh["balance_share"] == 0.4
    stale = named(features(request(at + DAY, amount=400_00), state.get("amy"), None, balance=100_00))
    assert stale["card_bound_24h"] == 0 and stale["balance_share"] == 1.0  # capped at the whole balance
    assert named(features(request(at), state.get("amy"), None, balance=None))["balance_share"] == 0


def test_a_failed_challenge_weighs_on_a_new_device_only() -> None:
    state = history()
    at = T0 + 6 * DAY
    state.challenge_failed("amy", at - HOUR)
    assert named(features(request(at, device="phone-x"), state.get("amy"), None))["challenge_failed_24h"] == 1
    assert named(features(request(at), state.get("amy"), None))["challenge_failed_24h"] == 0  # the owner's phone
    assert named(features(request(at + DAY, device="phone-x"), state.get("amy"), None))["challenge_failed_24h"] == 0


def test_the_takeover_score_separates_a_takeover_from_the_owner_and_is_off_by_default() -> None:
    assert [r for r in default_rules() if r.rule_id == "takeover_score"] == [takeover_rule()]
    assert not takeover_rule().enabled
    state = history()
    night = T0 + 6 * DAY + 20 * HOUR  # 02:13 China time
    rule = takeover_rule(enabled=True)
    thief = request(night, payee="mule", device="phone-x", place="境外-金边", amount=400_00)
    owner = request(night - 12 * HOUR, payee="shop", amount=40_00)
    stolen, points = decide(thief, [rule], state, balance=800_00)
    assert points is not None and points >= 500 and stolen.reasons[0].startswith("takeover_score: score")
    # the owner: only 2 x a 5% share of the balance: 1000 x logistic(-5 + 0.1) = 7.4
    assert decide(owner, [rule], state, balance=800_00) == (risk_hook.Decision(risk_hook.Outcome.approve), 7)
    # without it the default rules decide as before: the fraud score's points, no takeover reason
    before = decide(thief, default_rules(), state, balance=800_00)
    assert not any(r.startswith("takeover_score") for r in before[0].reasons)
    assert set(TAKEOVER_WEIGHTS) <= set(FEATURES)


COSTS = costs_from(
    {
        "catch": {"allow": "0", "challenge": "0.95", "hold": "0.98", "decline": "1"},
        "friction": {"allow": "0", "challenge": "1.50", "hold": "60.00", "decline": "200.00"},
    }
)
# nothing below a takeover score of 500 is fraud; from 500 one in two is
HALF_FROM_500 = calibration_from([{"from_score": 0, "probability": "0"}, {"from_score": 2000, "probability": "0.5"}])


def test_takeover_evidence_from_real_payments_cards_and_challenges(client, engine, clock) -> None:  # noqa: F811
    clock.set(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))  # 10:00 China time
    payer_id, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    usual_id, _ = make_customer(client, engine, "13998765432", "246", 0)
    mule_id, _ = make_customer(client, engine, "13700001111", "357", 0)
    payer = login(client, phone)
    hook = FraudHook.start(engine)
    hook.use_policy(Policy(HALF_FROM_500, COSTS), "test")
    risk_hook.install(engine, hook)
    challenges.SMS_OUTBOX.clear()
    try:
        for k in range(3):
            clock.advance(seconds=60)
            sent = client.post(
                "/v1/transfers/p2p",
                headers={**payer, "Idempotency-Key": f"own-{k}"},
                json={"to_customer_id": usual_id, "amount": "10.00", "device_id": "phone-1", "location": "上海"},
            )
            assert sent.status_code == 201, sent.text
        card = client.post(
            f"/v1/customers/{payer_id}/cards", headers=payer, json={"card_number": "6222020000000000059"}
        )
        assert card.status_code == 201, card.text
        hook.catch_up()
        clock.advance(seconds=60)
        thief = PaymentRequest("p2p", payer_id, mule_id, 600_00, 2, "phone-x", "境外-金边", time_source.now_micros())
        seen = named(features(thief, hook.state.get(payer_id), hook.state.get(mule_id), hook._balance(payer_id, None)))
        assert seen["device_new_to_payer"] == seen["location_new_to_payer"] == seen["first_payee"] == 1
        assert seen["card_bound_24h"] == 1 and seen["balance_share"] == 600_00 / 970_00
        assert seen["challenge_failed_24h"] == 0

        stolen = client.post(
            "/v1/transfers/p2p",
            headers={**payer, "Idempotency-Key": "thief"},
            json={"to_customer_id": mule_id, "amount": "60.00", "device_id": "phone-x", "location": "境外-金边"},
        )
        assert stolen.status_code == 202 and stolen.json()["status"] == "challenged", stolen.text
        challenge = stolen.json()["challenge_id"]
        texted = challenges.SMS_OUTBOX[payer_id][-1]
        for k in range(challenges.MAX_ATTEMPTS):
            wrong = f"{(int(texted) + 1 + k) % 1_000_000:06d}"
            answer = client.post(
                f"/v1/payments/challenges/{challenge}",
                headers={**payer, "Idempotency-Key": f"guess-{k}"},
                json={"code": wrong},
            )
            assert answer.status_code == 422, answer.text
        hook.catch_up()
        again = named(features(thief, hook.state.get(payer_id), None, 970_00))
        owner = PaymentRequest("p2p", payer_id, usual_id, 10_00, 2, "phone-1", "上海", time_source.now_micros())
        assert again["challenge_failed_24h"] == 1
        assert named(features(owner, hook.state.get(payer_id), None, 970_00))["challenge_failed_24h"] == 0
        assert balance(engine, f"wallet.{mule_id}") == 0 and balance(engine, f"wallet.{payer_id}") == 970_00
        with reading(engine) as connection:
            assert store.current_rule(connection, "takeover_score").enabled  # switched on by the policy
        assert_books_clean(engine)
    finally:
        risk_hook.uninstall(engine)


@pytest.mark.parametrize("setting", [None, "shipped", "file"])
def test_the_server_decides_by_cost_only_when_the_policy_is_configured(engine, setting, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from puhui.app import create_app
    from puhui.settings import Settings
    from tests.payments.test_settlement import INDEX_KEY, K1

    if setting == "file":
        path = tmp_path / "calibration.json"
        path.write_text('[{"from_score": 0, "probability": "0.25"}]', encoding="utf-8")
        setting = str(path)
    settings = Settings(
        admin_token="test-admin-token",
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        fraud_checks=True,
        fraud_policy=setting,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)):
        hook = risk_hook.check_for(engine)
        assert hook is not None
        with reading(engine) as connection:
            switched_on = store.current_rule(connection, "takeover_score").enabled
        if setting is None:  # the default: the rules' own actions, the takeover score stored but off
            assert hook.policy is None and not switched_on
        else:
            assert hook.policy is not None and switched_on
            expected = Fraction(1, 4) if setting.endswith(".json") else None
            assert expected is None or hook.policy.calibration.probability(0) == expected
    risk_hook.uninstall(engine)
