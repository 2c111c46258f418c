"""`puhui bench payments --deployed` in small: `puhui serve` started as its own processes (two workers on
PostgreSQL), a seeded database, the load client in another process; the server's process group ends
cleanly, no payment fails and the audit passes. No timing is asserted."""

from __future__ import annotations

import pytest

from puhui.bench import payments_deployed
from tests.conftest import selected_backends


def test_a_small_deployed_run_starts_and_stops_the_server_and_the_audit_passes(empty_db_url) -> None:
    postgres = empty_db_url.startswith("postgresql")
    result = payments_deployed.run(
        backend="postgresql" if postgres else "sqlite",
        database_url=empty_db_url,
        clients=4,
        payments=60,
        customers=300,
        merchants=20,
        workers=2 if postgres else None,
        max_seconds=120,
        quiet=True,
        warm_up=50,
    )
    assert result["workers"] == (2 if postgres else 1)
    assert result["server_stopped_cleanly"] is True and result["audit_ok"] is True, result
    assert result["payments_done"] == result["payments_ok"] == 60 and result["errors"] == {}, result
    assert result["warm_up_errors"] == {} and result["health_errors"] == {}, result
    assert result["warm_up"] == 50 and result["payers"] == 110 and not result["seeded_from_cache"]  # each pays once
    for key in ("payments_per_s", "health_per_s", "ledger_single_commits_per_s", "ratio_to_health"):
        assert isinstance(result[key], float) and result[key] > 0, (key, result[key])
    assert result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert len(result["health_per_s_rounds"]) == len(result["payments_per_s_rounds"]) == payments_deployed.ROUNDS
    assert result["machine_cpu_ms_per_payment"] > 0 and 0 <= result["machine_idle_share"] < 1, result
    assert result["workers_shut_down"] == result["workers"], result
    # each committer's batching, from the line it logs when it stops: SQLite's writer's, or each PostgreSQL
    # worker's that committed any job (the workers accept in turns, `puhui.accept`, but on a busy machine
    # one may miss its turns)
    assert 1 <= result["committers"] <= result["workers"], result
    assert result["jobs_per_commit"] >= 1
    assert 0 < result["committer_cpu_ms_per_job"] <= result["committer_ms_per_job"], result


def test_the_profile_counts_the_statements_of_the_payments_and_finds_the_pay_path(tmp_path) -> None:
    result = payments_deployed.run(
        backend="sqlite",
        database_url=f"sqlite:///{tmp_path / 'bench.db'}",
        clients=2,
        payments=30,
        customers=100,
        merchants=10,
        max_seconds=120,
        profile=True,
        quiet=True,
        warm_up=20,  # 50 payments: each payer pays once, and no merchant gets the 10 payers of the fan-in rule
    )
    assert result["audit_ok"] and result["server_stopped_cleanly"] and result["payments_ok"] == 30, result
    assert result["held_share"] == 0, result
    found = result["profile"]
    texts = [text for _, text in found["statements"]]
    assert any(text.startswith("INSERT INTO payments") for text in texts), texts
    assert found["sql_statements_per_payment"] >= sum(per for per, _ in found["statements"][:5])
    assert found["pay_qr_ms_per_payment"] > 0 and len(found["top_cumulative"]) == 25


def test_phases_pool_into_one_rate_over_their_summed_time_and_percentiles_of_all_requests() -> None:
    def phase(latencies: list[float], seconds: float, errors: dict[str, int]) -> dict:
        ok = len(latencies) - sum(errors.values())
        return {
            "done": len(latencies),
            "ok": ok,
            "accepted": 1,
            "outcomes_202": {"held": 1},
            "seconds": seconds,
            "per_s": ok / seconds,
            "errors": errors,
            "latencies_ms": sorted(latencies),
        }

    fast = phase([float(n) for n in range(1, 101)], 1.0, {})
    slow = phase([float(n) for n in range(101, 201)], 3.0, {"503": 2})
    pooled = payments_deployed.pooled([fast, slow])
    assert (pooled["done"], pooled["ok"], pooled["accepted"]) == (200, 198, 2)
    assert pooled["per_s"] == 198 / 4.0  # not the mean of the phases' rates (100 and 32.7)
    assert (pooled["p50_ms"], pooled["p99_ms"]) == (101.0, 198.0)
    assert pooled["errors"] == {"503": 2} and pooled["outcomes_202"] == {"held": 2}


