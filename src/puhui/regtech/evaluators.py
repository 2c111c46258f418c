"""The rules' logic (规则判定): pure functions from a party's flows to a hit, and suppression.

Each evaluator looks at one flow just added to its party's window and that party's history only
(plus the lenders' related parties for self-financing), so the parties can be split across
workers without changing a single alert.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from puhui import clock
from puhui.regtech.alerts import Alert, alert_id
from puhui.regtech.rules import (
    DAY,
    Dormant,
    Fan,
    FundPool,
    LargeValue,
    LoanLayering,
    NightBurst,
    RapidInOut,
    RoundAmount,
    Rule,
    SelfFinancing,
    SharedDevice,
    Structuring,
)
from puhui.regtech.windows import BANK, DEVICE, LENDER, MERCHANT, OWN_CARD, OWN_PRODUCT, PERSON, Flow, Windows

SECOND = 1_000_000
SLACK = 60 * SECOND  # commit times of concurrent transactions may interleave by this much
NO_LENDERS: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=4096)
def _china_hour(micros: int) -> tuple[int, str, int]:
    """(hour, date, start of that day in UTC micros) in China time, cached per hour of the epoch."""
    local = clock.from_micros(micros).astimezone(clock.CHINA)
    start = clock.to_micros(local.replace(hour=0, minute=0, second=0, microsecond=0))
    return local.hour, local.date().isoformat(), start


_HOURS: dict[int, tuple[int, str, int]] = {}


def china(micros: int) -> tuple[int, str, int]:
    hour = micros - micros % (3600 * SECOND)  # China has no DST: whole hours map whole
    found = _HOURS.get(hour)
    if found is None:
        if len(_HOURS) > 4096:
            _HOURS.clear()
        found = _HOURS[hour] = _china_hour(hour)
    return found


def _fen(amount) -> int:
    return int(amount * 100)


def _at_least(part: int, whole: int, ratio) -> bool:
    return part * 1_000_000 >= whole * int(ratio * 1_000_000)


class PartyState(NamedTuple):
    """A party's last flow, and its last wake-up: the first flow after a quiet spell of `dormant_for`."""

    last_at: int
    woke_at: int | None = None
    dormant_for: int = 0

    def after(self, at: int, wake_gap: int | None) -> PartyState:
        if wake_gap is not None and at - self.last_at >= wake_gap:
            return PartyState(at, at, at - self.last_at)
        return PartyState(max(at, self.last_at), self.woke_at, self.dormant_for)


@dataclass(frozen=True)
class Hit:
    key: str
    start: int
    flows: tuple[Flow, ...]


@dataclass(slots=True)
class Context:
    """What a rule may look at for one flow: its party's window, state and the related parties."""

    flow: Flow
    windows: Windows
    state: PartyState | None = None
    related: Mapping[str, frozenset[str]] = field(default_factory=dict)
    memo: dict = field(default_factory=dict)  # running figures a worker keeps between flows (rebuilt on reload)
    _history: deque[Flow] | None = None

    @property
    def history(self) -> deque[Flow]:
        if self._history is None:
            self._history = self.windows.history(self.flow.party)
        return self._history

    def since(self, start: int) -> list[Flow]:
        """The party's flows at or after `start`, oldest first (scanning back from the newest until a flow
        older than `start` by more than SLACK)."""
        floor, out = start - SLACK, []
        for f in reversed(self.history):
            if f.at < floor:
                break
            if f.at >= start:
                out.append(f)
        out.reverse()
        return out


Judge = Callable[[Flow, Context], Hit | None]
Gate = Callable[[Flow], bool]  # may read only a flow's shape (see `shape`), never its amount or time


