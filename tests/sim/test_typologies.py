"""Each planted typology has the shape its name promises, for any seed (pure: a recording platform)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.sim.agents import Agent, Kind, Merchant, make_agent
from puhui.sim.typologies import STRUCTURING_THRESHOLD, Typology, acts_today, plan_for


class Recorder:
    """Stands in for `Platform`: records each act with the minute it ran at."""

    def __init__(self) -> None:
        self.minute = 0
        self.moves: list[tuple[int, str, str, str, int]] = []  # minute, kind, payer, payee, fen

    def _log(self, kind: str, payer: str, payee: str, fen: int) -> str:
        self.moves.append((self.minute, kind, payer, payee, fen))
        return f"pay{len(self.moves)}"

    def top_up(self, cid: str, fen: int) -> str:
        return self._log("top_up", "bank", cid, fen)

    def p2p(self, payer: str, payee: str, fen: int) -> str:
        return self._log("p2p", payer, payee, fen)

    def qr_pay(self, payer: str, merchant: Merchant, fen: int) -> str:
        return self._log("qr", payer, merchant.merchant_id, fen)


def _play(typology: Typology, seed: int, days: int = 10):  # type: ignore[no-untyped-def]
    principal = make_agent(0, Kind.salary, seed, days)
    principal.customer_id = "boss"
    mules = [Agent(i, Kind.mule, principal.rng, customer_id=f"mule{i}") for i in range(1, 25)]
    plan = plan_for(principal, typology, seed, mules, days)
    recorder, merchants = Recorder(), [Merchant(0, "shop", "qr")]
    for day in range(days):
        for minute, act in sorted(acts_today(plan, day, recorder, merchants), key=lambda a: a[0]):  # type: ignore[arg-type]
            recorder.minute = day * 1440 + minute
            act()
    labelled = {lb.payment_id for lb in plan.labels}
    assert labelled == {f"pay{i + 1}" for i in range(len(recorder.moves))}  # every act labelled, nothing else
    return [m for m in recorder.moves if m[1] != "top_up"]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_typologies_have_their_shape(seed: int) -> None:
    structuring = _play(Typology.structuring, seed)
    assert len(structuring) >= 2 and all(STRUCTURING_THRESHOLD - 2_000_00 <= m[4] < STRUCTURING_THRESHOLD
                                         for m in structuring)
    fan_in = _play(Typology.fan_in, seed)
    assert len({m[2] for m in fan_in}) >= 12 and {m[3] for m in fan_in} == {"boss"}
    assert max(m[0] for m in fan_in) - min(m[0] for m in fan_in) <= 240
    fan_out = _play(Typology.fan_out, seed)
    assert len({m[3] for m in fan_out}) >= 12 and {m[2] for m in fan_out} == {"boss"}
    rapid = _play(Typology.rapid_in_out, seed)
    for inflow, outflow in zip(rapid[::2], rapid[1::2]):
        assert inflow[3] == outflow[2] == "boss" and 0 < outflow[0] - inflow[0] <= 60
        assert inflow[4] * 95 // 100 <= outflow[4] < inflow[4]
    rounds = _play(Typology.round_amounts, seed)
    assert all(m[4] % 10_000_00 == 0 for m in rounds)
    night = _play(Typology.night_burst, seed)
    assert len(night) >= 6 and all(60 <= m[0] % 1440 < 240 for m in night)
