"""Claims as the reserves read them (赔案数据), from `puhui.insurance.claims.queries`:
`claim_payments(connection, through)` and `open_claims(connection, through)`. Until the claims module
is present the book has no claims (nothing paid, nothing open), so premium accounting runs alone.

A claim's amounts arrive as Decimal yuan (元) and are kept here in fen."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import Any

from sqlalchemy import Connection

from puhui.insurance.reserves.models import Payment

CLAIMS_QUERIES = "puhui.insurance.claims.queries"


@dataclass(frozen=True, slots=True)
class OpenClaimFigure:
    """An open claim: its insurer, when reported (报案) and its case estimate (估损) in fen."""

    insurer_id: str
    reported_date: dt.date
    case_estimate: int


def _queries() -> ModuleType | None:
    try:
        return importlib.import_module(CLAIMS_QUERIES)
    except ModuleNotFoundError as missing:
        if missing.name is not None and CLAIMS_QUERIES.startswith(missing.name):
            return None
        raise


def claims_present() -> bool:
    return _queries() is not None


def to_fen(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).to_integral_exact())


def payments_by_insurer(connection: Connection, through: dt.date) -> dict[str, list[Payment]]:
    """Every claim payment made by the end of `through`, by insurer."""
    queries = _queries()
    found: dict[str, list[Payment]] = {}
    rows: list[Any] = [] if queries is None else list(queries.claim_payments(connection, through))
    for row in rows:
        found.setdefault(str(row.insurer_id), []).append(Payment(row.accident_date, row.paid_date, to_fen(row.amount)))
    return found


def open_claims_by_insurer(connection: Connection, through: dt.date) -> dict[str, list[OpenClaimFigure]]:
    """The claims open at the end of `through`, by insurer."""
    queries = _queries()
    found: dict[str, list[OpenClaimFigure]] = {}
    rows: list[Any] = [] if queries is None else list(queries.open_claims(connection, through))
    for row in rows:
        figure = OpenClaimFigure(str(row.insurer_id), row.reported_date, to_fen(row.case_estimate))
        found.setdefault(figure.insurer_id, []).append(figure)
    return found
