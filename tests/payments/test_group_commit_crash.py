"""`puhui serve` killed with SIGKILL while a stream of group-committed QR payments is in flight, on
SQLite and PostgreSQL.

Sixteen clients pay dynamic QR codes, each call with its own Idempotency-Key. Once some payments
are acknowledged the server process is killed. Afterwards every acknowledged payment is in the
database whole — payment row, ledger transfers, outbox event, idempotency answer, audit row, QR code
paid — and every payment in flight at the kill is either wholly present or wholly absent; the
real `puhui audit` passes; on a restarted server the retry of every call returns the answer it
got (acknowledged ones replayed byte for byte) or, for one that never committed, pays it once.

On SQLite the same holds when only the server's writer process (`puhui.db.writer`) is killed: the calls
waiting on it get a 503, and the server, which commits in its own process from then on, answers their
retries.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from puhui.db import create_engine_from_url, reading
from puhui.db.tables import audit_log, idempotency_keys, outbox
from puhui.ledger.service import get_transfers
from puhui.payments.tables import payments, qr_codes
from tests.payments.test_payments_http import ADMIN_TOKEN, INDEX_KEY, K1, customer, fund, merchant

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 16
CODES = 160
PAYERS = 8
KILL_AFTER = 40  # acknowledged payments before the kill


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PUHUI_ADMIN_TOKEN=ADMIN_TOKEN,
        PUHUI_PII_KEYS=f"k1:{K1}",
        PUHUI_PII_INDEX_KEY=INDEX_KEY,
        PUHUI_JWT_SECRET="j" * 48,
        PUHUI_SANDBOX="true",
        PUHUI_GROUP_COMMIT="on",
        PUHUI_FRAUD_CHECKS="false",
        PUHUI_BANK_WORKER="false",
        PUHUI_MONITORING="false",
        PUHUI_MERCHANT_NOTIFICATIONS="false",
        PUHUI_AUTH_RATE_PER_MINUTE="0",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def _puhui(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "puhui"
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from puhui.cli import app; app()"]
    return [*command, *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, port: int, log: Path) -> subprocess.Popen:
    with open(log, "a") as out:
        server = subprocess.Popen(  # its own process group: the kill takes any worker processes with it
            _puhui("serve", "--db", url, "--port", str(port)),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while True:
        assert server.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)


def _present(connection, qr_id: str, key: str, payer: str) -> dict[str, bool]:
    """Which of the payment's parts the database holds."""
    row = connection.execute(select(payments).where(payments.c.qr_code_id == qr_id)).mappings().first()
    payment_id = row["id"] if row else None
    transfer_ids = [f"{payment_id}.t", f"{payment_id}.f"] if payment_id else []
    events = connection.execute(select(outbox.c.payload).where(outbox.c.type == "payment.succeeded")).scalars()
    audited = connection.execute(
        select(audit_log.c.status_code).where(audit_log.c.principal == payer, audit_log.c.detail.like(f'%"{key}"%'))
    ).all()
    return {
        "payment": row is not None,
        "transfers": bool(transfer_ids) and len(get_transfers(connection, transfer_ids)) == 2,
        "event": payment_id is not None and any(payment_id in e for e in events),
        "idempotency": connection.execute(
            select(idempotency_keys.c.status_code).where(
                idempotency_keys.c.principal == payer, idempotency_keys.c.key == key
            )
        ).first()
        is not None,
        "audit": [tuple(a) for a in audited] == [(201,)],
        "qr_paid": connection.execute(select(qr_codes.c.status).where(qr_codes.c.id == qr_id)).scalar_one() == "paid",
    }


def _audit_passes(url: str) -> None:
    result = subprocess.run(_puhui("audit", "--db", url), capture_output=True, text=True, timeout=120, env=_env())
    assert result.returncode == 0 and "audit passed" in result.stdout, result.stdout + result.stderr


def _writer_pid(server_pid: int) -> int:
    """SQLite's writer process (`puhui.db.writer`), a child of the server."""
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            if b"puhui.db.writer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
    raise AssertionError("the server has no writer process")


