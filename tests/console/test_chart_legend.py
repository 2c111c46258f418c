"""The legend of a stacked chart (the supervision dashboard's flows and alerts) shows every series' whole
name: wrapped onto more lines within its column, never cut ("loan disbursemen", "supply-chain fin"), and
drawn below the chart inside the picture, not over the bars."""

from __future__ import annotations

import re
from decimal import Decimal

from puhui.console import svg

FLOWS = [
    "payments",
    "loan disbursements",
    "loan repayments",
    "MMF subscriptions",
    "MMF redemptions",
    "fund purchases",
    "fund redemptions",
    "supply-chain financing",
]
CHINESE = [
    "支付",
    "贷款发放",
    "贷款回收",
    "货币基金申购",
    "货币基金赎回",
    "基金申购",
    "基金赎回",
    "供应链金融融资放款与回款合计",
]


def legend_of(chart: str) -> list[tuple[str, list[tuple[float, float, str]]]]:
    """(series, [(x, y, line text)]) of each legend entry."""
    entries = []
    for name, spans in re.findall(r'<text class="legend" data-series="([^"]*)">(.*?)</text>', chart):
        lines = [
            (float(x), float(y), text) for x, y, text in re.findall(r'<tspan x="([\d.]+)" y="([\d.]+)">([^<]*)<', spans)
        ]
        entries.append((name, lines))
    return entries


def test_every_series_name_is_shown_whole_within_its_column_below_the_chart() -> None:
    for names in (FLOWS, CHINESE, ["a very long typology name that needs more than one line to be read whole"]):
        chart = str(svg.stacked_chart(["2026-03-01", "2026-03-02"], {n: [Decimal(1), Decimal(2)] for n in names}, "t"))
        height = float(re.search(r'viewBox="0 0 \d+ ([\d.]+)"', chart).group(1))
        entries = legend_of(chart)
        assert [name for name, _ in entries] == names
        column = (svg.WIDTH - svg.LEGEND_GAP * (svg.LEGEND_COLUMNS + 1)) / svg.LEGEND_COLUMNS
        previous_bottom = float(svg.HEIGHT)
        for name, lines in entries:
            assert " ".join(text for _, _, text in lines).replace(" ", "") == name.replace(" ", ""), name  # whole
            for x, y, text in lines:
                assert y - 9 >= svg.HEIGHT, (name, y)  # below the chart and its day labels
                assert y + 3 <= height, (name, y, height)  # inside the picture
                column_start = x - svg.SWATCH
                assert column_start in {svg.LEGEND_GAP + k * (column + svg.LEGEND_GAP) for k in range(2)}
                assert x + svg.text_width(text) <= column_start + column + 0.01, (name, text)  # fits its column
        ys = sorted({y for _, lines in entries for _, y, _ in lines})
        assert ys[0] > previous_bottom


def test_the_supervision_flows_are_named_in_full() -> None:
    chart = str(svg.stacked_chart(["2026-03-01"], {n: [Decimal(1)] for n in FLOWS}, "flows"))
    assert ">loan disbursements<" in chart and ">supply-chain financing<" in chart
