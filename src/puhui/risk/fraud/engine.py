"""The fraud decision: every enabled rule against the request and the window state, combined into
approve / review / decline (decline beats review beats approve) with one reason per rule that
tripped, "<rule id>: <what tripped>", and the model score (0-1000, None without a score rule).

`decide` reads the state and changes nothing; it does no parsing and no I/O (rule parameters were
turned into integer tuples when the rule was validated), so it stays well under a millisecond.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from puhui.clock import CHINA
from puhui.money import format_minor
from puhui.payments.risk_hook import Decision, Outcome, PaymentRequest
from puhui.risk.fraud.models import FEATURES, Action, Kind, Rule
from puhui.risk.fraud.state import DAY, SECOND, YOUNG, Customer, WindowState

HOUR = 3600 * SECOND
NOVELTY = 30 * DAY  # the score's new_device / new_location look back this far
EVIDENCE = "takeover_score"  # the score a decision reports when this rule is on
WEEKS_91 = 91 * DAY  # a first payee: not paid in the norm's 13 weeks
# China has had no daylight saving time since 1991: one fixed offset serves every instant.
CHINA_OFFSET = int(CHINA.utcoffset(dt.datetime(2026, 1, 1)).total_seconds()) * SECOND  # type: ignore[union-attr]  # a ZoneInfo always has an offset for a real date
FEATURE_NAMES = tuple(FEATURES)
CENTRES = tuple(FEATURES[n][0] for n in FEATURE_NAMES)
SCALES = tuple(FEATURES[n][1] for n in FEATURE_NAMES)


@dataclass(frozen=True)
class RuleSet:
    """The enabled rules and the block lists a decision runs against."""

    rules: tuple[Rule, ...]
    blocklists: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: Iterable[Rule], blocklists: Mapping[str, Iterable[str]] | None = None) -> RuleSet:
        lists = {name: frozenset(values) for name, values in (blocklists or {}).items()}
        return cls(tuple(r for r in rules if r.enabled), lists)

    @property
    def versions(self) -> dict[str, int]:
        return {r.rule_id: r.version for r in self.rules}


def china_hour(at: int) -> int:
    """The hour of the day in China time (Asia/Shanghai) of a UTC-microsecond instant."""
    return ((at + CHINA_OFFSET) % (24 * HOUR)) // HOUR


def _cny(fen: int) -> str:
    return format_minor(fen, 2)


# -- the rule kinds: each returns what tripped, or None ----------------------------------------------


def _velocity(limits, p: PaymentRequest, payer: Customer | None, payee, lists) -> str | None:
    window, max_count, max_amount = limits
    count, total = payer.window(p.at - window) if payer is not None else (0, 0)
    count, total = count + 1, total + p.amount
    if max_count is not None and count > max_count:
        return f"{count} payments > {max_count} in {window // SECOND} s"
    if max_amount is not None and total > max_amount:
        return f"{_cny(total)} CNY > {_cny(max_amount)} CNY in {window // SECOND} s"
    return None


def _above_norm(limits, p: PaymentRequest, payer: Customer | None, payee, lists) -> str | None:
    multiple_milli, min_history, min_amount = limits
    if payer is None or p.amount < min_amount:
        return None
    count, total = payer.norm(p.at)
    if count < min_history or total <= 0:
        return None
    if p.amount * count * 1000 > multiple_milli * total:
        return (
            f"{_cny(p.amount)} CNY > {multiple_milli / 1000:g} x mean {_cny(total // count)} CNY over {count} payments"
        )
    return None


def _novel(seen: dict[str, int] | None, value: str | None, since: int) -> bool:
    return value is not None and (seen is None or seen.get(value, -1) <= since)


def _new_device(limits, p: PaymentRequest, payer: Customer | None, payee, lists) -> str | None:
    lookback, min_history = limits
    if payer is None or payer.norm(p.at)[0] < min_history or not _novel(payer.devices, p.device_id, p.at - lookback):
        return None
    return f"device {p.device_id} not seen in {lookback // DAY} days"


def _new_location(limits, p: PaymentRequest, payer: Customer | None, payee, lists) -> str | None:
    lookback, min_history = limits
    if payer is None or payer.norm(p.at)[0] < min_history or not _novel(payer.locations, p.location, p.at - lookback):
        return None
    return f"location {p.location} not seen in {lookback // DAY} days"


def _blocklist(limits, p: PaymentRequest, payer, payee, lists) -> str | None:
    name, party = limits
    listed = lists.get(name)
    if not listed:
        return None
    if party != "payer" and p.payee_id in listed:
        return f"payee {p.payee_id} on list {name}"
    if party != "payee" and p.payer_id in listed:
        return f"payer {p.payer_id} on list {name}"
    return None


def _fan_in_of(payee: Customer | None, payer_id: str, at: int, since: int) -> int:
    """Distinct payers into a payee younger than 30 days after `since`, the payer being decided
    included (0 for older payees, whose payers are not tracked)."""
    if payee is None:
        return 1
    if payee.payers is None or at - payee.first_seen >= YOUNG:
        return 0
    count = payee.distinct_payers(since)
    return count if payee.payers.get(payer_id, -1) > since else count + 1


def _fan_in(limits, p: PaymentRequest, payer, payee: Customer | None, lists) -> str | None:
    max_age, min_payers, window = limits
    if payee is not None and p.at - payee.first_seen >= max_age:
        return None
    payers = _fan_in_of(payee, p.payer_id, p.at, p.at - window)
    if payers >= min_payers:
        return f"payee first seen < {max_age // DAY} days ago has {payers} payers in {window // SECOND} s"
    return None


def _night(limits, p: PaymentRequest, payer: Customer | None, payee, lists) -> str | None:
    min_count, window, start, end = limits
    if not start <= china_hour(p.at) < end:
        return None
    count, since = 1, p.at - window
    if payer is not None:
        for at, _, _ in reversed(payer.recent):
            if at <= since:
                break
            if start <= china_hour(at) < end:
                count += 1
    if count >= min_count:
        return f"{count} payments between {start:02d}:00 and {end:02d}:00 China time in {window // SECOND} s"
    return None


def _signal(limits, p: PaymentRequest, payer, payee, lists) -> str | None:
    raised = sorted(limits.intersection(p.signals))
    return f"signals {', '.join(raised)}" if raised else None


CHECKS = {
    Kind.velocity: _velocity,
    Kind.amount_above_norm: _above_norm,
    Kind.new_device: _new_device,
    Kind.new_location: _new_location,
    Kind.blocklist: _blocklist,
    Kind.fan_in_new_account: _fan_in,
    Kind.night_burst: _night,
    Kind.product_signal: _signal,
}


# -- the model score ---------------------------------------------------------------------------------


def features(
    p: PaymentRequest, payer: Customer | None, payee: Customer | None, balance: int | None = None
) -> tuple[float, ...]:
    """The score's raw features, in `FEATURES` order (see `models.FEATURES` for their meaning);
    `balance` is the payer's available balance in fen before the payment, None when unknown."""
    at = p.at
    count, total = payer.norm(at) if payer is not None else (0, 0)
    ratio = math.log(p.amount * count / total) if count and total > 0 and p.amount > 0 else 0.0
    last_hour = payer.window(at - HOUR)[0] if payer is not None else 0
    devices, locations = (payer.devices, payer.locations) if payer is not None else (None, None)
    new_device = _novel(devices, p.device_id, at - NOVELTY)
    new_location = _novel(locations, p.location, at - NOVELTY)
    night = 1.0 if china_hour(at) < 5 else 0.0
    age = math.log1p(max(0, at - payee.first_seen) / DAY) if payee is not None else 0.0
    fan_in = _fan_in_of(payee, p.payer_id, at, at - DAY)
    new_device_to_payer = _new_to_payer(payer, devices, "d:", p.device_id, at)
    return (
        ratio,
        float(last_hour),
        math.log1p(count),
        float(new_device),
        float(new_location),
        night,
        age,
        float(fan_in),
        float(new_device_to_payer),
        float(_new_to_payer(payer, locations, "l:", p.location, at)),
        float(payer is not None and count > 0 and not payer.paid_before(p.payee_id, at - WEEKS_91)),
        float(payer is not None and payer.credentials_at > at - DAY),
        min(1.0, p.amount / balance) if balance and balance > 0 else 0.0,
        float(
            payer is not None and payer.failed_at > at - DAY and _new_to_payer(payer, devices, "d:", p.device_id, at)
        ),
        float(payer is not None and payer.password_at > at - DAY),
    )