def _large_value(p: LargeValue) -> tuple[Gate, Judge]:
    def matches(f: Flow) -> bool:
        return (
            f.channel == p.channel
            and p.party_kind in ("any", f.party_kind)
            and (p.cross_border is None or p.cross_border == f.cross_border)
        )

    threshold = _fen(p.threshold)

    def judge(flow: Flow, ctx: Context) -> Hit | None:
        if flow.amount >= threshold:
            return Hit(f"single:{flow.position}:{flow.leg}", flow.at, (flow,))
        _, day, day_start = china(flow.at)

        def small() -> tuple[Flow, ...]:
            return tuple(
                f for f in ctx.since(day_start) if f.direction == flow.direction and f.amount < threshold and matches(f)
            )

        # The day's running total per party, direction and rule: every matching flow passes here in order,
        # so only the first flow of a day (or after a reload) sums the window.
        key = (flow.party, flow.direction, p.channel, p.party_kind, p.cross_border, threshold)
        known = ctx.memo.get(key)
        total = (
            known[1] + flow.amount if known is not None and known[0] == day_start else sum(f.amount for f in small())
        )
        ctx.memo[key] = (day_start, total)
        return Hit(f"day:{day}:{flow.direction}", day_start, small()) if total >= threshold else None

    return matches, judge


def _repeated(p, flow: Flow, ctx: Context, qualifies: Callable[[Flow], bool]) -> Hit | None:
    """`p.min_count` flows that qualify within `p.window_seconds`, this one among them."""
    if not qualifies(flow):
        return None
    start = flow.at - p.window_seconds * SECOND
    hits = tuple(f for f in ctx.since(start) if qualifies(f))
    return Hit("", start, hits) if len(hits) >= p.min_count else None


def _structuring(p: Structuring) -> tuple[Gate, Judge]:
    high, low = _fen(p.threshold), _fen(p.threshold * p.low_ratio)

    def qualifies(f: Flow) -> bool:
        return low <= f.amount < high and p.direction in ("any", f.direction) and f.is_payment

    return (lambda f: p.direction in ("any", f.direction) and f.is_payment), lambda f, c: _repeated(p, f, c, qualifies)


def _rapid_in_out(p: RapidInOut) -> tuple[Gate, Judge]:
    min_in, window = _fen(p.min_in), p.window_seconds * SECOND

    def judge(flow: Flow, ctx: Context) -> Hit | None:
        start = flow.at - window
        recent = ctx.since(start)
        ins, back = [], False
        for f in recent:
            if f.direction == "in":
                if f.third_party_in:  # not one's own card or products; loans are self-financing's
                    ins.append(f)
                elif f.counterparty_kind == OWN_PRODUCT:
                    back = True
        if ins:
            outs = [f for f in recent if f.onward and f.at >= ins[0].at]  # purchases and own products are no way out
            if _passed_on(p, min_in, ins, outs):
                return Hit("", start, tuple(ins + outs))
        return _through_products(p, min_in, flow, ctx, recent) if back and p.through_seconds else None

    return (lambda f: f.onward), judge


def _passed_on(p: RapidInOut, min_in: int, ins: list[Flow], outs: list[Flow]) -> bool:
    total_in = sum(f.amount for f in ins)
    return total_in >= min_in and _at_least(sum(f.amount for f in outs), total_in, p.out_ratio)


def _through_products(p: RapidInOut, min_in: int, flow: Flow, ctx: Context, recent: list[Flow]) -> Hit | None:
    """In, into the party's own product within the window, back out of it and on within the window:
    the days in the fund do not make it the party's money."""
    back = [f for f in recent if f.direction == "in" and f.counterparty_kind == OWN_PRODUCT]
    if not back:
        return None
    window = p.window_seconds * SECOND
    parked = ctx.since(flow.at - p.through_seconds * SECOND - window)
    for into in (f for f in parked if f.direction == "out" and f.counterparty_kind == OWN_PRODUCT):
        if into.at >= back[0].at:
            return None
        ins = [f for f in parked if f.third_party_in and into.at - window <= f.at <= into.at]
        outs = [f for f in recent if f.onward and f.at >= back[0].at]
        if ins and _passed_on(p, min_in, ins, outs):
            return Hit(f"through:{into.ref}", ins[0].at, tuple(ins + [into] + back + outs))
    return None


