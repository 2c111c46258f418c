"""Smoke test for `puhui bench monitor`: a tiny stream through the CLI prints its figures; no timing asserted."""

from __future__ import annotations

from typer.testing import CliRunner

from puhui.bench.monitor import run
from puhui.cli import app
from puhui.regtech.rules import DEFAULT_RULES

FIGURES = (
    "events_per_s",
    "baseline_events_per_s",
    "ratio_to_baseline",
    "events_per_cpu_s",
    "baseline_events_per_cpu_s",
    "load_average_1m",
    "commit_to_alert_p99_ms",
    "commit_to_processed_p99_ms",
    "target_events_per_s",
)


def test_bench_monitor_prints_its_figures() -> None:
    result = CliRunner().invoke(
        app, ["bench", "monitor", "--events", "300", "--customers", "40", "--latency-chunks", "5", "--chunk", "10"]
    )
    assert result.exit_code == 0, result.output
    for figure in FIGURES:
        assert figure in result.output, figure
    assert "vs target 10,000 per worker" in result.output


def test_bench_monitor_reads_every_event() -> None:
    result = run(events=400, customers=30, merchants=3, latency_chunks=4, chunk=10, seed=2)
    assert result["events"] == 400 and result["rules"] == len(DEFAULT_RULES)  # the bench runs every default rule
    assert {"mule_chain", "loan_layering"} <= {rule.code for rule in DEFAULT_RULES}
    assert result["alerts"] > 0  # planted large values and round amounts are found
    assert result["events_per_s"] > 0 and result["baseline_events_per_s"] > 0
    assert result["events_per_cpu_s"] > 0 and result["baseline_events_per_cpu_s"] > 0
    assert result["commit_to_alert_p50_ms"] <= result["commit_to_alert_p99_ms"]
