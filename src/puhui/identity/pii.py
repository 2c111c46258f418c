"""Personal information at rest: which columns are sealed, under which field names, the clear-access
log (个人信息访问日志), and key rotation (re-sealing rows still under an old key).

Every sealed value's associated data names its field and its owner row, so the `FIELD_*` names
below are part of the stored format: change one and the values under it no longer open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, Table, select, update

from puhui import clock
from puhui.db import UnitOfWork, transaction
from puhui.identity.models import Actor
from puhui.identity.tables import (
    aml_retention,
    aml_retention_cards,
    bank_cards,
    customers,
    merchants,
    pii_access_log,
)
from puhui.identity.vault import Vault, vault_from_config
from puhui.settings import Settings

FIELD_NAME = "customer.name"
FIELD_ID_NUMBER = "customer.id_number"
FIELD_PHONE = "customer.phone"
FIELD_ADDRESS = "customer.address"
FIELD_CARD = "card.number"
FIELD_SETTLEMENT_ACCOUNT = "merchant.settlement_account"
FIELD_SETTLEMENT_HOLDER = "merchant.settlement_holder"
# the blind indexes' domains (盲索引): a phone, an ID number and a card number are looked up by these
INDEX_ID_NUMBER = "id_number"
INDEX_PHONE = "phone"
INDEX_CARD = "card_number"


def vault_for(settings: Settings) -> Vault:
    """The configured vault, or `VaultNotConfigured` (a 500 problem): keys are never invented here."""
    return vault_from_config(settings.pii_keys, settings.pii_index_key)


def card_owner(customer_id: str, card_id: str) -> str:
    return f"{customer_id}/{card_id}"


@dataclass(frozen=True)
class SealedColumns:
    table: Table
    columns: tuple[tuple[str, str], ...]  # (column, field name)
    owner: Callable[[dict], str]


SEALED = (
    SealedColumns(
        aml_retention,
        (
            ("name_sealed", FIELD_NAME),
            ("id_number_sealed", FIELD_ID_NUMBER),
            ("phone_sealed", FIELD_PHONE),
            ("address_sealed", FIELD_ADDRESS),
        ),
        lambda row: row["customer_id"],
    ),
    SealedColumns(
        aml_retention_cards, (("card_sealed", FIELD_CARD),), lambda row: card_owner(row["customer_id"], row["card_id"])
    ),
    SealedColumns(
        customers,
        (
            ("name_sealed", FIELD_NAME),
            ("id_number_sealed", FIELD_ID_NUMBER),
            ("phone_sealed", FIELD_PHONE),
            ("address_sealed", FIELD_ADDRESS),
        ),
        lambda row: row["id"],
    ),
    SealedColumns(bank_cards, (("card_sealed", FIELD_CARD),), lambda row: card_owner(row["customer_id"], row["id"])),
    SealedColumns(
        merchants,
        (
            ("settlement_account_sealed", FIELD_SETTLEMENT_ACCOUNT),
            ("settlement_holder_sealed", FIELD_SETTLEMENT_HOLDER),
        ),
        lambda row: row["id"],
    ),
)


# -- access log -----------------------------------------------------------------------------------


def log_access(
    uow: UnitOfWork, actor: Actor, subject: str, fields: Iterable[str], purpose: str, request_id: str | None = None
) -> None:
    """Record one clear access to personal information: who, in what role, whose, which fields, why."""
    uow.execute(
        pii_access_log.insert().values(
            at=clock.now_micros(),
            principal=actor.id,
            role=str(actor.role),
            subject=subject,
            fields=",".join(sorted(fields))[:256],
            purpose=purpose[:256],
            request_id=(request_id or "")[:64] or None,
        )
    )


def access_log(connection: Connection, *, subject: str | None = None, after: int = 0, limit: int = 100) -> list[dict]:
    query = select(pii_access_log).where(pii_access_log.c.seq > after).order_by(pii_access_log.c.seq).limit(limit)
    if subject is not None:
        query = query.where(pii_access_log.c.subject == subject)
    return [
        {
            "seq": row["seq"],
            "at": clock.from_micros(row["at"]).isoformat(),
            "principal": row["principal"],
            "role": row["role"],
            "subject": row["subject"],
            "fields": row["fields"].split(",") if row["fields"] else [],
            "purpose": row["purpose"],
            "request_id": row["request_id"],
        }
        for row in connection.execute(query).mappings()
    ]


# -- key rotation ---------------------------------------------------------------------------------


@dataclass
class RotationReport:
    rows: int = 0  # rows looked at
    resealed: int = 0  # values moved to the active key
    by_table: dict[str, int] = field(default_factory=dict)


def key_usage(connection: Connection, vault: Vault) -> Counter:
    """How many sealed values each key id holds."""
    usage: Counter = Counter()
    for spec in SEALED:
        for column, _ in spec.columns:
            for (value,) in connection.execute(select(spec.table.c[column]).where(spec.table.c[column].is_not(None))):
                usage[vault.key_id(value)] += 1
    return usage


def rotate_keys(
    engine: Engine, vault: Vault, *, batch_size: int = 200, progress: Callable[[int], None] | None = None
) -> RotationReport:
    """Re-seal every value not under the active key, a batch of rows per transaction. Rows are
    locked while re-sealed, so a concurrent closure's erasure is never overwritten. Safe to rerun."""
    report = RotationReport()
    for spec in SEALED:
        last: str | None = None
        while True:
            done, last = transaction(engine, lambda uow: _rotate_batch(uow, vault, spec, last, batch_size))
            report.rows += done[0]
            report.resealed += done[1]
            report.by_table[spec.table.name] = report.by_table.get(spec.table.name, 0) + done[1]
            if progress:
                progress(done[0])
            if done[0] < batch_size:
                break
    return report


