"""A process killed with SIGKILL in the middle of a stream of batches, on SQLite and PostgreSQL.

A child process (`tests/ledger/_workers.py stream`) commits batches of 500 transfers `b{n}-{i}`
(plain transfers, linked chains, holds posted or voided in the same batch), logging "begin n"
before each transaction and "commit n" after it. The parent lets a few batches commit, kills the
child at a random moment (with batches this large, almost always inside a transaction), runs the
real `puhui audit` CLI, and starts a new child on new batch numbers; three times, then a last child
that finishes cleanly. Afterwards every batch is in the ledger whole or not at all, every batch
the child reported committed is there, and every account's balances equal its opening balances
plus exactly the batches that are present.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:  # e.g. under --import-mode=importlib
    sys.path.insert(0, str(_HERE))
import _workers  # noqa: E402

from puhui.db import create_engine_from_url, transaction  # noqa: E402
from puhui.ledger import service  # noqa: E402
from puhui.ledger.models import AccountFlags, AccountResult, Transfer  # noqa: E402
from puhui.ledger.tables import transfers  # noqa: E402

pytestmark = [pytest.mark.slow]

ROOT = _HERE.parents[1]
WORKER_SCRIPT = _HERE / "_workers.py"
SIZE = 500
KILLS = 3
FUNDING = "crash.funding"
OPENING = 10**13  # per flagged wallet: far more than any stream spends, so every transfer succeeds
SPILL_PAGES = 16  # SQLite page cache for the spilling children (the default is ~2 MB)
BATCH_ID = re.compile(r"^b(\d+)-(\d+)$")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `puhui` command of this interpreter's environment."""
    script = Path(sys.executable).parent / "puhui"
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from puhui.cli import app; app()"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, env=_env(), cwd=ROOT)


def _audit_passes(url: str, when: str) -> None:
    result = _cli("audit", "--db", url)
    assert result.returncode == 0, f"puhui audit failed {when}:\n{result.stdout}\n{result.stderr}"
    assert "audit passed" in result.stdout, result.stdout


def _read_log(path: Path) -> tuple[list[int], list[int], list[str]]:
    began, committed, other = [], [], []
    if path.exists():
        for line in path.read_text().splitlines():
            word, _, rest = line.partition(" ")
            if word == "begin":
                began.append(int(rest))
            elif word == "commit":
                committed.append(int(rest))
            elif word not in ("ready", "finished"):
                other.append(line)
    return began, committed, other


def _start(url: str, first: int, log: Path, tmp: Path, count: int = 100_000, cache_pages: int = 0) -> subprocess.Popen:
    with open(tmp / f"{log.stem}.out", "w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [
                sys.executable,
                str(WORKER_SCRIPT),
                "stream",
                "--db",
                url,
                "--first",
                str(first),
                "--count",
                str(count),
                "--size",
                str(SIZE),
                "--log",
                str(log),
                "--cache-pages",
                str(cache_pages),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=ROOT,
        )


def _child_output(tmp: Path, log: Path) -> str:
    path = tmp / f"{log.stem}.out"
    return path.read_text()[-4000:] if path.exists() else ""


