"""Smoke test for `puhui bench lending`: a tiny run on SQLite; keys, idempotency and audit, no timing."""

from __future__ import annotations

from puhui.bench.lending import run


def test_bench_lending_tiny_run_on_sqlite() -> None:
    result = run(loans=300, backend="sqlite", quiet=True)
    assert result["audit_ok"] is True
    assert result["loans"] == 300 and result["eod_transfers"] >= 300  # one accrual per loan at least
    assert result["eod_again_changed"] is False
    assert result["overdue_loans"] > 0  # one loan in ten never pays
    for key in ("eod_s", "eod_loans_per_s", "baseline_update_s", "baseline_loans_per_s", "eod_to_baseline"):
        assert isinstance(result[key], float) and result[key] > 0, (key, result[key])
