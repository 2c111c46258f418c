"""Log-in throttling and refusal auditing, on SQLite and PostgreSQL: five wrong passwords lock the
phone for 15 minutes (even the right password is refused, with Retry-After), the lock lifts by
itself, a success clears the count, and every refusal is in the audit log without the phone."""

from __future__ import annotations

from sqlalchemy import select

from puhui.db import reading
from puhui.db.tables import audit_log
from puhui.identity.throttle import MAX_FAILURES

from .helpers import ADMIN, PASSWORD, ZHANG, register


def attempt(client, password: str) -> tuple[int, dict]:
    answer = client.post("/v1/customers/login", json={"phone": ZHANG["phone"], "password": password})
    return answer.status_code, answer


def test_too_many_failures_lock_the_phone_then_the_lock_lifts(client, engine, clock):
    register(client, ZHANG)
    for _ in range(MAX_FAILURES - 1):
        assert attempt(client, "wrong password")[0] == 401
    assert attempt(client, PASSWORD)[0] == 200  # a success clears the count
    for _ in range(MAX_FAILURES):
        assert attempt(client, "wrong password")[0] == 401
    status, answer = attempt(client, PASSWORD)
    assert status == 429 and answer.json()["code"] == "too_many_login_attempts"
    assert 0 < int(answer.headers["Retry-After"]) <= 15 * 60
    clock.advance(minutes=14)
    assert attempt(client, PASSWORD)[0] == 429
    clock.advance(minutes=2)
    assert attempt(client, PASSWORD)[0] == 200
    with reading(engine) as connection:
        rows = connection.execute(
            select(audit_log.c.status_code, audit_log.c.detail).where(audit_log.c.action == "identity.login")
        ).all()
    assert sorted({r[0] for r in rows}) == [200, 401, 429]
    assert not any(ZHANG["phone"] in (r[1] or "") for r in rows)


def test_failures_spread_over_time_do_not_lock(client, engine, clock):
    register(client, ZHANG)
    for _ in range(3 * MAX_FAILURES):
        assert attempt(client, "wrong password")[0] == 401
        clock.advance(minutes=4)  # each window of 15 minutes sees fewer than five
    assert attempt(client, PASSWORD)[0] == 200


def test_forbidden_and_unauthenticated_calls_are_audited(client, engine):
    customer = register(client, ZHANG)
    other = client.get(f"/v1/customers/{customer['id']}", headers={"Authorization": "Bearer nonsense"})
    assert other.status_code == 401
    staffless = client.post(
        "/v1/staff",
        headers={"Authorization": f"Bearer {customer.get('token', 'x')}"},
        json={"handle": "sneaky", "role": "admin"},
    )
    assert staffless.status_code in (401, 403)
    with reading(engine) as connection:
        rows = connection.execute(
            select(audit_log.c.principal, audit_log.c.status_code, audit_log.c.target).order_by(audit_log.c.seq)
        ).all()
    refused = [r for r in rows if r[1] in (401, 403)]
    assert (f"/v1/customers/{customer['id']}" in {r[2] for r in refused}) and "/v1/staff" in {r[2] for r in refused}
    assert client.get("/v1/merchants", headers=ADMIN).status_code == 200


def test_a_locked_log_in_holds_one_connection_at_a_time(client, engine):
    """Regression (issue 19, finding 4): refusing a locked phone audited the refusal on a second
    connection while the first was still held; 100 parallel anonymous log-ins exhausted the pool
    (500s, and a customer's wallet read waited 32-97 s)."""
    from sqlalchemy import event

    register(client, ZHANG)
    for _ in range(MAX_FAILURES):
        attempt(client, "wrong password")
    held, most = 0, [0]

    def checkout(*_):  # type: ignore[no-untyped-def]
        nonlocal held
        held += 1
        most[0] = max(most[0], held)

    def checkin(*_):  # type: ignore[no-untyped-def]
        nonlocal held
        held -= 1

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        assert attempt(client, PASSWORD)[0] == 429
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
    assert most[0] == 1


def test_parallel_guesses_try_at_most_five_passwords(client, engine, vault, settings, monkeypatch):
    """Regression (issue 19, finding 5): the lock was checked before the slow hash and counted after it,
    so 60 parallel guesses had 28-44 passwords checked instead of 5."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from puhui.errors import PuhuiError
    from puhui.identity import auth, sessions

    register(client, ZHANG)
    checked, lock = [0], threading.Lock()
    real = auth.verify_password

    def counting(stored, password):  # type: ignore[no-untyped-def]
        with lock:
            checked[0] += 1
        return real(stored, password)

    monkeypatch.setattr(auth, "verify_password", counting)

    def guess(n: int) -> str:
        try:
            sessions.login(engine, vault, settings, ZHANG["phone"], f"guess number {n}")
        except PuhuiError as refused:
            return refused.code
        return "ok"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(guess, range(60)))
    assert checked[0] <= MAX_FAILURES, checked
    assert outcomes.count("invalid_credentials") == checked[0]
    assert set(outcomes) == {"invalid_credentials", "too_many_login_attempts"}
