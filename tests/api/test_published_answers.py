"""The ledger, operations (settlement, reconciliation, reserve checks, health), events, staff and partner,
clear-access log, customer export and bank-notification answers publish their shapes (issue 13, typed
responses). These operations answered `{}` in the spec (any object): a generated client got `Any`. Now the
spec names a schema for each success answer, and what the API really sends fits it exactly: every field is
named (the schemas refuse others), amounts match their pattern, statuses their closed sets."""

from __future__ import annotations

import datetime as dt
import typing

import jsonschema
import pytest

from puhui.api.contract import spec
from puhui.ledger.models import AccountFlags, TransferFlags
from puhui.ledger.schemas import AccountFlagName, TransferFlagName
from puhui.payments.bank.channel import OrderKind
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_RICH
from puhui.settings import SANDBOX_BANK_NOTIFY_KEY
from tests.payments.test_reconciliation import day, order  # noqa: F401 - fixtures
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    ADMIN,
    BANK_KEY,
    D,
    client,
    login,
    make_customer,
    make_merchant,
    pay,
)

SPEC = spec()
RESERVE = "platform.reserve_bank.CNY"

OPERATIONS = [
    ("get", "/health"),
    ("get", "/v1/events"),
    ("get", "/v1/ledger/accounts"),
    ("post", "/v1/ledger/accounts"),
    ("get", "/v1/ledger/accounts/{account_id}"),
    ("post", "/v1/ledger/accounts/{account_id}/close"),
    ("post", "/v1/ledger/accounts/{account_id}/reopen"),
    ("get", "/v1/ledger/accounts/{account_id}/transfers"),
    ("get", "/v1/ledger/chart"),
    ("post", "/v1/ledger/transfers"),
    ("get", "/v1/ledger/transfers/{transfer_id}"),
    ("get", "/v1/reconciliation/exceptions"),
    ("post", "/v1/reconciliation/exceptions/{exception_id}/assign"),
    ("post", "/v1/reconciliation/exceptions/{exception_id}/resolve"),
    ("post", "/v1/reconciliation/runs"),
    ("get", "/v1/reserve-checks"),
    ("post", "/v1/reserve-checks"),
    ("get", "/v1/settlements"),
    ("post", "/v1/settlements"),
    ("get", "/v1/customers/{customer_id}/export"),
    ("post", "/v1/partners"),
    ("get", "/v1/pii-access-log"),
    ("post", "/v1/staff"),
    ("post", "/v1/staff/{staff_id}/tokens/{prefix}/revoke"),
    ("post", "/v1/bank/notifications"),
]


def success_schemas(method: str, path: str) -> dict[str, dict]:
    responses = SPEC["paths"][path][method]["responses"]
    return {
        status: answer["content"]["application/json"]["schema"]
        for status, answer in responses.items()
        if status.startswith("2") and "application/json" in answer.get("content", {})
    }


def conforms(answer, method: str, path: str) -> dict:  # type: ignore[no-untyped-def]
    """Assert the answer's body fits the schema the spec publishes for its status; return the body."""
    schema = success_schemas(method, path).get(str(answer.status_code))
    assert schema is not None, f"{method.upper()} {path} answered {answer.status_code}: {answer.text}"
    body = answer.json()
    jsonschema.validate(body, {**schema, "components": SPEC["components"]}, cls=jsonschema.Draft202012Validator)
    return body


def named(schema: dict) -> bool:
    """A schema a client generator turns into a type: a named model, or a list of one."""
    if schema.get("type") == "array":
        return named(schema.get("items", {}))
    return "$ref" in schema or any(named(s) for s in schema.get("anyOf", []))


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_each_operation_publishes_its_answer_shape(method, path):
    schemas = success_schemas(method, path)
    assert schemas, f"{method.upper()} {path} publishes no JSON success answer"
    for status, schema in schemas.items():
        assert named(schema), f"{method.upper()} {path} {status} answers an unnamed shape: {schema}"


