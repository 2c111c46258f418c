"""Alembic migrations on SQLite and PostgreSQL: empty -> head, head -> base -> head, step by step,
and the migrated schema matches `puhui.db.tables.metadata`."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from puhui.db import create_engine_from_url
from puhui.db.migrate import alembic_config, current_revision, upgrade
from puhui.db.tables import metadata

REQUIRED_CODES = {"customer_wallet", "merchant_wallet", "reserve_bank", "fee_income", "suspense"}
SCHEMA_TABLES = {table.name for table in metadata.sorted_tables}


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations must have a single head, found {heads}"
    return heads[0]


def all_revisions() -> list[str]:
    """Revisions from base to head."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def downgrade(engine: Engine, revision: str) -> None:
    """Like `puhui.db.migrate.upgrade`, the other way."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def account_codes(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(text("SELECT code FROM account_codes")).scalars())


def assert_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert SCHEMA_TABLES <= tables(engine)
    assert REQUIRED_CODES <= account_codes(engine)


@pytest.fixture
def empty_engine(empty_db_url: str):  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(empty_db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_revisions_form_one_line_from_base_to_head() -> None:
    revisions = all_revisions()
    assert revisions and revisions[-1] == head_revision()
    assert len(set(revisions)) == len(revisions)


def test_upgrade_from_empty_to_head(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    assert not (SCHEMA_TABLES & tables(empty_engine))
    upgrade(empty_engine)
    assert_at_head(empty_engine)


def test_upgrade_twice_is_a_no_op(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        before = connection.execute(text("SELECT count(*) FROM accounts")).scalar_one()
    upgrade(empty_engine)
    assert_at_head(empty_engine)
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM accounts")).scalar_one() == before


def test_chart_of_accounts_and_platform_accounts(engine: Engine) -> None:
    with engine.connect() as connection:
        chart = {
            row.code: (row.category, row.normal_side)
            for row in connection.execute(text("SELECT code, category, normal_side FROM account_codes"))
        }
        ledgers = set(connection.execute(text("SELECT code FROM ledgers")).scalars())
        platform = connection.execute(
            text("SELECT id, ledger, code, flags FROM accounts WHERE owner_id = 'platform'")
        ).all()
    assert REQUIRED_CODES <= chart.keys()
    assert chart["customer_wallet"] == ("liability", "credit")
    assert chart["merchant_wallet"] == ("liability", "credit")
    assert chart["reserve_bank"] == ("asset", "debit")
    assert chart["fee_income"] == ("income", "credit")
    assert chart["suspense"] == ("asset", "debit")
    assert {category for category, _ in chart.values()} <= {"asset", "liability", "equity", "income", "expense"}
    assert {side for _, side in chart.values()} <= {"debit", "credit"}
    assert "CNY" in ledgers
    # every platform account sits on a known ledger and a known code, and reserve cash cannot go negative
    assert platform
    for account_id, ledger, code, _flags in platform:
        assert ledger in ledgers and code in chart
        assert account_id == f"platform.{code}.{ledger}"
    assert {(ledger, flags) for _, ledger, code, flags in platform if code == "reserve_bank"} >= {("CNY", 2)}


def test_downgrade_to_base_and_upgrade_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert_at_head(empty_engine)
    downgrade(empty_engine, "base")
    assert current_revision(empty_engine) is None
    assert tables(empty_engine) <= {"alembic_version"}
    upgrade(empty_engine)
    assert_at_head(empty_engine)


def test_every_revision_downgrades_and_upgrades_step_by_step(empty_engine: Engine) -> None:
    """The stairway: up one, down one, up one again, for each revision."""
    previous: str | None = None
    for revision in all_revisions():
        upgrade(empty_engine, revision)
        assert current_revision(empty_engine) == revision
        downgrade(empty_engine, previous or "base")
        assert current_revision(empty_engine) == previous
        upgrade(empty_engine, revision)
        assert current_revision(empty_engine) == revision
        previous = revision
    assert_at_head(empty_engine)


def test_migrated_schema_matches_the_table_metadata(engine: Engine) -> None:
    """No drift between `puhui.db.tables` and what the migrations build (autogenerate sees nothing)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


@pytest.mark.parametrize("attempt", ["first", "second"])
def test_each_test_gets_a_fresh_database(engine: Engine, attempt: str) -> None:
    """Whichever of the two runs first, the other must not see its row."""
    assert_at_head(engine)
    with engine.begin() as connection:
        assert (
            connection.execute(text("SELECT count(*) FROM accounts WHERE owner_id = 'fixture-probe'")).scalar_one() == 0
        )
        assert connection.execute(text("SELECT count(*) FROM transfers")).scalar_one() == 0
        connection.execute(
            text(
                "INSERT INTO accounts (id, ledger, code, owner_id, flags, created_at) "
                "VALUES (:id, 'CNY', 'customer_wallet', 'fixture-probe', 0, 0)"
            ),
            {"id": f"probe-{attempt}"},
        )


def test_pg_url_is_a_fresh_migrated_postgresql_database(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://")
    engine = create_engine_from_url(pg_url)
    try:
        assert engine.dialect.name == "postgresql"
        assert_at_head(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM transfers")).scalar_one() == 0
    finally:
        engine.dispose()
