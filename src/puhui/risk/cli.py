"""`puhui risk …`: train, evaluate, promote and score credit models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from puhui.errors import PuhuiError
from puhui.risk.scoring.platform import PLATFORM_MODEL

app = typer.Typer(no_args_is_help=True, help="Risk control: credit models and fraud rules.")


def _console() -> Console:
    return Console()  # made per call, so the terminal width is read when the command runs


DbOption = typer.Option(None, "--db", help="Database URL (default: PUHUI_DATABASE_URL or SQLite in the user data dir).")
GERMAN_CREDIT = Path(__file__).parent / "data" / "germancredit.csv"  # shipped, CC BY 4.0 (see data/README.md)
DataOption = typer.Option(
    GERMAN_CREDIT,
    "--data",
    help="A labelled CSV (default: the shipped Statlog German Credit data set, 1,000 applicants).",
)
LabelOption = typer.Option("creditability", "--label", help="The label column (good/bad or 0/1; bad = 1).")


def _engine(url: str | None):
    """The engine for --db, like every `puhui` command; the database must be migrated (`puhui db upgrade`)."""
    from puhui.cli_engine import engine_for
    from puhui.db.engine import DatabaseNotMigrated

    try:
        return engine_for(url)
    except DatabaseNotMigrated as refused:
        _fail(refused)


def _fail(error: PuhuiError) -> NoReturn:
    """A refusal in the one format of every command: `<code>: <one line>` on stderr."""
    from puhui.cli_errors import fail

    fail(error)


@app.command()
def evaluate(
    data: Path = DataOption,
    label: str = LabelOption,
    folds: int = typer.Option(5, "--folds", min=2, max=20, help="Stratified CV folds."),
    seed: int = typer.Option(42, "--seed", help="Seed of the fold split."),
) -> None:
    """Cross-validate the scorecard and the LightGBM challenger; print AUC, KS and Gini (mean ± std)."""
    from rich.progress import Progress

    from puhui.risk.scoring.data import load_csv
    from puhui.risk.scoring.evaluate import KINDS, cross_validate

    try:
        dataset = load_csv(data, label)
    except PuhuiError as error:
        _fail(error)
    with Progress(console=_console(), transient=True) as progress:
        task = progress.add_task("cross-validating", total=folds * len(KINDS))
        results = cross_validate(dataset, KINDS, folds, seed, on_fold=lambda kind, n: progress.advance(task))
    from rich import box

    table = Table(title=f"{folds}-fold stratified CV, {dataset.rows} rows, seed {seed}", box=box.SIMPLE_HEAD)
    for column in ("model", "AUC", "KS", "Gini", "Brier", "PSI"):
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    for kind, result in results.items():
        table.add_row(
            kind,
            *(f"{result.mean(m):.4f}±{result.std(m):.4f}" for m in ("auc", "ks", "gini")),
            *(f"{result.mean(m):.4f}" for m in ("brier", "psi")),
        )
    _console().print(table)
    _console().print(
        f"mean ± standard deviation over the folds of {dataset.source}; Brier and PSI "
        "(train-fold vs test-fold scores) are means",
        style="dim",
    )


@app.command()
def train(
    data: Path = typer.Option(None, "--data", help="A labelled CSV (or use --platform)."),
    platform: bool = typer.Option(False, "--platform", help="Train on platform profiles as of --as-of."),
    as_of: str = typer.Option(None, "--as-of", help="Observation date (YYYY-MM-DD, end of day China time)."),
    labels: Path = typer.Option(
        None, "--labels", help="With --platform: CSV of customer_id,bad (outcomes after --as-of)."
    ),
    kind: str = typer.Option("scorecard", "--kind", help="scorecard or lightgbm."),
    name: str = typer.Option("credit", "--name", help="Model name; each training adds a version."),
    out: Path = typer.Option(Path("risk-model"), "--out", help="Directory for the model card and plots."),
    label: str = LabelOption,
    folds: int = typer.Option(5, "--folds", min=2, max=20, help="Stratified CV folds for the model card."),
    seed: int = typer.Option(42, "--seed", help="Seed of the fold split and the model's fit."),
    db: str = DbOption,
) -> None:
    """Train on all rows, cross-validate for the model card, write card and plots, register as challenger."""
    from rich.progress import Progress

    from puhui.risk.scoring import service
    from puhui.risk.scoring.data import load_csv

    try:
        engine = _engine(db)
        if platform:
            dataset = _platform_dataset(engine, as_of, labels)
            name = PLATFORM_MODEL if name == "credit" else name
        elif data is not None:
            dataset = load_csv(data, label)
        else:
            raise typer.BadParameter("give --data CSV or --platform with --as-of and --labels")
        with Progress(console=_console()) as progress:
            task = progress.add_task(f"training {kind}", total=folds + 2)
            trained = service.train(
                engine,
                dataset,
                kind,
                name,
                out,
                folds,
                seed,
                on_step=lambda what: progress.update(task, advance=1, description=what),
            )
    except PuhuiError as error:
        _fail(error)
    record = trained.record
    _console().print(
        f"registered [bold]{record.name}[/bold] v{record.version} ({record.kind}) as {record.status}; "
        f"CV AUC {record.metrics['auc']['mean']:.4f}, KS {record.metrics['ks']['mean']:.4f}"
    )
    _console().print(f"model card and plots in {out}")
    print(record.id)


def _platform_dataset(engine, as_of: str | None, labels: Path | None):
    import csv

    from puhui import clock
    from puhui.eod.dates import parse_date
    from puhui.risk.errors import MissingLabel
    from puhui.risk.scoring.platform import platform_dataset

    if as_of is None or labels is None:
        raise typer.BadParameter("--platform needs --as-of and --labels")
    day = parse_date(as_of, "--as-of")
    at = clock.day_bounds(day)[1] - 1  # the date's last microsecond
    with labels.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"customer_id", "bad"} <= set(rows[0]):
        raise MissingLabel(f"{labels} needs the columns customer_id and bad")
    return platform_dataset(engine, at, {r["customer_id"]: r["bad"] for r in rows})


@app.command()
def promote(model_id: int = typer.Argument(..., help="The model to make champion."), db: str = DbOption) -> None:
    """Make a model the champion of its name (the previous champion is retired)."""
    from puhui.db import transaction
    from puhui.risk.scoring import registry

    try:
        record = transaction(_engine(db), lambda uow: registry.promote(uow, model_id))
    except PuhuiError as error:
        _fail(error)
    _console().print(f"{record.name} v{record.version} (id {record.id}) is now champion")


@app.command()
def models(db: str = DbOption, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List registered credit models."""
    from puhui.db import reading
    from puhui.risk.scoring import registry

    with reading(_engine(db)) as connection:
        records = registry.list_models(connection)
    if as_json:
        print(json.dumps([r.as_json() for r in records]))
        return
    table = Table(title="credit models")
    for column in ("id", "name", "version", "kind", "status", "trained at", "CV AUC", "CV KS"):
        table.add_column(column)
    for r in records:
        table.add_row(
            str(r.id),
            r.name,
            str(r.version),
            r.kind,
            r.status,
            r.as_json()["trained_at"],
            _cv_mean(r.metrics, "auc"),
            _cv_mean(r.metrics, "ks"),
        )
    _console().print(table)


