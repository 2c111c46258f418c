"""Alembic environment: runs on the connection or URL that `puhui.db.migrate` hands over."""

from __future__ import annotations

from alembic import context

import puhui.eod.tables  # noqa: F401,E402
import puhui.identity.tables  # noqa: F401,E402 - registers the identity tables on `metadata`
import puhui.insurance.claims.tables  # noqa: F401,E402
import puhui.insurance.reserves.tables  # noqa: F401,E402
import puhui.insurance.returns.tables  # noqa: F401,E402
import puhui.insurance.settlement.tables  # noqa: F401,E402
import puhui.insurance.tables  # noqa: F401,E402
import puhui.ledger.tables  # noqa: F401,E402 - registers the ledger's tables on `metadata`
import puhui.lending.lines.tables  # noqa: F401,E402
import puhui.lending.partners.tables  # noqa: F401,E402
import puhui.lending.tables  # noqa: F401,E402
import puhui.payments.challenge_tables  # noqa: F401,E402
import puhui.payments.settlement_tables  # noqa: F401,E402 - registers the settlement tables on `metadata`
import puhui.payments.tables  # noqa: F401,E402 - registers the payments tables on `metadata`
import puhui.regtech.reports_tables  # noqa: F401,E402
import puhui.regtech.tables  # noqa: F401,E402
import puhui.risk.features_tables  # noqa: F401,E402 - registers the risk tables on `metadata`
import puhui.risk.fraud.tables  # noqa: F401,E402
import puhui.risk.scoring.tables  # noqa: F401,E402
import puhui.sandbox.tables  # noqa: F401,E402
import puhui.securities.robo.tables  # noqa: F401,E402
import puhui.securities.tables  # noqa: F401,E402
import puhui.sim.tables  # noqa: F401,E402
import puhui.supplychain.tables  # noqa: F401,E402
import puhui.wealth.funds.tables  # noqa: F401,E402
import puhui.wealth.mmf.tables  # noqa: F401,E402
import puhui.wealth.suitability.tables  # noqa: F401,E402
from puhui.db.engine import create_engine_from_url
from puhui.db.tables import metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine_from_url(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
