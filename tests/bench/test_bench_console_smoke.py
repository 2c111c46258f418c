"""Smoke test for `puhui bench console`: a tiny run on SQLite over every main page, one GET each: every
page answers 200 to the viewer it is measured for, with its size, and the /health baseline is measured."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from puhui.bench.console import PAGES, run
from puhui.cli import app


def test_bench_console_tiny_run_measures_every_page() -> None:
    result = run(backend="sqlite", count=1)
    assert [row["page"] for row in result["pages"]] == [path for path, _ in PAGES]
    refused = [(row["page"], row["status"]) for row in result["pages"] if row["status"] != 200]
    assert refused == [] and result["all_ok"] is True
    assert all(row["bytes"] > 1000 and 0 < row["p50_ms"] <= row["p95_ms"] for row in result["pages"])
    assert result["baseline"]["page"] == "/health" and result["baseline"]["status"] == 200
    assert result["largest_bytes"] == max(row["bytes"] for row in result["pages"])


def test_bench_console_prints_json() -> None:
    answer = CliRunner().invoke(app, ["bench", "console", "--count", "1", "--json"])
    assert answer.exit_code == 0, answer.output
    printed = json.loads(answer.output[answer.output.index("{") :])
    assert printed["gets_per_page"] == 1 and len(printed["pages"]) == len(PAGES)
