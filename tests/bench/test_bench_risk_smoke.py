"""Smoke test for `puhui bench risk`: a tiny run through the CLI prints its figures; no timing asserted."""

from __future__ import annotations

from typer.testing import CliRunner

from puhui.bench.risk import run
from puhui.cli import app
from puhui.risk.fraud.models import default_rules

FIGURES = ("decisions_per_s", "p50_ms", "p99_ms", "baseline_per_s", "ratio_to_baseline", "target_p99_ms")


def test_bench_risk_prints_its_figures() -> None:
    result = CliRunner().invoke(app, ["bench", "risk", "--customers", "300", "--decisions", "400", "--seed", "3"])
    assert result.exit_code == 0, result.output
    for figure in FIGURES:
        assert figure in result.output, figure
    assert "vs target 2.0 ms" in result.output


def test_bench_risk_counts_every_decision() -> None:
    result = run(customers=200, decisions=300, seed=1)
    assert result["approve"] + result["review"] + result["decline"] == 300
    on = [r for r in default_rules() if r.enabled]  # the takeover score is off unless the cost policy is on
    assert result["customers"] >= 200 and result["rules"] == len(on)  # every default rule that is on
    assert result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["decisions_per_s"] > 0 and result["baseline_per_s"] > 0
