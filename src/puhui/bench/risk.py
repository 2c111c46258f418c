"""`puhui bench risk`: fraud decisions per second and p50/p99 latency in-process.

Builds window state for N customers from seeded synthetic history (13 weeks of payments each,
devices, locations, some young accounts, a block list), turns on every default rule, and times
`engine.decide` around each request of a stream (time.perf_counter_ns). Each request that is not
declined is then observed, as the consumer would, outside the timing. The baseline, measured first
in the same run on the same stream and state (without observing), is the same loop with one
trivial rule (a block-list lookup). It prints numbers; it asserts nothing about timing.
"""

from __future__ import annotations

import gc
import random
import time
from typing import Annotated, Any

import typer

from puhui.payments.risk_hook import Outcome, PaymentRequest
from puhui.risk.fraud.engine import RuleSet, decide
from puhui.risk.fraud.models import default_rules, rule_from
from puhui.risk.fraud.state import DAY, SECOND, WindowState

TARGET_P99_MS = 2.0
START = 1_772_000_000 * SECOND  # 2026-02-25 06:13:20 UTC; the stream begins 91 days later


def _percentile(sorted_ns: list[int], q: float) -> float:
    index = min(len(sorted_ns) - 1, max(0, round(q * (len(sorted_ns) - 1))))
    return sorted_ns[index] / 1e6


