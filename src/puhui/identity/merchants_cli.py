"""`puhui merchants …`: operator commands for merchants (商户).

    puhui merchants list                       id, name, status and fee rate of every merchant
    puhui merchants show MERCHANT_ID           one merchant (settlement account masked)
    puhui merchants set-fee MERCHANT_ID 38     the fee rate in basis points (--default: platform rate)
    puhui merchants suspend MERCHANT_ID        no new payments, no settlement; `activate` undoes it

Each change is one unit of work with its event, done as the staff member given by --as.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.table import Table

from puhui.cli_engine import engine_for as _engine
from puhui.cli_errors import fail
from puhui.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Merchants: list, inspect, fee rates, suspension.")
console = Console()
DbOption = typer.Option(None, "--db", help="Database URL (default: PUHUI_DATABASE_URL or SQLite in the user data dir).")
AsOption = typer.Option("cli", "--as", help="Who is acting (recorded in the event).")


@dataclass(frozen=True)
class _Operator:
    id: str
    role: str = "operator"


@app.command("list")
def list_merchants(db: str = DbOption) -> None:
    """Every merchant with its status and fee rate."""
    from puhui.db import reading
    from puhui.identity.org import list_merchants as rows_of

    default = get_settings().merchant_fee_bp
    with reading(_engine(db)) as connection:
        rows = rows_of(connection, default)
    table = Table(title=f"merchants (platform fee rate {default} bp)")
    for column in ("id", "name", "status", "fee rate (bp)"):
        table.add_column(column)
    for row in rows:
        rate = f"{default} (default)" if row["fee_rate_bp"] is None else str(row["fee_rate_bp"])
        table.add_row(row["id"], row["name"], row["status"], rate)
    console.print(table)


@app.command()
def show(merchant_id: str, db: str = DbOption) -> None:
    """One merchant as JSON, settlement account masked."""
    from puhui.db import reading
    from puhui.identity.org import merchant_view
    from puhui.identity.pii import vault_for

    with reading(_engine(db)) as connection:
        settings = get_settings()
        view = merchant_view(connection, vault_for(settings), merchant_id, settings.merchant_fee_bp)
        print(json.dumps(view, ensure_ascii=False))


@app.command("set-fee")
def set_fee(
    merchant_id: str,
    fee_rate_bp: int = typer.Argument(None, help="basis points, 0-1000"),
    default: bool = typer.Option(False, "--default", help="Use the platform default rate."),
    db: str = DbOption,
    actor: str = AsOption,
) -> None:
    """Set the merchant's acquiring fee rate (商户费率)."""
    if (fee_rate_bp is None) != default:
        raise typer.BadParameter("give a rate in basis points or --default, not both")
    _change(db, lambda uow, org: org.set_fee_rate(uow, merchant_id, fee_rate_bp, _Operator(actor)))


@app.command()
def suspend(merchant_id: str, db: str = DbOption, actor: str = AsOption) -> None:
    """Stop new payments to the merchant and its settlement."""
    _change(db, lambda uow, org: org.set_merchant_status(uow, merchant_id, "suspended", _Operator(actor)))


@app.command()
def activate(merchant_id: str, db: str = DbOption, actor: str = AsOption) -> None:
    """Let a suspended merchant take payments again."""
    _change(db, lambda uow, org: org.set_merchant_status(uow, merchant_id, "active", _Operator(actor)))


def _change(db: str | None, change) -> None:
    from puhui.db import transaction
    from puhui.errors import PuhuiError
    from puhui.identity import org

    try:
        result = transaction(_engine(db), lambda uow: change(uow, org))
    except PuhuiError as error:
        fail(error)
    print(json.dumps(result))