def test_killed_stream_leaves_whole_batches_and_a_passing_audit(db_url: str, tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    started = time.perf_counter()

    flagged, free = _workers.crash_accounts()
    engine = create_engine_from_url(db_url)
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL

        def open_account(id: str, code: str, flags: AccountFlags) -> None:
            result, _ = transaction(
                engine, lambda uow: service.create_account(uow, ledger="CNY", code=code, flags=flags, id=id)
            )
            assert result == AccountResult.ok

        open_account(FUNDING, "equity", AccountFlags.NONE)
        for a in flagged:
            open_account(a, "customer_wallet", AccountFlags.debits_must_not_exceed_credits)
        for a in free:
            open_account(a, "clearing", AccountFlags.NONE)
        funding = [
            Transfer(
                id=f"fund-{a}",
                debit_account_id=FUNDING,
                credit_account_id=a,
                amount=OPENING,
                ledger="CNY",
                code="deposit",
            )
            for a in flagged
        ]
        assert {str(r) for r in transaction(engine, lambda uow: service.create_transfers(uow, funding))} == {"ok"}
        with engine.connect() as connection:
            opening = {
                a: {
                    "debits_pending": acc.debits_pending,
                    "debits_posted": acc.debits_posted,
                    "credits_pending": acc.credits_pending,
                    "credits_posted": acc.credits_posted,
                }
                for a in flagged + free + [FUNDING]
                for acc in [service.require_account(connection, a)]
            }
    finally:
        engine.dispose()

    began: set[int] = set()
    committed: set[int] = set()
    in_flight: list[int] = []  # the batch each kill interrupted (begun, not reported committed)
    for cycle in range(KILLS):
        log = tmp_path / f"stream-{cycle}.log"
        first = 1 + cycle * 1000  # each restart continues on new batch numbers
        # On SQLite, every other child spills uncommitted pages into the WAL mid-transaction.
        child = _start(db_url, first, log, tmp_path, cache_pages=SPILL_PAGES if cycle % 2 else 0)
        try:
            wanted = rng.randint(2, 4)
            deadline = time.monotonic() + 90
            commit_times: list[float] = []
            while True:
                _, done, other = _read_log(log)
                assert not other, f"child reported {other}\n{_child_output(tmp_path, log)}"
                while len(commit_times) < len(done):
                    commit_times.append(time.monotonic())
                if len(done) >= wanted:
                    break
                assert child.poll() is None, f"child exited early ({child.returncode}):\n{_child_output(tmp_path, log)}"
                assert time.monotonic() < deadline, f"child too slow:\n{_child_output(tmp_path, log)}"
                time.sleep(0.002)
            per_batch = (commit_times[-1] - commit_times[0]) / max(1, len(commit_times) - 1) or 0.05
            time.sleep(rng.uniform(0.1, 1.5) * per_batch)
            assert child.poll() is None, f"child exited early ({child.returncode}):\n{_child_output(tmp_path, log)}"
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        b, c, other = _read_log(log)
        assert not other, other
        assert c == b[: len(c)] and len(b) - len(c) <= 1, (b, c)
        began |= set(b)
        committed |= set(c)
        if len(b) > len(c):
            in_flight.append(b[-1])
        _audit_passes(db_url, f"after kill {cycle + 1}")

    # One more restart that runs to its end: the database takes writes normally after the crashes.
    log = tmp_path / "stream-final.log"
    child = _start(db_url, 1 + KILLS * 1000, log, tmp_path, count=2)
    assert child.wait(timeout=120) == 0, _child_output(tmp_path, log)
    b, c, other = _read_log(log)
    assert not other and b == c == [1 + KILLS * 1000, 2 + KILLS * 1000], (b, c, other)
    began |= set(b)
    committed |= set(c)

    _audit_passes(db_url, "at the end")

    # -- each batch whole or not at all ----------------------------------------------------------
    engine = create_engine_from_url(db_url)
    try:
        with engine.connect() as connection:
            ids = list(connection.execute(select(transfers.c.id).where(transfers.c.id.like("b%"))).scalars())
            final = {a: service.require_account(connection, a) for a in opening}
    finally:
        engine.dispose()
    per_batch_count: Counter[int] = Counter()
    for id_ in ids:
        match = BATCH_ID.match(id_)
        assert match, id_
        per_batch_count[int(match.group(1))] += 1
    partial = {n: k for n, k in per_batch_count.items() if k != SIZE}
    assert not partial, f"batches only partly stored: {partial}"
    present = set(per_batch_count)
    assert committed <= present, f"reported committed but missing: {sorted(committed - present)}"
    assert present <= began, f"batches stored that were never begun: {sorted(present - began)}"
    assert present - committed <= set(in_flight)

    # -- balances are the opening balances plus exactly the batches present ------------------------
    expected = {a: dict(b) for a, b in opening.items()}
    for n in sorted(present):
        batch = _workers.make_batch(n, SIZE)
        _workers.apply_records(expected, [_workers.transfer_record(t, "ok") for t in batch])
    for a, account in final.items():
        got = {
            "debits_pending": account.debits_pending,
            "debits_posted": account.debits_posted,
            "credits_pending": account.credits_pending,
            "credits_posted": account.credits_posted,
        }
        assert got == expected[a], a

    rolled_back = [n for n in in_flight if n not in present]
    print(
        f"\n[{engine.dialect.name}] seed {seed}: {len(present)} batches stored ({len(ids)} transfers), "
        f"kills interrupted batches {in_flight} (rolled back {rolled_back}, committed but unreported "
        f"{[n for n in in_flight if n in present]}); {time.perf_counter() - started:.1f}s"
    )
    # The kills are timed to land inside a batch; with 500-transfer batches nearly all do.
    assert in_flight, "no kill landed while a batch was in flight"
