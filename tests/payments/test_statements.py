"""How many SQL statements a QR payment costs over HTTP (counted with a `before_cursor_execute`
listener), with and without group commit: the hot path's round trips may not creep back."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from puhui.payments import limits
from tests.payments.test_group_commit import app_client, person
from tests.payments.test_payments_http import assert_audit_clean, balance, customer, fund, merchant

# Reading the caller (1), then in the unit of work: idempotency key (1), QR code (1), an earlier
# payment or review under this id (1), the QR code taken (1), merchant terms (1), payer tier (1),
# two limits (1: a row each), the ledger chain (5: transfers, accounts, insert, update, its event), the
# payment (1), its event (1), the idempotency answer (1), the audit row (1). On PostgreSQL the ledger
# writes its three through the driver (not seen here; its lock and read are prepared statements, which in
# a group commit go with the code's taking, `ledger.service.reads_ahead`), and a group-committed batch first locks its
# wallets (the accounts and the QR codes' merchants' in one sorted statement). A batch numbers its
# own outbox events last (1; on PostgreSQL under the sequencer's advisory lock, 2), so that readers
# find none to number. A batch reads the fee income once and credits it once, last (`late_credits`: 2).
SQLITE_STATEMENTS = 17
LEDGER_PIPELINED = 3
BATCH_LOCKS = 1
BATCH_NUMBERING = {"sqlite": 1, "postgresql": 2}
BATCH_LATE_CREDITS = 2
# In a group commit on PostgreSQL a job's last inserts (the payment, its event, the idempotency answer,
# the audit row) go as one statement (`prepared._inserts_joined`): three fewer.
JOINED_INSERTS = 3
# ... and the ledger's rows (one statement of the five the ledger pipelines) go with them, so the listener
# sees that one: the same statements, one round trip fewer (`create_transfers(write_late=True)`).
LEDGER_WRITTEN_LATE = 1
# ... and a batch reads, with its locks, its codes, its payers' wallet classes and its merchants' terms as it
# begins: what a job guesses its code's taking and limits' counting from (`grouping.seen`), three
# statements a batch.
BATCH_SEEN = 3
# ... from which a job of a dynamic code takes the code, the payer's class and the merchant's terms, no more
# reading them itself (`grouping.code_seen`, `tier_seen`, `terms_seen`): three statements fewer.
SEEN_NOT_READ_AGAIN = 3


def _payer_and_codes(client, engine, n: int) -> tuple[dict, list[str]]:  # type: ignore[no-untyped-def]
    """A funded payer's headers, and three dynamic codes of 10 CNY to pay."""
    payer, headers = customer(client, person(n), 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 1_000_00, f"funds-{n}")
    made = [
        client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "10.00"})
        for _ in range(3)
    ]
    return headers, [code.json()["id"] for code in made]


@pytest.mark.parametrize("group", [True, False], ids=["group_commit", "one_transaction_each"])
def test_a_qr_payment_takes_a_fixed_number_of_statements(engine, clock, group):
    with app_client(engine, group) as client:
        headers, codes = _payer_and_codes(client, engine, 90)
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany) -> None:
            seen.append(statement.strip().split()[0].upper())

        event.listen(engine, "before_cursor_execute", count)
        try:
            per_payment = []
            for n, code in enumerate(codes):
                seen.clear()
                paid = client.post(f"/v1/qr-codes/{code}/pay", headers={**headers, "Idempotency-Key": f"n{n}"}, json={})
                assert paid.status_code == 201, paid.text
                # a batch's COMMIT goes with its last writes on PostgreSQL, where the listener sees it
                per_payment.append([s for s in seen if s not in ("BEGIN", "SAVEPOINT", "RELEASE", "SET", "COMMIT")])
        finally:
            event.remove(engine, "before_cursor_execute", count)
    expected = SQLITE_STATEMENTS + (BATCH_NUMBERING[engine.dialect.name] + BATCH_LATE_CREDITS if group else 0)
    if engine.dialect.name == "postgresql":
        expected += -LEDGER_PIPELINED + (
            BATCH_LOCKS + BATCH_SEEN - SEEN_NOT_READ_AGAIN - JOINED_INSERTS + LEDGER_WRITTEN_LATE if group else 0
        )
    assert [len(s) for s in per_payment] == [expected] * 3, " ".join(per_payment[0])
    assert_audit_clean(engine)