def test_each_published_shape_has_a_name_of_its_own():
    """Two models of one name (a merchant's settlement account, a merchant's settlement of a day) are published
    as `puhui__payments__schemas__Settlement`, a name a client generator cannot parse."""
    assert [name for name in SPEC["components"]["schemas"] if "__" in name] == []


def test_the_published_flag_names_are_the_ledgers():
    assert set(typing.get_args(AccountFlagName)) == {f.name for f in AccountFlags if f.value}
    assert set(typing.get_args(TransferFlagName)) == {f.name for f in TransferFlags if f.value}


# -- the ledger and the events ---------------------------------------------------------------------------


def open_account(client, account_id: str, flags: list[str]):  # type: ignore[no-untyped-def]
    body = {"id": account_id, "ledger": "CNY", "code": "customer_wallet", "owner_id": account_id, "flags": flags}
    return client.post("/v1/ledger/accounts", headers=ADMIN, json=body)


def transfer(transfer_id: str, debit: str, credit: str, amount: str, **extra: object) -> dict:
    return {
        "id": transfer_id,
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": amount,
        "ledger": "CNY",
        "code": "p2p",
        **extra,
    }


def test_ledger_and_event_answers_fit_their_shapes(client, clock):
    opened = conforms(open_account(client, "w.a", ["debits_must_not_exceed_credits"]), "post", "/v1/ledger/accounts")
    assert opened["flags"] == ["debits_must_not_exceed_credits"] and "as_of" not in opened
    assert open_account(client, "w.a", ["debits_must_not_exceed_credits"]).status_code == 200  # exists: same shape
    conforms(open_account(client, "w.a", ["debits_must_not_exceed_credits"]), "post", "/v1/ledger/accounts")
    conforms(open_account(client, "w.b", []), "post", "/v1/ledger/accounts")

    batch = [transfer("t.fund", RESERVE, "w.a", "100.00", code="topup"), transfer("t.hold", "w.a", "w.b", "30.00")]
    batch[1]["flags"] = ["pending"]
    batch[1]["timeout_seconds"] = 600
    done = conforms(
        client.post("/v1/ledger/transfers", headers=ADMIN, json={"transfers": batch}), "post", "/v1/ledger/transfers"
    )
    assert [r["result"] for r in done["results"]] == ["ok", "ok"]
    mixed = [transfer("t.fund", RESERVE, "w.a", "100.00", code="topup"), transfer("t.big", "w.a", "w.b", "500.00")]
    partly = client.post("/v1/ledger/transfers", headers=ADMIN, json={"transfers": mixed})
    assert partly.status_code == 207
    assert [r["result"] for r in conforms(partly, "post", "/v1/ledger/transfers")["results"]] == [
        "exists",
        "exceeds_credits",
    ]

    at = clock.now().isoformat()
    clock.advance(minutes=1)
    now = conforms(client.get("/v1/ledger/accounts/w.a", headers=ADMIN), "get", "/v1/ledger/accounts/{account_id}")
    assert (now["credits_posted"], now["debits_pending"]) == ("100.00", "30.00") and "as_of" not in now
    then = client.get("/v1/ledger/accounts/w.a", headers=ADMIN, params={"as_of": at})
    assert conforms(then, "get", "/v1/ledger/accounts/{account_id}")["as_of"] == at
    page = conforms(client.get("/v1/ledger/accounts", headers=ADMIN), "get", "/v1/ledger/accounts")
    assert all("as_of" not in a for a in page["accounts"]) and page["next"] is None
    history = client.get("/v1/ledger/accounts/w.a/transfers", headers=ADMIN)
    held = conforms(history, "get", "/v1/ledger/accounts/{account_id}/transfers")["transfers"][-1]
    assert (held["id"], held["flags"], held["status"]) == ("t.hold", ["pending"], "pending")
    one = conforms(
        client.get("/v1/ledger/transfers/t.fund", headers=ADMIN), "get", "/v1/ledger/transfers/{transfer_id}"
    )
    assert (one["amount"], one["status"], one["pending_id"]) == ("100.00", None, None)
    chart = conforms(client.get("/v1/ledger/chart", headers=ADMIN), "get", "/v1/ledger/chart")
    assert {"code": "CNY", "name": "Chinese yuan renminbi", "kind": "currency", "scale": 2} in chart["ledgers"]
    closed = client.post("/v1/ledger/accounts/w.b/close", headers=ADMIN)
    assert conforms(closed, "post", "/v1/ledger/accounts/{account_id}/close")["flags"] == ["closed"]
    reopened = client.post("/v1/ledger/accounts/w.b/reopen", headers=ADMIN)
    assert conforms(reopened, "post", "/v1/ledger/accounts/{account_id}/reopen")["flags"] == []

    events = conforms(client.get("/v1/events", headers=ADMIN), "get", "/v1/events")
    assert events["events"] and events["next"] == events["events"][-1]["position"]
    health = conforms(client.get("/health"), "get", "/health")
    assert (health["status"], health["database"]) == ("ok", "ok")