_KINDS = {"natural": (PERSON,), "non_natural": (MERCHANT,), "any": (PERSON, MERCHANT)}


def _fan(p: Fan) -> tuple[Gate, Judge]:
    direction = "in" if p.typology == "fan_in" else "out"
    kinds = _KINDS[p.counterparty_kind]
    both = len(kinds) == 2
    window, least = p.window_seconds * SECOND, p.min_counterparties
    min_total = _fen(p.min_total) if p.min_total is not None else None

    def counts(f: Flow) -> bool:
        return f.direction == direction and f.is_payment and f.counterparty_kind in kinds

    def gate(f: Flow) -> bool:  # money leaving can complete a fan-in
        passing_on = p.min_onward_ratio is not None and f.onward
        return (counts(f) or passing_on) and p.party_kind in ("any", f.party_kind)

    def judge(flow: Flow, ctx: Context) -> Hit | None:
        payments = ctx.windows.payments
        many = payments(flow.party, direction, kinds[0]) + (payments(flow.party, direction, kinds[1]) if both else 0)
        if many < least:
            return None  # too few such payments in the whole window, let alone distinct counterparties
        history = ctx.history
        start = flow.at - window
        others = set()
        for f in reversed(history):  # newest first, as `since` scans; nothing is built unless it may trip
            if f.at < start - SLACK:
                break
            if f.direction == direction and f.at >= start and f.counterparty_kind in kinds and f.is_payment:
                others.add(f.counterparty)
        if len(others) < least:
            return None
        recent = ctx.since(start)
        legs = [f for f in recent if counts(f)]
        total = sum(f.amount for f in legs)
        if min_total is not None and total < min_total:
            return None
        if p.min_onward_ratio is not None:
            topped = [f for f in recent if f.direction == "in" and f.counterparty_kind == OWN_CARD]
            onward = [f for f in recent if f.onward and f.at >= legs[0].at and not _own_funded(f, topped)]
            if not _at_least(sum(f.amount for f in onward), total, p.min_onward_ratio):
                return None
            legs += onward
        if p.min_third_party_ratio is not None:
            sources = [f for f in recent if f.third_party_in]
            if not _at_least(sum(f.amount for f in sources), total, p.min_third_party_ratio):
                return None
            legs = sources + legs
        return Hit("", start, tuple(sorted(legs, key=lambda f: (f.position, f.leg))))

    return gate, judge


