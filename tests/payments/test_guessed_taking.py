"""A QR payment's job guesses its code's taking and its limits' counting from what its batch saw as it
began (`grouping.seen`, `service.pay_qr_guess`) and sends them with its first reads (PostgreSQL). A guess
from a stale view (the payer's wallet class changed, the code was paid meanwhile, the call is a replay)
must leave no trace: the code taken once, each limit counted once, nothing counted for a refusal. The job
itself reads a dynamic code and its payer's class no more (`grouping.code_seen`, `tier_seen`): a code
closed after its batch began is still refused, by its taking."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from puhui.identity.models import WalletTier
from puhui.payments import grouping
from puhui.payments.tables import qr_codes, spending
from tests.payments.test_group_commit import app_client, person
from tests.payments.test_payments_http import assert_audit_clean, balance, customer, fund, merchant


@pytest.fixture
def postgres(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL guesses (SQLite sends no round trips to save)")
    return engine


def _used(engine, payer: str) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(spending.c.bucket, spending.c.used).where(spending.c.subject_id == payer))
        return dict(rows.all())


def _code(client, shop: dict, merchant_id: str, amount: str = "10.00") -> str:
    made = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": amount}
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _paying(client, engine, n: int) -> tuple[str, dict, str, dict, str]:
    """A class II payer with 100 CNY and their headers, a merchant and its headers, and its code of 10 CNY."""
    payer, headers = customer(client, person(n), 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 100_00, f"g{n}")
    return payer, headers, merchant_id, shop, _code(client, shop, merchant_id)


class _Takings:
    """The code-taking statements sent while it is open (a guess's and the work's own)."""

    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, 0

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen += statement.lstrip().startswith("UPDATE qr_codes")

    def __enter__(self) -> _Takings:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def _seen_as(monkeypatch, *, tier=None, status=None) -> None:
    """The batch's view made stale: the payer's class, or the code's status, as they no longer are."""
    real = grouping.seen

    def stale(shared, qr_id, payer_id):
        found = real(shared, qr_id, payer_id)
        if found is None:
            return None
        code, seen_tier = found
        if status is not None:
            code = grouping.QrSeen(code.merchant_id, code.kind, code.amount, status, code.expires_at)
        return code, tier if tier is not None else seen_tier

    monkeypatch.setattr(grouping, "seen", stale)


def _code_seen_as(monkeypatch, *, status: str) -> None:
    """The code as its job takes it from its batch's view (`grouping.code_seen`), with a status it no longer has."""
    real = grouping.code_seen

    def stale(shared, qr_id):
        code = real(shared, qr_id)
        return code and grouping.QrSeen(code.merchant_id, code.kind, code.amount, status, code.expires_at)

    monkeypatch.setattr(grouping, "code_seen", stale)


def test_a_guess_taken_counts_once_in_one_round_trip(postgres, clock):
    with app_client(postgres, True) as client:
        payer, headers, _, _, code = _paying(client, postgres, 70)
        with _Takings(postgres) as takings:
            paid = client.post(f"/v1/qr-codes/{code}/pay", headers={**headers, "Idempotency-Key": "g1"}, json={})
        assert paid.status_code == 201, paid.text
        assert takings.seen == 1
    assert set(_used(postgres, payer).values()) == {10_00}
    assert balance(postgres, f"wallet.{payer}") == 90_00
    assert_audit_clean(postgres)


def test_a_guess_from_another_wallet_class_is_undone_and_counted_by_the_batchs(postgres, clock, monkeypatch):
    with app_client(postgres, True) as client:
        payer, headers, _, _, code = _paying(client, postgres, 71)  # class II: a yearly limit
        _seen_as(monkeypatch, tier=WalletTier.I)  # the guess counts class I's lifetime limit
        with _Takings(postgres) as takings:
            paid = client.post(f"/v1/qr-codes/{code}/pay", headers={**headers, "Idempotency-Key": "g2"}, json={})
        assert paid.status_code == 201, paid.text
        assert takings.seen == 2  # the guess's, undone, then the work's own
    used = _used(postgres, payer)
    assert "tier_lifetime" not in used and used["tier_year"] == 10_00
    assert set(used.values()) == {10_00}
    with postgres.connect() as connection:
        status = connection.execute(select(qr_codes.c.status).where(qr_codes.c.id == code)).scalar_one()
    assert status == "paid"
    assert balance(postgres, f"wallet.{payer}") == 90_00
    assert_audit_clean(postgres)


def test_a_replay_and_a_paid_code_guessed_open_count_nothing_more(postgres, clock, monkeypatch):
    with app_client(postgres, True) as client:
        payer, headers, _, _, code = _paying(client, postgres, 72)
        first = client.post(f"/v1/qr-codes/{code}/pay", headers={**headers, "Idempotency-Key": "g3"}, json={})
        assert first.status_code == 201, first.text
        counted = _used(postgres, payer)
        _seen_as(monkeypatch, status="active")  # as if the batch had not seen it paid
        with _Takings(postgres) as takings:
            replay = client.post(f"/v1/qr-codes/{code}/pay", headers={**headers, "Idempotency-Key": "g3"}, json={})
            again = client.post(f"/v1/qr-codes/{code}/pay", headers={**headers, "Idempotency-Key": "g4"}, json={})
        assert takings.seen == 2  # each sent a guess; neither was taken
        assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (201, "true")
        assert replay.json() == first.json()
        assert (again.status_code, again.json()["code"]) == (409, "qr_code_not_payable")
    assert _used(postgres, payer) == counted
    assert balance(postgres, f"wallet.{payer}") == 90_00
    assert_audit_clean(postgres)


def test_a_code_cancelled_after_its_batch_began_is_refused_by_its_taking(postgres, clock, monkeypatch):
    with app_client(postgres, True) as client:
        payer, headers, _, shop, code = _paying(client, postgres, 73)
        assert client.post(f"/v1/qr-codes/{code}/cancel", headers=shop).json()["status"] == "cancelled"
        _seen_as(monkeypatch, status="active")  # as if the batch had read it before the cancelling committed
        _code_seen_as(monkeypatch, status="active")
        with _Takings(postgres) as takings:
            paid = client.post(f"/v1/qr-codes/{code}/pay", headers={**headers, "Idempotency-Key": "g5"}, json={})
        assert takings.seen == 1  # the guess's taking, which found the code no longer open
        assert (paid.status_code, paid.json()["code"]) == (409, "qr_code_not_payable")
        with postgres.connect() as connection:
            status = connection.execute(select(qr_codes.c.status).where(qr_codes.c.id == code)).scalar_one()
        assert status == "cancelled"
    assert _used(postgres, payer) == {}
    assert balance(postgres, f"wallet.{payer}") == 100_00
    assert_audit_clean(postgres)
