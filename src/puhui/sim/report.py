"""The run's report: an HTML page with charts (matplotlib PNGs embedded as base64) — volumes,
balances, fund yields, loan performance by bucket, planted typologies, alerts by typology and the
detection precision and recall against the ground truth — and a Rich progress bar."""

from __future__ import annotations

import base64
import contextlib
import html
import io
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

from puhui.sim.world import DayStats, SimResult

BUCKETS = ("current", "M1", "M2", "M3", "M3+")
STYLE = (
    "<style>body{font-family:sans-serif;max-width:960px;margin:auto}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}</style></head><body>"
)


def yuan(fen: int) -> str:
    return f"{Decimal(fen).scaleb(-2):,.2f}"


@contextlib.contextmanager
def progress(days: int) -> Iterator[Callable[[int, DayStats], None]]:
    """A Rich progress bar advanced once per simulated day."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task("", total=days)
        yield lambda d, stats: bar.update(task, advance=1, description=stats.date.isoformat())


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def charts(result: SimResult) -> dict[str, str]:
    """Base64 PNGs by title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = [s.date for s in result.days]
    out = {}
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for kind in sorted({k for s in result.days for k in s.volume}):
        ax.plot(days, [s.volume.get(kind, 0) / 100 for s in result.days], marker=".", label=kind)
    ax.set_yscale("symlog"), ax.set_ylabel("CNY per day (log)"), ax.legend(fontsize=7), fig.autofmt_xdate()
    out["Daily volumes by kind"] = _png(fig)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for code in ("customer_wallet", "merchant_wallet", "fund_assets"):
        ax.plot(days, [s.balances.get(code, 0) / 100 for s in result.days], label=code)
    ax.set_ylabel("CNY, end of day"), ax.legend(fontsize=7), fig.autofmt_xdate()
    out["Balances"] = _png(fig)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(days, [float(s.yield_7d) if s.yield_7d else float("nan") for s in result.days], label="seven-day yield %")
    ax2 = ax.twinx()
    ax2.bar(days, [float(s.income_per_10k or 0) for s in result.days], alpha=0.3, color="grey", label="per 10k")
    ax.set_ylabel("% a year"), ax2.set_ylabel("CNY per 10k units"), fig.autofmt_xdate()
    out["Money-market fund yield"] = _png(fig)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    bottom = [0] * len(days)
    for bucket in BUCKETS:
        values = [s.buckets.get(bucket, 0) for s in result.days]
        ax.bar(days, values, bottom=bottom, label=bucket)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("active loans"), ax.legend(fontsize=7), fig.autofmt_xdate()
    out["Loan performance by bucket"] = _png(fig)
    return out


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _findings(findings: dict) -> list[str]:
    """Alerts by rule typology and the detection tables (monitor per typology, fraud engine per attempt)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def figure(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    parts = [
        "<h2>Alerts and detection against the ground truth</h2>",
        _table(["", ""], [[k, v] for k, v in findings.get("analysis", {}).items()]),
    ]
    by_typology = findings.get("alerts_by_typology", {})
    if by_typology:
        fig, ax = plt.subplots(figsize=(8, 3.2))
        ax.bar(list(by_typology), list(by_typology.values()))
        ax.set_ylabel("alerts"), plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        parts.append(f"<h3>Alerts by typology</h3><img src='data:image/png;base64,{_png(fig)}'>")
    rows = [
        [
            d.typology,
            d.planted,
            d.flagged,
            d.caught,
            d.involved,
            figure(d.precision),
            figure(d.recall),
            d.benign_flagged,
            "n/a" if d.benign_rate is None else f"{d.benign_rate:.4f}",
        ]
        for d in findings.get("detections", [])
    ]
    headers = ["typology", "planted", "flagged", "caught", "involved", "precision", "recall", "benign flagged"]
    parts.append(
        "<h3>The monitor, per laundering typology (customers)</h3>" + _table([*headers, "benign-flag rate"], rows)
    )
    honest = findings.get("benign")
    if honest is not None:
        rate = "n/a" if honest.rate is None else f"{honest.rate:.4f}"
        looks = [[kind, flagged, of] for kind, (flagged, of) in honest.lookalikes.items()]
        parts.append(
            f"<p>Customers in no scheme flagged by any laundering rule: {honest.flagged} of {honest.customers}"
            f" ({rate}).</p><h3>Honest look-alikes (ground truth: benign)</h3>"
            + _table(["look-alike", "flagged", "customers"], looks)
        )
    fraud = findings.get("fraud")
    if fraud is not None:
        parts.append(
            "<h3>The fraud engine, per payment attempt</h3>"
            + _table(
                ["typology", "attempts", "decided", "flagged", "caught", "precision", "recall"],
                [
                    [
                        fraud.typology,
                        fraud.attempts,
                        fraud.decided,
                        fraud.flagged,
                        fraud.caught,
                        figure(fraud.precision),
                        figure(fraud.recall),
                    ]
                ],
            )
        )
    actions = findings.get("fraud_actions")
    if actions is not None:
        parts.append(_fraud_actions(actions))
    return parts


def _fraud_actions(actions) -> str:  # type: ignore[no-untyped-def]
    """The fraud engine's actions (allow, step-up challenge passed / failed / abandoned, hold, decline)
    per side of the ground truth, with the rates the targets are stated in."""

    def rate(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4%}"

    rows = [[row, c["honest"], c["fraud"]] for row, c in actions.counts.items()]
    rows.append(["total", actions.total("honest"), actions.total("fraud")])
    rates = [
        ["honest payments held or declined", rate(actions.honest_held_or_declined)],
        ["honest payments challenged (核身)", rate(actions.honest_challenged)],
        ["account-takeover recall (declined, held or failed challenge)", rate(actions.ato_recall)],
        ["precision (takeovers among declined, held, failed or abandoned)", rate(actions.precision)],
    ]
    return (
        "<h3>The fraud engine's actions by cost (按损失定处置), per payment attempt</h3>"
        + _table(["action", "honest", "account takeover"], rows)
        + _table(["", ""], rates)
    )


def render(result: SimResult, seconds: float | None = None, findings: dict | None = None) -> str:
    c = result.config
    principals = Counter(
        lb.typology
        for lb in {(lb.typology, lb.customer_id): lb for lb in result.labels if lb.role == "principal"}.values()
    )
    payments = Counter(lb.typology for lb in result.labels if lb.role == "principal")
    last = result.days[-1] if result.days else None
    facts = [
        ["run", result.run_id],
        ["customers", c.customers],
        ["days", c.days],
        ["seed", c.seed],
        ["ledger audit", "passed" if result.audit_ok else "FAILED"],
        ["reserve coverage", "covered" if result.covered else "NOT covered"],
        ["written off (end)", last.written_off if last else 0],
    ]
    if seconds is not None:
        facts.append(["wall time (s)", f"{seconds:.1f}"])
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Puhui market simulation</title>",
        STYLE,
        f"<h1>Market simulation {html.escape(result.run_id)}</h1>",
        _table(["", ""], facts),
        "<h2>Acts</h2>",
        _table(
            ["act", "done", "total CNY"],
            [[k, v, yuan(sum(s.volume.get(k, 0) for s in result.days))] for k, v in sorted(result.done.items())],
        ),
        "<h2>Refused by the services</h2>",
        _table(["act:reason", "count"], sorted(map(list, result.refused.items()))),
        "<h2>Planted typologies (ground truth)</h2>",
        _table(
            ["typology", "principals", "labelled payments"], [[t, principals[t], payments[t]] for t in sorted(payments)]
        ),
    ]
    for title, png in charts(result).items():
        parts.append(f"<h2>{html.escape(title)}</h2><img src='data:image/png;base64,{png}'>")
    if findings is not None:
        parts.extend(_findings(findings))
    parts.append("</body></html>")
    return "\n".join(parts)


def write(result: SimResult, out: Path, seconds: float | None = None, findings: dict | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(result, seconds, findings), encoding="utf-8")
    return out
