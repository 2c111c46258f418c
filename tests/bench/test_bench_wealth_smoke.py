"""Smoke test for `puhui bench wealth`: tiny runs on both backends; keys, exact sums and audit, no timing."""

from __future__ import annotations

import pytest

from puhui.bench.wealth import R_E4, run

KEYS = ("holders", "seconds", "holders_per_s", "baseline_seconds", "ratio_to_baseline", "residue", "audit_ok")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_bench_wealth_tiny_run(backend: str) -> None:
    result = run(backend=backend, holders=500, audit=True)
    for key in KEYS:
        assert key in result, key
    assert result["audit_ok"] is True and result["holders"] == 500
    # holders' units are 100 + (i × 7919) mod 5,000,000 (0.01 units), i = 1..500
    units = [100 + (i * 7919) % 5_000_000 for i in range(1, 501)]
    assert result["paid"] == sum(u * R_E4 // 10**8 for u in units)
    assert result["distributed"] == sum(units) * R_E4 // 10**8 == result["paid"] + result["residue"]
    assert result["seconds"] > 0 and result["baseline_seconds"] > 0
