"""Worker entry points for the ledger's multi-process tests (not a test module itself).

- `contend(...)`       one of the concurrency test's processes (started with multiprocessing 'spawn'):
                       waits for the start signal, then hammers a few hot accounts with small batches
                       and records every transfer it sent with its result.
- `stream(...)`        the crash test's child (run as `python tests/ledger/_workers.py stream ...`):
                       commits large batches `b{n}-{i}` one after another, logging "begin n" before
                       each transaction and "commit n" after it, until it is killed.
- `make_batch(n, ...)` the deterministic content of crash-test batch n (the parent rebuilds it to
                       compute the balances the ledger must show).

Everything here is importable without pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `src/` importable even without an install
    _SRC = Path(__file__).resolve().parents[2] / "src"
    if _SRC.is_dir() and str(_SRC) not in sys.path:
        sys.path.insert(0, str(_SRC))

from puhui.ledger.models import Transfer, TransferFlags  # noqa: E402

F = TransferFlags
LEDGER = "CNY"
CODE = "payment"


# ---------------------------------------------------------------------------------------------
# Records: what a worker sent and what came back, as plain JSON


def transfer_record(t: Transfer, result: str) -> dict[str, Any]:
    return {
        "id": t.id,
        "debit": t.debit_account_id,
        "credit": t.credit_account_id,
        "amount": t.amount,
        "flags": int(t.flags),
        "pending_id": t.pending_id,
        "result": result,
    }


def apply_records(balances: dict[str, dict[str, int]], records: list[dict[str, Any]]) -> None:
    """Apply the `ok` records (in the order given) to `balances` (account -> four balances).

    Post/void records may omit the accounts: they are taken from the pending record, which must
    come earlier in `records`.
    """
    pendings: dict[str, dict[str, Any]] = {}
    for r in records:
        if r["flags"] & F.pending:
            pendings[r["id"]] = r
        if r["result"] != "ok":
            continue
        flags = F(r["flags"])
        if flags & (F.post_pending | F.void_pending):
            p = pendings[r["pending_id"]]
            debit, credit = balances[p["debit"]], balances[p["credit"]]
            debit["debits_pending"] -= p["amount"]
            credit["credits_pending"] -= p["amount"]
            if flags & F.post_pending:
                amount = p["amount"] if r["amount"] is None else r["amount"]
                debit["debits_posted"] += amount
                credit["credits_posted"] += amount
        elif flags & F.pending:
            balances[r["debit"]]["debits_pending"] += r["amount"]
            balances[r["credit"]]["credits_pending"] += r["amount"]
        else:
            balances[r["debit"]]["debits_posted"] += r["amount"]
            balances[r["credit"]]["credits_posted"] += r["amount"]


# ---------------------------------------------------------------------------------------------
# Concurrency test: one contending process


def contend(
    worker: int,
    url: str,
    hot: list[str],
    calls: int,
    seed: int,
    replays: list[list[dict[str, Any]]],
    replay_at: list[int],
    start: Any,
    rendezvous: Any,
    out: str,
) -> None:
    """Run `calls` small batches among the hot accounts; write `{"records": [...], "error": ...}` to `out`.

    `replays[k]` is a batch (list of Transfer kwargs) this worker sends right after the k-th
    `rendezvous` barrier, which it passes at call number `replay_at[k]`; its partner sends the same
    batch at the same moment.
    """
    records: list[dict[str, Any]] = []
    calls_log: list[dict[str, Any]] = []
    error: str | None = None
    engine = None
    retries = 0
    try:
        from puhui.db import create_engine_from_url, transaction
        from puhui.ledger.service import create_transfers

        engine = create_engine_from_url(url, pool_size=2)
        with engine.connect() as connection:  # connect before the start so the race is the work
            connection.exec_driver_sql("SELECT 1")
        rng = random.Random(seed)
        open_pendings: list[Transfer] = []
        counter = 0

        def new_id(kind: str) -> str:
            nonlocal counter
            counter += 1
            return f"w{worker}-{kind}{counter}"

        def plain(flags: F = F.NONE, amount: int | None = None) -> Transfer:
            debit, credit = rng.sample(hot, 2)
            return Transfer(
                id=new_id("t"),
                debit_account_id=debit,
                credit_account_id=credit,
                amount=amount or rng.randint(1, 900),
                ledger=LEDGER,
                code=CODE,
                flags=flags,
            )

        def settle(p: Transfer, post: bool | None = None) -> Transfer:
            """Post (all or part) or void a hold; half the time naming its accounts, half the time
            by `pending_id` alone (the ledger must then find and lock the hold's accounts itself)."""
            post = rng.random() < 0.6 if post is None else post
            named = (
                {"debit_account_id": p.debit_account_id, "credit_account_id": p.credit_account_id}
                if rng.random() < 0.5
                else {}
            )
            if post:
                assert p.amount is not None
                amount = rng.choice([None, rng.randint(1, p.amount)])
                return Transfer(id=new_id("post"), amount=amount, flags=F.post_pending, pending_id=p.id, **named)
            return Transfer(id=new_id("void"), flags=F.void_pending, pending_id=p.id, **named)

        def submit(batch: list[Transfer], label: str) -> list[str]:
            nonlocal retries
            attempts = 0

            def work(uow):  # type: ignore[no-untyped-def]
                nonlocal attempts
                attempts += 1
                return create_transfers(uow, batch)

            started = time.perf_counter()
            results = transaction(engine, work)
            elapsed = time.perf_counter() - started
            retries += attempts > 1
            assert len(results) == len(batch), (label, results)
            for t, r in zip(batch, results):
                records.append(transfer_record(t, str(r)))
            calls_log.append({"label": label, "size": len(batch), "seconds": elapsed})
            return [str(r) for r in results]

        def random_batch() -> list[Transfer]:
            batch: list[Transfer] = []
            settling = {t.id for t in batch}
            for _ in range(rng.randint(1, 5)):
                kind = rng.random()
                if kind < 0.40:
                    batch.append(plain())
                elif kind < 0.55:  # a linked pair (sometimes a chain of three)
                    chain = [plain(F.linked) for _ in range(rng.choice([1, 1, 2]))]
                    batch.extend(chain)
                    batch.append(plain())
                elif kind < 0.70:  # a hold, settled in a later call
                    batch.append(plain(F.pending))
                elif kind < 0.80:  # hold and its settlement in the same batch
                    p = plain(F.pending)
                    batch.extend([p, settle(p)])
                else:  # settle an earlier hold of ours
                    choices = [p for p in open_pendings if p.id not in settling]
                    if choices:
                        p = rng.choice(choices)
                        settling.add(p.id)
                        batch.append(settle(p))
                    else:
                        batch.append(plain())
            return batch

        def track_pendings(batch: list[Transfer], results: list[str]) -> None:
            for t, r in zip(batch, results):
                if F.pending in t.flags and r == "ok":
                    open_pendings.append(t)
            for t, r in zip(batch, results):
                if t.flags & (F.post_pending | F.void_pending) and r == "ok":
                    open_pendings[:] = [p for p in open_pendings if p.id != t.pending_id]

        start.wait(timeout=120)
        next_replay = 0
        for call in range(calls):
            while next_replay < len(replay_at) and replay_at[next_replay] == call:
                rendezvous.wait(timeout=120)
                batch = [Transfer(**{**kw, "flags": F(kw.get("flags", 0))}) for kw in replays[next_replay]]
                submit(batch, f"replay{next_replay}")
                next_replay += 1
            batch = random_batch()
            track_pendings(batch, submit(batch, f"call{call}"))
        while next_replay < len(replay_at):  # a replay scheduled at the very end
            rendezvous.wait(timeout=120)
            batch = [Transfer(**{**kw, "flags": F(kw.get("flags", 0))}) for kw in replays[next_replay]]
            submit(batch, f"replay{next_replay}")
            next_replay += 1
        # Leave nothing on hold: void whatever is still pending, a few per call.
        while open_pendings:
            batch = [settle(p, post=False) for p in open_pendings[:4]]
            track_pendings(batch, submit(batch, "cleanup"))
    except BaseException:  # noqa: BLE001 - every failure must reach the parent
        error = traceback.format_exc()
        try:  # don't leave partners stuck at a barrier
            rendezvous.abort()
        except Exception:  # noqa: BLE001
            pass
    finally:
        if engine is not None:
            engine.dispose()
        Path(out).write_text(json.dumps({"records": records, "calls": calls_log, "retries": retries, "error": error}))


# ---------------------------------------------------------------------------------------------
# Crash test: a stream of large batches, killed from outside


def crash_accounts(n: int = 12) -> tuple[list[str], list[str]]:
    """(flagged customer wallets, unflagged accounts) used by the crash stream."""
    return [f"cw.{i}" for i in range(n)], [f"cx.{i}" for i in range(4)]


def make_batch(n: int, size: int) -> list[Transfer]:
    """Batch n of the crash stream, the same every time: exactly `size` transfers, all of which
    succeed (the flagged accounts are funded far beyond what a stream can spend), mixing plain
    transfers, linked chains, and holds posted or voided later in the same batch."""
    flagged, free = crash_accounts()
    everyone = flagged + free
    rng = random.Random(f"crash-batch-{n}")
    out: list[Transfer] = []
    holds: list[Transfer] = []
    i = 0

    def tid() -> str:
        nonlocal i
        i += 1
        return f"b{n}-{i}"

    def move(flags: F = F.NONE) -> Transfer:
        debit, credit = rng.sample(everyone, 2)
        return Transfer(
            id=tid(),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=rng.randint(1, 10_000),
            ledger=LEDGER,
            code=CODE,
            flags=flags,
        )

    while len(out) < size:
        room = size - len(out)
        kind = rng.random()
        if kind < 0.15 and room >= 3:  # linked chain of 2-4
            length = min(room, rng.randint(2, 4))
            out.extend(move(F.linked) for _ in range(length - 1))
            out.append(move())
        elif kind < 0.30:
            hold = move(F.pending)
            holds.append(hold)
            out.append(hold)
        elif kind < 0.45 and holds:
            hold = holds.pop(rng.randrange(len(holds)))
            if rng.random() < 0.5:
                out.append(
                    Transfer(
                        id=tid(), amount=rng.randint(1, hold.amount or 1), flags=F.post_pending, pending_id=hold.id
                    )
                )
            else:
                out.append(Transfer(id=tid(), flags=F.void_pending, pending_id=hold.id))
        else:
            out.append(move())
    assert len(out) == size and F.linked not in out[-1].flags
    return out


def stream(url: str, first: int, count: int, size: int, log: str, cache_pages: int = 0) -> int:
    """Commit batches first, first+1, ... (at most `count`), logging progress to `log`.

    `cache_pages` (SQLite only) shrinks the page cache so a transaction spills its uncommitted
    pages into the WAL before COMMIT: a kill then leaves uncommitted frames recovery must ignore.
    """
    from sqlalchemy import event

    from puhui.db import create_engine_from_url, transaction
    from puhui.ledger.service import create_transfers

    engine = create_engine_from_url(url)
    if cache_pages and engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _small_cache(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.execute(f"PRAGMA cache_size={int(cache_pages)}")

    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"ready {os.getpid()}\n".encode())
        for n in range(first, first + count):
            batch = make_batch(n, size)
            os.write(fd, f"begin {n}\n".encode())
            results = transaction(engine, lambda uow: create_transfers(uow, batch))
            bad = [(t.id, str(r)) for t, r in zip(batch, results) if str(r) != "ok"]
            if bad:
                os.write(fd, f"error {n} {bad[:5]}\n".encode())
                return 3
            os.write(fd, f"commit {n}\n".encode())
        os.write(fd, b"finished\n")
        return 0
    finally:
        os.close(fd)
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stream")
    s.add_argument("--db", required=True)
    s.add_argument("--first", type=int, required=True)
    s.add_argument("--count", type=int, default=1000)
    s.add_argument("--size", type=int, default=500)
    s.add_argument("--log", required=True)
    s.add_argument("--cache-pages", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "stream":
        return stream(args.db, args.first, args.count, args.size, args.log, args.cache_pages)
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
