"""API-key rotation and revocation on SQLite and PostgreSQL: a merchant issues a second key,
revokes the first, and the revoked key stops working at once; an admin revokes a staff token."""

from __future__ import annotations

from .helpers import ADMIN, MERCHANT, bearer


def test_rotate_and_revoke_merchant_keys(client, engine):
    made = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT).json()
    merchant_id, first = made["id"], bearer(made["api_key"])
    second = client.post(f"/v1/merchants/{merchant_id}/api-keys", headers={**first, "Idempotency-Key": "k2"})
    assert second.status_code == 201, second.text
    new = bearer(second.json()["api_key"])
    keys = client.get(f"/v1/merchants/{merchant_id}/api-keys", headers=new).json()["api_keys"]
    assert len(keys) == 2 and not any(k["revoked"] for k in keys)
    assert all("api_key" not in k and len(k["prefix"]) <= 32 for k in keys)
    old_prefix = next(k["prefix"] for k in keys if k["prefix"] != second.json()["prefix"])
    revoked = client.post(f"/v1/merchants/{merchant_id}/api-keys/{old_prefix}/revoke", headers=new)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert client.get(f"/v1/merchants/{merchant_id}", headers=first).status_code == 401
    assert client.get(f"/v1/merchants/{merchant_id}", headers=new).status_code == 200
    again = client.post(f"/v1/merchants/{merchant_id}/api-keys/{old_prefix}/revoke", headers=new)
    assert again.status_code == 200
    unknown = client.post(f"/v1/merchants/{merchant_id}/api-keys/cred_nope/revoke", headers=new)
    assert unknown.status_code == 404 and unknown.json()["code"] == "credential_not_found"


def test_a_merchant_cannot_revoke_another_merchants_key(client, engine):
    from stdnum.cn import uscc

    one = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT).json()
    body17 = "91440300MA5ABCDE1"[:17]
    two = client.post(
        "/v1/merchants", headers=ADMIN, json={**MERCHANT, "credit_code": body17 + uscc.calc_check_digit(body17)}
    ).json()
    keys = client.get(f"/v1/merchants/{one['id']}/api-keys", headers=ADMIN).json()["api_keys"]
    refused = client.post(
        f"/v1/merchants/{one['id']}/api-keys/{keys[0]['prefix']}/revoke", headers=bearer(two["api_key"])
    )
    assert refused.status_code == 403
    # and not through its own path either: the key must belong to the merchant named
    sideways = client.post(
        f"/v1/merchants/{two['id']}/api-keys/{keys[0]['prefix']}/revoke", headers=bearer(two["api_key"])
    )
    assert sideways.status_code == 404
    assert client.get(f"/v1/merchants/{one['id']}", headers=bearer(one["api_key"])).status_code == 200


def test_admin_revokes_a_staff_token(client, engine):
    answer = client.post("/v1/staff", headers=ADMIN, json={"handle": "leaver", "role": "operator"})
    staff_id, token = answer.json()["id"], answer.json()["token"]
    prefix = "_".join(token.split("_", 3)[:3])
    operator = bearer(token)
    assert client.get("/v1/merchants", headers=operator).status_code == 200
    assert client.post(f"/v1/staff/{staff_id}/tokens/{prefix}/revoke", headers=operator).status_code == 403
    assert client.post(f"/v1/staff/{staff_id}/tokens/{prefix}/revoke", headers=ADMIN).status_code == 200
    assert client.get("/v1/merchants", headers=operator).status_code == 401
