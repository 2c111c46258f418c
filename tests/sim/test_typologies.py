"""Each planted typology has the shape its name promises, for any seed (pure: a recording platform)."""

from __future__ import annotations

import random
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.sim.agents import Agent, Kind, Merchant, make_agent
from puhui.sim.typologies import (
    DORMANT_DAYS,
    DORMANT_QUIET_FROM,
    STRUCTURING_THRESHOLD,
    Plan,
    Typology,
    _daytime,
    acts_today,
    plan_for,
)

TEN_THOUSAND = 10_000_00  # fen


class Recorder:
    """Stands in for `Platform`: records each act with the minute it ran at."""

    def __init__(self, refuse_loans: bool = False) -> None:
        self.minute = 0
        self.moves: list[tuple[int, str, str, str, int]] = []  # minute, kind, payer, payee, fen
        self.loans: list[tuple[int, str, int]] = []  # minute, borrower, fen
        self.balance: dict[str, int] = {}
        self.refuse_loans = refuse_loans
        self.devices: list[str | None] = []  # the device each P2P payment was made from
        self.purposes: list[str | None] = []  # the purpose each P2P payment declared (用途)
        self.units: dict[str, int] = {}  # fund units held (confirmed at once here)
        self.parked: list[tuple[int, str, int]] = []  # minute, who, fen subscribed
        self.redeemed: list[tuple[int, str, int]] = []

    def _log(self, kind: str, payer: str, payee: str, fen: int) -> str:
        self.moves.append((self.minute, kind, payer, payee, fen))
        self.balance[payer] = self.balance.get(payer, 0) - fen
        self.balance[payee] = self.balance.get(payee, 0) + fen
        return f"pay{len(self.moves)}"

    def top_up(self, cid: str, fen: int) -> str:
        return self._log("top_up", "bank", cid, fen)

    def p2p(self, payer: str, payee: str, fen: int, context=None, purpose=None) -> str:  # type: ignore[no-untyped-def]
        self.devices.append(context.device_id if context is not None else None)
        self.purposes.append(purpose)
        return self._log("p2p", payer, payee, fen)

    def qr_pay(self, payer: str, merchant: Merchant, fen: int) -> str:
        return self._log("qr", payer, merchant.merchant_id, fen)

    def withdraw(self, cid: str, fen: int) -> str:
        return self._log("withdrawal", cid, "bank", fen)

    def withdraw_share(self, cid: str, percent: int) -> str | None:
        fen = self.balance.get(cid, 0) * percent // 100
        return self.withdraw(cid, fen) if fen > 0 else None

    def subscribe(self, cid: str, fen: int) -> None:
        """Into the fund: no payment (no label), the units held apart."""
        self.units[cid] = self.units.get(cid, 0) + fen
        self.balance[cid] = self.balance.get(cid, 0) - fen
        self.parked.append((self.minute, cid, fen))

    def redeem_fen(self, cid: str, fen: int, fast: bool) -> bool:
        if self.units.get(cid, 0) < fen:
            return False
        self.units[cid] -= fen
        self.balance[cid] = self.balance.get(cid, 0) + fen
        self.redeemed.append((self.minute, cid, fen))
        return True

    def borrow(self, agent: Agent, fen: int, term: int) -> None:
        """A loan is no payment (no label): recorded apart; a refused one leaves `loan_id` unset."""
        if self.refuse_loans:
            return
        self.loans.append((self.minute, agent.customer_id, fen))
        self.balance[agent.customer_id] = self.balance.get(agent.customer_id, 0) + fen
        agent.loan_id = f"loan{len(self.loans)}"

    def repay(self, agent: Agent, early: bool = False) -> str | None:
        """The whole loan back (early): what the borrower holds, up to the loan and 1% more."""
        owed = next(fen for _, who, fen in self.loans if who == agent.customer_id) * 101 // 100
        return self._log("repay", agent.customer_id, "lender", min(owed, self.balance.get(agent.customer_id, 0)))