def build_state(customers: int, rng: random.Random) -> tuple[WindowState, list[str], int]:
    """Window state from synthetic history; returns it, the merchant ids, and the stream's start."""
    state = WindowState()
    merchants = [f"m{i}" for i in range(max(1, customers // 50))]
    now = START + 91 * DAY
    for i in range(customers):
        payer = f"c{i}"
        typical = rng.choice((2_000, 5_000, 20_000, 80_000))
        devices = [f"d{i}.{k}" for k in range(rng.randint(1, 2))]
        places = rng.sample(("110000", "310000", "440300", "330100", "510100"), rng.randint(1, 2))
        young = rng.random() < 0.01  # 1% joined in the last week
        first = now - rng.randint(1, 6) * DAY if young else START + rng.randint(0, 10) * DAY
        state.seen(payer, first)
        times = sorted(rng.randint(first, now - 1) for _ in range(rng.randint(3, 30)))
        for at in times:
            payee = rng.choice(merchants) if rng.random() < 0.6 else f"c{rng.randrange(customers)}"
            amount = max(1, int(typical * rng.lognormvariate(0, 0.5)))
            state.observe(PaymentRequest("p2p", payer, payee, amount, 2, rng.choice(devices), rng.choice(places), at))
    return state, merchants, now


def stream(
    count: int, state: WindowState, customers: int, merchants: list[str], start: int, rng: random.Random
) -> list[PaymentRequest]:
    """Requests over 6 hours from `start`: mostly ordinary, some large, from new devices or places,
    to unknown payees."""
    requests = []
    for n in range(count):
        i = rng.randrange(customers)
        at = start + n * (6 * 3600 * SECOND // max(1, count))
        payee = rng.choice(merchants) if rng.random() < 0.6 else f"c{rng.randrange(customers + customers // 100 + 1)}"
        count, total = state.customers[f"c{i}"].norm(at)
        typical = total // count if count else 10_000
        amount = max(1, int(typical * rng.lognormvariate(0, 0.5))) * (20 if rng.random() < 0.02 else 1)
        device = f"d{i}.0" if rng.random() < 0.95 else f"new{n}"
        known = sorted(state.customers[f"c{i}"].locations or {"310000": 0})
        place = rng.choice(known) if rng.random() < 0.95 else "650100"
        requests.append(PaymentRequest("p2p", f"c{i}", payee, amount, 2, device, place, at))
    return requests


def timed(
    requests: list[PaymentRequest], rules: RuleSet, state: WindowState, observe: bool = True
) -> tuple[list[int], dict[str, int]]:
    laps: list[int] = []
    outcomes = {o.value: 0 for o in Outcome}
    clock_ns = time.perf_counter_ns
    for request in requests:
        began = clock_ns()
        decision, _ = decide(request, rules, state)
        laps.append(clock_ns() - began)
        outcomes[decision.outcome.value] += 1
        if observe and decision.outcome != Outcome.decline:
            state.observe(request)
    return laps, outcomes


def _summary(laps: list[int]) -> dict[str, float]:
    ordered = sorted(laps)
    total_s = sum(laps) / 1e9
    return {
        "per_s": len(laps) / total_s if total_s else 0.0,
        "p50_ms": _percentile(ordered, 0.5),
        "p99_ms": _percentile(ordered, 0.99),
        "max_ms": ordered[-1] / 1e6,
    }


def run(customers: int = 100_000, decisions: int = 20_000, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    built = time.perf_counter()
    state, merchants, now = build_state(customers, rng)
    build_s = time.perf_counter() - built
    blocked = {f"c{rng.randrange(customers)}" for _ in range(max(1, customers // 100))}
    lists = {"payees": blocked | {merchants[0]}, "payers": set(sorted(blocked)[: len(blocked) // 2])}
    everything = RuleSet.of(default_rules(), lists)
    trivial = RuleSet.of(
        [
            rule_from(
                {"rule_id": "blocked_payee", "kind": "blocklist", "action": "decline", "params": {"list": "payees"}}
            )
        ],
        lists,
    )
    requests = stream(decisions, state, customers, merchants, now, rng)
    gc.collect()
    gc.freeze()  # long-lived state out of the collector's way, as a server does after rebuilding it
    try:
        timed(requests[: min(1000, decisions)], everything, state, observe=False)  # warm-up
        base_laps, _ = timed(requests, trivial, state, observe=False)
        laps, outcomes = timed(requests, everything, state)
    finally:
        gc.unfreeze()
    full, base = _summary(laps), _summary(base_laps)
    return {
        "customers": len(state),
        "rules": len(everything.rules),
        "decisions": decisions,
        "build_state_s": build_s,
        "decisions_per_s": full["per_s"],
        "p50_ms": full["p50_ms"],
        "p99_ms": full["p99_ms"],
        "max_ms": full["max_ms"],
        "baseline_per_s": base["per_s"],
        "baseline_p50_ms": base["p50_ms"],
        "baseline_p99_ms": base["p99_ms"],
        "ratio_to_baseline": full["per_s"] / base["per_s"] if base["per_s"] else 0.0,
        "target_p99_ms": TARGET_P99_MS,
        "p99_within_target": full["p99_ms"] < TARGET_P99_MS,
        "approve": outcomes["approve"],
        "review": outcomes["review"],
        "decline": outcomes["decline"],
    }


def command(
    customers: Annotated[int, typer.Option("--customers", min=1, help="Customers with window state.")] = 100_000,
    decisions: Annotated[int, typer.Option("--decisions", min=1, help="Requests to decide.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic history and stream.")] = 1,
) -> None:
    """Fraud decisions per second and p50/p99 latency in-process, all rules on, against a one-rule baseline."""
    from rich.console import Console
    from rich.table import Table

    result = run(customers=customers, decisions=decisions, seed=seed)
    table = Table(title=f"fraud decisions: {result['customers']:,} customers in state, {result['rules']} rules on")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:,.4f}" if isinstance(value, float) else str(value))
    console = Console(width=100)
    console.print(table)
    verdict = "within" if result["p99_within_target"] else "OVER"
    console.print(
        f"p99 {result['p99_ms']:.4f} ms vs target {TARGET_P99_MS} ms: {verdict} target; "
        f"{result['decisions_per_s']:,.0f} decisions/s = {result['ratio_to_baseline']:.3f} x baseline "
        f"(one block-list rule, {result['baseline_per_s']:,.0f}/s)"
    )
