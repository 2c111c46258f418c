"""Return-shipping insurance (退货运费险) over HTTP on SQLite and PostgreSQL: an operator adds a product
version; a buyer's quote is the hand-computed premium; a checkout pays the goods and the premium in one unit
of work (wallet down by both, the merchant up by the goods less its fee, the insurer's held premiums up);
a wallet short of both changes nothing; the merchant who was paid confirms the return and the fixed claim
reaches the buyer's wallet once, racing requests too; another merchant cannot; a planted serial returner
is flagged and refused cover, an ordinary buyer is not; the ledger audit passes throughout."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum.cn import ric

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.insurance.returns import queries, service
from puhui.insurance.returns.tables import RETURN_SHIPPING_TABLES
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers, get_account
from puhui.ledger.tables import accounts, transfers
from puhui.payments import risk_hook
from puhui.payments.tables import payments, qr_codes
from puhui.settings import Settings
from tests.identity.helpers import ADMIN, ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1, MERCHANT, PASSWORD, make_staff

PRODUCT = {"code": "rs-basic", "version": 1, "claim_amount": "12.00", "target_loss_ratio": "0.7"}
OTHER_SHOP = {**MERCHANT, "name": "第二家店", "credit_code": "91350100M000100Y43"}


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
        merchant_fee_bp=60,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def post(client, path: str, headers: dict, key: str, json: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, headers={**headers, "Idempotency-Key": key}, json=json)


def fund(engine, account_id: str, fen: int, key: str) -> None:  # type: ignore[no-untyped-def]
    """Money into an account from the reserve (a bank top-up; for an insurer, its claims float)."""
    move = Transfer(f"fund.{key}", "platform.reserve_bank.CNY", account_id, fen, "CNY", "top_up")
    assert [r.value for r in transaction(engine, lambda uow: create_transfers(uow, [move]))] == ["ok"]


def balance(engine, account_id: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, account_id)
    return 0 if account is None else account.credits_posted - account.debits_posted


def assert_audit_clean(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
    assert report.ok, report


def snapshot(engine) -> dict:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        tables = (*RETURN_SHIPPING_TABLES, payments, qr_codes)
        state = {t.name: sorted(map(tuple, connection.execute(select(t)).all()), key=repr) for t in tables}
        state["accounts"] = connection.execute(select(accounts).order_by(accounts.c.id)).all()
        state["transfers"] = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
        state["outbox"] = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
    return state


def problem(answer, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code, answer.json()


def insurer_with_product(client, engine) -> str:  # type: ignore[no-untyped-def]
    operator = make_staff(client, "operator")
    partner = post(client, "/v1/partners", ADMIN, "partner-1", {"name": "众安保险"})
    assert partner.status_code == 201, partner.text
    insurer_id = partner.json()["id"]
    assert post(client, "/v1/insurance/insurers", operator, "ins-1", {"partner_id": insurer_id}).status_code == 201
    added = post(
        client, "/v1/insurance/return-shipping/products", operator, "rsp-1", {**PRODUCT, "insurer_id": insurer_id}
    )
    assert added.status_code == 201, added.text
    return insurer_id


def customer(client, engine, phone: str, seq: str, fen: int) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    body = "110105" + "19900307" + seq
    person = {
        "name": "张三丰",
        "id_number": body + ric.calc_check_digit(body + "0"),
        "phone": phone,
        "password": PASSWORD,
    }
    answer = client.post("/v1/customers", json={**person, "consents": ["payments"]})
    assert answer.status_code == 201, answer.text
    cid = answer.json()["id"]
    for channel in ("public_security", "bank_card", "face"):
        done = client.post(
            f"/v1/customers/{cid}/verifications",
            headers=ADMIN,
            json={"channel": channel, "reference": f"R-{cid}-{channel}"},
        )
        assert done.status_code == 201, done.text
    assert client.post(f"/v1/customers/{cid}/tier", headers=ADMIN, json={"reason": "ok"}).status_code == 200
    if fen:
        fund(engine, f"wallet.{cid}", fen, cid)
    login = client.post("/v1/customers/login", json={"phone": phone, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return cid, {"Authorization": f"Bearer {login.json()['token']}"}


def merchant(client, body: dict = MERCHANT) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    answer = client.post("/v1/merchants", headers=ADMIN, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], {"Authorization": f"Bearer {answer.json()['api_key']}"}


def qr(client, merchant_id: str, shop: dict, amount: str) -> str:  # type: ignore[no-untyped-def]
    made = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes",
        headers=shop,
        json={"kind": "dynamic", "amount": amount, "expires_in_seconds": 600},
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def checkout(client, me: dict, qr_id: str, key: str):  # type: ignore[no-untyped-def]
    body = {"qr_id": qr_id, "product_code": "rs-basic", "product_version": 1}
    return post(client, "/v1/insurance/return-shipping/checkout", me, key, body)


def quote(client, me: dict, **where: str):  # type: ignore[no-untyped-def]
    body = {"product_code": "rs-basic", "product_version": 1, **where}
    return client.post("/v1/insurance/return-shipping/quote", headers=me, json=body)


def test_product_version_and_the_hand_computed_quote(client, engine, clock):
    insurer_id = insurer_with_product(client, engine)
    operator = make_staff(client, "operator", "operator.two")
    read = client.get("/v1/insurance/return-shipping/products/rs-basic/1", headers=operator)
    assert read.status_code == 200 and read.json() == {
        "code": "rs-basic",
        "version": 1,
        "insurer_id": insurer_id,
        "claim_amount": "12.00",
        "target_loss_ratio": "0.7",
        "min_premium": "0.10",
        "max_premium": "5.00",
        "credibility_orders": 20,
        "prior_return_rate": "0.1",
    }
    _, me = customer(client, engine, "13800000001", "531", 0)
    merchant_id, shop = merchant(client)
    # a new buyer at a new merchant: the prior 0.1; 0.1 × 12.00 / 0.7 = 1.714… → 1.72
    by_merchant = quote(client, me, merchant_id=merchant_id)
    assert by_merchant.status_code == 200, by_merchant.text
    assert by_merchant.json()["premium"] == "1.72" and by_merchant.json()["return_probability"] == "0.100000"
    assert quote(client, me, qr_id=qr(client, merchant_id, shop, "100.00")).json() == by_merchant.json()

    same = {**PRODUCT, "insurer_id": insurer_id, "prior_return_rate": "0.100"}
    again = post(client, "/v1/insurance/return-shipping/products", operator, "rsp-same", same)
    assert again.status_code == 201 and again.json() == read.json()
    before = snapshot(engine)
    changed = {**PRODUCT, "insurer_id": insurer_id, "max_premium": "6.00"}
    problem(
        post(client, "/v1/insurance/return-shipping/products", operator, "rsp-2", changed),
        409,
        "insurance_product_exists",
    )
    inverted = {**PRODUCT, "version": 2, "insurer_id": insurer_id, "min_premium": "6.00"}
    problem(
        post(client, "/v1/insurance/return-shipping/products", operator, "rsp-3", inverted),
        422,
        "insurance_product_invalid",
    )
    problem(quote(client, me), 422, "invalid_request")
    problem(quote(client, me, merchant_id="m", qr_id="q"), 422, "invalid_request")
    problem(quote(client, me, merchant_id="nobody"), 404, "not_found")
    problem(
        client.get("/v1/insurance/return-shipping/products/rs-basic/2", headers=me), 404, "insurance_product_not_found"
    )
    assert snapshot(engine) == before


def test_checkout_pays_goods_and_premium_in_one_unit_of_work(client, engine, clock):
    insurer_id = insurer_with_product(client, engine)
    cid, me = customer(client, engine, "13800000001", "531", 1000_00)
    merchant_id, shop = merchant(client)
    qr_id = qr(client, merchant_id, shop, "100.00")

    done = checkout(client, me, qr_id, "co-1")
    assert done.status_code == 201, done.text
    payment, policy = done.json()["payment"], done.json()["policy"]
    assert payment["amount"] == "100.00" and payment["fee"] == "0.60" and payment["payee_id"] == merchant_id
    assert policy["payment_id"] == payment["id"] and policy["premium"] == "1.72" and policy["status"] == "active"
    assert balance(engine, f"wallet.{cid}") == 1000_00 - 100_00 - 1_72
    assert balance(engine, f"wallet.{merchant_id}") == 100_00 - 60
    assert balance(engine, f"insurer.{insurer_id}.premium_held") == 1_72
    assert_audit_clean(engine)

    replayed = checkout(client, me, qr_id, "co-1")  # the same Idempotency-Key: the stored answer
    assert replayed.status_code == 201 and replayed.json() == done.json()
    body = {"qr_id": qr_id, "product_code": "rs-basic", "product_version": 1, "client_payment_id": "co-1"}
    again = post(client, "/v1/insurance/return-shipping/checkout", me, "co-1-retry", body)  # the same client id
    assert again.status_code == 200 and again.json() == done.json()
    assert balance(engine, f"wallet.{cid}") == 1000_00 - 100_00 - 1_72
    mine = client.get(f"/v1/insurance/return-shipping/policies/{policy['id']}", headers=me)
    assert mine.status_code == 200 and mine.json() == {"policy": policy, "claim": None}

    # the second order rests on one order without a return: buyer weight 1/21 on 0, merchant (0 + 2) / 21;
    # 20/21 × 2/21 = 40/441; × 1200 / 0.7 = 155.49 → 1.56
    second = checkout(client, me, qr(client, merchant_id, shop, "50.00"), "co-2")
    assert second.status_code == 201 and second.json()["policy"]["premium"] == "1.56", second.text
    assert second.json()["policy"]["return_probability"] == "0.090703"
    assert balance(engine, f"insurer.{insurer_id}.premium_held") == 1_72 + 1_56
    assert_audit_clean(engine)


def test_a_wallet_short_of_goods_and_premium_changes_nothing(client, engine, clock):
    insurer_with_product(client, engine)
    _, me = customer(client, engine, "13800000001", "531", 100_50)  # the goods, not the 1.72 premium too
    merchant_id, shop = merchant(client)
    qr_id = qr(client, merchant_id, shop, "100.00")
    before = snapshot(engine)
    problem(checkout(client, me, qr_id, "co-1"), 409, "insufficient_funds")
    assert snapshot(engine) == before
    problem(
        post(client, "/v1/insurance/return-shipping/checkout", me, "co-2", {"qr_id": qr_id}), 422, "invalid_request"
    )
    body = {"qr_id": qr_id, "product_code": "rs-basic", "product_version": 9}
    problem(
        post(client, "/v1/insurance/return-shipping/checkout", me, "co-3", body), 404, "insurance_product_not_found"
    )
    assert snapshot(engine) == before


def test_the_return_pays_the_fixed_claim_once(client, engine, clock):
    insurer_id = insurer_with_product(client, engine)
    held = f"insurer.{insurer_id}.premium_held"
    cid, me = customer(client, engine, "13800000001", "531", 1000_00)
    merchant_id, shop = merchant(client)
    _, other_shop = merchant(client, OTHER_SHOP)
    policy = checkout(client, me, qr(client, merchant_id, shop, "100.00"), "co-1").json()["policy"]
    wallet = balance(engine, f"wallet.{cid}")
    path = f"/v1/insurance/return-shipping/policies/{policy['id']}/return"

    before = snapshot(engine)
    # the held premiums (1.72) cannot pay a 12.00 claim until the insurer funds them: refused, nothing moves
    problem(post(client, path, shop, "ret-0"), 409, "insufficient_funds")
    assert snapshot(engine) == before
    fund(engine, held, 100_00, "insurer-float")
    before = snapshot(engine)
    problem(post(client, path, other_shop, "ret-x"), 404, "return_shipping_policy_not_found")
    assert post(client, path, me, "ret-y").status_code == 403
    assert snapshot(engine) == before

    paid = post(client, path, shop, "ret-1")
    assert paid.status_code == 200, paid.text
    claim = paid.json()["claim"]
    assert paid.json()["policy"]["status"] == "claimed" and claim["amount"] == "12.00" and claim["customer_id"] == cid
    assert balance(engine, f"wallet.{cid}") == wallet + 12_00
    assert balance(engine, held) == 100_00 + 1_72 - 12_00
    again = post(client, path, shop, "ret-2")
    assert again.status_code == 200 and again.json() == paid.json()
    assert balance(engine, f"wallet.{cid}") == wallet + 12_00
    with engine.connect() as connection:
        events = connection.execute(
            select(outbox.c.type).where(outbox.c.type.like("insurance.return_shipping.%"))
        ).all()
    assert sorted(e[0] for e in events) == [
        "insurance.return_shipping.claim_paid",
        "insurance.return_shipping.policy_bought",
        "insurance.return_shipping.product_added",
    ]
    assert_audit_clean(engine)


def test_racing_returns_pay_one_claim(client, engine, clock):
    insurer_id = insurer_with_product(client, engine)
    fund(engine, f"insurer.{insurer_id}.premium_held", 100_00, "insurer-float")
    cid, me = customer(client, engine, "13800000001", "531", 1000_00)
    merchant_id, shop = merchant(client)
    policy_id = checkout(client, me, qr(client, merchant_id, shop, "100.00"), "co-1").json()["policy"]["id"]
    wallet = balance(engine, f"wallet.{cid}")
    created: list[bool] = []
    failures: list[BaseException] = []
    start = threading.Barrier(6)

    def confirm() -> None:
        start.wait()
        try:
            created.append(transaction(engine, lambda uow: service.confirm_return(uow, merchant_id, policy_id))[1])
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and sorted(created) == [False] * 5 + [True]
    assert balance(engine, f"wallet.{cid}") == wallet + 12_00
    assert_audit_clean(engine)


def test_abuse_signals_flag_a_serial_returner_and_refuse_cover(client, engine, clock):
    insurer_with_product(client, engine)
    with reading(engine) as connection:
        insurer_id = connection.execute(select(RETURN_SHIPPING_TABLES[0].c.insurer_id)).scalar_one()
    fund(engine, f"insurer.{insurer_id}.premium_held", 100_00, "insurer-float")
    returner, bad = customer(client, engine, "13800000001", "531", 1000_00)
    ordinary, good = customer(client, engine, "13800000002", "547", 1000_00)
    merchant_id, shop = merchant(client)
    other_id, other_shop = merchant(client, OTHER_SHOP)
    for n in range(queries.SERIAL_MIN_RETURNS):
        policy = checkout(client, bad, qr(client, merchant_id, shop, "20.00"), f"bad-{n}").json()["policy"]
        assert (
            post(client, f"/v1/insurance/return-shipping/policies/{policy['id']}/return", shop, f"r-{n}").status_code
            == 200
        )
    for n in range(2):
        assert checkout(client, good, qr(client, other_id, other_shop, "20.00"), f"good-{n}").status_code == 201

    with reading(engine) as connection:
        flagged = queries.return_abuse_signals(connection, customer_id=returner, merchant_id=merchant_id)
        clean = queries.return_abuse_signals(connection, customer_id=ordinary, merchant_id=other_id)
    assert flagged.buyer is not None and flagged.buyer.serial_returner and flagged.buyer.returns == 5
    assert flagged.merchant is not None and flagged.merchant.collusion and flagged.merchant.distinct_buyers == 1
    assert flagged.flagged and not clean.flagged
    assert clean.buyer is not None and (clean.buyer.orders, clean.buyer.returns) == (2, 0)

    qr_id = qr(client, other_id, other_shop, "20.00")
    before = snapshot(engine)
    problem(checkout(client, bad, qr_id, "bad-next"), 422, "return_cover_refused")
    assert snapshot(engine) == before
    assert checkout(client, good, qr_id, "good-next").status_code == 201
    assert_audit_clean(engine)


@pytest.fixture
def fraud_client(engine, clock):  # type: ignore[no-untyped-def]
    """The server as deployed: the fraud engine, its default rules seeded, in front of every payment."""
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
        merchant_fee_bp=60,
        fraud_checks=True,
        fraud_catch_up_seconds=0.05,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def test_abuse_signals_reach_the_fraud_rules_which_hold_a_covered_checkout_at_a_colluding_shop(
    fraud_client, engine, clock
):  # type: ignore[no-untyped-def]
    client = fraud_client
    insurer_with_product(client, engine)
    with reading(engine) as connection:
        insurer_id = connection.execute(select(RETURN_SHIPPING_TABLES[0].c.insurer_id)).scalar_one()
    fund(engine, f"insurer.{insurer_id}.premium_held", 100_00, "insurer-float")
    _, bad = customer(client, engine, "13800000001", "531", 1000_00)
    _, good = customer(client, engine, "13800000002", "547", 1000_00)
    merchant_id, shop = merchant(client)
    for n in range(queries.SERIAL_MIN_RETURNS):
        policy = checkout(client, bad, qr(client, merchant_id, shop, "20.00"), f"bad-{n}").json()["policy"]
        returned = post(client, f"/v1/insurance/return-shipping/policies/{policy['id']}/return", shop, f"r-{n}")
        assert returned.status_code == 200, returned.text
    colluding_qr = qr(client, merchant_id, shop, "20.00")
    before = snapshot(engine)
    problem(checkout(client, good, colluding_qr, "good-at-colluder"), 409, "return_checkout_needs_review")
    assert snapshot(engine) == before
    # the rule is what held it: switched off, the same covered checkout goes through
    switched = post(client, "/v1/risk/rules/return_shipping_abuse/disable", ADMIN, "rule-off", {})
    assert switched.status_code == 200 and switched.json()["enabled"] is False, switched.text
    assert checkout(client, good, colluding_qr, "good-at-colluder-2").status_code == 201
    # and paying the shop without cover raises no signal at all
    paid = post(client, f"/v1/qr-codes/{qr(client, merchant_id, shop, '20.00')}/pay", good, "plain-pay", {})
    assert paid.status_code == 201, paid.text
    assert_audit_clean(engine)


class StubFraudCheck:
    """A fraud check that answers one outcome for every payment (what risk control would decide)."""

    def __init__(self, outcome: risk_hook.Outcome) -> None:
        self.outcome = outcome

    def assess(self, request, connection=None):  # type: ignore[no-untyped-def]
        return SimpleNamespace(decision=risk_hook.Decision(self.outcome, ("stub",)))

    def record(self, uow, request, assessment, payment_ref=None):  # type: ignore[no-untyped-def]
        return 0


@pytest.mark.parametrize(
    "outcome, status, code",
    [
        (risk_hook.Outcome.review, 409, "return_checkout_needs_review"),
        (risk_hook.Outcome.decline, 403, "payment_declined"),
    ],
)
def test_a_held_or_declined_payment_buys_no_cover(client, engine, clock, outcome, status, code):
    insurer_with_product(client, engine)
    _, me = customer(client, engine, "13800000001", "531", 1000_00)
    merchant_id, shop = merchant(client)
    qr_id = qr(client, merchant_id, shop, "100.00")
    before = snapshot(engine)
    risk_hook.install(engine, StubFraudCheck(outcome))
    try:
        problem(checkout(client, me, qr_id, "co-1"), status, code)
    finally:
        risk_hook.uninstall(engine)
    assert snapshot(engine) == before
    assert checkout(client, me, qr_id, "co-2").status_code == 201
