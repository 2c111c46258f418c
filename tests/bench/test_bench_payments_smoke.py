"""Smoke test for `puhui bench payments`: a tiny run on SQLite over real HTTP; keys and audit, no timing."""

from __future__ import annotations

from puhui.bench.payments import run

KEYS = ("payments_per_s", "p50_ms", "p95_ms", "p99_ms", "errors", "baseline_per_s", "ratio_to_baseline", "audit_ok")


def test_bench_payments_tiny_run_on_sqlite() -> None:
    result = run(backend="sqlite", clients=2, payments=20, customers=4, merchants=2, max_seconds=30, quiet=True)
    for key in KEYS:
        assert key in result, key
    assert result["audit_ok"] is True
    assert result["errors"] == {} and result["payments_ok"] == 20
    for key in ("payments_per_s", "baseline_per_s", "ratio_to_baseline"):
        assert isinstance(result[key], float) and result[key] > 0, (key, result[key])
    assert result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]


def test_bench_payments_static_codes() -> None:
    result = run(backend="sqlite", clients=2, payments=10, customers=2, merchants=1, kind="static", quiet=True)
    assert result["audit_ok"] is True and result["payments_ok"] == 10, result