# -- settlement, reserve checks and the bank's notifications ---------------------------------------------


def test_settlement_and_reserve_answers_fit_their_shapes(client, engine, clock):
    client.app.state.bank = SandboxBank(BANK_KEY, reserve_balance=100_000_00, auto_open_balance=0)
    _, phone = make_customer(client, engine, "13812345678", "531", 500_00)
    merchant_id, shop = make_merchant(client)
    pay(client, phone, merchant_id, shop, "100.00")
    checked = conforms(client.post("/v1/reserve-checks", headers=ADMIN), "post", "/v1/reserve-checks")
    assert (checked["business_date"], checked["surplus"], checked["covered"]) == (
        D.isoformat(),
        "0.60",
        True,
    )  # the fee
    [recorded] = conforms(client.get("/v1/reserve-checks", headers=ADMIN), "get", "/v1/reserve-checks")["checks"]
    assert (recorded["reserve"], recorded["obligations"]) == ("500.00", "499.40")

    clock.advance(hours=24)
    run = client.post("/v1/settlements", headers=ADMIN, json={"business_date": D.isoformat()})
    [row] = conforms(run, "post", "/v1/settlements")["settlements"]
    assert (row["gross"], row["fees"], row["net"], row["carried"], row["state"]) == (
        "100.00",
        "0.60",
        "99.40",
        "0.00",
        "pending",
    )
    listed = client.get("/v1/settlements", headers=shop, params={"business_date": D.isoformat()})
    assert conforms(listed, "get", "/v1/settlements")["settlements"][0]["id"] == row["id"]


def test_a_bank_notifications_answer_fits_its_shape(client, engine, clock):
    customer_id, phone = make_customer(client, engine, "13812345678", "531", 0)
    me = login(client, phone)
    card = client.post(f"/v1/customers/{customer_id}/cards", headers=me, json={"card_number": CARD_RICH})
    assert card.status_code == 201, card.text
    answers = []

    def deliver(body: bytes, header: str) -> int:
        answer = client.post("/v1/bank/notifications", content=body, headers={"X-Bank-Signature": header})
        answers.append(answer)
        return answer.status_code

    bank = SandboxBank(SANDBOX_BANK_NOTIFY_KEY)
    bank.register_callback(deliver)
    client.app.state.bank = bank
    top_up = client.post("/v1/wallets/me/top-ups", headers=me, json={"card_id": card.json()["id"], "amount": "20.00"})
    assert top_up.status_code == 202, top_up.text
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    assert answers, "the bank sent no notification"
    assert conforms(answers[0], "post", "/v1/bank/notifications") == {
        "order_id": top_up.json()["id"],
        "status": "posted",
    }


