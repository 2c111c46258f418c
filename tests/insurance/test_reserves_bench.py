"""Smoke test for `puhui bench insurance`: a tiny run on SQLite; keys, idempotency and audit, no timing."""

from __future__ import annotations

from puhui.bench.insurance import run


def test_bench_insurance_tiny_run_on_sqlite() -> None:
    result = run(quotes=200, policies=2_000, baseline=200, backends=("sqlite",), quiet=True, claims_reported=40)
    assert result["quotes"] == 200 and result["quotes_per_s"] > 0 and result["quote_p99_ms"] > 0
    assert result["claims"] == "claims not present" or result["claims_adjudicated_per_s"] > 0
    (reported,) = result["reported"]
    assert reported["claims_reported"] == 40 and sum(reported["claim_outcomes"].values()) == 40
    assert reported["claim_outcomes"].get("paid", 0) > 0 and reported["audit_ok"] is True
    small, large = result["eod"]
    assert (small["policies"], large["policies"]) == (200, 2_000)
    for row in (small, large):
        assert row["audit_ok"] is True and row["eod_again_transfers"] == 0
        assert 0 < row["eod_transfers"] <= 5 * 6  # a handful per insurer, not one per policy
        assert row["eod_day_s"] > 0
