"""Storage: engines from a URL, Core tables, Alembic migrations and the unit of work."""

from puhui.db.engine import create_engine_from_url, is_postgres
from puhui.db.uow import UnitOfWork, reading, transaction, unit_of_work

__all__ = ["create_engine_from_url", "is_postgres", "UnitOfWork", "reading", "transaction", "unit_of_work"]
