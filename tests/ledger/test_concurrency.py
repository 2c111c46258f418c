"""Many processes moving money between a few hot accounts at once, on PostgreSQL.

Eight spawned processes, each with its own engine, released together by a barrier, send small
batches (plain transfers, linked chains, holds posted or voided later or in the same batch) in
random directions between six hot accounts, five of which may not be overdrawn. Twice during the
run every worker meets the others at a second barrier and sends a batch that its partner sends at
the same instant, with the same ids.

Afterwards: no caller saw an error (deadlocks and serialization failures are retried inside
`transaction`), the audit passes, no flagged account is overdrawn, money is conserved, every
account's balances equal its opening balances plus the `ok` transfers the workers recorded (no
lost update), linked chains were all-or-nothing, and each replayed id was `ok` for exactly one
partner and `exists` for the other.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # e.g. under --import-mode=importlib
    sys.path.insert(0, _HERE)
import _workers  # noqa: E402  (spawned children import it by this name, through the inherited sys.path)

from puhui.db import create_engine_from_url, transaction  # noqa: E402
from puhui.ledger import service  # noqa: E402
from puhui.ledger.audit import audit  # noqa: E402
from puhui.ledger.models import (  # noqa: E402
    Account,
    AccountFlags,
    AccountResult,
    Transfer,
    TransferFlags,
)
from puhui.ledger.tables import accounts, transfers  # noqa: E402

pytestmark = [pytest.mark.slow]

F = TransferFlags
WORKERS = 8
CALLS = 150
FLAGGED = [f"hot.{i}" for i in range(5)]
FREE = "hot.free"  # an unflagged clearing account: it may go negative, so replays always succeed
HOT = FLAGGED + [FREE]
FUNDING = "funding"
OPENING = 4_000  # per flagged account; amounts go up to 900, so overdrafts are attempted often
RENDEZVOUS = [45, 110]  # call numbers at which every worker sends its replay batch
RUN_LIMIT = 120  # seconds for the whole run once released (it takes ~6-10 s when healthy)


def _open(engine, id: str, code: str, flags: AccountFlags) -> None:  # type: ignore[no-untyped-def]
    result, _ = transaction(
        engine, lambda uow: service.create_account(uow, ledger="CNY", code=code, flags=flags, id=id)
    )
    assert result == AccountResult.ok


def _replay_batch(round_: int, pair: int) -> list[dict]:
    """A batch two partners send at once; every transfer debits the unflagged account, so all succeed."""
    prefix = f"replay{round_}-{pair}"
    a, b, c = FLAGGED[pair % 5], FLAGGED[(pair + 1) % 5], FLAGGED[(pair + 2) % 5]
    base = {"ledger": "CNY", "code": "payment"}
    return [
        {"id": f"{prefix}-plain", "debit_account_id": FREE, "credit_account_id": a, "amount": 111, **base},
        {
            "id": f"{prefix}-link1",
            "debit_account_id": FREE,
            "credit_account_id": b,
            "amount": 22,
            "flags": int(F.linked),
            **base,
        },
        {"id": f"{prefix}-link2", "debit_account_id": FREE, "credit_account_id": c, "amount": 33, **base},
        {
            "id": f"{prefix}-hold",
            "debit_account_id": FREE,
            "credit_account_id": a,
            "amount": 500,
            "flags": int(F.pending),
            **base,
        },
        {"id": f"{prefix}-post", "amount": 300, "flags": int(F.post_pending), "pending_id": f"{prefix}-hold"},
        # And one in the reverse direction, so partners lock the same rows from both ends.
        {"id": f"{prefix}-back", "debit_account_id": c, "credit_account_id": FREE, "amount": 1, **base},
    ]


def _balances(account: Account) -> dict[str, int]:
    return {
        "debits_pending": account.debits_pending,
        "debits_posted": account.debits_posted,
        "credits_pending": account.credits_pending,
        "credits_posted": account.credits_posted,
    }


def _chains(records: list[dict]) -> list[list[dict]]:
    """Split one worker's records into linked chains (runs of `linked` plus the one closing them)."""
    chains, current = [], []
    for r in records:
        current.append(r)
        if not r["flags"] & F.linked:
            if len(current) > 1:
                chains.append(current)
            current = []
    assert not current, "a chain never closed"
    return chains


