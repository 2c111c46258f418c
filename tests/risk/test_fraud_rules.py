"""Each fraud rule kind trips when it should and not when it should not: pure decisions on a window
state built from payments at explicit times (China time for night rules), window expiry included."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.clock import CHINA, to_micros
from puhui.payments.risk_hook import Outcome, PaymentRequest
from puhui.risk.errors import MalformedRule
from puhui.risk.fraud.engine import RuleSet, china_hour, decide, features, score
from puhui.risk.fraud.models import FEATURES, rule_from
from puhui.risk.fraud.state import DAY, SECOND, WEEK, WindowState


def week_of(at: int) -> int:
    return at // WEEK


NOON = to_micros(dt.datetime(2026, 3, 2, 12, 0, tzinfo=CHINA))  # a Monday, noon in Beijing


def pay(
    payer: str = "alice",
    payee: str = "bob",
    amount: int = 10_000,
    at: int = NOON,
    device: str | None = None,
    location: str | None = None,
) -> PaymentRequest:
    return PaymentRequest("p2p", payer, payee, amount, 2, device, location, at)


def rule(kind: str, params: dict, action: str = "review", rule_id: str | None = None):  # type: ignore[no-untyped-def]
    return rule_from({"rule_id": rule_id or kind, "kind": kind, "params": params, "action": action})


def outcome(request: PaymentRequest, rules, state: WindowState, lists=None):  # type: ignore[no-untyped-def]
    return decide(request, RuleSet.of(rules, lists), state)[0]


def history(state: WindowState, n: int, every: int, end: int, **kw) -> None:  # type: ignore[no-untyped-def]
    """`n` payments, `every` microseconds apart, the last at `end - every`."""
    for i in range(n):
        state.observe(pay(at=end - (n - i) * every, **kw))


# -- velocity ----------------------------------------------------------------------------------------


def test_velocity_count_trips_on_the_payment_over_the_limit_and_names_the_rule() -> None:
    state, r = WindowState(), rule("velocity", {"window_seconds": 600, "max_count": 3}, rule_id="vel_10m")
    history(state, 2, 60 * SECOND, NOON)
    assert outcome(pay(), [r], state).outcome == Outcome.approve  # the 3rd payment: 3 is not more than 3
    state.observe(pay())
    found = outcome(pay(at=NOON + SECOND), [r], state)
    assert found.outcome == Outcome.review
    assert found.reasons == ("vel_10m: 4 payments > 3 in 600 s",)


def test_velocity_window_expires() -> None:
    state, r = WindowState(), rule("velocity", {"window_seconds": 600, "max_count": 3})
    history(state, 3, 60 * SECOND, NOON)
    assert outcome(pay(), [r], state).outcome == Outcome.review
    # 10 minutes after the first of them it has left the window
    first = NOON - 3 * 60 * SECOND
    assert outcome(pay(at=first + 600 * SECOND), [r], state).outcome == Outcome.approve
    assert outcome(pay(at=first + 600 * SECOND - 1), [r], state).outcome == Outcome.review


def test_velocity_amount_counts_the_payment_being_decided() -> None:
    state, r = WindowState(), rule("velocity", {"window_seconds": 3600, "max_amount": "1000.00"}, "decline")
    state.observe(pay(amount=60_000, at=NOON - 60 * SECOND))
    assert outcome(pay(amount=40_000), [r], state).outcome == Outcome.approve  # exactly 1000.00
    found = outcome(pay(amount=40_001), [r], state)
    assert found.outcome == Outcome.decline and "1000.01 CNY > 1000.00 CNY" in found.reasons[0]


def test_payments_observed_out_of_time_order_are_all_counted() -> None:
    state, r = WindowState(), rule("velocity", {"window_seconds": 600, "max_count": 3})
    for offset in (90, 30, 700, 60):  # seconds before noon; 700 and 60 committed late
        state.observe(pay(at=NOON - offset * SECOND))
    assert state.get("alice").window(NOON - 600 * SECOND) == (3, 30_000)
    assert outcome(pay(), [r], state).outcome == Outcome.review


@given(st.lists(st.integers(1, 20_000), max_size=12), st.integers(1, 20), st.integers(1, 10**6))
def test_velocity_never_trips_at_or_below_its_limits(amounts: list[int], max_count: int, max_fen: int) -> None:
    state = WindowState()
    for i, amount in enumerate(amounts):
        state.observe(pay(amount=amount, at=NOON - (i + 1) * SECOND))
    r = rule(
        "velocity",
        {"window_seconds": 3600, "max_count": max_count, "max_amount": f"{max_fen // 100}.{max_fen % 100:02d}"},
    )
    count, total = len(amounts) + 1, sum(amounts) + 5_000
    tripped = outcome(pay(amount=5_000), [r], state).outcome == Outcome.review
    assert tripped == (count > max_count or total > max_fen)


# -- amount above the norm -------------------------------------------------------------------------------


def test_amount_above_norm_needs_history_and_trips_above_the_multiple() -> None:
    r = rule("amount_above_norm", {"multiple": 5, "min_history": 4, "min_amount": "1.00"})
    state = WindowState()
    history(state, 3, DAY, NOON, amount=10_000)
    assert outcome(pay(amount=1_000_000), [r], state).outcome == Outcome.approve  # 3 payments: too little history
    state.observe(pay(amount=10_000, at=NOON - 12 * 3600 * SECOND))
    assert outcome(pay(amount=50_000), [r], state).outcome == Outcome.approve  # exactly 5x the mean
    found = outcome(pay(amount=50_001), [r], state)
    assert found.outcome == Outcome.review and "5 x mean 100.00 CNY over 4 payments" in found.reasons[0]


def test_amount_norm_forgets_payments_older_than_13_weeks() -> None:
    r = rule("amount_above_norm", {"multiple": 5, "min_history": 3})
    state = WindowState()
    history(state, 5, DAY, NOON - 100 * DAY, amount=100_000)  # large, long ago
    history(state, 5, DAY, NOON, amount=1_000)  # small, recent
    count, total = state.get("alice").norm(NOON)
    assert (count, total) == (5, 5_000)
    assert outcome(pay(amount=6_000), [r], state).outcome == Outcome.review
    # a quiet customer's norm, read 20 weeks later, no longer holds the recent payments either
    assert state.get("alice").norm(NOON + 20 * 7 * DAY) == (0, 0)


# -- new device / new location ------------------------------------------------------------------------------


def test_new_device_trips_for_an_unseen_or_long_unused_device_only() -> None:
    r = rule("new_device", {"lookback_days": 30, "min_history": 3})
    state = WindowState()
    history(state, 3, DAY, NOON, device="phone-1")
    assert outcome(pay(device="phone-1"), [r], state).outcome == Outcome.approve
    assert outcome(pay(device=None), [r], state).outcome == Outcome.approve
    found = outcome(pay(device="phone-2"), [r], state)
    assert found.outcome == Outcome.review and found.reasons == ("new_device: device phone-2 not seen in 30 days",)
    last = NOON - DAY
    assert outcome(pay(device="phone-1", at=last + 30 * DAY), [r], state).outcome == Outcome.review
    assert outcome(pay(device="phone-1", at=last + 30 * DAY - 1), [r], state).outcome == Outcome.approve


def test_new_device_needs_history() -> None:
    r = rule("new_device", {"lookback_days": 30, "min_history": 3})
    state = WindowState()
    history(state, 2, DAY, NOON, device="phone-1")
    assert outcome(pay(device="phone-2"), [r], state).outcome == Outcome.approve
    assert outcome(pay(payer="stranger", device="phone-2"), [r], state).outcome == Outcome.approve


def test_new_location() -> None:
    r = rule("new_location", {"lookback_days": 7, "min_history": 2}, "decline")
    state = WindowState()
    history(state, 3, DAY, NOON, location="310000")
    assert outcome(pay(location="310000"), [r], state).outcome == Outcome.approve
    assert outcome(pay(location="440300"), [r], state).outcome == Outcome.decline


# -- block lists ---------------------------------------------------------------------------------------------


def test_blocklist_by_party() -> None:
    state = WindowState()
    payee_rule = rule("blocklist", {"list": "mules", "party": "payee"}, "decline", "blocked_payee")
    either = rule("blocklist", {"list": "mules", "party": "either"}, "decline", "blocked_either")
    lists = {"mules": {"bob"}}
    found = outcome(pay(), [payee_rule], state, lists)
    assert found.outcome == Outcome.decline and found.reasons == ("blocked_payee: payee bob on list mules",)
    assert outcome(pay(payer="bob", payee="carol"), [payee_rule], state, lists).outcome == Outcome.approve
    assert outcome(pay(payer="bob", payee="carol"), [either], state, lists).outcome == Outcome.decline
    assert outcome(pay(), [payee_rule], state, {"other": {"bob"}}).outcome == Outcome.approve


# -- fan-in into a new account -------------------------------------------------------------------------------


def test_fan_in_trips_for_a_new_account_with_many_payers_only() -> None:
    r = rule("fan_in_new_account", {"account_age_days": 7, "min_payers": 4, "window_seconds": 3600})
    state = WindowState()
    for i in range(3):
        state.observe(pay(payer=f"p{i}", payee="mule", at=NOON - (10 - i) * 60 * SECOND))
    state.observe(pay(payer="p0", payee="mule", at=NOON - 60 * SECOND))  # same payer again: not distinct
    assert outcome(pay(payer="p1", payee="mule"), [r], state).outcome == Outcome.approve  # 3 distinct
    found = outcome(pay(payer="p9", payee="mule"), [r], state)
    assert found.outcome == Outcome.review and "4 payers" in found.reasons[0]
    # an hour after those payments they are out of the window
    assert outcome(pay(payer="p9", payee="mule", at=NOON + 3600 * SECOND), [r], state).outcome == Outcome.approve


def test_fan_in_ignores_old_accounts() -> None:
    r = rule("fan_in_new_account", {"account_age_days": 7, "min_payers": 3, "window_seconds": 3600})
    state = WindowState()
    state.seen("shop", NOON - 8 * DAY)  # e.g. a top-up 8 days ago
    for i in range(5):
        state.observe(pay(payer=f"p{i}", payee="shop", at=NOON - (i + 1) * SECOND))
    assert outcome(pay(payer="p9", payee="shop"), [r], state).outcome == Outcome.approve


# -- night bursts (China time) -----------------------------------------------------------------------------------


def china(day: int, hour: int, minute: int = 0) -> int:
    return to_micros(dt.datetime(2026, 3, day, hour, minute, tzinfo=CHINA))


def test_china_hour_is_utc_plus_8() -> None:
    assert china_hour(to_micros(dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC))) == 1
    assert china_hour(china(2, 4, 59)) == 4 and china_hour(china(2, 5)) == 5


def test_night_burst_counts_night_payments_in_china_time() -> None:
    r = rule("night_burst", {"min_count": 3, "window_seconds": 3 * 3600}, rule_id="night")
    state = WindowState()
    state.observe(pay(at=china(2, 0, 10)))
    state.observe(pay(at=china(2, 1, 0)))
    found = outcome(pay(at=china(2, 2, 0)), [r], state)
    assert found.outcome == Outcome.review
    assert found.reasons == ("night: 3 payments between 00:00 and 05:00 China time in 10800 s",)
    # 02:00 UTC is 10:00 in Beijing: daytime, not a night burst however many payments
    assert outcome(pay(at=china(2, 10, 0)), [r], state).outcome == Outcome.approve


def test_night_burst_ignores_daytime_payments_and_expires() -> None:
    r = rule("night_burst", {"min_count": 3, "window_seconds": 3 * 3600})
    state = WindowState()
    state.observe(pay(at=china(1, 23, 30)))  # 23:30 is not night by this rule
    state.observe(pay(at=china(2, 0, 30)))
    assert outcome(pay(at=china(2, 1, 0)), [r], state).outcome == Outcome.approve
    state.observe(pay(at=china(2, 1, 0)))
    assert outcome(pay(at=china(2, 3, 29)), [r], state).outcome == Outcome.review
    assert outcome(pay(at=china(2, 3, 30)), [r], state).outcome == Outcome.approve  # 00:30 left the window


# -- the model score and the combination -----------------------------------------------------------------------


def test_score_rises_with_risky_features_and_thresholds_decide() -> None:
    r = rule("model_score", {"review_at": 500, "decline_at": 800}, "decline", "fraud_score")
    state = WindowState()
    state.seen("shop", NOON - 400 * DAY)
    history(state, 20, DAY, NOON, payee="shop", device="phone-1", location="310000")
    calm, calm_points = decide(pay(payee="shop", device="phone-1", location="310000"), RuleSet.of([r]), state)
    risky, risky_points = decide(
        pay(payee="fresh", amount=5_000_000, device="x", location="999999", at=NOON + 16 * 3600 * SECOND),
        RuleSet.of([r]),
        state,
    )
    assert calm.outcome == Outcome.approve and calm_points is not None and calm_points < 500
    assert risky_points is not None and risky_points > calm_points
    assert risky.outcome != Outcome.approve and risky.reasons[0].startswith("fraud_score: score")
    assert "amount_to_norm" in risky.reasons[0]


def test_score_reason_is_faithful() -> None:
    """Raising the feature with the largest positive contribution raises the score."""
    values = list(features(pay(), None, None))
    weights = tuple(0.5 for _ in FEATURES)
    base, parts = score(weights, -2.0, tuple(values))
    top = max(range(len(parts)), key=parts.__getitem__)
    values[top] += 1.0
    assert score(weights, -2.0, tuple(values))[0] > base


def test_decline_beats_review_and_every_reason_is_kept() -> None:
    state = WindowState()
    history(state, 3, SECOND, NOON)
    rules = [
        rule("velocity", {"window_seconds": 60, "max_count": 2}, "review", "fast"),
        rule("blocklist", {"list": "mules"}, "decline", "mule"),
    ]
    found = outcome(pay(), rules, state, {"mules": {"bob"}})
    assert found.outcome == Outcome.decline
    assert [r.split(":")[0] for r in found.reasons] == ["fast", "mule"]


def test_disabled_rules_do_not_run() -> None:
    off = rule_from(
        {"rule_id": "mule", "kind": "blocklist", "params": {"list": "mules"}, "action": "decline", "enabled": False}
    )
    assert outcome(pay(), [off], WindowState(), {"mules": {"bob"}}).outcome == Outcome.approve
    assert decide(pay(), [off], WindowState())[1] is None  # no score rule on: no score


# -- the state against a brute-force oracle ------------------------------------------------------------------


@given(
    st.lists(st.tuples(st.integers(0, 120 * 86_400), st.integers(1, 10**7)), min_size=1, max_size=40),
    st.integers(0, 10 * 86_400),
    st.integers(1, 7 * 86_400),
)
def test_windows_and_norm_match_a_brute_force_count(payments: list[tuple[int, int]], after: int, window: int) -> None:
    state = WindowState()
    for seconds, amount in payments:  # in any order
        state.observe(pay(amount=amount, at=NOON + seconds * SECOND))
    alice = state.get("alice")
    newest = NOON + max(s for s, _ in payments) * SECOND
    at = newest + after * SECOND
    since = max(at - window * SECOND, newest - 7 * DAY)  # the state keeps 7 days before its newest payment
    inside = [a for s, a in payments if NOON + s * SECOND > since]
    assert alice.window(since) == (len(inside), sum(inside))
    week = week_of(at)
    norm = [a for s, a in payments if week - 13 < week_of(NOON + s * SECOND) <= week]
    assert alice.norm(at) == (len(norm), sum(norm))


# -- signals from other products --------------------------------------------------------------------------------


def test_a_product_signal_rule_trips_on_any_signal_it_names_and_only_then() -> None:
    r = rule("product_signal", {"signals": ["serial_returner", "merchant_collusion"]}, rule_id="returns")
    state = WindowState()
    flagged = replace(pay(), signals=("merchant_collusion", "something_else"))
    found = outcome(flagged, [r], state)
    assert (found.outcome, found.reasons) == (Outcome.review, ("returns: signals merchant_collusion",))
    assert outcome(pay(), [r], state).outcome == Outcome.approve
    assert outcome(replace(pay(), signals=("something_else",)), [r], state).outcome == Outcome.approve


def test_a_product_signal_rule_names_at_least_one_well_formed_signal() -> None:
    for params in ({"signals": []}, {"signals": ["Bad Name"]}, {}, {"signals": ["a"] * 17}):
        with pytest.raises(MalformedRule):
            rule("product_signal", params)
