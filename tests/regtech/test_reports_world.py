"""Helpers (no tests) for the report and dashboard tests: a small platform with customers and
merchants registered through the identity services; large transactions written as business rows at chosen
China times (the
wallet limits would refuse such amounts through the payment services)."""

from __future__ import annotations

import base64
import datetime as dt
from types import SimpleNamespace

from stdnum.cn import ric

from puhui import clock as clock_module
from puhui.db import transaction
from puhui.identity import customers as customer_ops
from puhui.identity import org
from puhui.identity.vault import Vault
from puhui.payments.tables import bank_orders, payments

VAULT = Vault.from_config(
    "k1:" + base64.urlsafe_b64encode(b"1" * 32).decode(), base64.urlsafe_b64encode(b"i" * 32).decode()
)
ADMIN = SimpleNamespace(id="admin", role="admin")
NAMES = ["张伟", "李娜", "王芳", "刘洋", "陈杰", "赵磊"]
CREDIT_CODES = ["91110000600037341L", "91310000MA1FL8XQ37"]


def china(day: str, hhmm: str = "10:00") -> int:
    return clock_module.to_micros(dt.datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=clock_module.CHINA))


class World:
    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.customers: list[str] = []
        self.merchants: list[str] = []
        self.n = 0

    def customer(self) -> str:
        i = len(self.customers)
        body = f"110105199001{i + 10:02d}{i + 100:03d}"
        data = customer_ops.prepare_registration(
            name=NAMES[i],
            id_number=body + ric.calc_check_digit(body + "0"),
            phone=f"1380000{i:04d}",
            password="correct horse battery",
        )
        self.customers.append(transaction(self.engine, lambda uow: customer_ops.register(uow, VAULT, data)))
        return self.customers[-1]

    def merchant(self) -> str:
        i = len(self.merchants)
        data = org.prepare_merchant(
            name=f"商店{i}",
            credit_code=CREDIT_CODES[i],
            settlement_account="6222020000000000059",
            settlement_holder="周丽",
            settlement_bank="工商银行上海分行",
        )
        mid, _ = transaction(self.engine, lambda uow: org.create_merchant(uow, VAULT, data, ADMIN))
        self.merchants.append(mid)
        return mid

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def payment(self, payer: str, payee: str, amount: int, at: int, kind: str = "p2p") -> str:
        pid = self._id("pay")
        row = {
            "id": pid,
            "kind": kind,
            "payer_id": payer,
            "payee_id": payee,
            "amount": amount,
            "fee": 0,
            "fee_rate_bp": 0,
            "refunded": 0,
            "fee_refunded": 0,
            "transfer_id": "t." + pid,
            "created_at": at,
        }
        transaction(self.engine, lambda uow: uow.execute(payments.insert().values(**row)))
        return pid

    def bank(self, customer: str, kind: str, amount: int, at: int, status: str = "posted") -> str:
        oid = self._id("bo")
        row = {
            "id": oid,
            "kind": kind,
            "customer_id": customer,
            "card_id": "card-1",
            "amount": amount,
            "hold_transfer_id": "h." + oid,
            "status": status,
            "created_at": at,
        }
        transaction(self.engine, lambda uow: uow.execute(bank_orders.insert().values(**row)))
        return oid