@pytest.mark.parametrize("victim", ["server", "writer"])
def test_killed_server_keeps_acknowledged_payments_and_whole_ones(db_url: str, tmp_path: Path, victim: str) -> None:
    """`victim` "writer": only SQLite's writer process is killed. The calls waiting on it get a 503
    (`writer_unavailable`) and the server, still up, commits in its own process from then on."""
    if victim == "writer" and not db_url.startswith("sqlite"):
        pytest.skip("a writer process is SQLite's: PostgreSQL's workers commit their own batches")
    port, log = _free_port(), tmp_path / "server.log"
    server = _serve(db_url, port, log)
    base = f"http://127.0.0.1:{port}"
    engine = create_engine_from_url(db_url)
    try:
        with httpx.Client(base_url=base, timeout=30) as admin:
            people = [
                customer(admin, _person(n), 3)
                for n in range(PAYERS)  # Class II: 100,000 CNY a year is far from reached
            ]
            merchant_id, shop = merchant(admin)
            for customer_id, _ in people:
                fund(engine, f"wallet.{customer_id}", 100_000_00, customer_id)
            codes = [
                admin.post(
                    f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "9.99"}
                ).json()["id"]
                for _ in range(CODES)
            ]
        calls: dict[str, tuple[str, tuple[str, dict]]] = {}  # key: (QR code, payer)
        answers: dict[str, tuple[int, dict]] = {}
        in_flight: set[str] = set()
        acknowledged = threading.Semaphore(0)
        killed = threading.Event()

        def new_code(http: httpx.Client) -> str | None:
            made = http.post(
                f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "9.99"}
            )
            if made.status_code != 201:
                assert killed.is_set() or made.json()["code"] == "writer_unavailable", made.text
                return None
            return made.json()["id"]

        def pay(client: int) -> None:
            """Pays until the kill: past the codes made beforehand it makes its own, so a payment is in flight
            when the kill lands however fast the first ones were answered."""
            with httpx.Client(base_url=base, timeout=30) as http:
                for n in itertools.count(client, CLIENTS):
                    if killed.is_set():
                        return
                    try:
                        qr = codes[n] if n < len(codes) else new_code(http)
                    except httpx.HTTPError:
                        return  # killed while making a code: no payment of this client's in flight
                    if qr is None:
                        return
                    key, (_, headers) = f"kill-{n}", people[n % PAYERS]
                    calls[key] = (qr, people[n % PAYERS])
                    try:
                        answer = http.post(
                            f"/v1/qr-codes/{qr}/pay", headers={**headers, "Idempotency-Key": key}, json={}
                        )
                    except httpx.HTTPError:
                        in_flight.add(key)
                        return
                    if answer.status_code == 503 and answer.json()["code"] == "writer_unavailable":
                        in_flight.add(key)  # its writer died before answering
                        return
                    answers[key] = (answer.status_code, answer.json())
                    acknowledged.release()

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            running = [pool.submit(pay, i) for i in range(CLIENTS)]
            for _ in range(KILL_AFTER):
                assert acknowledged.acquire(timeout=60), log.read_text()[-3000:]
            # killed first, then the clients told: on a loaded machine the clients' last payments could all be
            # answered between telling them and the kill, leaving none in flight when it landed
            if victim == "server":
                os.killpg(server.pid, signal.SIGKILL)
            else:
                os.kill(_writer_pid(server.pid), signal.SIGKILL)
            killed.set()
            if victim == "server":
                assert server.wait(timeout=30) == -signal.SIGKILL
            for done in running:
                done.result(timeout=60)
        assert {status for status, _ in answers.values()} == {201}, answers
        assert in_flight, "the kill landed while no payment was in flight"

        with reading(engine) as connection:
            by_key = {key: (qr, payer) for key, (qr, (payer, _)) in calls.items()}
            for key in answers:
                parts = _present(connection, by_key[key][0], key, by_key[key][1])
                assert all(parts.values()), (key, parts)
            whole = {}
            for key in in_flight:
                parts = _present(connection, by_key[key][0], key, by_key[key][1])
                assert len(set(parts.values())) == 1, (key, parts)
                whole[key] = parts["payment"]
        _audit_passes(db_url)

        if victim == "server":
            server = _serve(db_url, port, log)
        with httpx.Client(base_url=base, timeout=30) as http:
            for key, (qr, (_, headers)) in calls.items():
                if key not in answers and key not in in_flight:
                    continue
                again = http.post(f"/v1/qr-codes/{qr}/pay", headers={**headers, "Idempotency-Key": key}, json={})
                assert again.status_code == 201, again.text
                if key in answers:
                    assert again.json() == answers[key][1] and again.headers.get("Idempotent-Replayed") == "true"
                else:  # committed before the kill: replayed; rolled back: paid now, once
                    assert (again.headers.get("Idempotent-Replayed") == "true") == whole[key], key
        with reading(engine) as connection:
            for key in in_flight:
                assert all(_present(connection, by_key[key][0], key, by_key[key][1]).values()), key
        _audit_passes(db_url)
        print(
            f"\n[{engine.dialect.name}, {victim} killed] {len(answers)} acknowledged, "
            f"{len(in_flight)} in flight at the kill: "
            f"{sum(whole.values())} committed, {len(whole) - sum(whole.values())} rolled back"
        )
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        engine.dispose()


def _person(n: int) -> dict:
    from tests.payments.test_group_commit import person

    return person(40 + n)