def _new_to_payer(payer: Customer | None, seen: dict[str, int] | None, prefix: str, value: str | None, at: int) -> bool:
    """A device (place) the payer has not used in 30 days or first used less than a day ago, while the
    payer used another one in the 30 days before: a change from the payer's own, not a first."""
    if payer is None or value is None or seen is None:
        return False
    first = payer.first_used(prefix + value)
    fresh = _novel(seen, value, at - NOVELTY) or (first is not None and first > at - DAY)
    return fresh and any(last > at - NOVELTY and other != value for other, last in seen.items())


def score(weights: tuple[float, ...], bias: float, values: tuple[float, ...]) -> tuple[int, list[float]]:
    """Points 0-1000 = 1000 × logistic(bias + Σ weight × (value - centre) / scale), and each
    feature's contribution to the logit (the reason codes)."""
    parts = [w * (v - c) / s for w, v, c, s in zip(weights, values, CENTRES, SCALES)]
    logit = bias + sum(parts)
    return round(1000 / (1 + math.exp(-max(-50.0, min(50.0, logit))))), parts


def _model(rule: Rule, p: PaymentRequest, payer, payee, balance: int | None) -> tuple[int, Outcome, str | None]:
    weights, bias, review_at, decline_at = rule.limits
    points, parts = score(weights, bias, features(p, payer, payee, balance))
    if points < review_at:
        return points, Outcome.approve, None
    outcome = Outcome.decline if points >= decline_at and rule.action == Action.decline else Outcome.review
    top = sorted(((c, n) for c, n in zip(parts, FEATURE_NAMES) if c > 0), reverse=True)[:3]
    why = ", ".join(f"{n} {c:+.2f}" for c, n in top)
    limit = decline_at if outcome == Outcome.decline else review_at
    return points, outcome, f"score {points} >= {limit} ({why})"


