"""The cost model replayed over labelled attempts: actions counted per side, challenges answered as the
simulated people would, and the rates the simulation reports, by hand."""

from __future__ import annotations

from puhui.risk.fraud.calibration import calibrate
from puhui.risk.fraud.decision import costs_from
from puhui.sim import fraud_detection
from puhui.sim.fraud_detection import ActionReplay, fit, replay_costs

COSTS = costs_from(
    {
        "catch": {"allow": "0", "challenge": "0.95", "hold": "0.98", "decline": "1"},
        "friction": {"allow": "0", "challenge": "1.50", "hold": "60.00", "decline": "200.00"},
    }
)


def attempt(score: int, amount: int, *reasons: str) -> dict:
    return {
        "payment_ref": f"p{score}.{amount}",
        "amount": amount,
        "outcome": "approve",
        "score": score,
        "reasons": tuple(reasons),
    }


def test_the_rates_by_hand() -> None:
    replay = ActionReplay(
        {
            "allow": {"honest": 990, "fraud": 1},
            "challenge": {"honest": 8, "fraud": 15},
            "hold": {"honest": 1, "fraud": 2},
            "decline": {"honest": 1, "fraud": 2},
        },
        {"honest": 1, "fraud": 14},
    )
    assert replay.rate("honest", "hold", "decline") == 2 / 1000
    assert replay.rate("honest", "challenge") == 8 / 1000
    assert replay.ato_recall == (2 + 2 + 14) / 20


def test_a_replay_challenges_the_risky_and_the_fraudsters_fail(monkeypatch) -> None:
    # scores 0 (honest) and 900 (fraud): the calibration of their risk index (score x 4) gives 0 and 1
    attempts = [(attempt(0, 100_00), False)] * 50 + [(attempt(900, 10_00), True)] * 20
    calibration = fit(attempts, prior=0)
    assert calibration.probability(0) == 0 and calibration.probability(900 * 4) == 1
    monkeypatch.setitem(fraud_detection.CHALLENGE_PASS_SHARE, "fraud", 0.0)
    replay = replay_costs(attempts, calibration, COSTS)
    # p = 1, 10 CNY: allow 1000 fen, challenge 50, hold 20, decline 0 -> decline
    assert replay.counts["decline"]["fraud"] == 20 and replay.counts["allow"]["honest"] == 50
    assert replay.ato_recall == 1 and replay.rate("honest", "challenge") == 0


def test_failed_challenges_follow_the_pass_share(monkeypatch) -> None:
    # p = 1/2 at 300 CNY: allow 15000, challenge 750 + 75 = 825, hold 600 + 3000, decline 10000 -> challenge
    calibration = calibrate([(500, True), (500, False)])
    attempts = [(attempt(500, 300_00), True)] * 10 + [(attempt(500, 300_00), False)] * 10
    monkeypatch.setitem(fraud_detection.CHALLENGE_PASS_SHARE, "fraud", 0.0)
    monkeypatch.setitem(fraud_detection.CHALLENGE_PASS_SHARE, "honest", 1.0)
    replay = replay_costs(attempts, calibration, COSTS)
    assert replay.counts["challenge"] == {"honest": 10, "fraud": 10}
    assert replay.failed == {"honest": 0, "fraud": 10}
    assert replay.ato_recall == 1 and replay.rate("honest", "challenge") == 1