def test_a_limit_is_counted_in_one_statement_and_refused_whole(engine, clock):
    from puhui.db import transaction
    from puhui.payments.errors import LimitExceeded

    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    transaction(engine, lambda uow: limits.consume(uow, "c1", "b", "2026", 60, 100))
    assert [s for s in seen if not s.startswith(("BEGIN", "SET"))] == [seen[-1]] and "spending" in seen[-1]
    transaction(engine, lambda uow: limits.consume(uow, "c1", "b", "2026", 40, 100))  # exactly the limit
    for amount in (1, 101):
        with pytest.raises(LimitExceeded):
            transaction(engine, lambda uow, amount=amount: limits.consume(uow, "c1", "b", "2026", amount, 100))
    with pytest.raises(LimitExceeded):  # a new period refuses an amount over the limit without a row
        transaction(engine, lambda uow: limits.consume(uow, "c1", "b", "2027", 101, 100))
    transaction(engine, lambda uow: limits.consume(uow, "c1", "b", "2027", 100, 100))


class _Operator:
    id, role = "ops-1", "operator"


def test_merchant_terms_are_read_once_a_batch_and_fresh_in_the_next(engine, clock):
    from concurrent.futures import ThreadPoolExecutor

    from puhui.db import transaction
    from puhui.identity import org
    from tests.payments.test_group_commit import Gate

    with app_client(engine, True) as client:
        people = [customer(client, person(91 + n), 3) for n in range(2)]
        merchant_id, shop = merchant(client)
        for n, (payer, _) in enumerate(people):
            fund(engine, f"wallet.{payer}", 1_000_00, f"terms{n}")
        codes = [
            client.post(
                f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "100.00"}
            ).json()["id"]
            for _ in range(4)
        ]
        reads: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany) -> None:
            if "FROM merchants" in statement:
                reads.append(statement)

        def pay(n: int, headers: dict):
            return client.post(f"/v1/qr-codes/{codes[n]}/pay", headers={**headers, "Idempotency-Key": f"t{n}"}, json={})

        event.listen(engine, "before_cursor_execute", count)
        try:
            gate = Gate(engine)
            with ThreadPoolExecutor(max_workers=2) as pool:
                paid = [pool.submit(pay, n, people[n][1]) for n in range(2)]
                gate.release_when_queued(2)
                assert [p.result(timeout=60).json()["fee"] for p in paid] == ["0.60", "0.60"]
            assert len(reads) == 1  # both payments of the batch took the terms read once

            transaction(engine, lambda uow: org.set_fee_rate(uow, merchant_id, 100, _Operator()))
            assert pay(2, people[0][1]).json()["fee"] == "1.00"  # the next batch reads the new rate
            transaction(engine, lambda uow: org.set_merchant_status(uow, merchant_id, "suspended", _Operator()))
            refused = pay(3, people[1][1])
            assert (refused.status_code, refused.json()["code"]) == (409, "merchant_suspended")
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert balance(engine, f"wallet.{merchant_id}") == 2 * (100_00 - 60) + 100_00 - 100
    assert_audit_clean(engine)