def _own_funded(out: Flow, topped: list[Flow]) -> bool:
    """A payment the party topped up its wallet for from its own card that day (the same sum, or a little
    more): its own money, not the collected money passed on."""
    return any(0 <= out.at - f.at <= DAY * SECOND and out.amount <= f.amount <= out.amount * 11 // 10 for f in topped)


def _round_amount(p: RoundAmount) -> tuple[Gate, Judge]:
    unit, floor = _fen(p.unit), _fen(p.min_amount)

    def qualifies(f: Flow) -> bool:
        return f.amount >= floor and f.amount % unit == 0 and f.is_payment

    return (lambda f: f.is_payment), lambda f, c: _repeated(p, f, c, qualifies)


def _night_burst(p: NightBurst) -> tuple[Gate, Judge]:
    def qualifies(f: Flow) -> bool:
        return f.direction == "out" and p.start_hour <= china(f.at)[0] < p.end_hour

    return (lambda f: f.direction == "out"), lambda f, c: _repeated(p, f, c, qualifies)


def _dormant(p: Dormant) -> tuple[Gate, Judge]:
    least, window, floor = p.dormant_days * DAY * SECOND, p.window_seconds * SECOND, _fen(p.min_amount)

    def judge(flow: Flow, ctx: Context) -> Hit | None:
        state = ctx.state
        if state is None or state.woke_at is None or state.dormant_for < least:
            return None
        if flow.at - state.woke_at > window:
            return None
        moved = tuple(ctx.since(state.woke_at))
        if sum(f.amount for f in moved) >= floor:
            return Hit(f"woke:{state.woke_at}", state.woke_at, moved)
        return None

    return (lambda f: True), judge


def _self_financing(p: SelfFinancing) -> tuple[Gate, Judge]:
    def judge(flow: Flow, ctx: Context) -> Hit | None:
        if not ctx.related.get(flow.counterparty or ""):
            return None
        recent = ctx.since(flow.at - p.window_seconds * SECOND)
        loans = [f for f in recent if f.channel == "loan" and f.lenders & ctx.related[flow.counterparty or ""]]
        if not loans:
            return None
        lenders = frozenset().union(*(f.lenders for f in loans))
        paid = [
            f
            for f in recent
            if f.direction == "out"
            and f.is_payment
            and f.at >= loans[0].at
            and ctx.related.get(f.counterparty or "", NO_LENDERS) & lenders
        ]
        if _at_least(sum(f.amount for f in paid), sum(f.amount for f in loans), p.min_ratio):
            return Hit(f"loan:{loans[0].ref}", loans[0].at, tuple(loans + paid))
        return None

    return (lambda f: f.direction == "out" and f.is_payment), judge


def _loan_layering(p: LoanLayering) -> tuple[Gate, Judge]:
    """A loan passed on to persons at once, or repaid early with third parties' money (以贷洗钱)."""
    floor, onward_for, window = _fen(p.min_loan), p.onward_seconds * SECOND, p.window_seconds * SECOND

    def moved_on(loan: Flow, recent: list[Flow], ctx: Context) -> tuple[Flow, ...]:
        return tuple(
            f
            for f in recent
            if f.onward
            and f.counterparty_kind == PERSON
            and loan.at <= f.at <= loan.at + onward_for
            and not ctx.related.get(f.counterparty or "", NO_LENDERS) & loan.lenders
        )

    def judge(flow: Flow, ctx: Context) -> Hit | None:
        recent = ctx.since(flow.at - window)
        for loan in (f for f in recent if f.channel == "loan" and f.direction == "in" and f.amount >= floor):
            if flow.channel == "loan":
                repaid = [f for f in recent if f.channel == "loan" and f.direction == "out" and f.at >= loan.at]
                paid_in = [f for f in recent if f.third_party_in and f.at >= loan.at]
                total = sum(f.amount for f in repaid)
                if _at_least(total, loan.amount, p.repaid_ratio) and _at_least(
                    sum(f.amount for f in paid_in), total, p.onward_ratio
                ):
                    return Hit(f"loan:{loan.ref}", loan.at, (loan, *paid_in, *repaid))
            elif flow.at <= loan.at + onward_for:
                passed = moved_on(loan, recent, ctx)
                if _at_least(sum(f.amount for f in passed), loan.amount, p.onward_ratio):
                    return Hit(f"loan:{loan.ref}", loan.at, (loan, *passed))
        return None

    def gate(f: Flow) -> bool:
        return f.direction == "out" and (f.counterparty_kind == LENDER or (f.onward and f.counterparty_kind == PERSON))

    return gate, judge


def _shared_device(p: SharedDevice) -> tuple[Gate, Judge]:
    def judge(flow: Flow, ctx: Context) -> Hit | None:
        start = flow.at - p.window_seconds * SECOND
        legs = tuple(ctx.since(start))
        return Hit("", start, legs) if len({f.counterparty for f in legs}) >= p.min_accounts else None

    return (lambda f: True), judge


def _fund_pool(p: FundPool) -> tuple[Gate, Judge]:
    def judge(flow: Flow, ctx: Context) -> Hit | None:
        start = flow.at - p.window_seconds * SECOND
        recent = ctx.since(start)
        ins = [f for f in recent if f.third_party_in and p.party_kind in ("any", f.party_kind)]
        if len({f.counterparty for f in ins}) < p.min_payers:
            return None
        withdrawn = [f for f in recent if f.direction == "out" and f.counterparty == BANK and f.at >= ins[0].at]
        if _at_least(sum(f.amount for f in withdrawn), sum(f.amount for f in ins), p.out_ratio):
            return Hit("", start, tuple(ins + withdrawn))
        return None

    return (lambda f: f.direction == "out" and f.counterparty == BANK), judge


EVALUATORS: dict[str, Callable] = {
    "large_value": _large_value,
    "structuring": _structuring,
    "rapid_in_out": _rapid_in_out,
    "fan_in": _fan,
    "fan_out": _fan,
    "round_amount": _round_amount,
    "night_burst": _night_burst,
    "dormant": _dormant,
    "self_financing": _self_financing,
    "loan_layering": _loan_layering,
    "fund_pool": _fund_pool,
    "shared_device": _shared_device,
}
"""Each typology: its parameters → (gate, judge), amounts turned into fen once. The judge of a flow the
gate refuses would find nothing, so it is not asked."""


@dataclass
class Suppression:
    """What was already alerted: windowed rules stay quiet for a party until their window has passed."""

    last: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def allows(self, rule: Rule, party: str, hit: Hit, at: int) -> bool:
        if hit.key.startswith("single:"):
            return True
        seen = self.last.get((rule.code, party, hit.key))
        if seen is None:
            return True
        return bool(hit.key == "" and seen < at - rule.window_seconds * SECOND)

    def forget_before(self, cutoff: int) -> None:
        """Drop marks older than every window (as a reload from the tables would)."""
        if len(self.last) > 10_000:
            self.last = {k: at for k, at in self.last.items() if at >= cutoff}

    def mark(self, rule_code: str, party: str, key: str, at: int) -> None:
        self.last[(rule_code, party, key)] = at


Shape = tuple[str, str, str, str, bool, bool]


def shape(flow: Flow) -> Shape:
    """What a gate may look at: direction, channel, counterparty kind, party kind, cross-border, to the bank."""
    return (
        flow.direction,
        flow.channel,
        flow.counterparty_kind,
        flow.party_kind,
        flow.cross_border,
        flow.counterparty == BANK,
    )


@dataclass(frozen=True)
class RuleSet:
    """The rules in force, each with its gate and judge, split by the windows they look at: a device's
    window is for device rules only, every other party's for the rest. Which rules a flow of a given
    shape may trip is worked out once per shape (there are a few dozen), not once per flow."""

    party: tuple[tuple[Rule, Gate, Judge], ...]
    device: tuple[tuple[Rule, Gate, Judge], ...]
    chain: Rule | None = None  # followed across parties (puhui.regtech.chains), not per party
    by_shape: dict[Shape, tuple[tuple[Rule, Judge], ...]] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> RuleSet:
        rules = list(rules)
        triples = [(rule, *EVALUATORS[rule.typology](rule.params)) for rule in rules if rule.typology in EVALUATORS]
        return cls(
            tuple(t for t in triples if t[0].typology != "shared_device"),
            tuple(t for t in triples if t[0].typology == "shared_device"),
            next((r for r in rules if r.typology == "mule_chain"), None),
        )

    def judges(self, flow: Flow) -> tuple[tuple[Rule, Judge], ...]:
        key = shape(flow)
        found = self.by_shape.get(key)
        if found is None:
            candidates = self.device if flow.party_kind == DEVICE else self.party
            found = self.by_shape[key] = tuple((rule, judge) for rule, gate, judge in candidates if gate(flow))
        return found


def evaluate(rules: RuleSet, ctx: Context, marks: Suppression) -> list[Alert]:
    """The alerts `ctx.flow` raises (after it was added to the windows and the party's state)."""
    out = []
    flow = ctx.flow
    for rule, judge in rules.judges(flow):
        hit = judge(flow, ctx)
        if hit is None or not marks.allows(rule, flow.party, hit, flow.at):
            continue
        key = hit.key or f"at:{flow.position}:{flow.leg}"
        marks.mark(rule.code, flow.party, hit.key, flow.at)
        out.append(
            Alert(
                alert_id(rule.code, flow.party, key),
                rule.code,
                rule.version,
                rule.typology,
                flow.party,
                hit.key,
                hit.start,
                flow.at,
                hit.flows,
                flow.position,
                flow.at,
            )
        )
    return out
