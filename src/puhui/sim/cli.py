"""`puhui simulate`: run the market on a moving clock and write the HTML report."""

from __future__ import annotations

import time
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="The market simulator (市场模拟).")


def _engine(db: str | None):
    """The given database (migrated to head), or a fresh SQLite file in a new temporary directory."""
    import tempfile

    from puhui.db import create_engine_from_url
    from puhui.db.migrate import upgrade

    url = db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='puhui-sim-')) / 'sim.db'}"
    engine = create_engine_from_url(url, durable=db is not None)  # its own scratch file need not fsync
    upgrade(engine)
    return engine, url


CUSTOMERS = typer.Option(1000, "--customers", min=40, help="How many customers (at least 40).")
DAYS = typer.Option(30, "--days", min=1, max=366, help="How many days to simulate.")
SEED = typer.Option(1, "--seed", help="The seed: one seed, one world.")
DB = typer.Option(None, "--db", help="Database URL (default: a fresh SQLite file in a new temporary directory).")
OUT = typer.Option(Path("simulation.html"), "--out", help="Where to write the HTML report.")


@app.command("run")
def simulate(
    customers: int = CUSTOMERS, days: int = DAYS, seed: int = SEED, db: str | None = DB, out: Path = OUT
) -> None:
    """Simulate the market through the real services and write the report."""
    from collections import Counter

    from puhui.sim import report
    from puhui.sim.world import Config
    from puhui.sim.world import simulate as run

    engine, url = _engine(db)
    started = time.perf_counter()
    with report.progress(days) as on_day:
        result = run(engine, Config(customers, days, seed), on_day, _configured_vault())
    seconds = time.perf_counter() - started
    truth = Counter(lb.typology for lb in result.labels if lb.role == "principal")
    typer.echo(f"run {result.run_id} on {url}: {customers} customers × {days} days in {seconds:.1f} s")
    typer.echo(
        f"ledger audit: {'passed' if result.audit_ok else 'FAILED'}; "
        f"reserve: {'covered' if result.covered else 'NOT covered'}"
    )
    typer.echo("labelled payments by typology: " + ", ".join(f"{t}={n}" for t, n in sorted(truth.items())))
    from puhui.db import reading
    from puhui.sim.analysis import analyse
    from puhui.sim.detection import benign_flags, evaluate
    from puhui.sim.world import run_span

    looked = analyse(engine, result.config.start, days)  # the monitor, graph analytics, cases: no labels read
    with reading(engine) as connection:
        found = evaluate(connection, result.run_id, customers)
        honest = benign_flags(connection, result.run_id, customers)
    typer.echo(
        f"monitor: {looked['events']} events in {looked['monitor_s']:.1f} s "
        f"({looked['events'] / max(looked['monitor_s'], 1e-9):,.0f} events/s), graph analytics "
        f"{looked['graph_s']:.1f} s; {looked['alerts']} alerts, {looked['cases']} cases opened; "
        "detection per typology (customers):"
    )
    for d in found:
        precision = "n/a" if d.precision is None else f"{d.precision:.2f}"
        recall = "n/a" if d.recall is None else f"{d.recall:.2f}"
        benign = "n/a" if d.benign_rate is None else f"{d.benign_rate:.4f}"
        typer.echo(
            f"  {d.typology:<14} planted {d.planted:>3}  flagged {d.flagged:>4}  caught {d.caught:>3}  "
            f"involved {d.involved:>4}  precision {precision}  recall {recall}  "
            f"benign flagged {d.benign_flagged} ({benign})"
        )
    rate = "n/a" if honest.rate is None else f"{honest.rate:.4f}"
    looks = ", ".join(f"{k} {f}/{n}" for k, (f, n) in honest.lookalikes.items()) or "none"
    typer.echo(f"benign customers flagged by any laundering rule: {honest.flagged} of {honest.customers} ({rate})")
    typer.echo(f"  honest look-alikes flagged: {looks}")
    from puhui.sim.fraud_detection import evaluate_fraud

    with reading(engine) as connection:
        caught = evaluate_fraud(connection, result.run_id, run_span(result))
    precision = "n/a" if caught.precision is None else f"{caught.precision:.2f}"
    recall = "n/a" if caught.recall is None else f"{caught.recall:.2f}"
    outcomes = ", ".join(f"{k}={n}" for k, n in caught.outcomes.items()) or "none"
    typer.echo(
        f"fraud engine: {caught.decided} payment attempts decided, {caught.flagged} held or declined; "
        f"payments held for review: {dict(result.held) or 'none'}"
    )
    typer.echo(
        f"  {caught.typology:<16} attempts {caught.attempts:>3}  flagged {caught.flagged:>4}  "
        f"caught {caught.caught:>3}  precision {precision}  recall {recall}  ({outcomes})"
    )
    typer.echo(
        "supply chain: "
        + ", ".join(f"{k} {n}" for k, n in result.supply_chain.items())
        + f"; fund purchases {result.done.get('fund_purchase', 0)}, redemptions {result.done.get('fund_redeem', 0)}"
    )
    report.write(
        result,
        out,
        seconds,
        {
            "analysis": looked,
            "detections": found,
            "benign": honest,
            "fraud": caught,
            "alerts_by_typology": alerts_by_typology(engine),
        },
    )
    typer.echo(f"report: {out}")
    if not (result.audit_ok and result.covered):
        raise typer.Exit(1)


def simulate_insurance(
    customers: int = typer.Option(1000, "--customers", min=40, help="How many customers (at least 40)."),
    days: int = typer.Option(30, "--days", min=1, max=366, help="How many days to simulate."),
    seed: int = SEED,
    kind: str = typer.Option("lightgbm", "--model", help="The claims-fraud model: lightgbm or logistic."),
    save_model: Path | None = typer.Option(
        None, "--save-model", help="Write the trained model here, for a server's PUHUI_CLAIMS_FRAUD_MODEL."
    ),
) -> None:
    """Simulate the insurance book (保险模拟) twice: seed+1000 to train the claims-fraud model, then the
    seed itself with the model in adjudication; print loss ratios, straight-through rate, AUC and audit."""
    from puhui.sim.insurance import Config
    from puhui.sim.insurance import simulate_insurance as run
    from puhui.sim.insurance_measure import summary, train

    started = time.perf_counter()
    book = run(_engine(None)[0], Config(customers, days, seed + 1000))
    model = train(book, kind)
    if save_model is not None:
        model.save(save_model)
        typer.echo(f"claims-fraud model: {save_model}")
    result = run(_engine(None)[0], Config(customers, days, seed), model)
    for line in summary(book, result, model):
        typer.echo(line)
    typer.echo(f"({time.perf_counter() - started:.1f} s)")
    if not (book.audit_ok and result.audit_ok):
        raise typer.Exit(1)


def _configured_vault():
    """The configured PII vault (PUHUI_PII_KEYS), so a server with the same keys reads the simulated people."""
    from puhui.identity.pii import vault_for
    from puhui.settings import Settings

    settings = Settings()
    return vault_for(settings) if settings.pii_keys and settings.pii_index_key else None


def alerts_by_typology(engine) -> dict[str, int]:
    from puhui.db import reading
    from puhui.regtech import queries as regtech_queries

    with reading(engine) as connection:
        return regtech_queries.alerts_by_typology(connection)