def test_eight_processes_on_hot_accounts_keep_every_invariant(pg_url: str, tmp_path: Path) -> None:
    started = time.perf_counter()
    engine = create_engine_from_url(pg_url)
    try:
        _open(engine, FUNDING, "equity", AccountFlags.NONE)
        _open(engine, FREE, "clearing", AccountFlags.NONE)
        for account in FLAGGED:
            _open(engine, account, "customer_wallet", AccountFlags.debits_must_not_exceed_credits)
        funding = [
            Transfer(
                id=f"fund-{a}",
                debit_account_id=FUNDING,
                credit_account_id=a,
                amount=OPENING,
                ledger="CNY",
                code="deposit",
            )
            for a in FLAGGED
        ]
        assert [str(r) for r in transaction(engine, lambda uow: service.create_transfers(uow, funding))] == [
            "ok"
        ] * len(FLAGGED)
        with engine.connect() as connection:
            opening = {a: _balances(service.require_account(connection, a)) for a in HOT + [FUNDING]}
    finally:
        engine.dispose()

    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WORKERS + 1)  # the workers and this process: all released at once
    rendezvous = ctx.Barrier(WORKERS)
    replays = {
        w: [_replay_batch(k, w // 2) for k in range(len(RENDEZVOUS))] for w in range(WORKERS)
    }  # workers 2j and 2j+1 are partners
    outs = [tmp_path / f"worker-{w}.json" for w in range(WORKERS)]
    processes = [
        ctx.Process(
            target=_workers.contend,
            args=(w, pg_url, HOT, CALLS, 1000 + w, replays[w], RENDEZVOUS, start, rendezvous, str(outs[w])),
            name=f"ledger-worker-{w}",
        )
        for w in range(WORKERS)
    ]
    for p in processes:
        p.start()
    stuck: list[str] = []
    released = time.perf_counter()
    try:
        start.wait(timeout=120)
        released = time.perf_counter()
        deadline = time.monotonic() + RUN_LIMIT
        for p in processes:
            p.join(timeout=max(0.1, deadline - time.monotonic()))
        stuck = [p.name for p in processes if p.is_alive()]
    finally:
        for p in processes:
            if p.is_alive():
                p.kill()
                p.join()
    run_seconds = time.perf_counter() - released
    assert not stuck, f"still running after {RUN_LIMIT}s (lock convoy or deadlock storm?): {stuck}"

    # -- no caller saw an error -------------------------------------------------------------------
    reports = []
    for w, (p, out) in enumerate(zip(processes, outs)):
        assert out.exists(), f"worker {w} wrote no report (exit code {p.exitcode})"
        reports.append(json.loads(out.read_text()))
    errors = {w: r["error"] for w, r in enumerate(reports) if r["error"]}
    # A worker that fails breaks the rendezvous barrier for the others: show the root causes first.
    primary = {w: e for w, e in errors.items() if "BrokenBarrierError" not in e}
    secondary = sorted(set(errors) - set(primary))
    assert not errors, (
        f"{len(primary)} worker(s) failed"
        + (f"; workers {secondary} then stopped at the broken rendezvous barrier" if secondary else "")
        + ":\n"
        + "\n".join(f"--- worker {w}\n{e}" for w, e in primary.items())
    )
    assert [p.exitcode for p in processes] == [0] * WORKERS
    for w, report in enumerate(reports):
        assert sum(1 for c in report["calls"] if c["label"].startswith("call")) == CALLS, w

    all_records = [r for report in reports for r in report["records"]]
    results = Counter(r["result"] for r in all_records)
    # Only outcomes that are business answers: never an error the caller must handle.
    allowed = {"ok", "exists", "exceeds_credits", "linked_event_failed", "pending_transfer_not_found"}
    assert set(results) <= allowed, results
    # `pending_transfer_not_found` only for a hold refused earlier in the same batch.
    outcome_of = {r["id"]: r["result"] for r in all_records}
    for r in all_records:
        if r["result"] == "pending_transfer_not_found":
            assert outcome_of.get(r["pending_id"]) not in (None, "ok", "exists"), r
    assert results["exceeds_credits"] > 0, "the overdraft rule was never exercised; lower OPENING"

    # -- linked chains were all-or-nothing ------------------------------------------------------
    chain_count = 0
    for report in reports:
        for chain in _chains(report["records"]):
            chain_count += 1
            outcomes = {r["result"] for r in chain}
            assert outcomes in ({"ok"}, {"exists"}) or "ok" not in outcomes and "exists" not in outcomes, chain
    assert chain_count > 50

    # -- each replayed id: ok for exactly one partner, exists for the other ----------------------
    replay_results: dict[str, list[str]] = defaultdict(list)
    for r in all_records:
        if r["id"].startswith("replay"):
            replay_results[r["id"]].append(r["result"])
    expected_replay_ids = {t["id"] for w in range(WORKERS) for batch in replays[w] for t in batch}
    assert set(replay_results) == expected_replay_ids
    for id_, outcomes in replay_results.items():
        assert sorted(outcomes) == ["exists", "ok"], (id_, outcomes)

    # -- the database: audit, flags, conservation, and no lost update ----------------------------
    expected = {a: dict(b) for a, b in opening.items()}
    for report in reports:  # each worker's records in its own order (holds precede their settlements)
        _workers.apply_records(expected, report["records"])
    ok_ids = [r["id"] for r in all_records if r["result"] == "ok"]
    assert len(ok_ids) == len(set(ok_ids)), "an id was `ok` twice: money moved twice"

    engine = create_engine_from_url(pg_url)
    try:
        with engine.connect() as connection:
            report = audit(connection)
        assert report.ok, report.violations
        with engine.connect() as connection:
            final = {row.id: row for row in (service.get_account(connection, a) for a in HOT + [FUNDING])}
            stored_ids = set(connection.execute(select(transfers.c.id)).scalars())
            every_account = [
                service.get_account(connection, i) for i in connection.execute(select(accounts.c.id)).scalars()
            ]
    finally:
        engine.dispose()

    overdrawn = [a for a in every_account if a is not None and a.violates_flags()]
    assert not overdrawn, overdrawn
    for a in FLAGGED:
        f = final[a]
        assert f.debits_pending + f.debits_posted <= f.credits_posted, f
    assert all(final[a].debits_pending == final[a].credits_pending == 0 for a in HOT), "holds left open"
    net = sum(final[a].credits_posted - final[a].debits_posted for a in HOT)
    assert net == OPENING * len(FLAGGED), "money was created or destroyed among the hot accounts"
    assert _balances(final[FUNDING]) == opening[FUNDING]
    for a in HOT:
        assert _balances(final[a]) == expected[a], f"lost update on {a}"
    assert stored_ids == set(ok_ids) | {t.id for t in funding}

    calls = [c for report in reports for c in report["calls"]]
    retried = sum(report.get("retries", 0) for report in reports)
    slowest = max(c["seconds"] for c in calls)
    print(
        f"\n{WORKERS} workers, {len(calls)} calls, {len(all_records)} transfers in {run_seconds:.1f}s "
        f"(test {time.perf_counter() - started:.1f}s); results {dict(results)}; chains {chain_count}; "
        f"calls retried {retried}; slowest call {slowest * 1000:.0f} ms"
    )
