"""`puhui bench insurance`: quotes per second, claims adjudicated per second (when the claims module
is present) and the reserve end of day (准备金日终) over N policies, with a smaller book measured in
the same run as the baseline that shows how it scales.

- **quotes**    `puhui.insurance.service.quote` in-process on one connection (product read from the
                database and priced), each call timed: calls/s, p50 and p99.
- **claims**    claims adjudicated per second with p99, or "claims not present".
- **eod**       (setup untimed) a fresh migrated database (SQLite temp file, or a database on an embedded
                PostgreSQL), N one-year policies over five insurers bulk-loaded
                (`puhui.insurance.reserves.seed`), sold over the last year, 5% cancelled. Then, timed:
                the first reserve run (the day before: every insurer's books opened with its whole
                book), the next day (a day's movements), and that day again (nothing moves).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from contextlib import ExitStack
from typing import Any

import typer

from puhui import clock
from puhui.bench.ledger import fresh_database
from puhui.db import create_engine_from_url, reading, transaction
from puhui.db.engine import is_postgres
from puhui.db.migrate import upgrade

INSURERS = 5


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def bench_quotes(count: int = 20_000) -> dict[str, Any]:
    """In-process quotes on a fresh SQLite database with one insurer and one product version."""
    from puhui.identity import org
    from puhui.insurance import models, service

    product = models.MedicalProduct(
        "bench-med",
        1,
        "bench 百万医疗",
        (
            models.AgeBand(0, 17, 200_00, 450_00),
            models.AgeBand(18, 40, 299_00, 688_00),
            models.AgeBand(41, 65, 899_00, 1999_00),
        ),
    )
    with ExitStack() as cleanup:
        engine = create_engine_from_url(fresh_database("sqlite", cleanup, "puhui_bench_insurance"))
        cleanup.callback(engine.dispose)
        upgrade(engine)

        def setup(uow: Any) -> None:
            partner, _ = org.create_partner(uow, "bench insurer", _Bench())
            service.register_insurer(uow, partner)
            service.add_medical_product(uow, partner, product)

        transaction(engine, setup)
        samples = []
        with reading(engine) as connection:
            began = time.perf_counter()
            for n in range(count):
                start = time.perf_counter()
                service.quote(connection, "bench-med", 1, n % 66, n % 2 == 0)
                samples.append(time.perf_counter() - start)
            total = time.perf_counter() - began
    return {
        "quotes": count,
        "quotes_per_s": round(count / total, 1),
        "quote_p50_ms": round(statistics.median(samples) * 1000, 3),
        "quote_p99_ms": round(_percentile(samples, 0.99) * 1000, 3),
    }


class _Bench:
    id = "bench"
    role = "admin"


def bench_claims(count: int = 20_000) -> dict[str, Any]:
    """Claims adjudicated per second (自动核赔) by the claims module's rules, in-process, each timed;
    "claims not present" without the module."""
    try:
        from puhui.insurance.claims import models as claims
    except ImportError:
        return {"claims": "claims not present"}
    from puhui.insurance import models

    product = models.MedicalProduct("bench-med", 1, "bench 百万医疗", (models.AgeBand(0, 100, 299_00, 688_00),))
    cover = models.Cover(dt.date(2026, 1, 1), dt.date(2027, 1, 1), 299_00)
    rules = claims.ReviewRules()
    samples = []
    began = time.perf_counter()
    for n in range(count):
        facts = claims.ClaimFacts(
            kind=models.LossKind.illness if n % 2 else models.LossKind.accident,
            condition="bench",
            event_date=cover.start + dt.timedelta(days=n % 365),
            billed=5_000_00 + (n % 97) * 1_000_00,
            social_insurance_paid=(n % 5) * 500_00,
            has_documents=n % 10 != 0,
            deductible_used=0,
            paid_this_year=0,
        )
        start = time.perf_counter()
        claims.adjudicate(product, cover, n % 3 != 0, (), None, facts, rules)
        samples.append(time.perf_counter() - start)
    total = time.perf_counter() - began
    return {
        "claims": count,
        "claims_adjudicated_per_s": round(count / total, 1),
        "claim_p99_ms": round(_percentile(samples, 0.99) * 1000, 4),
    }


def bench_claims_reported(backend: str, customers: int = 120, count: int = 600) -> dict[str, Any]:
    """Claims reported and adjudicated through the claims service on a database (报案 → 自动核赔 → 赔付),
    each in its own unit of work as the API runs it: policies bought in a simulated warm-up, the insurer
    funded, then `count` accident claims (no waiting period) of varied bills, each timed."""
    import random

    from puhui.insurance import models
    from puhui.insurance.claims import service as claims
    from puhui.insurance.settlement import service as settlement
    from puhui.ledger.audit import audit
    from puhui.sim.insurance import Config, InsuranceWorld

    with ExitStack() as cleanup:
        engine = create_engine_from_url(fresh_database(backend, cleanup, "puhui_bench_claims"))
        cleanup.callback(engine.dispose)
        upgrade(engine)
        config = Config(customers, 1, seed=5, fraud_share=0.0, colluder_share=0.0, warmup=2)
        world = InsuranceWorld(engine, config)
        samples: list[float] = []
        outcomes: dict[str, int] = {}
        with clock.using(world.clock):
            world.populate()
            for d in range(-config.warmup, 0):
                world.day(d)
            insured = [p for p in world.people if p.policy_id is not None]
            transaction(engine, lambda uow: settlement.fund(uow, world.insurer, 100_000_000_00, "bench"))
            world.at(config.start, 10)
            rng = random.Random(7)
            began = time.perf_counter()
            for n in range(count):
                person = insured[n % len(insured)]
                assert person.policy_id is not None
                billed = rng.randrange(2_000_00, 60_000_00)
                report = claims.ClaimReport(
                    person.policy_id,
                    models.LossKind.accident,
                    f"S{n // len(insured) % 100:02d}",  # a new diagnosis each round: one event, one claim
                    config.start,
                    billed,
                    0,
                    (claims.Document("invoice.pdf", "application/pdf", f"bench invoice {n}".encode()),),
                )
                start = time.perf_counter()
                answer = transaction(
                    engine, lambda uow, r=report, p=person, k=n: claims.report_claim(uow, p.customer_id, r, f"b{k}")
                )
                samples.append(time.perf_counter() - start)
                outcomes[answer["status"]] = outcomes.get(answer["status"], 0) + 1
            total = time.perf_counter() - began
        with reading(engine) as connection:
            audit_ok = audit(connection).ok
    return {
        "backend": backend,
        "claims_reported": count,
        "claims_reported_per_s": round(count / total, 1),
        "claim_reported_p50_ms": round(statistics.median(samples) * 1000, 2),
        "claim_reported_p99_ms": round(_percentile(samples, 0.99) * 1000, 2),
        "claim_outcomes": outcomes,
        "audit_ok": audit_ok,
    }


def _seed(engine: Any, policies: int, today: dt.date) -> None:
    from puhui.insurance.reserves.seed import seed_policies, synthetic_policies

    share = -(-policies // INSURERS)

    def write(uow: Any) -> None:
        for k in range(INSURERS):
            count = min(share, policies - k * share)
            if count > 0:
                book = synthetic_policies(f"ptn_bench{k}", count, today - dt.timedelta(days=365), 364, seed=k)
                seed_policies(uow.connection, book)

    transaction(engine, write)
    if is_postgres(engine):
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def bench_eod(policies: int, backend: str, quiet: bool = False) -> dict[str, Any]:
    """The reserve end of day over `policies` policies on a fresh database of `backend`."""
    from puhui.insurance.reserves import service
    from puhui.ledger.audit import audit

    today = clock.business_date() - dt.timedelta(days=1)  # the last date that is over: end of day runs it
    with ExitStack() as cleanup:
        engine = create_engine_from_url(fresh_database(backend, cleanup, "puhui_bench_reserves"))
        cleanup.callback(engine.dispose)
        upgrade(engine)
        began = time.perf_counter()
        _seed(engine, policies, today)
        setup_s = time.perf_counter() - began
        _say(quiet, f"{backend}: seeded {policies:,} policies in {setup_s:.1f} s")
        timings, answers = {}, {}
        for name, day in (("first", today - dt.timedelta(days=1)), ("day", today), ("again", today)):
            began = time.perf_counter()
            answers[name] = service.run_reserves(engine, day)
            timings[name] = time.perf_counter() - began
        with reading(engine) as connection:
            report = audit(connection)
            figures = service.reserves_json(connection, "ptn_bench0", today)
    return {
        "backend": backend,
        "policies": policies,
        "setup_s": round(setup_s, 2),
        "eod_first_s": round(timings["first"], 3),
        "eod_day_s": round(timings["day"], 3),
        "eod_policies_per_s": round(policies / timings["day"], 1),
        "eod_transfers": answers["day"]["transfers"],
        "eod_again_s": round(timings["again"], 3),
        "eod_again_transfers": answers["again"]["transfers"],
        "insurer0_upr": figures["upr"],
        "insurer0_earned": figures["earned"],
        "audit_ok": report.ok,
    }


def run(
    *,
    quotes: int = 20_000,
    policies: int = 1_000_000,
    baseline: int = 100_000,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    quiet: bool = False,
    claims_reported: int = 600,
) -> dict[str, Any]:
    if policies < 1 or baseline < 1:
        raise ValueError("policies and baseline are at least 1")
    if not set(backends) <= {"sqlite", "postgresql"}:
        raise ValueError("backend must be sqlite or postgresql")
    result: dict[str, Any] = {**bench_quotes(quotes), **bench_claims(), "reported": [], "eod": []}
    for backend in backends:
        if claims_reported:
            result["reported"].append(bench_claims_reported(backend, max(20, claims_reported // 5), claims_reported))
        for size in (baseline, policies):
            result["eod"].append(bench_eod(size, backend, quiet))
    return result


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        typer.echo(message, err=True)


def command(
    policies: int = typer.Option(1_000_000, "--policies", help="policies in the reserve end of day"),
    baseline: int = typer.Option(100_000, "--baseline", help="policies in the smaller book run alongside"),
    backend: str = typer.Option("both", "--backend", help="sqlite, postgresql (embedded) or both"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
    claims: int = typer.Option(600, "--claims", min=0, help="claims reported through the service per backend"),
) -> None:
    """Quotes/s, claims adjudicated and reported per second, and the reserve end of day over N policies.

    Quotes/s and p99, claims adjudicated/s by the rules and reported/s through the service with p99, and
    the reserve end of day over N policies (and a baseline)."""
    backends = ("sqlite", "postgresql") if backend == "both" else (backend,)
    result = run(policies=policies, baseline=baseline, backends=backends, quiet=as_json, claims_reported=claims)
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        if key not in ("eod", "reported"):
            typer.echo(f"{key:>22}  {value}")
    for row in [*result["reported"], *result["eod"]]:
        typer.echo("  ".join(f"{k}={v}" for k, v in row.items()))


__all__ = ["command", "run"]
