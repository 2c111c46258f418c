"""Crafted event streams for the monitor, published through the real outbox with the payload shapes
the payment services use (p2p.completed, payment.succeeded with "payment", bank_order.posted)."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, select

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.db.tables import event_offsets
from puhui.events.outbox import publish
from puhui.regtech.monitor import CONSUMER
from puhui.regtech.tables import monitor_alerts, monitor_flows

UTC = dt.UTC
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()


@contextmanager
def app_client(engine) -> Iterator:  # type: ignore[no-untyped-def]
    """A test client of the whole app (the admin token of tests.identity.helpers)."""
    from fastapi.testclient import TestClient

    from puhui.app import create_app
    from puhui.settings import Settings
    from tests.identity.helpers import ADMIN_TOKEN

    settings = Settings(
        admin_token=ADMIN_TOKEN, pii_keys=f"k1:{K1}", pii_index_key=INDEX_KEY, jwt_secret="j" * 48, jwt_ttl_seconds=900
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as client:
        yield client


_ids = itertools.count(1)


class Stream:
    def __init__(self, engine, clock) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.clock = engine, clock

    def at_china(self, day: int, hour: int, minute: int = 0) -> None:
        """Move the clock to `hour:minute` China time on 2026-01-(5 + day)."""
        local = dt.datetime(2026, 1, 5 + day, hour, minute, tzinfo=clock_module.CHINA)
        self.clock.set(local.astimezone(UTC))

    def later(self, **delta: float) -> None:
        self.clock.advance(dt.timedelta(**delta))

    def _payment(self, prefix: str, payer: str, payee: str, amount: str, kind: str) -> dict:
        return {
            "id": f"{prefix}{next(_ids)}",
            "kind": kind,
            "payer_id": payer,
            "payee_id": payee,
            "qr_code_id": None,
            "amount": amount,
            "fee": "0.00",
            "refunded": "0.00",
            "currency": "CNY",
            "created_at": clock_module.now_micros(),
            "device_id": None,
            "location": None,
        }

    def p2p(self, payer: str, payee: str, amount: str, **extra: object) -> None:
        body = {**self._payment("p2p_", payer, payee, amount, "p2p"), **extra}
        transaction(self.engine, lambda uow: publish(uow, "payments", "p2p.completed", body["id"], body))

    def qr(self, payer: str, merchant: str, amount: str) -> None:
        body = {
            "event": "payment.succeeded",
            "payment": self._payment("qrp_", payer, merchant, amount, "qr"),
            "signature": "x",
        }
        transaction(self.engine, lambda uow: publish(uow, "payments", "payment.succeeded", merchant, body))

    def loan(self, customer: str, principal: str, lenders: tuple[str, ...] = ("platform",)) -> None:
        body = {"id": f"ln_{next(_ids)}", "customer_id": customer, "principal": principal, "lenders": list(lenders)}
        transaction(self.engine, lambda uow: publish(uow, "lending", "lending.loan_disbursed", body["id"], body))

    def relate(self, lender: str, party: str) -> None:
        from puhui.regtech import related

        transaction(self.engine, lambda uow: related.add(uow, {"lender": lender, "party": party}, "test"))

    def bank(self, customer: str, kind: str, amount: str, **extra: object) -> None:
        body = {"order_id": f"tu_{next(_ids)}", "kind": kind, "amount": amount, "status": "posted", **extra}
        transaction(self.engine, lambda uow: publish(uow, "payments", "bank_order.posted", customer, body))


def tripping(s: Stream) -> set[tuple[str, str]]:
    """One scenario per rule; returns the (rule, party) pairs that must be alerted, and no others."""
    s.at_china(0, 9, 30)
    s.p2p("cus_a1", "cus_a2", "500000.00")
    for hour in (10, 11, 12):
        s.at_china(0, hour)
        s.p2p("cus_b1", f"cus_b{hour}", "200000.50")
    s.p2p("cus_c1", "cus_c2", "250000.50", cross_border=True)
    s.bank("cus_d1", "debit_card", "50000.50", channel="cash")
    s.qr("cus_e1", "mer_m1", "2000000.50")
    for amount in ("46000.10", "47500.20", "49999.30"):
        s.later(minutes=20)
        s.p2p("cus_f1", "cus_f2", amount)
    s.p2p("cus_g0", "cus_g1", "100000.70")
    s.later(hours=2)
    s.p2p("cus_g1", "cus_g2", "90000.30")
    s.p2p("cus_src", "cus_fan", "9900.00")  # the money scattered came from another person
    for i in range(10):
        s.p2p(f"cus_h{i}", "cus_hub", "1000.13")
        s.p2p("cus_fan", f"cus_i{i}", "1000.17")
    s.bank("cus_hub", "credit_card", "6000.00")  # and the collected money leaves for a card
    for _ in range(3):
        s.later(minutes=30)
        s.p2p("cus_j1", "cus_j2", "10000.00")
    s.relate("platform", "cus_aff")
    s.loan("cus_m1", "20000.00")
    s.later(hours=1)
    s.p2p("cus_m1", "cus_aff", "15000.37")  # 75% of the loan to the lender's affiliate
    s.loan("cus_ll1", "15000.00")
    s.p2p("cus_ll1", "cus_ll2", "13600.21")  # 以贷洗钱: 91% of a loan passed on to a person at once
    s.p2p("cus_l1", "cus_l2", "100.23")
    s.at_china(1, 1, 0)
    for _ in range(5):
        s.later(minutes=8)
        s.p2p("cus_k1", "cus_k2", "50.11")
    _pool(s, payers=20, days=(2, 3, 4))
    for i in range(5):
        s.later(minutes=3)
        s.p2p(f"cus_o{i}", "cus_o9", "20.07", device_id="farm-phone-1")  # five accounts, one phone
    _chain(s, "cus_q", ("8000.00", "7700.00", "7450.00"), cash_out="7200.00")
    s.later(days=35)  # cus_l1 has been quiet 35 days
    s.bank("cus_l1", "debit_card", "60000.33")
    return {
        ("large_natural_domestic", "cus_a1"),
        ("large_natural_domestic", "cus_a2"),
        ("large_natural_domestic", "cus_b1"),
        ("large_natural_cross_border", "cus_c1"),
        ("large_natural_cross_border", "cus_c2"),
        ("large_cash", "cus_d1"),
        ("large_natural_domestic", "cus_e1"),
        ("large_non_natural", "mer_m1"),
        ("structuring", "cus_f1"),
        ("rapid_in_out", "cus_g1"),
        ("fan_in", "cus_hub"),
        ("fan_out", "cus_fan"),
        ("round_amount", "cus_j1"),
        ("round_amount", "cus_j2"),
        ("night_burst", "cus_k1"),
        ("self_financing", "cus_m1"),
        ("loan_layering", "cus_ll1"),
        ("fund_pool", "cus_pool"),
        ("fan_in", "cus_pool"),  # twenty payers in three days, most of it withdrawn: a fan-in as well
        ("mule_chain", "cus_q0"),
        ("dormant", "cus_l1"),
        ("shared_device", "dev:farm-phone-1"),
    }


def _chain(s: Stream, prefix: str, amounts: tuple[str, ...], cash_out: str | None, hours: float = 5) -> None:
    """`prefix`0 pays `prefix`1 the first amount, who passes the next one on `hours` later, and so on;
    the last withdraws `cash_out` to a card."""
    for k, amount in enumerate(amounts):
        s.later(hours=hours)
        s.p2p(f"{prefix}{k}", f"{prefix}{k + 1}", amount)
    if cash_out is not None:
        s.later(hours=hours)
        s.bank(f"{prefix}{len(amounts)}", "credit_card", cash_out)


def _pool(s: Stream, payers: int, days: tuple[int, ...], withdrawn: int = 600) -> None:
    """`payers` people pay one person over `days` (never ten in a day); `withdrawn` per mille goes to a card."""
    for i in range(payers):
        s.at_china(days[i * len(days) // payers], 12, i)
        s.p2p(f"cus_n{i}", "cus_pool", "1000.19")
    s.at_china(days[-1], 15)
    s.bank("cus_pool", "credit_card", f"{payers * withdrawn}.00")


def benign(s: Stream) -> None:
    """Each scenario of `tripping` just short of its rule."""
    s.at_china(0, 9, 30)
    s.p2p("cus_a1", "cus_a2", "499999.99")
    for day in (0, 1, 2):
        s.at_china(day, 10)
        s.p2p("cus_b1", "cus_b2", "200000.50")  # cumulated over three days, never within one
    s.p2p("cus_c1", "cus_c2", "199999.99", cross_border=True)
    s.bank("cus_d1", "debit_card", "49999.99", channel="cash")
    s.bank("cus_d1", "credit_card", "600.00")  # a card withdrawal is no cash (and too small to be in-and-out)
    s.qr("cus_e1", "mer_m1", "499999.50")
    for amount in ("46000.10", "47500.20", "44000.00"):
        s.later(minutes=20)
        s.p2p("cus_f1", "cus_f2", amount)
    s.p2p("cus_g0", "cus_g1", "100000.70")
    s.later(hours=2)
    s.p2p("cus_g1", "cus_g2", "50000.30")
    s.later(hours=10)
    s.p2p("cus_g1", "cus_g3", "40000.30")  # out, but long after the money came in
    for i in range(9):
        s.p2p(f"cus_h{i}", "cus_hub", "1000.13")
        s.p2p("cus_fan", f"cus_i{i}", "1000.17")
    s.bank("cus_hub", "credit_card", "6000.00")
    for i in range(12):  # a whip-round passed on: too little to be a fan-in
        s.p2p(f"cus_colleague{i}", "cus_whip", "80.00")
    s.p2p("cus_whip", "cus_retiree", "960.00")
    for amount in ("10000.00", "20000.00", "10000.01"):
        s.later(minutes=30)
        s.p2p("cus_j1", "cus_j2", amount)
    s.at_china(3, 1, 0)
    for _ in range(4):
        s.later(minutes=8)
        s.p2p("cus_k1", "cus_k2", "50.11")
    s.at_china(3, 14, 0)
    s.p2p("cus_k1", "cus_k2", "50.11")
    s.relate("platform", "cus_aff")
    s.loan("cus_m1", "20000.00")
    s.later(hours=1)
    s.p2p("cus_m1", "cus_aff", "9000.37")  # 45% to the affiliate
    s.p2p("cus_m1", "cus_m9", "10000.37")  # the rest to someone unrelated
    s.loan("cus_ll1", "15000.00")
    s.p2p("cus_ll1", "cus_ll2", "11600.21")  # 77% of a loan passed on: just short of loan layering
    s.p2p("cus_l1", "cus_l2", "100.23")
    _pool(s, payers=19, days=(4, 5, 6), withdrawn=450)  # fewer payers, and less than half passed on
    for i in range(10):
        s.later(minutes=20)
        s.qr("cus_shopper", f"mer_s{i}", "35.50")  # ten shops in a day is shopping, not fan-out
    s.bank("cus_shopper", "credit_card", "300.00")
    for i in range(4):
        s.later(minutes=3)
        s.p2p(f"cus_o{i}", "cus_o9", "20.07", device_id="farm-phone-1")  # four accounts on a phone: a family
    for i in range(6):
        s.later(minutes=3)
        s.p2p("cus_o0", f"cus_o{i + 1}", "20.07", device_id="own-phone")  # one account, many payees
    s.bank("cus_boss", "debit_card", "60000.00")  # payroll from the employer's own card is no fan-out
    for i in range(12):
        s.p2p("cus_boss", f"cus_staff{i}", "4800.00")
    for i in range(15):
        s.p2p(f"cus_guest{i}", "cus_groom", "888.00")  # wedding gifts: a fan-in that stays, then a banquet
    s.qr("cus_groom", "mer_hotel", "12000.00")
    _chain(s, "cus_r", ("8000.00", "7700.00", "5000.00"), cash_out=None)  # the third keeps most: no chain
    s.later(days=20)  # quiet, but not for 30 days
    s.bank("cus_l1", "debit_card", "60000.33")


def alerts_of(engine) -> list[dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = connection.execute(select(monitor_alerts).order_by(monitor_alerts.c.id)).mappings().all()
    return [{k: v for k, v in r.items() if k != "raised_at"} for r in rows]


def pairs(engine) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(a["rule_code"], a["party"]) for a in alerts_of(engine)}


def forget_monitor(engine, name: str = CONSUMER) -> None:  # type: ignore[no-untyped-def]
    def wipe(uow) -> None:  # type: ignore[no-untyped-def]
        uow.execute(delete(monitor_alerts))
        uow.execute(delete(monitor_flows))
        uow.execute(delete(event_offsets).where(event_offsets.c.consumer == name))

    transaction(engine, wipe)
