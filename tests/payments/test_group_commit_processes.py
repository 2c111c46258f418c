"""Sixteen clients in two processes, each process with its own group committer, race on the same
database (SQLite and PostgreSQL): every dynamic QR code is paid once, one payer's static-QR daily
limit holds, and the ledger audit passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.payments.test_group_commit import app_client, person
from tests.payments.test_payments_http import assert_audit_clean, balance, customer, fund, merchant

pytestmark = [pytest.mark.slow]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CODES = 12


def _racer(url: str, start_at: float, jobs: list) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, str(HERE / "_racer.py"), url, str(start_at), json.dumps(jobs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_two_processes_keep_qr_codes_single_use_and_limits(db_url, engine):
    with app_client(engine, True) as client:
        people = [customer(client, person(60 + n), 3)[0] for n in range(4)]
        merchant_id, shop = merchant(client)
        codes = [
            client.post(
                f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "9.00"}
            ).json()["id"]
            for _ in range(CODES)
        ]
        static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()
    for n, payer in enumerate(people):
        fund(engine, f"wallet.{payer}", 1_000_00, f"p{n}")
    spender = people[0]
    jobs = {
        side: [[people[(n + side) % 4], code, None, f"{side}-d{n}"] for n, code in enumerate(codes)]
        + [[spender, static["id"], 60_00, f"{side}-s{n}"] for n in range(8)]
        for side in (0, 1)
    }
    start_at = time.time() + 8  # both processes imported and connected by then
    racers = [_racer(db_url, start_at, jobs[side]) for side in (0, 1)]
    outcomes: dict[str, str] = {}
    for racer in racers:
        out, err = racer.communicate(timeout=180)
        assert racer.returncode == 0, err[-3000:]
        *_, stats, answers = out.strip().splitlines()
        print(f"\n[{engine.dialect.name}] a racing process's group commits: {stats}")
        outcomes.update(json.loads(answers))
    for n in range(CODES):
        assert sorted(outcomes[f"{side}-d{n}"] for side in (0, 1)) == ["ok", "taken"], n
    static_ok = [k for k, v in outcomes.items() if "-s" in k and v == "ok"]
    assert len(static_ok) == 8 and all(
        v == "limit_exceeded" for k, v in outcomes.items() if "-s" in k and k not in static_ok
    )  # 8 × 60 = 480 ≤ 500 a day by static QR, whichever process made them
    assert balance(engine, f"wallet.{merchant_id}") == CODES * (9_00 - 5) + 8 * (60_00 - 36)
    assert sum(balance(engine, f"wallet.{p}") for p in people) == 4 * 1_000_00 - CODES * 9_00 - 8 * 60_00
    assert_audit_clean(engine)