# -- reconciliation --------------------------------------------------------------------------------------


def test_reconciliation_answers_fit_their_shapes(day, client, clock):  # noqa: F811 - the fixtures
    bank = day["bank"]
    client.app.state.bank = bank
    clock.advance(hours=24)
    bank.inject_statement_fault(D, "extra")  # 1.00 CNY came in at the bank without an order
    run = conforms(
        client.post("/v1/reconciliation/runs", headers=ADMIN, json={"business_date": D.isoformat()}),
        "post",
        "/v1/reconciliation/runs",
    )
    [found] = run["exceptions"]
    assert (run["open"], found["kind"], found["bank_amount"], found["platform_amount"]) == (
        1,
        "missing_at_platform",
        "1.00",
        None,
    )
    listed = client.get("/v1/reconciliation/exceptions", headers=ADMIN, params={"business_date": D.isoformat()})
    assert conforms(listed, "get", "/v1/reconciliation/exceptions")["exceptions"] == [found]
    resolved = client.post(
        f"/v1/reconciliation/exceptions/{found['id']}/resolve", headers=ADMIN, json={"action": "to_suspense"}
    )
    done = conforms(resolved, "post", "/v1/reconciliation/exceptions/{exception_id}/resolve")
    assert (done["status"], done["action"], done["actor"]) == ("resolved", "to_suspense", "admin")
    assigned = client.post(
        f"/v1/reconciliation/exceptions/{found['id']}/assign", headers=ADMIN, json={"customer_id": day["customer_id"]}
    )
    given = conforms(assigned, "post", "/v1/reconciliation/exceptions/{exception_id}/assign")
    assert (given["assigned_to"], given["assign_transfer_id"]) == (day["customer_id"], found["id"] + ".assign")


# -- staff, partners, the clear-access log and the customer's export -------------------------------------


def test_staff_partner_log_and_export_answers_fit_their_shapes(client, engine, clock):
    added = conforms(
        client.post("/v1/staff", headers=ADMIN, json={"handle": "ops.li", "role": "operator"}), "post", "/v1/staff"
    )
    assert added["role"] == "operator" and added["token"] and added["token_note"]
    prefix = "_".join(added["token"].split("_", 3)[:3])
    revoked = client.post(f"/v1/staff/{added['id']}/tokens/{prefix}/revoke", headers=ADMIN)
    assert conforms(revoked, "post", "/v1/staff/{staff_id}/tokens/{prefix}/revoke") == {
        "prefix": prefix,
        "revoked": True,
    }
    partner = client.post("/v1/partners", headers={**ADMIN, "Idempotency-Key": "p1"}, json={"name": "助贷  伙伴"})
    assert conforms(partner, "post", "/v1/partners")["name"] == "助贷 伙伴"
    again = client.post("/v1/partners", headers={**ADMIN, "Idempotency-Key": "p1"}, json={"name": "助贷  伙伴"})
    assert conforms(again, "post", "/v1/partners")["api_key"] is None  # the key is shown once only

    customer_id, phone = make_customer(client, engine, "13812345678", "531", 12_34)
    seen = client.get(f"/v1/customers/{customer_id}", headers=ADMIN, params={"reveal": "true", "purpose": "complaint"})
    assert seen.status_code == 200, seen.text
    log = conforms(client.get("/v1/pii-access-log", headers=ADMIN), "get", "/v1/pii-access-log")
    assert [(e["subject"], e["purpose"]) for e in log["entries"]] == [(customer_id, "complaint")]
    exported = client.get(f"/v1/customers/{customer_id}/export", headers=login(client, phone))
    export = conforms(exported, "get", "/v1/customers/{customer_id}/export")
    assert exported.headers["content-disposition"] == f'attachment; filename="puhui-{customer_id}.json"'
    assert export["wallet"]["balance"] == "12.34"
    assert export["tier_changes"][-1]["to"] == export["customer"]["tier"]["class"]
