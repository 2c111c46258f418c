"""The role × endpoint matrix: every identity endpoint, called by every kind of caller, on both
backends. Exactly the allowed callers succeed; everyone else gets 401 (no credentials) or 403, sees
none of the subject's data, and changes nothing — not even the clear-access log.

The subject of customer calls is customer B; "customer_self" is B, "customer_other" is A. The
subject of merchant calls is merchant M; "merchant_self" is M, "merchant_other" is M2.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from stdnum.cn import uscc

from puhui.db import transaction
from puhui.identity import customers as customer_ops
from puhui.identity import kyc, org, policy, sessions
from puhui.identity.models import VerificationChannel

from .helpers import (
    ADMIN_TOKEN,
    CARD,
    JWT_SECRET,
    LI,
    MERCHANT,
    WANG,
    ZHANG,
    bearer,
    snapshot,
)

CALLERS = [
    "anonymous",
    "customer_other",
    "customer_self",
    "merchant_self",
    "merchant_other",
    "partner",
    "operator",
    "risk_officer",
    "regulator",
    "admin",
    "root",
]
ROOT = {"root"}  # PUHUI_ADMIN_TOKEN
STAFF_READERS = {"operator", "risk_officer", "regulator", "admin"} | ROOT
OPS = {"operator", "admin"} | ROOT


def _code(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


@dataclass(frozen=True)
class Endpoint:
    name: str
    action: str  # the policy rule it enforces
    method: str
    path: str  # {B} = customer B, {M} = merchant M
    allowed: set[str]
    body: dict | None = None
    success: int = 200


ENDPOINTS = [
    Endpoint("register", "customer.register", "POST", "/v1/customers", {"anonymous"} | OPS, WANG, 201),
    Endpoint("read", "customer.read", "GET", "/v1/customers/{B}", {"customer_self"} | STAFF_READERS),
    Endpoint(
        "reveal",
        "customer.read",
        "GET",
        "/v1/customers/{B}?reveal=true&purpose=matrix",
        {"risk_officer", "admin"} | ROOT,
    ),
    Endpoint(
        "verify",
        "customer.verify",
        "POST",
        "/v1/customers/{B}/verifications",
        OPS,
        {"channel": "face", "reference": "MATRIX-1"},
        201,
    ),
    Endpoint("upgrade_tier", "customer.upgrade_tier", "POST", "/v1/customers/{B}/tier", OPS, {"reason": "matrix"}),
    Endpoint(
        "bind_card",
        "customer.bind_card",
        "POST",
        "/v1/customers/{B}/cards",
        {"customer_self"},
        {"card_number": CARD},
        201,
    ),
    Endpoint(
        "consent",
        "customer.consent",
        "POST",
        "/v1/customers/{B}/consents",
        {"customer_self"},
        {"purpose": "marketing", "granted": True},
        201,
    ),
    Endpoint("export", "customer.export", "GET", "/v1/customers/{B}/export", {"customer_self"}),
    Endpoint("logout", "customer.logout", "POST", "/v1/customers/{B}/logout", {"customer_self"}),
    Endpoint("sessions", "customer.sessions", "GET", "/v1/customers/{B}/sessions", {"customer_self"} | OPS),
    Endpoint("end_sessions", "customer.sessions", "POST", "/v1/customers/{B}/sessions/end", {"customer_self"} | OPS),
    Endpoint(
        "change_password",
        "customer.change_password",
        "POST",
        "/v1/customers/{B}/password",
        {"customer_self"},
        {"current_password": ZHANG["password"], "new_password": "a new long passphrase"},
    ),
    Endpoint("close", "customer.close", "POST", "/v1/customers/{B}/close", {"customer_self"} | OPS, {"reason": "m"}),
    Endpoint(
        "create_merchant",
        "merchant.create",
        "POST",
        "/v1/merchants",
        OPS,
        {**MERCHANT, "credit_code": _code("91310000MA1FL1234")},
        201,
    ),
    Endpoint("read_merchant", "merchant.read", "GET", "/v1/merchants/{M}", {"merchant_self"} | STAFF_READERS),
    Endpoint("list_api_keys", "merchant.manage_keys", "GET", "/v1/merchants/{M}/api-keys", {"merchant_self"} | OPS),
    Endpoint(
        "issue_api_key",
        "merchant.manage_keys",
        "POST",
        "/v1/merchants/{M}/api-keys",
        {"merchant_self"} | OPS,
        None,
        201,
    ),
    Endpoint("create_partner", "partner.create", "POST", "/v1/partners", {"admin"} | ROOT, {"name": "某某银行"}, 201),
    Endpoint(
        "create_staff",
        "staff.create",
        "POST",
        "/v1/staff",
        {"admin"} | ROOT,
        {"handle": "new.hire", "role": "operator"},
        201,
    ),
    Endpoint("access_log", "pii_access_log.read", "GET", "/v1/pii-access-log", {"admin", "regulator"} | ROOT),
]


@dataclass(frozen=True)
class Actor:
    id: str
    role: str


def build_world(engine, vault) -> tuple[dict[str, dict], dict[str, str]]:
    """Customers A and B (B verified once), merchants M and M2, a partner and one staff member per role."""
    people = {
        name: customer_ops.prepare_registration(**{k: p[k] for k in ("name", "id_number", "phone", "password")})
        for name, p in (("A", LI), ("B", ZHANG))
    }
    root = Actor("admin", "admin")

    def world(uow) -> tuple[dict[str, str], dict[str, str]]:
        ids = {name: customer_ops.register(uow, vault, data) for name, data in people.items()}
        kyc.record_verification(uow, ids["B"], VerificationChannel.public_security, "PSB-1", True, root)
        tokens = {}
        ids["M"], tokens["merchant_self"] = org.create_merchant(uow, vault, org.prepare_merchant(**MERCHANT), root)
        other = {**MERCHANT, "credit_code": _code("91440300MA5ABCDE1")}
        ids["M2"], tokens["merchant_other"] = org.create_merchant(uow, vault, org.prepare_merchant(**other), root)
        tokens["partner"] = org.create_partner(uow, "合作银行", root)[1]
        for role in ("operator", "risk_officer", "regulator", "admin"):
            tokens[role] = org.create_staff(uow, role.replace("_", "-") + ".x", role, root)[1]
        tokens["customer_other"] = sessions.start(uow, JWT_SECRET, 900, ids["A"]).token
        tokens["customer_self"] = sessions.start(uow, JWT_SECRET, 900, ids["B"]).token
        return ids, tokens

    ids, tokens = transaction(engine, world)
    tokens["root"] = ADMIN_TOKEN
    headers = {caller: bearer(token) for caller, token in tokens.items()}
    headers["anonymous"] = {}
    return headers, ids


def test_the_matrix_covers_every_policy_rule():
    assert {e.action for e in ENDPOINTS} == set(policy.RULES)


def test_regulators_never_mutate_and_customers_never_administer():
    for endpoint in ENDPOINTS:
        if endpoint.method != "GET":
            assert "regulator" not in endpoint.allowed, endpoint.name
            assert not {"partner", "merchant_other", "customer_other"} & endpoint.allowed, endpoint.name


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_role_endpoint_matrix(client, engine, vault, endpoint, caller):
    headers, ids = build_world(engine, vault)
    path = endpoint.path.format(B=ids["B"], M=ids["M"])
    before = snapshot(engine)
    response = client.request(endpoint.method, path, headers=headers[caller], json=endpoint.body)
    if caller in endpoint.allowed:
        assert response.status_code == endpoint.success, response.text
        return
    expected = 401 if caller == "anonymous" else 403
    assert response.status_code == expected, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert snapshot(engine) == before
    # the problem's `instance` echoes the caller's own path and `request_id` is random hex: neither is told
    told = response.text.replace(path, "").replace(response.json()["request_id"], "")
    for secret in (
        ZHANG["id_number"][-4:],
        ZHANG["phone"][-4:],
        ZHANG["name"][1:],
        MERCHANT["settlement_account"][-4:],
    ):
        assert secret not in told
