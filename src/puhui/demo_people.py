"""A demo person made the way a customer is: signed up, verified on the channels named, given the
wallet class those allow (账户分类) and logged in, all through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoPerson:
    id: str
    headers: dict[str, str]  # the person's session: Authorization: Bearer …
    tier: Any  # the wallet class the tier call answered


def register_person(client, admin: dict, check, person: dict, channels) -> DemoPerson:  # type: ignore[no-untyped-def]
    """Register `person` (name, id_number, phone, password) with its consent to payments (as every sign-up
    gives), verify it on `channels` as the admin, raise its wallet class and log it in;
    `check(response, status)` answers the body or raises."""
    signed_up = {"consents": ["payments"], **person}
    cid = check(client.post("/v1/customers", json=signed_up), 201)["id"]
    for channel in channels:
        # the check's own reference, as a verifier would give it: never the person's phone or ID number
        reference = {"channel": channel, "reference": f"DEMO-{cid}-{channel}"}
        check(client.post(f"/v1/customers/{cid}/verifications", headers=admin, json=reference), 201)
    tier = check(client.post(f"/v1/customers/{cid}/tier", headers=admin, json={"reason": "demo"}), 200)
    login = {"phone": person["phone"], "password": person["password"]}
    token = check(client.post("/v1/customers/login", json=login), 200)["token"]
    return DemoPerson(cid, {"Authorization": f"Bearer {token}"}, tier.get("tier"))