def _run(typology: Typology, seed: int, days: int = 10, recorder: Recorder | None = None) -> tuple[Plan, Recorder]:
    """Play a plan over `days` with 24 mules, 40 victims and 3 affiliates; every move labelled."""
    principal = make_agent(0, Kind.salary, seed, days)
    principal.customer_id = "boss"
    mules = [Agent(i, Kind.mule, principal.rng, customer_id=f"mule{i}") for i in range(1, 25)]
    victims = [Agent(i, Kind.salary, principal.rng, customer_id=f"victim{i}") for i in range(100, 140)]
    affiliates = [Agent(i, Kind.affiliate, principal.rng, customer_id=f"aff{i}") for i in range(200, 203)]
    plan = plan_for(principal, typology, seed, mules, days, victims, affiliates)
    recorder, merchants = recorder or Recorder(), [Merchant(0, "shop", "qr")]
    for day in range(days):
        for minute, act in sorted(acts_today(plan, day, recorder, merchants), key=lambda a: a[0]):  # type: ignore[arg-type]
            recorder.minute = day * 1440 + minute
            act()
    labelled = {lb.payment_id for lb in plan.labels}
    assert labelled == {f"pay{i + 1}" for i in range(len(recorder.moves))}  # every act labelled, nothing else
    return plan, recorder


