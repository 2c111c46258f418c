"""More server-drawn SVG for the staff pages (服务端绘图): bar charts, a QR code (二维码, drawn by segno
from the payload the API gives) and a party's flow graph (资金流向图). No script and no library in the
browser; every label is escaped."""

from __future__ import annotations

import io
import math
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

import segno
from markupsafe import Markup, escape

WIDTH, HEIGHT = 360, 180
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 12, 28
COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0969da", "#57606a")


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal


def bar_chart(bars: list[Bar], title: str) -> Markup:
    """Vertical bars, one per label (oldest or first on the left), the largest value marked on the axis."""
    if not bars:
        return Markup("")
    high = max((b.value for b in bars), default=Decimal(0)) or Decimal(1)
    slot = Decimal(WIDTH - LEFT - RIGHT) / len(bars)
    plot = Decimal(HEIGHT - TOP - BOTTOM)
    parts = [_open(title), _axes(), f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{escape(str(high))}</text>']
    for i, bar in enumerate(bars):
        height = max(Decimal(0), bar.value) / high * plot
        x = Decimal(LEFT) + slot * i + slot * Decimal("0.15")
        y = Decimal(HEIGHT - BOTTOM) - height
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * Decimal("0.7"):.1f}" height="{height:.1f}" '
            f'fill="{COLOURS[0]}"><title>{escape(bar.label)}: {escape(str(bar.value))}</title></rect>'
        )
        if len(bars) <= 10 or i in (0, len(bars) - 1):
            cx = Decimal(LEFT) + slot * i + slot / 2
            parts.append(f'<text x="{cx:.1f}" y="{HEIGHT - 10}" text-anchor="middle">{escape(bar.label[:10])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_chart(days: list[str], series: dict[str, list[Decimal]], title: str) -> Markup:
    """One stacked bar per day, a colour per series (its name in the legend below the chart)."""
    if not days or not series:
        return Markup("")
    totals = [sum((values[i] for values in series.values()), Decimal(0)) for i in range(len(days))]
    high = max(totals) or Decimal(1)
    slot = Decimal(WIDTH - LEFT - RIGHT) / len(days)
    plot = Decimal(HEIGHT - TOP - BOTTOM)
    legend, legend_height = _legend(list(series))
    parts = [_open(title, extra=legend_height), _axes()]
    parts.append(f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{escape(str(high))}</text>')
    for i, day in enumerate(days):
        base = Decimal(HEIGHT - BOTTOM)
        x = Decimal(LEFT) + slot * i + slot * Decimal("0.15")
        for n, (name, values) in enumerate(series.items()):
            height = max(Decimal(0), values[i]) / high * plot
            base -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{slot * Decimal("0.7"):.1f}" height="{height:.1f}" '
                f'fill="{COLOURS[n % len(COLOURS)]}"><title>{escape(day)} {escape(name)}: {escape(str(values[i]))}'
                "</title></rect>"
            )
        if len(days) <= 10 or i in (0, len(days) - 1):
            cx = Decimal(LEFT) + slot * i + slot / 2
            parts.append(f'<text x="{cx:.1f}" y="{HEIGHT - 10}" text-anchor="middle">{escape(day[5:])}</text>')
    parts.extend(legend)
    parts.append("</svg>")
    return Markup("".join(parts))


LEGEND_COLUMNS = 2
LEGEND_GAP, SWATCH, LINE = 8, 14, 12  # margin and column gap, swatch and its space, line height (px)
FONT_PX = 10  # the charts' text size (console.css `.chart text`)


def text_width(text: str) -> float:
    """The width a label takes at FONT_PX, estimated: a wide (CJK) character a full em, any other a bit over
    half of one (generous: a label is wrapped a little early rather than run past its column)."""
    return sum(FONT_PX if unicodedata.east_asian_width(c) in "WF" else FONT_PX * 0.62 for c in text)


def wrap(text: str, width: float) -> list[str]:
    """`text` in lines no wider than `width` (by `text_width`): broken between words, and a word (or a run
    of CJK, which has no spaces) longer than a line broken between characters; nothing is cut off."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if text_width(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and text_width(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    if line or not lines:
        lines.append(line)
    return lines


def _legend(names: list[str]) -> tuple[list[str], int]:
    """The legend under a chart (a swatch and the full name of each series, in LEGEND_COLUMNS columns, a
    long name wrapped onto more lines) and the height it adds below the chart."""
    column = (WIDTH - LEGEND_GAP * (LEGEND_COLUMNS + 1)) / LEGEND_COLUMNS
    parts: list[str] = []
    y = HEIGHT + 4
    for row in range(0, len(names), LEGEND_COLUMNS):
        tallest = 1
        for k, name in enumerate(names[row : row + LEGEND_COLUMNS]):
            n = row + k
            x = LEGEND_GAP + k * (column + LEGEND_GAP)
            lines = wrap(name, column - SWATCH)
            tallest = max(tallest, len(lines))
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="10" height="10" fill="{COLOURS[n % len(COLOURS)]}"/>')
            spans = "".join(
                f'<tspan x="{x + SWATCH:.1f}" y="{y + 9 + i * LINE}">{escape(text)}</tspan>'
                for i, text in enumerate(lines)
            )
            parts.append(f'<text class="legend" data-series="{escape(name)}">{spans}</text>')
        y += tallest * LINE + 4
    return parts, y - HEIGHT


def qr_code(payload: str, title: str) -> Markup:
    """The payload as a QR code (error correction M), inline SVG with a title for screen readers."""
    out = io.BytesIO()
    segno.make(payload, error="m").save(
        out, kind="svg", scale=6, border=2, xmldecl=False, svgns=False, svgclass="qr", title=title
    )
    svg = out.getvalue().decode("utf-8")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="' + str(escape(title)) + '" ', 1))


@dataclass(frozen=True)
class Edge:
    """Money between the party and one counterparty over the evidence: in (to the party) and out."""

    counterparty: str
    inflow: Decimal
    outflow: Decimal


def flow_graph(party: str, edges: list[Edge], title: str) -> Markup:
    """The party in the middle, its counterparties around it; an arrow's thickness grows with the money
    (green: into the party, red: out of it)."""
    size, middle, radius = 360, 180, 130
    high = max((max(e.inflow, e.outflow) for e in edges), default=Decimal(1)) or Decimal(1)
    parts = [
        f'<svg class="chart graph" viewBox="0 0 {size} {size}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#57606a"/></marker></defs>',
    ]
    for n, edge in enumerate(edges[:16]):
        angle = 2 * math.pi * n / max(1, min(len(edges), 16))
        x, y = middle + radius * math.cos(angle), middle + radius * math.sin(angle)
        for amount, colour, start, end in (
            (edge.inflow, "#1a7f37", (x, y), (middle, middle)),
            (edge.outflow, "#d1242f", (middle, middle), (x, y)),
        ):
            if amount > 0:
                width = 1 + 5 * float(amount / high)
                parts.append(
                    f'<line x1="{start[0]:.1f}" y1="{start[1]:.1f}" x2="{end[0]:.1f}" y2="{end[1]:.1f}" '
                    f'stroke="{colour}" stroke-width="{width:.1f}" marker-end="url(#arrow)" opacity="0.7">'
                    f"<title>{escape(edge.counterparty)}: {escape(str(amount))}</title></line>"
                )
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#57606a"/>')
        parts.append(f'<text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle">{escape(edge.counterparty[-10:])}</text>')
    parts.append(f'<circle cx="{middle}" cy="{middle}" r="12" fill="#1f6feb"/>')
    parts.append(f'<text x="{middle}" y="{middle + 26}" text-anchor="middle">{escape(party[-12:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(title: str, extra: int = 0) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + extra}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )


def _axes() -> str:
    return (
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"/>'
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>'
    )