def test_a_warm_up_of_no_payments_or_in_process_is_refused_before_anything_runs() -> None:
    from typer.testing import CliRunner

    from puhui.cli import app

    for args in (["--warm-up", "0"], ["--in-process", "--warm-up", "10"]):
        result = CliRunner().invoke(app, ["bench", "payments", *args])
        assert result.exit_code == 2 and "--warm-up takes at least one payment" in result.output, result.output


@pytest.mark.postgresql
def test_postgresqls_costliest_statements_are_those_of_the_timed_payments_only() -> None:
    """`--pg-statements`: the benchmark's own server keeps `pg_stat_statements`, emptied as the timed phases
    begin, so the code's taking ran once a timed payment (the warm-up's are not counted)."""
    if "postgresql" not in selected_backends():
        pytest.skip("PostgreSQL is not in PUHUI_TEST_BACKENDS")
    result = payments_deployed.run(
        backend="postgresql",
        clients=2,
        payments=30,
        customers=100,
        merchants=10,
        workers=2,
        max_seconds=120,
        cache=False,
        quiet=True,
        warm_up=20,
        pg_statements=40,
    )
    assert result["audit_ok"] and result["payments_ok"] == 30 and result["held_share"] == 0, result
    costs = result["pg_statements"]
    assert 0 < len(costs) <= 40
    assert [c["total_ms"] for c in costs] == sorted((c["total_ms"] for c in costs), reverse=True)
    taking = [c for c in costs if c["statement"].startswith("UPDATE qr_codes SET status")]
    assert len(taking) == 1 and taking[0]["calls"] == 30, costs
    assert taking[0]["us_a_payment"] == round(1000 * taking[0]["total_ms"] / 30, 1)


def test_statement_costs_are_refused_where_the_benchmark_does_not_run_its_own_postgresql() -> None:
    from typer.testing import CliRunner

    from puhui.cli import app

    given_db = ["--backend", "postgresql", "--db", "postgresql://x/y"]
    for args in (["--pg-statements", "5"], [*given_db, "--pg-statements", "5"]):
        result = CliRunner().invoke(app, ["bench", "payments", *args])
        assert result.exit_code == 2 and "--pg-statements is for a deployed run" in result.output, result.output


def test_without_group_commit_each_payment_commits_alone_and_the_books_still_balance(empty_db_url) -> None:
    """`--no-group-commit` serves with PUHUI_GROUP_COMMIT=off: no committer batches anything (none logs its
    batching), every payment is still made once and the audit passes."""
    postgres = empty_db_url.startswith("postgresql")
    result = payments_deployed.run(
        backend="postgresql" if postgres else "sqlite",
        database_url=empty_db_url,
        clients=4,
        payments=40,
        customers=200,
        merchants=10,
        workers=2 if postgres else None,
        max_seconds=120,
        quiet=True,
        warm_up=20,
        group_commit=False,
    )
    assert result["group_commit"] is False and "committers" not in result and "jobs_per_commit" not in result, result
    assert result["payments_done"] == result["payments_ok"] == 40 and result["errors"] == {}, result
    assert result["server_stopped_cleanly"] is True and result["audit_ok"] is True, result


def test_no_group_commit_is_refused_in_process() -> None:
    from typer.testing import CliRunner

    from puhui.cli import app

    result = CliRunner().invoke(app, ["bench", "payments", "--in-process", "--no-group-commit"])
    assert result.exit_code == 2 and "--no-group-commit is for a deployed run" in result.output, result.output
