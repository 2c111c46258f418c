"""Races through the services, threads released together by a barrier, on SQLite and PostgreSQL:
a receivable is financed once, and confirmations never take a core enterprise past its limit."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from sqlalchemy import select

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.errors import PuhuiError
from puhui.ledger.audit import audit
from puhui.ledger.models import AccountFlags
from puhui.ledger.service import create_account
from puhui.ledger.tables import accounts
from puhui.payments import reserve
from puhui.supplychain import service
from puhui.supplychain.tables import sc_receivables


def merchants(engine, *ids: str) -> None:  # type: ignore[no-untyped-def]
    """Bare merchant wallets and rows, enough for supply-chain finance (identity is tested elsewhere)."""
    from puhui.identity.tables import merchants as table

    def work(uow):  # type: ignore[no-untyped-def]
        for mid in ids:
            create_account(
                uow,
                ledger="CNY",
                code="merchant_wallet",
                owner_id=mid,
                flags=AccountFlags.debits_must_not_exceed_credits,
                id=f"wallet.{mid}",
            )
            uow.execute(
                table.insert().values(
                    id=mid,
                    name=mid,
                    credit_code=mid.upper().ljust(18, "0")[:18],
                    settlement_account_sealed="x",
                    settlement_holder_sealed="x",
                    settlement_bank="bank",
                    status="active",
                    wallet_account_id=f"wallet.{mid}",
                    created_by="admin",
                    created_at=0,
                )
            )

    transaction(engine, work)
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.test", 10_000_000_00))


def race(n: int, job):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)

    def run(i: int) -> str:
        barrier.wait()
        try:
            job(i)
            return "ok"
        except PuhuiError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=n) as pool:
        return sorted(pool.map(run, range(n)))


def test_a_receivable_is_financed_once_under_a_race(engine, clock) -> None:  # type: ignore[no-untyped-def]
    merchants(engine, "core1", "sup1")
    transaction(engine, lambda uow: service.register_core(uow, "core1", 10_000_000, Decimal("0.05"), "admin"))
    row, _ = transaction(
        engine,
        lambda uow: service.confirm(
            uow, "core1", "sup1", 3_600_000, clock_module.business_date() + dt.timedelta(days=72), "I1"
        ),
    )
    outcomes = race(6, lambda i: transaction(engine, lambda uow: service.finance(uow, "sup1", row["id"])))
    assert outcomes == ["ok"] + ["receivable_already_financed"] * 5
    with reading(engine) as connection:
        wallet = connection.execute(
            select(accounts.c.credits_posted).where(accounts.c.id == "wallet.sup1")
        ).scalar_one()
        assert audit(connection).ok
    assert wallet == 3_600_000 - 36_000  # 36,000.00 × 5% × 72 / 360 = 360.00


def test_confirmations_racing_for_the_limit_never_exceed_it(engine, clock) -> None:  # type: ignore[no-untyped-def]
    merchants(engine, "core2", "sup2")
    transaction(engine, lambda uow: service.register_core(uow, "core2", 1_000_00, Decimal("0.05"), "admin"))
    maturity = clock_module.business_date() + dt.timedelta(days=30)
    outcomes = race(
        8, lambda i: transaction(engine, lambda uow: service.confirm(uow, "core2", "sup2", 300_00, maturity, f"I-{i}"))
    )
    assert outcomes.count("ok") == 3 and outcomes.count("credit_limit_exceeded") == 5
    with reading(engine) as connection:
        core = service.get_core(connection, "core2")
        faces = connection.execute(select(sc_receivables.c.face).where(sc_receivables.c.core_id == "core2")).scalars()
        assert core["used"] == sum(faces) == 900_00
