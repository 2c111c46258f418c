"""The payments routers' list filters refuse a value they do not know, on SQLite and PostgreSQL, instead of
answering an empty list: the wallet statement's `kind` (422 `unknown_transaction_kind`, with the `allowed`
codes), its `direction`, and the reconciliation exceptions' `status` (422 `invalid_request`, naming the
values it takes). A known kind the wallet has no lines of is an empty page, as before. The README names the
body field each payments call names itself with."""

from __future__ import annotations

import re
from pathlib import Path

from puhui.payments import api, bills
from tests.payments.test_payments_http import (  # noqa: F401 - fixtures
    ADMIN,
    PEOPLE,
    bearer,
    client,
    customer,
    fund,
    merchant,
    snapshot,
)

STATEMENT = "/v1/wallets/me/transactions"


def test_an_unknown_statement_kind_is_refused_naming_the_kinds(client, engine) -> None:  # noqa: F811
    payer_id, me = customer(client, PEOPLE[0], 3)
    payee_id, _ = customer(client, PEOPLE[1], 0)
    fund(engine, f"wallet.{payer_id}", 100_00, "p")
    sent = client.post(
        "/v1/transfers/p2p", headers={**me, "Idempotency-Key": "t"}, json={"to_customer_id": payee_id, "amount": "1.00"}
    )
    assert sent.status_code == 201, sent.text
    shop_id, shop = merchant(client)
    before = snapshot(engine)
    for kind in ("nope", "qr_payments", "p2p"):
        refused = client.get(STATEMENT, headers=me, params={"kind": kind})
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert (problem["code"], problem["field"]) == ("unknown_transaction_kind", "kind"), refused.text
        assert problem["allowed"] == sorted(bills.KINDS) and "p2p_transfer" in problem["allowed"]
        assert "qr_payment" in problem["detail"]
    assert client.get(STATEMENT, headers=shop, params={"kind": "nope"}).json()["code"] == "unknown_transaction_kind"
    assert snapshot(engine) == before

    lines = client.get(STATEMENT, headers=me, params={"kind": "p2p_transfer"}).json()["transactions"]
    assert [(t["kind"], t["amount"]) for t in lines] == [("p2p_transfer", "1.00")]
    none = client.get(STATEMENT, headers=me, params={"kind": "qr_refund"})  # a kind, none of them yet
    assert none.status_code == 200 and none.json()["transactions"] == [], none.text
    funded = client.get(STATEMENT, headers=me, params={"kind": "top_up"})  # `fund` posts a top_up
    assert funded.status_code == 200 and len(funded.json()["transactions"]) == 1


def test_a_code_outside_the_list_is_a_kind_when_the_wallet_has_lines_of_it(client, engine) -> None:  # noqa: F811
    """A transfer code another product added since (`bills.KINDS` does not know it) still filters a wallet
    that has lines of it: the refusal is for a code of none of the wallet's lines."""
    from puhui.db import transaction
    from puhui.ledger.models import Transfer
    from puhui.ledger.service import create_transfers

    payer_id, me = customer(client, PEOPLE[0], 3)
    assert "new_product_payout" not in bills.KINDS
    transaction(
        engine,
        lambda uow: create_transfers(
            uow,
            [Transfer("np.1", "platform.reserve_bank.CNY", f"wallet.{payer_id}", 5_00, "CNY", "new_product_payout")],
        ),
    )
    found = client.get(STATEMENT, headers=me, params={"kind": "new_product_payout"})
    assert found.status_code == 200 and [t["amount"] for t in found.json()["transactions"]] == ["5.00"], found.text
    dated = client.get(STATEMENT, headers=me, params={"kind": "new_product_payout", "to": "2020-01-01"})
    assert dated.status_code == 200 and dated.json()["transactions"] == []  # a kind of the wallet, none then


def test_the_other_list_filters_refuse_unknown_values(client, engine) -> None:  # noqa: F811
    _, me = customer(client, PEOPLE[0], 3)
    direction = client.get(STATEMENT, headers=me, params={"direction": "sideways"})
    assert (direction.status_code, direction.json()["code"]) == (422, "invalid_request"), direction.text
    assert "'in'" in direction.text and "'out'" in direction.text
    operator = client.post("/v1/staff", headers=ADMIN, json={"handle": "ops.one", "role": "operator"})
    assert operator.status_code == 201, operator.text
    status = client.get(
        "/v1/reconciliation/exceptions",
        headers=bearer(operator.json()["token"]),
        params={"business_date": "2026-01-05", "status": "closed"},
    )
    assert (status.status_code, status.json()["code"]) == (422, "invalid_request"), status.text
    assert "'open'" in status.text and "'resolved'" in status.text


def test_the_readme_names_each_payments_calls_own_client_id() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    sentence = readme[readme.index("may instead name itself") :]
    sentence = " ".join(sentence[: sentence.index(")")].split())
    named = dict(re.findall(r"`(client_\w+_id)` for an? ([\w\s-]+?)(?:,| and|$)", sentence))
    fields = {
        "client_payment_id": api.PayIn,
        "client_transfer_id": api.P2PIn,
        "client_refund_id": api.RefundIn,
        "client_order_id": api.BankOrderIn,
    }
    assert set(named) == set(fields), sentence
    for field, model in fields.items():
        assert field in model.model_fields, (field, model)
    assert "client_payment_id" not in api.P2PIn.model_fields and "client_order_id" in api.MerchantTopUpIn.model_fields
