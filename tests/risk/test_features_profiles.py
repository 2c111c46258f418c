"""Customer profiles from platform data made through the real services, on SQLite and PostgreSQL:
point in time (later events never leak into a past profile), batch = per customer, incremental
(outbox consumer) = batch, and the consumer idempotent."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update
from stdnum.cn import ric

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.db.tables import event_offsets
from puhui.identity import customers as customer_ops
from puhui.identity import kyc, org
from puhui.identity.models import VerificationChannel
from puhui.identity.vault import Vault
from puhui.payments import service, wallets
from puhui.payments.bank.channel import OrderKind, OrderState
from puhui.payments.models import QrKind, VerificationStrength
from puhui.payments.risk_hook import PaymentContext
from puhui.risk import features as F
from puhui.risk.errors import MissingLabel, UnknownCustomer
from puhui.risk.features_tables import risk_profiles
from puhui.risk.profiles import (
    CONSUMER,
    consume,
    profile_as_of,
    profiles_as_of,
    stored_profile,
    training_frame,
)

DAY = clock_module.DAY_MICROS

VAULT = Vault.from_config(
    "k1:" + base64.urlsafe_b64encode(b"1" * 32).decode(), base64.urlsafe_b64encode(b"i" * 32).decode()
)
ADMIN = SimpleNamespace(id="admin", role="admin")
NAMES = ["张伟", "李娜", "王芳", "刘洋", "陈杰", "赵磊"]
CREDIT_CODES = ["91110000600037341L", "91310000MA1FL8XQ37"]
CHANNELS = [VerificationChannel.public_security, VerificationChannel.bank_card, VerificationChannel.face]


def _id_number(n: int) -> str:
    body = f"110105199001{n + 10:02d}{n + 100:03d}"
    return body + ric.calc_check_digit(body + "0")


class World:
    """A small platform built through the services, the clock moved between operations."""

    def __init__(self, engine, clock) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.clock = engine, clock
        self.customers: list[str] = []
        self.merchants: list[str] = []
        self.qr: dict[str, str] = {}
        self.n = 0

    def run(self, work):  # type: ignore[no-untyped-def]
        return transaction(self.engine, work)

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    def customer(self, verified: bool = True) -> str:
        i = len(self.customers)
        data = customer_ops.prepare_registration(
            name=NAMES[i], id_number=_id_number(i), phone=f"1380000{i:04d}", password="correct horse battery"
        )
        cid = self.run(lambda uow: customer_ops.register(uow, VAULT, data))
        if verified:
            for channel in CHANNELS:
                self.run(lambda uow, c=channel: kyc.record_verification(uow, cid, c, f"R-{cid}-{c}", True, ADMIN))
            self.run(lambda uow: kyc.upgrade_tier(uow, cid, ADMIN, "verified"))
        self.customers.append(cid)
        return cid

    def merchant(self) -> str:
        i = len(self.merchants)
        data = org.prepare_merchant(
            name=f"商店{i}",
            credit_code=CREDIT_CODES[i],
            settlement_account="6222020000000000059",
            settlement_holder="周丽",
            settlement_bank="工商银行上海分行",
        )
        mid, _ = self.run(lambda uow: org.create_merchant(uow, VAULT, data, ADMIN))
        self.qr[mid] = self.run(lambda uow: service.create_qr(uow, mid, QrKind.static, None, 0, None))["id"]
        self.merchants.append(mid)
        return mid

    def bank(self, cid: str, kind: OrderKind, fen: int, outcome: OrderState | None = OrderState.succeeded) -> str:
        row = self.run(lambda uow: wallets.open_order(uow, cid, "card-1", kind, fen, self.key()))
        if outcome is not None:
            self.finish(row["id"], kind, fen, outcome)
        return row["id"]

    def finish(self, order_id: str, kind: OrderKind, fen: int, outcome: OrderState = OrderState.succeeded) -> None:
        self.run(lambda uow: wallets.finish(uow, order_id, outcome, fen, kind))

    def p2p(self, payer: str, payee: str, fen: int, device: str | None = None, place: str | None = None) -> str:
        return self.run(lambda uow: service.pay_p2p(uow, payer, payee, fen, self.key(), PaymentContext(device, place)))[
            0
        ]["id"]

    def qr_pay(self, payer: str, merchant: str, fen: int, device: str | None = None, place: str | None = None) -> str:
        return self.run(
            lambda uow: service.pay_qr(
                uow,
                payer,
                self.qr[merchant],
                fen,
                VerificationStrength.two_factors,
                self.key(),
                60,
                PaymentContext(device, place),
            )
        )[0]["id"]

    def refund(self, merchant: str, payment_id: str, fen: int) -> None:
        self.run(lambda uow: service.refund(uow, merchant, payment_id, fen, self.key()))

    def later(self, **delta: float) -> int:
        self.clock.advance(dt.timedelta(**delta))
        return clock_module.now_micros()


def first_part(w: World) -> None:
    a, b = w.customer(), w.customer()
    m1, m2 = w.merchant(), w.merchant()
    w.later(hours=1)
    w.bank(a, OrderKind.debit_card, 2_000_00)
    w.bank(b, OrderKind.debit_card, 800_00)
    w.bank(a, OrderKind.debit_card, 300_00, OrderState.failed)
    w.later(hours=2)
    paid = w.qr_pay(a, m1, 30_00, "dev-a1", "BJ")
    w.p2p(a, b, 50_00, "dev-a2", "SH")
    w.qr_pay(b, m2, 12_34, "dev-b1", "GZ")
    w.later(hours=16)  # 2026-01-05 20:30 UTC = 01-06 04:30 China: night
    w.qr_pay(a, m2, 99_99, "dev-a1", "BJ")
    w.refund(m1, paid, 10_00)
    w.bank(a, OrderKind.credit_card, 100_00)


def second_part(w: World) -> None:
    a, b = w.customers[:2]
    m1, m2 = w.merchants
    w.later(days=10)
    w.customer(verified=False)  # registers later, pays nothing
    w.qr_pay(a, m1, 45_00, "dev-a3", "HZ")
    w.p2p(b, a, 20_00, None, None)
    w.later(days=25)
    w.qr_pay(b, m1, 7_00, "dev-b1", "GZ")
    w.bank(b, OrderKind.credit_card, 200_00)
    w.later(days=60)
    w.qr_pay(a, m2, 1_01, "dev-a1", "BJ")


def frame_row(frame, cid: str) -> dict:  # type: ignore[no-untyped-def]
    import pandas as pd

    return {k: (None if v is pd.NA or v is None else v) for k, v in frame.loc[cid].to_dict().items()}


def profiles_now(engine, at: int, ids: list[str]) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return {cid: profile_as_of(connection, cid, at) for cid in ids}


def test_a_past_profile_ignores_later_events(engine, clock) -> None:
    w = World(engine, clock)
    first_part(w)
    a, b = w.customers
    pending = w.bank(a, OrderKind.debit_card, 500_00, outcome=None)  # opened before, posted after `past`
    past = w.later(minutes=5)
    before = profiles_now(engine, past, [a, b])
    w.later(minutes=1)
    w.finish(pending, OrderKind.debit_card, 500_00)
    second_part(w)
    w.bank(a, OrderKind.debit_card, 1_000_00)
    assert profiles_now(engine, past, [a, b]) == before
    now = profiles_now(engine, clock_module.now_micros(), [a, b])
    assert now[a] != before[a] and now[b] != before[b]
    assert before[a]["top_ups_count_30d"] == 1 and before[a]["top_ups_amount_30d"] == Decimal("2000.00")
    with reading(engine) as connection, pytest.raises(UnknownCustomer):
        profile_as_of(connection, w.customers[2], past)  # registered after `past`
    with reading(engine) as connection, pytest.raises(UnknownCustomer):
        profile_as_of(connection, "cus_nobody", clock_module.now_micros())


def test_features_of_the_first_part(engine, clock) -> None:
    w = World(engine, clock)
    first_part(w)
    a = w.customers[0]
    with reading(engine) as connection:
        p = profile_as_of(connection, a, clock_module.now_micros())
    assert set(p) == set(F.FEATURES)
    assert (p["payments_count_7d"], p["payments_amount_7d"]) == (3, Decimal("179.99"))
    assert p["payment_amount_mean_90d"] == Decimal("60.00") and p["payment_amount_max_90d"] == Decimal("99.99")
    assert (p["counterparties_90d"], p["merchants_90d"]) == (3, 2)
    assert (p["refunds_received_count_90d"], p["refunds_received_amount_90d"]) == (1, Decimal("10.00"))
    assert (p["withdrawals_count_90d"], p["bank_orders_failed_90d"]) == (1, 1)
    assert p["withdrawal_to_top_up_ratio_90d"] == Decimal("0.0500")
    assert (p["devices_30d"], p["locations_30d"], p["days_since_new_device"]) == (2, 2, 0)
    assert p["night_payment_share_30d"] == Decimal("0.3333")
    assert (p["kyc_tier"], p["verifications"], p["tenure_days"]) == (2, 3, 0)
    assert p["loans_repaid_on_time"] is None


def test_batch_equals_per_customer(engine, clock) -> None:
    w = World(engine, clock)
    first_part(w)
    middle = w.later(hours=1)
    second_part(w)
    end = clock_module.now_micros()
    for at in (middle, middle + 3 * DAY, end - 31 * DAY, end, end + 100 * DAY):
        frame = profiles_as_of(engine, at)
        with reading(engine) as connection:
            registered = [c for c in w.customers if _registered(connection, c, at)]
            assert sorted(frame.index) == sorted(registered)
            for cid in registered:
                assert frame_row(frame, cid) == profile_as_of(connection, cid, at), (cid, at)


def _registered(connection, cid: str, at: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        profile_as_of(connection, cid, at)
        return True
    except UnknownCustomer:
        return False


def stored_rows(engine) -> list:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return connection.execute(select(risk_profiles).order_by(risk_profiles.c.customer_id)).all()


def test_incremental_equals_batch_and_consumer_is_idempotent(engine, clock) -> None:
    w = World(engine, clock)
    first_part(w)
    assert consume(engine, batch_size=4) > 0
    second_part(w)
    consume(engine, batch_size=4)
    end = clock_module.now_micros()
    for at in (end, end + 45 * DAY, end + 200 * DAY):  # windows decay with no new events
        frame = profiles_as_of(engine, at)
        with reading(engine) as connection:
            for cid in w.customers:
                assert stored_profile(connection, cid, at).features == frame_row(frame, cid), (cid, at)
    rows = stored_rows(engine)
    assert {r.customer_id for r in rows} == set(w.customers[:2])  # merchants and idle customers have none

    assert consume(engine) == 0
    assert stored_rows(engine) == rows
    transaction(
        engine,
        lambda uow: uow.execute(update(event_offsets).where(event_offsets.c.consumer == CONSUMER).values(position=0)),
    )
    w.later(minutes=1)
    assert consume(engine) > 0  # every event again: nothing counts twice
    assert [(r.customer_id, r.features, r.as_of) for r in stored_rows(engine)] == [
        (r.customer_id, r.features, r.as_of) for r in rows
    ]


def test_stored_profile_before_as_of_falls_back_to_the_tables(engine, clock) -> None:
    w = World(engine, clock)
    first_part(w)
    early = w.later(minutes=1)
    second_part(w)
    consume(engine)
    a = w.customers[0]
    with reading(engine) as connection:
        stored = stored_profile(connection, a, early)
        assert stored.as_of is not None and stored.as_of > early
        assert stored.features == profile_as_of(connection, a, early)


def test_training_frame_joins_labels(engine, clock) -> None:
    w = World(engine, clock)
    first_part(w)
    a, b = w.customers
    at = clock_module.now_micros()
    frame = training_frame(engine, at, {a: 1, b: 0})
    assert list(frame.index) == sorted([a, b]) and frame.loc[a, "bad"] == 1
    assert frame.loc[a, "payments_count_7d"] == 3.0 and frame.loc[a, "payments_amount_7d"] == pytest.approx(179.99)
    with pytest.raises(MissingLabel):
        training_frame(engine, at, {})
    with pytest.raises(UnknownCustomer):
        training_frame(engine, at, {"cus_nobody": 1})


def test_cli_profiles_to_csv_and_consume(engine, clock, db_url, tmp_path) -> None:
    import csv

    from typer.testing import CliRunner

    from puhui.risk.features_cli import app

    w = World(engine, clock)
    first_part(w)
    runner = CliRunner()
    out = tmp_path / "profiles.csv"
    today = clock_module.business_date().isoformat()
    done = runner.invoke(app, ["export", "--as-of", today, "--out", str(out), "--db", db_url])
    assert done.exit_code == 0, done.output
    rows = {r["customer_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert set(rows) == set(w.customers)
    assert rows[w.customers[0]]["payments_amount_7d"] == "179.99"
    before = runner.invoke(app, ["export", "--as-of", "2025-12-31", "--db", db_url])
    assert before.exit_code == 0 and before.output.strip().splitlines() == ["customer_id," + ",".join(F.FEATURES)]
    assert runner.invoke(app, ["export", "--as-of", "someday", "--db", db_url]).exit_code == 2
    consumed = runner.invoke(app, ["consume", "--db", db_url])
    assert consumed.exit_code == 0 and consumed.output.split()[0] != "0", consumed.output
    again = runner.invoke(app, ["consume", "--db", db_url])
    assert again.exit_code == 0 and again.output.split()[0] == "0"


def test_a_crash_mid_batch_leaves_neither_profiles_nor_offset(engine, clock, monkeypatch) -> None:
    from puhui.risk import profiles

    w = World(engine, clock)
    first_part(w)
    real, calls = profiles._apply_to, []

    def crashing(uow, customer_id, add, old_row):  # type: ignore[no-untyped-def]
        calls.append(customer_id)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        real(uow, customer_id, add, old_row)

    monkeypatch.setattr(profiles, "_apply_to", crashing)
    with pytest.raises(RuntimeError):
        consume(engine, batch_size=1000)
    with reading(engine) as connection:
        assert stored_rows(engine) == [] and profiles.consumer_offset(connection, CONSUMER) == 0
    monkeypatch.setattr(profiles, "_apply_to", real)
    assert consume(engine) > 0
    at = clock_module.now_micros()
    frame = profiles_as_of(engine, at)
    with reading(engine) as connection:
        for cid in w.customers:
            assert stored_profile(connection, cid, at).features == frame_row(frame, cid)


def test_cli_export_refuses_a_bad_as_of_in_the_one_error_format() -> None:
    """Regression: `error: …` instead of a stable code; a date not on the calendar is `date_invalid`, as for
    every command."""
    from typer.testing import CliRunner

    from puhui.cli import app

    runner = CliRunner()
    for as_of, code in (("2026-13-01", "date_invalid: --as-of "), ("someday", "malformed_as_of: ")):
        refused = runner.invoke(app, ["risk", "profiles", "export", "--as-of", as_of])
        assert refused.exit_code == 2 and refused.output.startswith(code), refused.output
        assert len(refused.output.strip().splitlines()) == 1
