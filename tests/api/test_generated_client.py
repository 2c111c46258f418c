"""A client generated from the published spec works (issue 13): `openapi-python-client` builds a typed
Python client from the app's `/openapi.json`, and that client registers two customers, verifies them,
logs one in and makes a P2P payment, getting back typed models (`Payment`, `Wallet`) whose amounts are
decimal strings. The generated code is used as a team would use it, over HTTP (the test client)."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from puhui.app import create_app
from puhui.db import create_engine_from_url
from puhui.settings import Settings
from tests.payments.test_payments_http import (  # noqa: F401 - the client fixture
    ADMIN_TOKEN,
    CHANNELS,
    PEOPLE,
    assert_audit_clean,
    balance,
    client,
    fund,
)

PACKAGE = "puhui_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The generated package, importable as `puhui_client`."""
    tool = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or shutil.which(
        "openapi-python-client"
    )
    assert tool, "openapi-python-client is a dev dependency: pip install -e '.[dev]'"
    root = tmp_path_factory.mktemp("generated")
    app = create_app(create_engine_from_url("sqlite://"), Settings(), run_expiry=False)
    (root / "openapi.json").write_text(json.dumps(app.openapi()), encoding="utf-8")
    done = subprocess.run(
        [
            tool,
            "generate",
            "--path",
            str(root / "openapi.json"),
            "--output-path",
            str(root / PACKAGE),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Unable to" not in done.stdout + done.stderr, done.stdout[-3000:]  # every schema made a model
    sys.path.insert(0, str(root))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def over(client, base, token: str | None = None):  # type: ignore[no-untyped-def]  # noqa: F811
    """A generated client whose HTTP goes to the app under test (its own headers, the app's transport)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx.Client(transport=client._transport, base_url="http://testserver", headers=headers)
    made = (
        base.AuthenticatedClient(base_url="http://testserver", token=token)
        if token
        else base.Client(base_url="http://testserver")
    )
    return made.set_httpx_client(http)


def test_a_generated_client_makes_a_p2p_payment(client, engine, generated):  # noqa: F811
    base = generated("client")
    models = generated("models")
    anonymous, admin = over(client, base), over(client, base, ADMIN_TOKEN)
    register = generated("api.customers.customers_register")
    verify = generated("api.customers.customers_add_verification")
    upgrade = generated("api.customers.customers_upgrade_tier")

    ids = []
    for person in PEOPLE[:2]:
        made = register.sync_detailed(
            client=anonymous, body=models.RegisterIn(**person, consents=[models.ConsentPurpose.PAYMENTS])
        )
        assert made.status_code == 201 and isinstance(made.parsed, models.Customer), made.content
        assert made.parsed.phone != person["phone"]  # masked on the way out
        for channel in CHANNELS[:3]:
            body = models.VerificationIn(
                channel=models.VerificationChannel(channel), reference=f"R-{made.parsed.id}-{channel}"
            )
            assert verify.sync_detailed(made.parsed.id, client=admin, body=body).status_code == 201
        assert (
            upgrade.sync_detailed(made.parsed.id, client=admin, body=models.TierIn(reason="verified")).status_code
            == 200
        )
        ids.append(made.parsed.id)
    payer, payee = ids
    fund(engine, f"wallet.{payer}", 500_00, "generated")

    login = generated("api.customers.customers_login").sync_detailed(
        client=anonymous, body=models.LoginIn(phone=PEOPLE[0]["phone"], password=PEOPLE[0]["password"])
    )
    assert isinstance(login.parsed, models.Login), login.content
    me = over(client, base, login.parsed.token)

    paid = generated("api.payments.payments_p2p").sync_detailed(
        client=me, body=models.P2PIn(to_customer_id=payee, amount="123.45")
    )
    assert paid.status_code == 201 and isinstance(paid.parsed, models.Payment), paid.content
    assert paid.parsed.amount == "123.45" and paid.parsed.payer_id == payer and paid.parsed.payee_id == payee
    wallet = generated("api.payments.payments_my_wallet").sync_detailed(client=me)
    assert isinstance(wallet.parsed, models.Wallet)
    assert Decimal(wallet.parsed.balance) == Decimal("376.55") == Decimal(balance(engine, f"wallet.{payer}")) / 100
    assert balance(engine, f"wallet.{payee}") == 123_45
    assert_audit_clean(engine)
