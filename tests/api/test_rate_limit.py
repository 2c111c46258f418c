"""No per-address rate limit (issue 19, finding 5): 80 parallel anonymous log-ins were all served (and
took 2.5 GiB in password hashes). Log-ins and sign-ups from one address are now limited (429
`rate_limited` with Retry-After, before any password is hashed); other addresses are not affected."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from puhui.api.rate_limit import Buckets
from puhui.app import create_app
from puhui.identity import auth
from puhui.settings import Settings


def test_sixty_parallel_log_ins_from_one_address_hash_at_most_the_limit(engine, clock, monkeypatch):
    hashed = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda stored, pw: hashed.append(1) or real(stored, pw))
    settings = Settings(
        jwt_secret="j" * 48, pii_keys="k1:" + "A" * 43 + "=", pii_index_key="B" * 43 + "=", auth_rate_per_minute=10
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as client:

        def log_in(n: int):  # type: ignore[no-untyped-def]
            return client.post("/v1/customers/login", json={"phone": f"1380000{n:04d}", "password": "whatever pw"})

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(log_in, range(60)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(429) == 50 and statuses.count(401) == 10, statuses
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.json()["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
    assert len(hashed) == 10


def test_the_buckets_refill_and_keep_addresses_apart(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("puhui.api.rate_limit.time.monotonic", lambda: now[0])
    buckets = Buckets(rate=2)
    assert buckets.take("a") is None and buckets.take("a") is None
    assert buckets.take("a") == 30.0  # two a minute: the next token in 30 s
    assert buckets.take("b") is None  # another address has its own bucket
    now[0] += 30
    assert buckets.take("a") is None