def _rotate_batch(
    uow: UnitOfWork, vault: Vault, spec: SealedColumns, after: str | None, size: int
) -> tuple[tuple[int, int], str | None]:
    table = spec.table
    key = next(iter(table.primary_key.columns))
    query = select(table).order_by(key).limit(size).with_for_update()
    if after is not None:
        query = query.where(key > after)
    rows = uow.execute(query).mappings().all()
    resealed = 0
    for row in rows:
        changes = {}
        for column, name in spec.columns:
            value = row[column]
            if value is not None and vault.needs_rotation(value):
                changes[column] = vault.reseal(value, field=name, owner=spec.owner(row))
        if changes:
            uow.execute(update(table).where(key == row[key.name]).values(**changes))
            resealed += len(changes)
    return (len(rows), resealed), (rows[-1][key.name] if rows else after)


def reindex(engine: Engine, vault: Vault, *, batch_size: int = 200) -> int:
    """Recompute every blind index under the vault's current index key (after `PUHUI_PII_INDEX_KEY`
    became "new,old"); rows are locked while re-indexed. Returns how many indexes changed. Safe to
    rerun; once it returns 0 the old key can be dropped from the setting."""
    specs = (
        (
            customers,
            customers.c.id,
            (
                ("phone_sealed", "phone_index", FIELD_PHONE, INDEX_PHONE),
                ("id_number_sealed", "id_number_index", FIELD_ID_NUMBER, INDEX_ID_NUMBER),
            ),
            lambda row: row["id"],
        ),
        (
            bank_cards,
            bank_cards.c.id,
            (("card_sealed", "card_index", FIELD_CARD, INDEX_CARD),),
            lambda row: card_owner(row["customer_id"], row["id"]),
        ),
    )
    changed = 0
    for table, key, columns, owner in specs:
        last = ""
        while True:

            def batch(uow: UnitOfWork, after: str = last) -> tuple[int, str | None]:
                rows = (
                    uow.execute(select(table).where(key > after).order_by(key).limit(batch_size).with_for_update())
                    .mappings()
                    .all()
                )
                count = 0
                for row in rows:
                    values = {}
                    for sealed, index, sealed_field, index_field in columns:
                        if row[sealed] is None:
                            continue
                        clear = vault.open(row[sealed], field=sealed_field, owner=owner(row))
                        fresh = vault.blind_index(clear, field=index_field)
                        if fresh != row[index]:
                            values[index] = fresh
                    if values:
                        uow.execute(update(table).where(key == row["id"]).values(**values))
                        count += len(values)
                return count, rows[-1]["id"] if rows else None

            count, last_seen = transaction(engine, batch)
            changed += count
            if last_seen is None:
                break
            last = last_seen
    return changed
