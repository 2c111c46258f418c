"""A small console world: the app over the real API, customers registered and verified through it, a
merchant with a static QR code, and the sandbox bank settling top-ups when the test says so."""

from __future__ import annotations

import base64
import re

from stdnum import luhn
from stdnum.cn import ric

from puhui.settings import Settings

ADMIN = {"Authorization": "Bearer test-admin-token"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
PASSWORD = "correct horse battery"
CHANNELS = ("public_security", "bank_card", "face", "mobile_operator", "tax")
MERCHANT = {
    "name": "兰州拉面馆",
    "credit_code": "91110000600037341L",
    "settlement_account": "110060774018010012345",
    "settlement_holder": "马晓明",
    "settlement_bank": "交通银行北京分行",
}
HIDDEN = re.compile(r'name="(csrf_token|key)" value="([^"]+)"')


def settings(**changes: object) -> Settings:
    base = {
        "admin_token": "test-admin-token",
        "pii_keys": f"k1:{K1}",
        "pii_index_key": INDEX_KEY,
        "jwt_secret": "j" * 48,
        "jwt_ttl_seconds": 3600,
        "sandbox": True,
        "sandbox_bank_delay_seconds": 0,
        "auth_rate_per_minute": 0,
    }
    return Settings(**{**base, **changes})


def id_number(n: int) -> str:
    body = f"1101051990{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def card(n: int) -> str:
    body = f"62220211000001{n:04d}"
    return body + luhn.calc_check_digit(body)


def person(n: int) -> dict[str, str]:
    return {"name": "张三丰", "id_number": id_number(n), "phone": f"1381234{n:04d}", "password": PASSWORD}


def hidden(html: str) -> dict[str, str]:
    """The hidden CSRF token and form key of the first form on a page."""
    found: dict[str, str] = {}
    for name, value in HIDDEN.findall(html):
        found.setdefault(name, value)
    return found


def verify(client, customer_id: str, channels: int = 5) -> None:  # type: ignore[no-untyped-def]
    """Staff record the identity checks and upgrade the account class (as the counter would)."""
    for channel in CHANNELS[:channels]:
        made = client.post(
            f"/v1/customers/{customer_id}/verifications",
            headers=ADMIN,
            json={"channel": channel, "reference": f"R-{customer_id}-{channel}"},
        )
        assert made.status_code == 201, made.text
    assert client.post(f"/v1/customers/{customer_id}/tier", headers=ADMIN, json={"reason": "ok"}).status_code == 200


def merchant_qr(client) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(merchant id, its static QR code id)."""
    made = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    assert made.status_code == 201, made.text
    shop = {"Authorization": f"Bearer {made.json()['api_key']}"}
    qr = client.post(f"/v1/merchants/{made.json()['id']}/qr-codes", headers=shop, json={"kind": "static"})
    assert qr.status_code == 201, qr.text
    return made.json()["id"], qr.json()["id"]
