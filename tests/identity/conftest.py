"""Identity fixtures: a cheap password hasher, test settings and keys, the vault and an app client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.identity.vault import Vault
from puhui.settings import Settings

from .helpers import ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1


@pytest.fixture
def settings() -> Settings:
    return Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
    )


@pytest.fixture
def vault(settings) -> Vault:
    return Vault.from_config(settings.pii_keys, settings.pii_index_key)


@pytest.fixture
def client(engine, clock, settings):
    app = create_app(engine, settings, run_expiry=False)
    with TestClient(app) as test_client:
        yield test_client