# -- the decision ------------------------------------------------------------------------------------


def decide(
    request: PaymentRequest, rules: RuleSet | Iterable[Rule], state: WindowState, balance: int | None = None
) -> tuple[Decision, int | None]:
    """Approve, review or decline `request`; the reasons name each rule that tripped. The score is the
    takeover score when it is on (the cost policy's evidence), else the last model rule's; `balance`
    is the payer's available balance in fen (None: unknown)."""
    ruleset = rules if isinstance(rules, RuleSet) else RuleSet.of(rules)
    payer = state.customers.get(request.payer_id)
    payee = state.customers.get(request.payee_id)
    lists = ruleset.blocklists
    reasons: list[str] = []
    worst = Outcome.approve
    points: int | None = None
    points_of = ""
    for rule in ruleset.rules:
        if rule.kind is Kind.model_score:
            got, outcome, what = _model(rule, request, payer, payee, balance)
            if points_of != EVIDENCE:
                points, points_of = got, rule.rule_id
        else:
            what = CHECKS[rule.kind](rule.limits, request, payer, payee, lists)
            outcome = Outcome.approve if what is None else Outcome(rule.action.value)
        if what is None:
            continue
        reasons.append(f"{rule.rule_id}: {what}")
        if outcome == Outcome.decline:
            worst = Outcome.decline
        elif worst == Outcome.approve:
            worst = Outcome.review
    return Decision(worst, tuple(reasons)), points
