"""`puhui identity …`: operator commands for the PII vault and staff bootstrap.

    puhui identity key-usage            how many sealed values each key id holds
    puhui identity rotate-keys          re-seal every value under the active (first) PUHUI_PII_KEYS key
    puhui identity generate-key         a fresh base64 AES-256 key for PUHUI_PII_KEYS / PUHUI_PII_INDEX_KEY
    puhui identity create-staff HANDLE --role admin   a staff member; prints the token once
    puhui identity reindex              recompute blind indexes under the first PUHUI_PII_INDEX_KEY ("new,old")
    puhui identity purge-retention      erase closed customers' identity data whose AML period is over

Rotation: put the new key first (`PUHUI_PII_KEYS="k2:…,k1:…"`), restart the servers, run
`rotate-keys`, check `key-usage` shows only k2, then drop k1 from the list.
"""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from puhui.cli_engine import engine_for as _engine
from puhui.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Customers' personal data: keys, rotation, staff.")
console = Console()
DbOption = typer.Option(None, "--db", help="Database URL (default: PUHUI_DATABASE_URL or SQLite in the user data dir).")


@app.command("generate-key")
def generate_key() -> None:
    """Print a new random 256-bit key (base64)."""
    from puhui.identity.vault import generate_key as new_key

    print(new_key())


@app.command("key-usage")
def key_usage(db: str = DbOption) -> None:
    """Count sealed values per key id."""
    from puhui.db import reading
    from puhui.identity.pii import key_usage as usage
    from puhui.identity.pii import vault_for

    vault = vault_for(get_settings())
    with reading(_engine(db)) as connection:
        counts = usage(connection, vault)
    table = Table(title=f"sealed values by key (active: {vault.active})")
    table.add_column("key id")
    table.add_column("values", justify="right")
    for kid, count in sorted(counts.items()):
        table.add_row(kid, str(count))
    console.print(table)


@app.command("rotate-keys")
def rotate_keys(db: str = DbOption, batch_size: int = typer.Option(200, min=1, help="Rows per transaction.")) -> None:
    """Re-seal every personal field still under an older key with the active key."""
    from sqlalchemy import func, select

    from puhui.db import reading
    from puhui.identity.pii import SEALED, vault_for
    from puhui.identity.pii import rotate_keys as rotate

    vault = vault_for(get_settings())
    engine = _engine(db)
    with reading(engine) as connection:
        total = sum(connection.execute(select(func.count()).select_from(s.table)).scalar_one() for s in SEALED)
    with Progress(
        TextColumn("re-sealing"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rows"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("rotate", total=total)
        report = rotate(engine, vault, batch_size=batch_size, progress=lambda n: progress.advance(task, n))
    console.print(
        f"[green]rotated[/green]: {report.resealed} values re-sealed under [bold]{vault.active}[/bold] "
        f"in {report.rows} rows {report.by_table}"
    )


@dataclass(frozen=True)
class _Operator:
    id: str = "cli"
    role: str = "admin"


@app.command("create-staff")
def create_staff(
    handle: str,
    role: str = typer.Option(..., help="operator, risk_officer, regulator or admin"),
    db: str = DbOption,
) -> None:
    """Add a staff member and print their token (shown this once)."""
    from puhui.db import transaction
    from puhui.identity.org import create_staff as create

    staff_id, token = transaction(_engine(db), lambda uow: create(uow, handle, role, _Operator()))
    console.print(f"staff [bold]{staff_id}[/bold] ({role}); token, shown once:")
    print(token)


@app.command("purge-retention")
def purge_retention(db: str = DbOption) -> None:
    """Erase the identity data of closed customers whose AML retention period (5 years) is over."""
    from puhui.db import transaction
    from puhui.identity.retention import purge_expired

    purged = transaction(_engine(db), purge_expired)
    console.print(f"erased the retained identity data of {purged} closed customer(s)")


@app.command()
def reindex(db: str = DbOption) -> None:
    """Recompute blind indexes (phone, ID number, card) under the first PUHUI_PII_INDEX_KEY."""
    from puhui.identity.pii import reindex as run
    from puhui.identity.pii import vault_for

    changed = run(_engine(db), vault_for(get_settings()))
    console.print(f"re-indexed {changed} value(s); when this prints 0, drop the old index key from the setting")
