"""A small lending world for tests: products, customers with funded wallets, loans made through the
services, end of day run day by day."""

from __future__ import annotations

import datetime as dt

from puhui.db import reading, transaction
from puhui.ledger.models import AccountFlags, Transfer
from puhui.ledger.service import create_account, create_transfers, get_account
from puhui.lending import eod, repayments, service
from puhui.payments import reserve

MONTHLY = {
    "code": "cash-12",
    "name": "现金贷 12期",
    "min_amount": "1000.00",
    "max_amount": "50000.00",
    "min_term": 6,
    "max_term": 12,
    "method": "equal_instalments",
    "annual_rate": "0.18",
    "upfront_fee_rate": "0.01",
    "grace_days": 3,
    "penalty_annual_rate": "0.24",  # 罚息 at most the 24% cap, as the contract rate
    "early_repayment_fee_rate": "0.01",
}
INTEREST_FIRST = {
    "code": "biz-6",
    "name": "经营贷 先息后本",
    "min_amount": "5000.00",
    "max_amount": "100000.00",
    "min_term": 3,
    "max_term": 6,
    "method": "interest_first",
    "annual_rate": "0.12",
    "penalty_annual_rate": "0.18",
}

INCOME = 900_000_00  # fen a year a test borrower declares: a third is the single-borrower cap (300,000.00)


class World:
    def __init__(self, engine, clock) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.clock = engine, clock
        self.n = 0
        self.resume: dt.datetime | None = None  # where the last end of day moved the clock from
        self.run(lambda uow: reserve.inject_capital(uow, "capital.test", 100_000_000_00))  # what the platform lends

    def run(self, work):  # type: ignore[no-untyped-def]
        return transaction(self.engine, work)

    def customer(self, funds: int = 10_000_000) -> str:
        self.n += 1
        cid = f"c{self.n:04d}"

        def work(uow):  # type: ignore[no-untyped-def]
            create_account(
                uow,
                ledger="CNY",
                code="customer_wallet",
                owner_id=cid,
                flags=AccountFlags.debits_must_not_exceed_credits,
                id=f"wallet.{cid}",
            )
            results = create_transfers(
                uow, [Transfer(f"fund.{cid}", "platform.reserve_bank.CNY", f"wallet.{cid}", funds, "CNY", "top_up")]
            )
            assert [r.value for r in results] == ["ok"]

        self.run(work)
        return cid

    def product(self, data: dict) -> dict:
        return self.run(lambda uow: service.create_product(uow, data))

    def loan(self, cid: str, product: str, amount: int, term: int, income: int | None = INCOME) -> str:
        """A loan through application, offer and acceptance; the customer declares `income` (None: the
        income on file)."""
        application = self.run(lambda uow: service.apply(uow, cid, product, amount, term, income))
        assert application["decision"] == "approved", application
        offer = self.run(lambda uow: service.make_offer(uow, application["id"], cid))
        loan = self.run(lambda uow: service.accept(uow, offer["id"], cid))
        return loan["id"]

    def repay(self, loan_id: str, cid: str, amount: int | None = None, kind: str = "scheduled") -> dict:
        return self.run(lambda uow: repayments.repay(uow, loan_id, cid, amount, kind))

    def eod(self, date: dt.date | None = None) -> eod.EodResult:
        """End of day for `date` (default: today), run once the day is over: the clock moves on to its end
        (China midnight) when it is not there yet; `next_day` then resumes at the time of day it left."""
        from puhui import clock

        day = date or self.today()
        end = clock.china_midnight(day + dt.timedelta(days=1))
        if self.clock.now() < end:
            self.resume = self.resume or self.clock.now()
            self.clock.set(end)
        return eod.run(self.engine, day)

    def today(self) -> dt.date:
        from puhui import clock

        return clock.business_date()

    def next_day(self) -> None:
        """The next day at the time of day of the last one (where an end of day moved the clock from)."""
        if self.resume is None:
            self.clock.advance(days=1)
        else:
            self.clock.set(max(self.clock.now(), self.resume + dt.timedelta(days=1)))
            self.resume = None

    def wallet(self, cid: str) -> int:
        with reading(self.engine) as connection:
            account = get_account(connection, f"wallet.{cid}")
            return account.credits_posted - account.debits_posted


def day_over(clock, day: dt.date | None = None) -> dt.date:  # type: ignore[no-untyped-def]
    """`day` (default: today) once it is over: the clock moves on to 00:05 China time of the next day when it is
    not past that already, so that the day's end of day may run (over HTTP or a command)."""
    from puhui import clock as clock_module

    day = day or clock_module.business_date()
    moment = clock_module.china_midnight(day + dt.timedelta(days=1)) + dt.timedelta(minutes=5)
    if clock.now() < moment:
        clock.set(moment)
    return day


def snapshot(engine) -> dict:  # type: ignore[no-untyped-def]
    """Every lending row, every account with its balances, and the transfer and event counts."""
    from sqlalchemy import func, select

    from puhui.db.tables import outbox
    from puhui.ledger.tables import accounts, transfers
    from puhui.lending.tables import LENDING_TABLES

    with engine.connect() as connection:
        state = {t.name: sorted(map(tuple, connection.execute(select(t)).all()), key=repr) for t in LENDING_TABLES}
        state["accounts"] = connection.execute(select(accounts).order_by(accounts.c.id)).all()
        state["transfers"] = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
        state["outbox"] = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
    return state