def _cv_mean(metrics: dict[str, Any], name: str) -> str:
    """A model's cross-validated mean of `name`, or "—" when it has none (a model registered without a
    validation, as the demo's starting platform model is)."""
    entry = metrics.get(name)
    mean = entry.get("mean") if isinstance(entry, dict) else None
    return "—" if mean is None else f"{mean:.4f}"


@app.command()
def score(
    applicant: Path = typer.Option(..., "--applicant", help="A JSON object of feature name to value."),
    model: int = typer.Option(None, "--model", help="Model id (default: the champion of --name)."),
    name: str = typer.Option(
        PLATFORM_MODEL,
        "--name",
        help=f"Model name: {PLATFORM_MODEL}, the platform's model (the demo's; `train --platform`), "
        "or one trained on a CSV (`train --data`: credit).",
    ),
    db: str = DbOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Score one applicant: score, PD, grade and the reasons that cost the most points."""
    from puhui.db import reading
    from puhui.risk.errors import MalformedApplicant
    from puhui.risk.scoring import service

    try:
        try:
            features = json.loads(applicant.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise MalformedApplicant(f"cannot read {applicant} as JSON: {error}") from error
        if isinstance(features, dict) and isinstance(features.get("features"), dict):
            features = features["features"]
        with reading(_engine(db)) as connection:
            result = service.score(connection, features, model, name)
    except PuhuiError as error:
        _fail(error)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    m = result["model"]
    _console().print(
        f"score [bold]{result['score']}[/bold]  PD {result['pd']}  grade [bold]{result['grade']}[/bold]"
        f"  ({m['name']} v{m['version']}, {m['kind']}, {m['status']})"
    )
    for number, reason in enumerate(result["reasons"], 1):
        _console().print(f"  {number}. {reason['text']}")
