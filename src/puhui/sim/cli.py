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
CALIBRATION = typer.Option(
    None, "--fraud-calibration", help="The fraud cost policy's calibration (JSON); default: the shipped one."
)
FIT = typer.Option(None, "--fit-fraud-calibration", help="Write a calibration fitted on this run's labels here.")
RULES_ONLY = typer.Option(False, "--fraud-rules-only", help="The fraud rules' own actions, no cost policy.")


@app.command("run")
def simulate(
    customers: int = CUSTOMERS,
    days: int = DAYS,
    seed: int = SEED,
    db: str | None = DB,
    out: Path = OUT,
    fraud_calibration: Path | None = CALIBRATION,
    fit_fraud_calibration: Path | None = FIT,
    fraud_rules_only: bool = RULES_ONLY,
) -> None:
    """Simulate the market through the real services and write the report. The fraud engine decides by
    the cost policy (allow, step-up challenge, hold, decline) with a calibration fitted on another seed."""
    from collections import Counter

    from puhui.sim import report
    from puhui.sim.world import Config
    from puhui.sim.world import simulate as run

    engine, url = _engine(db)
    started = time.perf_counter()
    with report.progress(days) as on_day:
        policy = None if fraud_rules_only else _policy(fraud_calibration)
        result = run(engine, Config(customers, days, seed), on_day, _configured_vault(), policy)
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
    from puhui.sim.detection import benign_flags, declared_purposes, evaluate
    from puhui.sim.fraud_detection import action_table, evaluate_fraud
    from puhui.sim.world import run_span

    with reading(engine) as connection:
        caught = evaluate_fraud(connection, result.run_id, run_span(result))
        actions = action_table(connection, result.run_id, run_span(result), result.challenged)
    for line in fraud_lines(caught, actions, result.held):
        typer.echo(line)
    if fit_fraud_calibration is not None:
        _fit(engine, result, fit_fraud_calibration)

    looked = analyse(engine, result.config.start, days)  # the monitor, graph analytics, cases: no labels read
    with reading(engine) as connection:
        found = evaluate(connection, result.run_id, customers)
        honest = benign_flags(connection, result.run_id, customers)
        declared = declared_purposes(connection, result.run_id)
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
    typer.echo(
        "  P2P transfers declaring a purpose (用途): "
        + ", ".join(f"{group} {n}/{of}" for group, (n, of) in declared.items())
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
            "fraud_actions": actions,
            "alerts_by_typology": alerts_by_typology(engine),
        },
    )
    typer.echo(f"report: {out}")
    if not (result.audit_ok and result.covered):
        raise typer.Exit(1)


def fraud_lines(caught, actions, held) -> list[str]:  # type: ignore[no-untyped-def]
    """The fraud engine's figures: per attempt, then per action honest and fraudulent."""

    def figure(x: float | None, places: int = 4) -> str:
        return "n/a" if x is None else f"{x:.{places}f}"

    lines = [
        f"fraud engine: {caught.decided} payment attempts decided, {caught.flagged} not allowed at once; "
        f"payments held for review: {dict(held) or 'none'}",
        f"  {'action':<20} {'honest':>8} {'fraud':>6}",
    ]
    lines += [f"  {row:<20} {c['honest']:>8} {c['fraud']:>6}" for row, c in actions.counts.items()]
    lines.append(
        f"  honest held or declined {figure(actions.honest_held_or_declined)}, honest challenged "
        f"{figure(actions.honest_challenged)}, ATO recall {figure(actions.ato_recall)} "
        f"(declined + held + failed challenge), precision {figure(actions.precision)}"
    )
    return lines


def _policy(path: Path | None):  # type: ignore[no-untyped-def]
    import json

    from puhui.risk.fraud.calibration import calibration_from
    from puhui.risk.fraud.decision import default_costs
    from puhui.risk.fraud.hook import Policy

    if path is None:
        return Policy.shipped()
    return Policy(calibration_from(json.loads(path.read_text(encoding="utf-8"))), default_costs())


def _fit(engine, result, path: Path) -> None:  # type: ignore[no-untyped-def]
    """A calibration of the engine's evidence on this run's labelled attempts, for runs of other seeds."""
    import json

    from puhui.db import reading
    from puhui.sim.fraud_detection import fit, labelled_attempts
    from puhui.sim.world import run_span

    with reading(engine) as connection:
        attempts = labelled_attempts(connection, result.run_id, run_span(result))
    calibration = fit(attempts)
    c = result.config
    body = {"fitted_on": f"puhui simulate --customers {c.customers} --days {c.days} --seed {c.seed}"}
    body["attempts"] = {"honest": sum(1 for _, f in attempts if not f), "fraud": sum(1 for _, f in attempts if f)}
    body["steps"] = calibration.as_json()
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    typer.echo(f"fraud calibration ({len(calibration.starts)} steps): {path}")


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
