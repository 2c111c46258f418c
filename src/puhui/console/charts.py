"""Charts drawn on the server as inline SVG (服务端绘图): no chart library and no script, so a chart
shows offline and on any phone. Values are Decimal; coordinates are rounded to a tenth of a pixel."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 320, 160
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 24


@dataclass(frozen=True)
class Point:
    label: str  # shown under the axis (first and last only)
    value: Decimal


def _scale(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    span = high - low or Decimal(1)
    return Decimal(HEIGHT - BOTTOM) - (value - low) / span * Decimal(HEIGHT - TOP - BOTTOM)


def line_chart(points: list[Point], title: str, unit: str = "%") -> Markup:
    """A line chart of `points` (oldest first) with its lowest and highest values marked."""
    if not points:
        return Markup("")
    low, high = min(p.value for p in points), max(p.value for p in points)
    if low == high:
        low, high = low - Decimal("0.1"), high + Decimal("0.1")
    step = Decimal(WIDTH - LEFT - RIGHT) / max(1, len(points) - 1)
    xy = [(Decimal(LEFT) + step * i, _scale(p.value, low, high)) for i, p in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    last_x, last_y = xy[-1]
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{escape(_shown(high, unit))}</text>',
        f'<text x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end">{escape(_shown(low, unit))}</text>',
        f'<polyline class="line" points="{path}"/>',
        f'<circle class="dot" cx="{last_x:.1f}" cy="{last_y:.1f}" r="3"/>',
        f'<text x="{LEFT}" y="{HEIGHT - 6}">{escape(points[0].label)}</text>',
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">{escape(points[-1].label)}</text>',
        "</svg>",
    ]
    return Markup("".join(parts))


def _shown(value: Decimal, unit: str) -> str:
    return f"{value.quantize(Decimal('0.001'))}{unit}"
