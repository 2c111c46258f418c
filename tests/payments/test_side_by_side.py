"""QR payments side by side (`puhui.db.side_by_side`, PostgreSQL): a batch of payments by different payers to
different merchants runs in two round trips, each payment keeping its own answer, limits and code. One
refused payment sends the batch back to one at a time with nothing of the try left: its code still open,
nothing counted twice or for it, and the others paid once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from puhui.db import group_commit
from puhui.payments.tables import qr_codes, spending
from puhui.sim.agents import credit_code
from tests.payments.test_group_commit import Gate, app_client, person
from tests.payments.test_payments_http import ADMIN, MERCHANT, assert_audit_clean, balance, bearer, customer, fund


@pytest.fixture
def postgres(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL runs payments side by side (SQLite has no round trips to save)")
    return engine


def _merchant(client, n: int) -> tuple[str, dict]:
    answer = client.post("/v1/merchants", headers=ADMIN, json={**MERCHANT, "credit_code": credit_code(9000 + n)})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], bearer(answer.json()["api_key"])


def _code(client, shop: dict, merchant_id: str, amount: str) -> str:
    made = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": amount}
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _payers(client, engine, first: int, funds: list[int]) -> list[tuple[str, dict]]:
    found = []
    for n, fen in enumerate(funds, start=first):
        payer, headers = customer(client, person(n), 3)
        fund(engine, f"wallet.{payer}", fen, f"sbs{n}")
        found.append((payer, headers))
    return found


def _pay_in_one_batch(client, engine, calls: list[tuple[str, dict, str]]) -> tuple[list, tuple[int, int]]:
    """Each (code, headers, key) paid, all queued behind a gate so they form one batch."""
    stats = group_commit.committer_for(engine).stats
    before = (stats.side_by_side, stats.fell_back)
    gate = Gate(engine)
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [
            pool.submit(client.post, f"/v1/qr-codes/{code}/pay", headers={**headers, "Idempotency-Key": key}, json={})
            for code, headers, key in calls
        ]
        gate.release_when_queued(len(calls))
        answers = [f.result(timeout=60) for f in futures]
    return answers, (stats.side_by_side - before[0], stats.fell_back - before[1])


def _used(engine, payer: str) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(spending.c.bucket, spending.c.used).where(spending.c.subject_id == payer))
        return dict(rows.all())


def _status(engine, code: str) -> str:
    with engine.connect() as connection:
        return connection.execute(select(qr_codes.c.status).where(qr_codes.c.id == code)).scalar_one()


def test_payments_to_different_merchants_run_side_by_side_each_with_its_own_answer(postgres, clock):
    with app_client(postgres, True) as client:
        payers = _payers(client, postgres, 80, [100_00] * 4)
        shops = [_merchant(client, n) for n, _ in enumerate(payers)]
        codes = [_code(client, shop, merchant_id, f"{10 + n}.00") for n, (merchant_id, shop) in enumerate(shops)]
        calls = [(code, headers, f"s{n}") for n, (code, (_, headers)) in enumerate(zip(codes, payers, strict=True))]
        answers, (side, fell) = _pay_in_one_batch(client, postgres, calls)
        assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
        assert (side, fell) == (1, 0)
        assert [a.json()["amount"] for a in answers] == ["10.00", "11.00", "12.00", "13.00"]
        again = client.post(f"/v1/qr-codes/{codes[2]}/pay", headers={**payers[2][1], "Idempotency-Key": "s2"}, json={})
        assert again.json() == answers[2].json() and again.headers.get("Idempotent-Replayed") == "true"
    for n, (payer, _) in enumerate(payers):
        assert balance(postgres, f"wallet.{payer}") == 100_00 - (10 + n) * 100
        assert set(_used(postgres, payer).values()) == {(10 + n) * 100}
        assert _status(postgres, codes[n]) == "paid"
    assert_audit_clean(postgres)


def test_a_refusal_side_by_side_leaves_nothing_of_the_try(postgres, clock):
    with app_client(postgres, True) as client:
        payers = _payers(client, postgres, 84, [100_00, 5_00, 100_00])  # the second cannot pay 30
        shops = [_merchant(client, n) for n, _ in enumerate(payers)]
        codes = [_code(client, shop, merchant_id, "30.00") for merchant_id, shop in shops]
        calls = [(code, headers, f"r{n}") for n, (code, (_, headers)) in enumerate(zip(codes, payers, strict=True))]
        answers, (side, fell) = _pay_in_one_batch(client, postgres, calls)
    assert [a.status_code for a in answers] == [201, 409, 201], [a.text for a in answers]
    assert answers[1].json()["code"] == "insufficient_funds"
    assert (side, fell) == (0, 1)
    assert [balance(postgres, f"wallet.{payer}") for payer, _ in payers] == [70_00, 5_00, 70_00]
    assert [set(_used(postgres, payer).values()) for payer, _ in payers] == [{30_00}, set(), {30_00}]
    assert [_status(postgres, code) for code in codes] == ["paid", "active", "paid"]
    assert_audit_clean(postgres)


def test_payments_to_one_merchant_run_one_at_a_time(postgres, clock):
    with app_client(postgres, True) as client:
        payers = _payers(client, postgres, 87, [100_00] * 3)
        merchant_id, shop = _merchant(client, 0)
        codes = [_code(client, shop, merchant_id, "20.00") for _ in payers]
        calls = [(code, headers, f"m{n}") for n, (code, (_, headers)) in enumerate(zip(codes, payers, strict=True))]
        answers, (side, fell) = _pay_in_one_batch(client, postgres, calls)
    assert [a.status_code for a in answers] == [201] * 3, [a.text for a in answers]
    assert (side, fell) == (0, 0)  # the merchant's wallet is in every footprint
    assert [balance(postgres, f"wallet.{payer}") for payer, _ in payers] == [80_00] * 3
    assert_audit_clean(postgres)


def test_a_static_code_in_the_batch_runs_it_one_at_a_time_without_trying(postgres, clock):
    with app_client(postgres, True) as client:
        payers = _payers(client, postgres, 90, [100_00] * 2)
        (static_merchant, static_shop), (merchant_id, shop) = _merchant(client, 1), _merchant(client, 2)
        static = client.post(
            f"/v1/merchants/{static_merchant}/qr-codes", headers=static_shop, json={"kind": "static"}
        ).json()["id"]
        dynamic = _code(client, shop, merchant_id, "20.00")
        stats = group_commit.committer_for(postgres).stats
        before = (stats.side_by_side, stats.fell_back)
        gate = Gate(postgres)
        with ThreadPoolExecutor(max_workers=2) as pool:
            paying = [
                pool.submit(
                    client.post,
                    f"/v1/qr-codes/{static}/pay",
                    headers={**payers[0][1], "Idempotency-Key": "t0"},
                    json={"amount": "15.00"},
                ),
                pool.submit(
                    client.post,
                    f"/v1/qr-codes/{dynamic}/pay",
                    headers={**payers[1][1], "Idempotency-Key": "t1"},
                    json={},
                ),
            ]
            gate.release_when_queued(2)
            answers = [f.result(timeout=60) for f in paying]
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert (stats.side_by_side, stats.fell_back) == before  # its statements are not all foreseen: no try
    assert [balance(postgres, f"wallet.{payer}") for payer, _ in payers] == [85_00, 80_00]
    assert_audit_clean(postgres)


def test_a_payment_held_for_review_in_a_batch_side_by_side_holds_only_its_own_money(postgres, clock):
    from puhui.payments import risk_hook
    from tests.payments.test_reviews import ThresholdCheck, pending_debits

    risk_hook.install(postgres, ThresholdCheck())  # review from 300 CNY
    try:
        with app_client(postgres, True) as client:
            payers = _payers(client, postgres, 93, [1_000_00] * 3)
            shops = [_merchant(client, n) for n, _ in enumerate(payers)]
            amounts = ["20.00", "400.00", "30.00"]
            codes = [_code(client, shop, m, amount) for (m, shop), amount in zip(shops, amounts, strict=True)]
            calls = [(code, h, f"v{n}") for n, (code, (_, h)) in enumerate(zip(codes, payers, strict=True))]
            answers, (side, fell) = _pay_in_one_batch(client, postgres, calls)
            assert [a.status_code for a in answers] == [201, 202, 201], [a.text for a in answers]
            assert side + fell == 1  # it tried; whichever way it went, each payment is its own
            again = client.post(
                f"/v1/qr-codes/{codes[1]}/pay", headers={**payers[1][1], "Idempotency-Key": "v1"}, json={}
            )
            assert (again.status_code, again.json()) == (202, answers[1].json())
    finally:
        risk_hook.uninstall(postgres)
    wallets = [f"wallet.{payer}" for payer, _ in payers]
    assert [balance(postgres, w) for w in wallets] == [980_00, 1_000_00, 970_00]
    assert [pending_debits(postgres, w) for w in wallets] == [0, 400_00, 0]
    assert [_status(postgres, code) for code in codes][::2] == ["paid", "paid"]
    assert_audit_clean(postgres)
