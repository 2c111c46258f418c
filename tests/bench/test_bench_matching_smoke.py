"""`puhui bench matching` runs end to end, and its baseline trades what the engine trades."""

from __future__ import annotations

from typer.testing import CliRunner

from puhui.bench.matching import SortedListBook, bench_matching, order_stream
from puhui.cli import app
from puhui.securities.book import OrderBook


def test_the_bench_reports_all_three_paths_against_the_baseline():
    result = bench_matching(orders=2000, seed=3)
    for path in ("baseline_sorted_list", "engine_core", "exchange_with_rules"):
        assert result[path]["orders_per_s"] > 0
        assert 0 < result[path]["p50_us"] <= result[path]["p99_us"]
    assert result["engine_vs_baseline"] > 0


def test_the_baseline_and_the_engine_trade_the_same_shares_on_limit_orders():
    limits = [a for a in order_stream(3000, seed=5) if a.kind == "limit"]
    plain, book = SortedListBook(), OrderBook("600000")
    plain_traded = sum(plain.submit(a.side, a.quantity, a.price, a.id) for a in limits)
    engine_traded = sum(sum(t.quantity for t in book.submit(a.id, a.side, a.quantity, a.price).trades) for a in limits)
    assert plain_traded == engine_traded > 0


def test_the_command_prints_one_json_object():
    out = CliRunner().invoke(app, ["bench", "matching", "--orders", "500"])
    assert out.exit_code == 0, out.output
    assert '"engine_core"' in out.output


def test_the_http_part_places_every_order_through_the_api_against_health():
    from puhui.bench.matching import bench_http

    result = bench_http(20, "sqlite")
    assert result["statuses"] == {201: 20}
    assert result["orders_per_s"] > 0 and result["health_per_s"] > 0 and result["p50_ms"] <= result["p99_ms"]
