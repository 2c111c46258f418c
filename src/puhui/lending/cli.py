"""`puhui lending …`: end of day (日终) and loan products."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Online lending: end of day and loan products.")
products_app = typer.Typer(no_args_is_help=True, help="Loan products (as JSON data).")
app.add_typer(products_app, name="products")

DB = typer.Option(None, "--db", help="database URL (default: the configured one)")
PRODUCT_FILE = typer.Argument(..., exists=True, readable=True, help="the product as JSON")


def _fail(error: Exception) -> None:
    """A refusal in the one format of every command: `<code>: <one line>`, exit 2 (bad usage)."""
    from puhui.cli_errors import fail
    from puhui.errors import InvalidInput, PuhuiError

    fail(error if isinstance(error, PuhuiError) else InvalidInput(f"the product file is not JSON: {error}"))


@app.command()
def eod(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time)"), db: str | None = DB
) -> None:
    """Run end of day for DATE over every loan: accrual, overdue, penalties, classes, provisions; once.

    DATE must be over (before today) and not before the last date run; days skipped since then run first."""
    from puhui.cli_errors import fail
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.lending import eod as batch

    try:
        result = batch.run(_engine(db), parse_date(date, "--date"))
    except PuhuiError as error:
        fail(error)
    typer.echo(json.dumps(result.as_json()))


@products_app.command("list")
def list_products(db: str | None = DB) -> None:
    """Print every product as JSON."""
    from puhui.db import reading
    from puhui.lending import service

    with reading(_engine(db)) as connection:
        typer.echo(json.dumps(service.list_products(connection), ensure_ascii=False, indent=2))


@products_app.command("add")
def add_product(file: Path = PRODUCT_FILE, db: str | None = DB) -> None:
    """Add a product from a JSON file (refused when its annualized rate is above the cap)."""
    from puhui.db import transaction
    from puhui.errors import PuhuiError
    from puhui.lending import service

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        product = transaction(_engine(db), lambda uow: service.create_product(uow, data))
    except (PuhuiError, json.JSONDecodeError) as error:
        _fail(error)
        return
    typer.echo(json.dumps(product, ensure_ascii=False))


from puhui.cli_engine import engine_for as _engine  # noqa: E402 - at the end, with the command it registers
from puhui.lending.partners.cli import partner_file  # noqa: E402 - registered after the app exists

app.command("partner-file")(partner_file)