def _play(typology: Typology, seed: int, days: int = 10):  # type: ignore[no-untyped-def]
    return [m for m in _run(typology, seed, days)[1].moves if m[1] != "top_up"]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_typologies_have_their_shape(seed: int) -> None:
    structuring = _play(Typology.structuring, seed)
    assert len(structuring) >= 2 and all(
        STRUCTURING_THRESHOLD - 2_000_00 <= m[4] < STRUCTURING_THRESHOLD for m in structuring
    )
    fan_in = _play(Typology.fan_in, seed)
    ins = [m for m in fan_in if m[3] == "boss"]
    outs = [m for m in fan_in if m[2] == "boss"]
    assert len({m[2] for m in ins}) >= 12 and len(ins) + len(outs) == len(fan_in)
    assert len({_day(m) for m in ins}) >= 2  # spread over days
    assert min(_day(m) for m in outs) >= max(_day(m) for m in ins) and 1 <= len(outs) <= 2  # then on
    assert sum(m[4] for m in ins) * 60 <= sum(m[4] for m in outs) * 100 + 37 * 200
    fan_out = _play(Typology.fan_out, seed)
    sources = [m for m in fan_out if m[3] == "boss"]
    scattered = [m for m in fan_out if m[2] == "boss"]
    assert 2 <= len(sources) <= 4 and len({m[3] for m in scattered}) >= 12  # others' money, scattered
    assert max(m[0] for m in sources) < min(m[0] for m in scattered)
    assert sum(m[4] for m in scattered) <= sum(m[4] for m in sources) * 120 // 100
    plan, recorder = _run(Typology.rapid_in_out, seed)
    rapid = [m for m in recorder.moves if m[1] != "top_up"]
    assert len([m for m in rapid if m[3] == "boss"]) == 2 and len([m for m in rapid if m[2] == "boss"]) == 2
    for outflow in (m for m in rapid if m[2] == "boss"):  # each out follows an in of a little more
        ins = [m for m in rapid if m[3] == "boss" and m[4] * 80 // 100 <= outflow[4] < m[4] and m[0] < outflow[0]]
        assert any(0 < outflow[0] - m[0] <= 90 or any(0 <= p[0] - m[0] <= 60 for p in recorder.parked) for m in ins)
    rounds = _play(Typology.round_amounts, seed)
    assert all(m[4] % 10_000_00 == 0 for m in rounds)
    night = _play(Typology.night_burst, seed)
    assert len(night) >= 6 and all(60 <= m[0] % 1440 < 240 for m in night)


def _day(move: tuple) -> int:
    return move[0] // 1440


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_dormant_sleeps_a_month_then_moves_a_large_sum(seed: int) -> None:
    plan, recorder = _run(Typology.dormant, seed, days=45)
    wake = plan.start
    assert wake >= DORMANT_QUIET_FROM + DORMANT_DAYS and plan.principal.quiet == (DORMANT_QUIET_FROM, wake)
    assert {_day(m) for m in recorder.moves} == {wake}  # the principal acts on the wake day only
    top_up, *outs = recorder.moves
    assert top_up[1] == "top_up" and top_up[3] == "boss" and top_up[4] >= 60_000_00
    assert len(outs) == 2 and all(m[1] == "p2p" and m[2] == "boss" and m[3].startswith("mule") for m in outs)
    assert len({m[3] for m in outs}) == 2
    assert all(m[0] - top_up[0] >= 300 for m in outs)  # five hours or more after the money came in
    assert all(m[4] % TEN_THOUSAND != 0 for m in recorder.moves)
    assert sum(m[4] for m in outs) <= top_up[4]


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_a_short_run_plants_no_dormant_account(seed: int) -> None:
    plan, recorder = _run(Typology.dormant, seed, days=10)
    assert plan.start >= 10 and recorder.moves == [] and plan.labels == []


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_self_financing_passes_most_of_the_loan_to_an_affiliate(seed: int) -> None:
    plan, recorder = _run(Typology.self_financing, seed)
    [(borrowed_at, borrower, loan)] = recorder.loans
    [(paid_at, kind, payer, payee, fen)] = recorder.moves
    assert borrower == payer == "boss" and kind == "p2p" and payee in {a.customer_id for a in plan.affiliates}
    assert 0 < paid_at - borrowed_at <= 300  # within five hours
    assert loan * 85 <= fen * 100 <= loan * 98 + 37 * 100  # 85-98% of the proceeds
    assert fen % TEN_THOUSAND != 0


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_self_financing_pays_nothing_when_the_loan_is_refused(seed: int) -> None:
    plan, recorder = _run(Typology.self_financing, seed, recorder=Recorder(refuse_loans=True))
    assert recorder.loans == [] and recorder.moves == [] and plan.labels == []


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_fund_pool_collects_from_many_then_withdraws(seed: int) -> None:
    plan, recorder = _run(Typology.fund_pool, seed, days=15)
    paid = [m for m in recorder.moves if m[1] == "p2p"]
    withdrawn = [m for m in recorder.moves if m[1] == "withdrawal"]
    assert len(paid) + len(withdrawn) == len(recorder.moves)
    victims = {v.customer_id for v in plan.victims}
    assert {m[3] for m in paid} == {"boss"} and {m[2] for m in paid} <= victims
    assert len({m[2] for m in paid}) == len(paid) >= 25  # distinct payers, each once
    per_day: dict[int, int] = {}
    for m in paid:
        per_day[_day(m)] = per_day.get(_day(m), 0) + 1
    assert max(per_day.values()) <= 7
    assert withdrawn and all(m[2] == "boss" and m[3] == "bank" for m in withdrawn)
    assert min(_day(m) for m in withdrawn) > max(per_day)  # withdrawals on later days
    collected = sum(m[4] for m in paid)
    assert collected * 40 <= withdrawn[0][4] * 100 <= collected * 55
    assert all(m[4] % TEN_THOUSAND != 0 for m in paid)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_cycle_brings_the_money_back_round_a_ring(seed: int) -> None:
    _, recorder = _run(Typology.cycle, seed)
    [top_up, *hops] = recorder.moves
    assert top_up[1] == "top_up" and top_up[3] == "boss"
    assert all(m[1] == "p2p" for m in hops) and len(hops) in (3, 4)  # 2-3 mules
    assert hops[0][2] == hops[-1][3] == "boss"
    assert all(a[3] == b[2] for a, b in pairwise(hops))  # each pays on what it got
    ring = [m[3] for m in hops[:-1]]
    assert len(set(ring)) == len(ring) and all(p.startswith("mule") for p in ring)
    assert hops[0][0] - top_up[0] >= 300 and top_up[4] > hops[0][4]
    for a, b in pairwise(hops):
        assert b[0] - a[0] >= 300
        assert a[4] * 970 <= b[4] * 1000 <= a[4] * 995 + 37 * 1000  # 0.5-3% kept per hop
        assert b[4] < a[4]
    assert all(m[4] % TEN_THOUSAND != 0 for m in recorder.moves)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_gather_scatter_passes_money_through(seed: int) -> None:
    _, recorder = _run(Typology.gather_scatter, seed)
    ins = [m for m in recorder.moves if m[3] == "boss"]
    outs = [m for m in recorder.moves if m[2] == "boss"]
    assert len(ins) + len(outs) == len(recorder.moves) and all(m[1] == "p2p" for m in recorder.moves)
    sources, sinks = {m[2] for m in ins}, {m[3] for m in outs}
    assert 6 <= len(sources) == len(ins) <= 8 and 5 <= len(sinks) == len(outs) <= 7
    assert not sources & sinks
    in_days, out_days = {_day(m) for m in ins}, {_day(m) for m in outs}
    assert len(in_days) == 2 and max(in_days) - min(in_days) == 1 and out_days == {max(in_days) + 1}
    gathered, scattered = sum(m[4] for m in ins), sum(m[4] for m in outs)
    assert gathered * 85 // 100 - len(sinks) <= scattered <= gathered * 95 // 100 + 37 * len(sinks)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_a_device_farm_pays_from_one_phone_for_many_accounts(seed: int) -> None:
    plan, recorder = _run(Typology.device_farm, seed)
    moves = [m for m in recorder.moves if m[1] == "p2p"]
    assert 6 <= len({m[2] for m in moves}) == len(moves) <= 8 and {m[3] for m in moves} == {"boss"}
    assert len(set(recorder.devices)) == 1 and recorder.devices[0] is not None  # one phone, every payment
    assert max(m[0] for m in moves) - min(m[0] for m in moves) <= 8 * 7 and all(m[4] % TEN_THOUSAND for m in moves)
    principals = {lb.customer_id for lb in plan.labels if lb.role == "principal"}
    assert principals == {f"dev:{recorder.devices[0]}"}  # the phone is what the monitor's device window finds


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_a_mule_chain_passes_money_on_hop_by_hop_then_cashes_out(seed: int) -> None:
    """3-5 mules, each passing on 94-99% of what it got 3-40 hours later (or after a night in the fund),
    then one or two withdrawals or transfers: the chain the monitor must see whole."""
    plan, recorder = _run(Typology.mule_chain, seed, days=20)
    [top_up, *moves] = recorder.moves
    assert top_up[1] == "top_up" and top_up[3] == "boss" and moves[0][2] == "boss"
    hops = [m for m in moves if m[1] == "p2p"]
    chain = [hops[0]]
    while True:  # follow the money: the first payment its payee makes after it arrived
        nxt = [m for m in hops if m[2] == chain[-1][3] and m[0] > chain[-1][0]]
        if not nxt or len([m for m in hops if m[2] == chain[-1][3]]) > 1:
            break  # the last mule pays nobody, or splits it: the cash-out
        chain.append(nxt[0])
    assert 3 <= len({m[3] for m in chain} - {"boss"})
    for a, b in pairwise(chain):
        assert a[4] * 940 <= b[4] * 1000 <= a[4] * 990 + 37 * 1000  # a few per cent kept
        assert 20 <= b[0] - a[0] <= 3 * 1440
    last = chain[-1][3]
    cash = [m for m in moves if m[2] == last]
    assert cash and sum(m[4] for m in cash) * 100 >= chain[-1][4] * 90  # cashed out, most of it
    assert {lb.role for lb in plan.labels} == {"principal", "accomplice"}
    assert all(p[2] <= 10_000_00 for p in recorder.parked), recorder.parked
    assert len(recorder.redeemed) == len(recorder.parked), (recorder.parked, recorder.redeemed)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_loan_layering_passes_a_loan_on_or_repays_it_early_with_others_money(seed: int) -> None:
    plan, recorder = _run(Typology.loan_layering, seed)
    [(lent_at, who, fen)] = recorder.loans
    assert who == "boss" and 12_000_00 <= fen < 20_000_00
    moves = [m for m in recorder.moves if m[1] != "top_up"]
    repaid = [m for m in moves if m[1] == "repay"]
    if not repaid:  # passed on at once to one or two mules
        assert 1 <= len(moves) <= 2 and all(m[1] == "p2p" and m[2] == "boss" for m in moves)
        assert all(0 < m[0] - lent_at <= 240 for m in moves) and 80 * fen <= 100 * sum(m[4] for m in moves) < fen * 99
        return
    [withdrawn] = [m for m in moves if m[1] == "withdrawal"]
    ins = [m for m in moves if m[1] == "p2p" and m[3] == "boss"]
    assert 85 * fen <= 100 * withdrawn[4] <= 96 * fen and 3 <= len({m[2] for m in ins}) <= 5
    assert sum(m[4] for m in ins) >= fen and repaid[0][0] > max(m[0] for m in ins) and repaid[0][0] - lent_at < 7 * 1440


def test_a_step_that_falls_in_the_small_hours_waits_for_that_mornings_daytime_not_the_next() -> None:
    """00:31 on day 4 moves to 07:00-09:00 on day 4 (it skipped to day 5 and made a mule chain's hop take
    over three days for about 3 seeds in 1,000); 23:30 moves to the next morning; daytime stays."""
    rng = random.Random(7)
    assert 4 * 1440 + 420 <= _daytime(4 * 1440 + 31, rng) < 4 * 1440 + 540
    assert 5 * 1440 + 420 <= _daytime(4 * 1440 + 1410, rng) < 5 * 1440 + 540
    assert _daytime(4 * 1440 + 600, rng) == 4 * 1440 + 600
