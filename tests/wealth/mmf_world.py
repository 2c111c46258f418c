"""A small platform for the money-market fund tests, built through the real services."""

from __future__ import annotations

import base64
import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select
from stdnum.cn import ric

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.identity import customers as customer_ops
from puhui.identity import kyc, org
from puhui.identity.models import VerificationChannel
from puhui.identity.service import customer_wallet_id
from puhui.identity.vault import Vault
from puhui.ledger.audit import audit
from puhui.ledger.tables import accounts
from puhui.payments import service, wallets
from puhui.payments.bank.channel import OrderKind, OrderState
from puhui.payments.models import QrKind
from puhui.wealth import units as funds
from puhui.wealth.mmf import service as mmf

VAULT = Vault.from_config(
    "k1:" + base64.urlsafe_b64encode(b"1" * 32).decode(), base64.urlsafe_b64encode(b"i" * 32).decode()
)
ADMIN = SimpleNamespace(id="admin", role="admin")
CREDIT_CODES = ["91110000600037341L", "91310000MA1FL8XQ37"]
FUND = "PH0001"
CHINA = clock_module.CHINA


def _id_number(n: int) -> str:
    body = f"1101051990{1 + n // 28:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def at(day: str, hhmm: str = "10:00") -> dt.datetime:
    """A China-time moment."""
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=CHINA)


def over(day: str | dt.date, hhmm: str = "00:05") -> dt.datetime:
    """A China-time moment once `day` is over (the next day at `hhmm`): when its end of day may run."""
    return at((dt.date.fromisoformat(str(day)) + dt.timedelta(days=1)).isoformat(), hhmm)


class World:
    def __init__(self, engine, clock) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.clock = engine, clock
        self.n = 0
        self.people = 0
        self.qr: dict[str, str] = {}

    def run(self, work):  # type: ignore[no-untyped-def]
        return transaction(self.engine, work)

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    def customer(self, channels: int = 5, fen: int = 0) -> str:
        i = self.people
        self.people += 1
        data = customer_ops.prepare_registration(
            name="张伟", id_number=_id_number(i), phone=f"1390000{i:04d}", password="correct horse battery"
        )
        cid = self.run(lambda uow: customer_ops.register(uow, VAULT, data))
        for channel in list(VerificationChannel)[:channels]:
            self.run(lambda uow, c=channel: kyc.record_verification(uow, cid, c, f"R-{cid}-{c}", True, ADMIN))
        self.run(lambda uow: kyc.upgrade_tier(uow, cid, ADMIN, "verified"))
        if fen:
            self.top_up(cid, fen)
        return cid

    def top_up(self, cid: str, fen: int) -> None:
        row = self.run(lambda uow: wallets.open_order(uow, cid, "card-1", OrderKind.debit_card, fen, self.key()))
        self.run(lambda uow: wallets.finish(uow, row["id"], OrderState.succeeded, fen, OrderKind.debit_card))

    def merchant(self) -> str:
        i = len(self.qr)
        data = org.prepare_merchant(
            name=f"商店{i}",
            credit_code=CREDIT_CODES[i],
            settlement_account="6222020000000000059",
            settlement_holder="周丽",
            settlement_bank="工商银行上海分行",
        )
        mid, _ = self.run(lambda uow: org.create_merchant(uow, VAULT, data, ADMIN))
        self.qr[mid] = self.run(lambda uow: service.create_qr(uow, mid, QrKind.static, None, 0, None))["id"]
        return mid

    def subscribe(self, cid: str, fen: int, fund: str = FUND) -> dict:
        return self.run(lambda uow: mmf.subscribe(uow, cid, fund, fen, self.key()))[0]

    def redeem(self, cid: str, units: int, fast: bool = False, fund: str = FUND) -> dict:
        return self.run(lambda uow: mmf.redeem(uow, cid, fund, units, self.key(), fast))[0]

    def units(self, cid: str, fund: str = FUND) -> int:
        with reading(self.engine) as connection:
            return funds.units_held(connection, fund, cid)

    def wallet(self, cid: str) -> int:
        return self.balance(customer_wallet_id(cid))

    def balance(self, account_id: str) -> int:
        with reading(self.engine) as connection:
            row = connection.execute(select(accounts).where(accounts.c.id == account_id)).mappings().one()
        return row["credits_posted"] - row["debits_posted"]

    def audit_ok(self) -> bool:
        with reading(self.engine) as connection:
            report = audit(connection)
        assert report.ok, report.violations
        return True