def test_limits_counted_together_name_the_first_refused_and_count_none(engine, clock):
    from puhui.db import transaction
    from puhui.payments.errors import LimitExceeded
    from puhui.payments.tables import spending

    both = [limits.Counted("a", "2026", 100), limits.Counted("b", "2026", 50)]
    assert transaction(engine, lambda uow: limits.consume_all(uow, "c1", both, 40)) == "a@2026;b@2026"
    for amount, refused in ((20, "b"), (70, "a"), (101, "a")):
        with pytest.raises(LimitExceeded) as raised:
            transaction(engine, lambda uow, amount=amount: limits.consume_all(uow, "c1", both, amount))
        assert raised.value.extra["bucket"] == refused
    with engine.connect() as connection:
        used = dict(connection.execute(select(spending.c.bucket, spending.c.used)).all())
    assert used == {"a": 40, "b": 40}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    caps=st.lists(st.integers(1, 100), min_size=1, max_size=3),
    amounts=st.lists(st.integers(1, 120), min_size=1, max_size=8),
)
def test_limits_counted_in_one_statement_agree_with_counting_each_alone(engine, clock, caps, amounts):
    """Whatever the limits and amounts: a payment is counted against all its limits or, naming the first
    that would be exceeded, against none, as if each were counted by a statement of its own."""
    from puhui.db import transaction
    from puhui.payments.errors import LimitExceeded
    from puhui.payments.tables import spending

    subject = f"p{next(_subjects)}"
    counted = [limits.Counted(f"bucket{i}", "2026", cap) for i, cap in enumerate(caps)]
    model = dict.fromkeys((c.bucket for c in counted), 0)
    for amount in amounts:
        over = next((c for c in counted if model[c.bucket] + amount > c.limit), None)
        if over is None:
            marks = transaction(engine, lambda uow, amount=amount: limits.consume_all(uow, subject, counted, amount))
            assert marks == ";".join(c.mark for c in counted)
            model = {bucket: used + amount for bucket, used in model.items()}
        else:
            with pytest.raises(LimitExceeded) as raised:
                transaction(engine, lambda uow, amount=amount: limits.consume_all(uow, subject, counted, amount))
            assert raised.value.extra["bucket"] == over.bucket
    with engine.connect() as connection:
        rows = connection.execute(select(spending.c.bucket, spending.c.used).where(spending.c.subject_id == subject))
        used = dict(rows.all())
    assert used == {bucket: n for bucket, n in model.items() if n}


_subjects = itertools.count()


# A dynamic-code payment's job in a batch of its own on PostgreSQL, in pipelines: its savepoint with its
# reads ahead and its guess (the code's taking with its limits, the merchant's terms, the ledger's lock and
# read and the fee income's read). Its writes and release go with the next job's savepoint, or, the last
# job's, with the batch's last writes: one round trip a job. The batch's: its BEGIN with the wallets' lock
# and what it has seen of its codes and payers; the fee income's late credit with the outbox's numbering
# (COMMIT is not a pipeline). At the start of 2026-12-05's last session: 8; then 5 and the late credit's
# executemany (psycopg's own pipeline); then 5; now 3.
JOB_ROUND_TRIPS = 1
BATCH_ROUND_TRIPS = 2


def test_a_group_committed_qr_payment_takes_a_fixed_number_of_round_trips(engine, clock, monkeypatch):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no round trips")
    from puhui.db import pq_pipeline

    with app_client(engine, True) as client:
        headers, codes = _payer_and_codes(client, engine, 91)
        trips: list[str] = []
        real = pq_pipeline.run

        def counted(driver, statements):  # type: ignore[no-untyped-def]
            import threading

            if threading.current_thread().name == "puhui-group-commit":
                trips.append(" | ".join(sql.split()[0] for sql, _ in statements))
            return real(driver, statements)

        monkeypatch.setattr(pq_pipeline, "run", counted)
        per_payment = []
        for n, code in enumerate(codes):
            trips.clear()
            paid = client.post(f"/v1/qr-codes/{code}/pay", headers={**headers, "Idempotency-Key": f"t{n}"}, json={})
            assert paid.status_code == 201, paid.text
            per_payment.append(list(trips))
    assert [len(t) for t in per_payment] == [JOB_ROUND_TRIPS + BATCH_ROUND_TRIPS] * 3, per_payment[0]
