"""Identity test helpers: test keys, valid test numbers, the people the tests register, and calls
the API tests share."""

from __future__ import annotations

import base64

from sqlalchemy import func, select
from stdnum import luhn
from stdnum.cn import ric

from puhui.db.tables import outbox
from puhui.identity.tables import IDENTITY_TABLES
from puhui.ledger.tables import accounts, transfers

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
K2 = base64.urlsafe_b64encode(b"2" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
JWT_SECRET = "j" * 48
PASSWORD = "correct horse battery"


def id_number(region: str = "110105", birth: str = "19900307", seq: str = "123") -> str:
    """A valid 18-digit resident ID number (GB 11643 check digit computed)."""
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


def card_number(prefix: str = "622202123456789") -> str:
    return prefix + luhn.calc_check_digit(prefix)


ZHANG = {
    "name": "张三丰",
    "id_number": id_number(seq="531"),
    "phone": "13812345678",
    "password": PASSWORD,
    "address": "北京市朝阳区建国路88号",
    "consents": ["payments"],
}
LI = {
    "name": "李娜",
    "id_number": id_number("310104", "19851120", "246"),
    "phone": "13998765432",
    "password": PASSWORD,
    "consents": ["payments"],
}
WANG = {
    "name": "王芳",
    "id_number": id_number("440305", "20000229", "067"),
    "phone": "15011112222",
    "password": PASSWORD,
    "consents": ["payments"],
}
CARD = card_number()
MERCHANT = {
    "name": "兰州拉面馆",
    "credit_code": "91110000600037341L",
    "settlement_account": "110060774018010012345",
    "settlement_holder": "马晓明",
    "settlement_bank": "交通银行北京分行",
}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def snapshot(engine) -> dict:
    """Everything a refused request must leave as it was: identity rows, accounts, transfers, events.
    (The audit log and the idempotency store are not business state: refusals are audited.)"""
    with engine.connect() as connection:
        state = {t.name: sorted(map(tuple, connection.execute(select(t)).all()), key=repr) for t in IDENTITY_TABLES}
        state["accounts"] = connection.execute(select(accounts).order_by(accounts.c.id)).all()
        state["transfers"] = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
        state["outbox"] = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
    return state


def register(client, person: dict, headers: dict | None = None) -> dict:
    response = client.post("/v1/customers", json=person, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()


def login(client, person: dict) -> dict:
    response = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    assert response.status_code == 200, response.text
    return bearer(response.json()["token"])


def make_staff(client, role: str, handle: str | None = None) -> dict:
    response = client.post(
        "/v1/staff", headers=ADMIN, json={"handle": handle or f"{role.replace('_', '-')}.one", "role": role}
    )
    assert response.status_code == 201, response.text
    return bearer(response.json()["token"])
