"""`puhui bench payments` as deployed (the default): the production server in its own processes, a warm
database, a load client in another process.

1. **database**  a fresh one (SQLite file, or a database on an embedded PostgreSQL), migrated and seeded
                 untimed with `payments_seed` (≥100,000 customers and 1,000 merchants by default, restored
                 from the cache when seeded before); one session per payer and one dynamic QR code per
                 payment made for this run. Every payer pays about once, so the default fraud rules see no
                 velocity abuse; the share of payments held (202) is reported.
2. **ledger**    the ledger's one-transfer-per-commit rate on the same database (`bench.ledger.LedgerBench`,
                 one client, one `transaction` per transfer), before the server starts.
3. **server**    `puhui serve --workers N --db URL` as a child process with real secrets (not the sandbox),
                 fraud checks, monitor and notifications on, as a user would run it; ready when `/health`
                 answers.
4. **baseline**  `GET /health` from the load client (`payments_load`, its own process) at the same
                 concurrency and count, after a short warm-up.
5. **payments**  `POST /v1/qr-codes/{id}/pay` with an `Idempotency-Key`, the same client and concurrency.
                 Steps 4 and 5 alternate in `ROUNDS` rounds, a quarter of each count a round, so that a
                 slow or fast stretch of a shared host falls on both; each rate is the whole count over
                 the phases' summed time, the percentiles are of all the phases' requests, and the rounds'
                 own rates are reported (`health_per_s_rounds`, `payments_per_s_rounds`).
6. **stop**      SIGINT to the server (uvicorn stops its workers), then its process group is checked empty;
                 `audit` on the database (`audit_ok`).

`--profile` runs cProfile and a SQL statement counter in every worker (`puhui.db.profiling`) over the
payments phase only, and reports the top cumulative functions and the statements per payment; its
timings carry the profiler's overhead and are not the benchmark's.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from puhui.bench import payments_seed as seeding
from puhui.bench import pg_statements as pg_costs
from puhui.bench.ledger import fresh_database

# Untimed /health calls and payments before the measured phases: enough that every worker's pooled
# connections have prepared their statements (psycopg prepares one at its second use on a connection),
# as in a server that has been up. With 50, the first of four rounds ran 10-25% below the others.
WARM_UP = 400
ROUNDS = 4  # /health and payments alternate this many times (one round under --profile)
LEDGER_SINGLES = 300  # one-transfer commits timed for the ledger's rate


def run(
    *,
    backend: str = "sqlite",
    database_url: str | None = None,
    clients: int = 16,
    payments: int = 2000,
    customers: int = 100_000,
    merchants: int = 1000,
    workers: int | None = None,
    max_seconds: float = 60.0,
    profile: bool = False,
    cache: bool = True,
    quiet: bool = False,
    warm_up: int | None = None,
    pg_statements: int = 0,
    group_commit: bool = True,
) -> dict[str, Any]:
    from puhui.bench.ledger import _progress
    from puhui.db import create_engine_from_url, reading
    from puhui.db.migrate import head_revision, upgrade
    from puhui.ledger.audit import audit

    if backend not in ("sqlite", "postgresql"):
        raise ValueError("backend must be sqlite or postgresql")
    if warm_up is None:  # no more than leaves every payer paying once, where the customers allow
        warm_up = max(1, min(WARM_UP, customers - payments))
    if warm_up < 1:
        raise ValueError("the warm-up is a number of payments, at least one")
    if pg_statements and (backend != "postgresql" or database_url is not None or pg_statements < 0):
        raise ValueError("statement costs are kept by the benchmark's own PostgreSQL server")
    payers = min(customers, payments + warm_up)
    if workers is None:
        workers = 1 if backend == "sqlite" else (os.cpu_count() or 1)
    with ExitStack() as cleanup:
        progress = cleanup.enter_context(_progress(quiet))
        url = database_url or fresh_database(backend, cleanup, "puhui_bench_payments", statements=pg_statements > 0)
        engine = create_engine_from_url(url)
        cleanup.callback(engine.dispose)
        key = seeding.cache_key(backend, customers, merchants, payers, head_revision() or "")
        started = time.perf_counter()
        seeded = seeding.load_cached(url, backend, key) if cache and database_url is None else None
        from_cache = seeded is not None
        upgrade(engine)
        if seeded is None:
            task = progress.add_task("seeding", total=customers + merchants)
            seeded = seeding.seed(
                engine,
                customers=customers,
                merchants=merchants,
                payers=payers,
                on_progress=lambda n: progress.advance(task, n),
            )
            if cache and database_url is None:
                seeding.store_cached(engine, url, backend, key, seeded)
        tag = secrets.token_hex(4)
        tokens = seeding.sessions_for(engine, seeded)
        codes = seeding.dynamic_codes(engine, seeded.merchants, payments + warm_up, tag)
        seed_seconds = time.perf_counter() - started
        ledger_per_s = _ledger_singles(engine)
        engine.dispose()  # the server's processes are the database's only clients from here

        def pay(i: int) -> list[Any]:
            headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}", "Idempotency-Key": f"bench-{tag}-{i}"}
            return [f"/v1/qr-codes/{codes[i]}/pay", headers, {}]

        workdir = Path(tempfile.mkdtemp(prefix="puhui-bench-serve-"))
        cleanup.callback(_remove, workdir)
        profile_dir = workdir / "profile" if profile else None
        settings_env = {**seeded.environment(), "PUHUI_GROUP_COMMIT": "on" if group_commit else "off"}
        server = Server(url, settings_env, workers, workdir, profile_dir)
        cleanup.callback(server.stop)
        server.start()
        _load(server.base_url, clients, warm_up, max_seconds, health=True)
        warm = _load(
            server.base_url, min(clients, warm_up), warm_up, max_seconds, requests=[pay(i) for i in range(warm_up)]
        )
        rounds = 1 if profile_dir is not None else min(ROUNDS, payments)
        if pg_statements:
            pg_costs.reset(url)
        probes, paying = [], []
        cpu_used = machine_busy = machine_idle = 0.0
        for share in (range(payments * r // rounds, payments * (r + 1) // rounds) for r in range(rounds)):
            probes.append(_load(server.base_url, clients, len(share), max_seconds, health=True))
            if profile_dir is not None:
                server.signal_workers(signal.SIGUSR1)
            cpu_before, machine_before = server.cpu_seconds(), _machine_cpu_seconds()
            paying.append(
                _load(server.base_url, clients, len(share), max_seconds, requests=[pay(warm_up + i) for i in share])
            )
            cpu_used += server.cpu_seconds() - cpu_before
            busy, idle = (after - before for after, before in zip(_machine_cpu_seconds(), machine_before))
            machine_busy, machine_idle = machine_busy + busy, machine_idle + idle
        baseline, paid = pooled(probes), pooled(paying)
        statement_costs = pg_costs.costliest(url, pg_statements, paid["ok"]) if pg_statements else None
        found_profile = server.collect_profile(paid["ok"]) if profile_dir is not None else None
        stopped_cleanly = server.stop()
        server_log = server.log.read_text(errors="replace") if server.log.exists() else ""
        batching = committer_batching(server_log)
        engine = create_engine_from_url(url)
        cleanup.callback(engine.dispose)
        with reading(engine) as connection:
            report = audit(connection)

    result = {
        "mode": "deployed",
        "backend": backend,
        "workers": workers,
        "cpu_count": os.cpu_count(),
        "load_average": _loadavg(),
        "clients": clients,
        "customers": customers,
        "merchants": merchants,
        "payers": payers,
        "seeded_from_cache": from_cache,
        "seed_seconds": round(seed_seconds, 1),
        "payments_requested": payments,
        "payments_done": paid["done"],
        "payments_ok": paid["ok"],
        "held_or_challenged": paid["accepted"],
        "held_share": paid["accepted"] / paid["done"] if paid["done"] else 0.0,
        "held_outcomes": paid["outcomes_202"],
        "warm_up": warm_up,
        "warm_up_errors": warm["errors"],
        "fraud_checks": True,
        "group_commit": group_commit,
        "seconds": round(paid["seconds"], 3),
        "payments_per_s": paid["per_s"],
        "p50_ms": paid["p50_ms"],
        "p95_ms": paid["p95_ms"],
        "p99_ms": paid["p99_ms"],
        "errors": paid["errors"],
        "health_per_s": baseline["per_s"],
        "health_p50_ms": baseline["p50_ms"],
        "health_p99_ms": baseline["p99_ms"],
        "health_errors": baseline["errors"],
        "health_per_s_rounds": [round(phase["per_s"], 1) for phase in probes],
        "payments_per_s_rounds": [round(phase["per_s"], 1) for phase in paying],
        "ratio_to_health": paid["per_s"] / baseline["per_s"] if baseline["per_s"] else 0.0,
        "ledger_single_commits_per_s": ledger_per_s,
        "ratio_to_ledger_single": paid["per_s"] / ledger_per_s if ledger_per_s else 0.0,
        # what a payment costs the server's own processes (not the database server's), whatever the load
        "server_cpu_ms_per_payment": 1000 * cpu_used / paid["ok"] if paid["ok"] else 0.0,
        # every process's: the server's, the database server's when it runs here, the load client's
        "machine_cpu_ms_per_payment": 1000 * machine_busy / paid["ok"] if paid["ok"] else 0.0,
        "machine_idle_share": machine_idle / (machine_busy + machine_idle) if machine_busy + machine_idle else 0.0,
        "server_stopped_cleanly": stopped_cleanly,
        # each worker's lifespan ran to its end (a worker that served no payment logs no batching line)
        "workers_shut_down": server_log.count("Application shutdown complete"),
        "audit_ok": report.ok,
    }
    result.update(batching)
    if found_profile is not None:
        result["profile"] = found_profile
    if statement_costs is not None:  # the timed phases': the payments' and the /health calls' (a `SELECT 1` each)
        result["pg_statements"] = statement_costs
    return result


def pooled(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """Phases of one kind from the load client as one: counts summed, the rate over their summed time,
    percentiles of all their requests."""
    from puhui.bench.payments_load import percentile

    latencies = sorted(latency for phase in phases for latency in phase["latencies_ms"])
    seconds = sum(phase["seconds"] for phase in phases)
    ok = sum(phase["ok"] for phase in phases)
    errors: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    for phase in phases:
        for into, counted in ((errors, phase["errors"]), (outcomes, phase["outcomes_202"])):
            for key, n in counted.items():
                into[key] = into.get(key, 0) + n
    return {
        "done": sum(phase["done"] for phase in phases),
        "ok": ok,
        "accepted": sum(phase["accepted"] for phase in phases),
        "outcomes_202": outcomes,
        "seconds": seconds,
        "per_s": ok / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "errors": errors,
    }


def _ledger_singles(engine: Any, singles: int = LEDGER_SINGLES) -> float:
    """The ledger's one-transfer-per-commit rate on this database, one client (as `puhui bench ledger`)."""
    from puhui.bench.ledger import LedgerBench

    bench = LedgerBench(engine, accounts=200, seed=17)
    bench.open_accounts()
    for t in bench.make_transfers(20):  # warm-up
        bench.ledger_single(t)
    batch = bench.make_transfers(singles)
    started = time.perf_counter()
    for t in batch:
        bench.ledger_single(t)
    return singles / (time.perf_counter() - started)


def _load(
    base_url: str,
    clients: int,
    count: int,
    max_seconds: float,
    *,
    health: bool = False,
    requests: list[list[Any]] | None = None,
) -> dict[str, Any]:
    """One phase from the load client's own process (`payments_load`)."""
    spec = {
        "base_url": base_url,
        "clients": clients,
        "count": count,
        "max_seconds": max_seconds,
        "health": health,
        "requests": requests or [],
    }
    done = subprocess.run(
        [sys.executable, "-m", "puhui.bench.payments_load"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=max_seconds + 120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load client failed ({done.returncode}): {done.stderr[-3000:]}")
    return json.loads(done.stdout)


class Server:
    """`puhui serve --workers N` on `url` in its own process group, stopped with SIGINT."""

    def __init__(self, url: str, secrets_env: dict[str, str], workers: int, workdir: Path, profile: Path | None):
        self.url, self.workers, self.workdir, self.profile = url, workers, workdir, profile
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "serve.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PUHUI_")}  # this run's settings only
        self.env.update(secrets_env)
        self.env.update(
            {
                "PUHUI_BANK_NOTIFY_KEY": secrets.token_urlsafe(32),
                "PUHUI_MERCHANT_NOTIFY_KEY": secrets.token_urlsafe(32),
                "PUHUI_JWT_TTL_SECONDS": "86400",
            }
        )
        if profile is not None:
            self.env["PUHUI_PROFILE_DIR"] = str(profile)
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        script = Path(sys.executable).with_name("puhui")
        head = [str(script)] if script.is_file() else [sys.executable, "-c", "from puhui.cli import main; main()"]
        return head + [
            "serve",
            "--db",
            self.url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]

    def start(self, ready_seconds: float = 300.0) -> None:
        import httpx

        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        deadline = time.monotonic() + ready_seconds
        # one client for every probe: `httpx.get` builds a TLS context (the CA bundle loaded) a call, about 20 ms
        # of CPU taken from the workers starting on the same cores
        with httpx.Client(timeout=2.0) as probe:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"puhui serve exited {self.process.returncode}:\n{self.tail()}")
                try:
                    if probe.get(f"{self.base_url}/health").status_code == 200 and self._all_up():
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise RuntimeError(f"puhui serve did not answer in {ready_seconds:.0f} s:\n{self.tail()}")

    def _all_up(self) -> bool:
        """Every worker has started (uvicorn logs one line per worker's application start-up)."""
        return self.log.read_text(errors="replace").count("Application startup complete") >= self.workers

    def worker_pids(self) -> list[int]:
        """The processes serving requests: the workers uvicorn spawned, or the server itself for one; and
        SQLite's writer process (`puhui.db.writer`), which commits their payments."""
        assert self.process is not None
        found = [self.process.pid] if self.workers == 1 else []
        for pid, cmdline in self._children():
            # not multiprocessing's resource tracker
            if (b"spawn_main" in cmdline and self.workers > 1) or b"puhui.db.writer" in cmdline:
                found.append(pid)
        return found

    def _children(self) -> list[tuple[int, bytes]]:
        assert self.process is not None
        found = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                found.append((int(pid), Path(f"/proc/{pid}/cmdline").read_bytes()))
        return found

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server, its workers and its writer so far (Linux `/proc`; 0 elsewhere)."""
        pids = {self.process.pid, *self.worker_pids()} if self.process is not None else set()
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def signal_workers(self, signum: int) -> None:
        for pid in self.worker_pids():
            os.kill(pid, signum)
        time.sleep(0.5)

    def collect_profile(self, payments_ok: int) -> dict[str, Any]:
        import io
        import marshal
        import pstats

        assert self.profile is not None
        pids = self.worker_pids()
        self.signal_workers(signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all((self.profile / f"{p}.sql.json").exists() for p in pids):
            time.sleep(0.2)
        time.sleep(0.5)
        statements: dict[str, int] = {}
        for pid in pids:
            for text, n in json.loads((self.profile / f"{pid}.sql.json").read_text()).items():
                statements[text] = statements.get(text, 0) + n
        total = sum(statements.values())
        per = max(1, payments_ok)
        files = sorted(
            str(p) for p in self.profile.glob("*.prof") if marshal.loads(p.read_bytes())
        )  # idle threads: empty
        stats = pstats.Stats(*files, stream=io.StringIO())
        return {
            "sql_statements_per_payment": total / per,
            "statements": [
                [round(n / per, 3), text[:200]] for text, n in sorted(statements.items(), key=lambda kv: -kv[1])[:25]
            ],
            "top_cumulative": top_cumulative(stats, per),
            "pay_qr_ms_per_payment": sum(
                row[3] for (f, _, name), row in stats.stats.items() if name == "pay_qr" and f.endswith("service.py")
            )
            * 1000
            / per,
        }

    def stop(self, seconds: float = 30.0) -> bool:
        """SIGINT (uvicorn's graceful stop, workers included); True when every process of the group ended
        by itself. Whatever is left of the group after `seconds` is killed."""
        process, self.process = self.process, None
        if process is None:
            return True
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(seconds)
            except subprocess.TimeoutExpired:
                pass
        clean = process.poll() is not None and _group_gone(process.pid, 10.0)
        if not clean:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(10)
        return clean

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


COMMITTED = re.compile(
    r"group commit: (\d+) jobs in (\d+) batches .*?([\d.]+) ms a job in its batch, ([\d.]+) ms of it CPU"
)

SIDE_BY_SIDE = re.compile(r"group commit: .*?(\d+) side by side, (\d+) fell back")


def committer_batching(log_text: str) -> dict[str, float]:
    """The group committers' batching over the run, warm-up included, from the lines each logs when it
    stops (`puhui.db.group_commit.Stats.summary`; SQLite's writer process, each PostgreSQL worker): jobs a
    commit carried, and a job's share of its committer's time, in all and in CPU. A committer is one
    thread, so `committer_ms_per_job` bounds one committer's jobs per second."""
    found = [
        (int(jobs), int(batches), float(busy), float(cpu)) for jobs, batches, busy, cpu in COMMITTED.findall(log_text)
    ]
    jobs = sum(f[0] for f in found)
    if not jobs:
        return {}
    sides = [(int(side), int(back)) for side, back in SIDE_BY_SIDE.findall(log_text)]
    return {
        "committers": len(found),
        # batches whose jobs ran side by side (`puhui.db.side_by_side`), and those that tried and fell back
        "side_by_side_share": sum(side for side, _ in sides) / max(1, sum(f[1] for f in found)),
        "side_by_side_fell_back": sum(back for _, back in sides),
        "jobs_per_commit": jobs / max(1, sum(f[1] for f in found)),
        "committer_ms_per_job": sum(f[0] * f[2] for f in found) / jobs,
        "committer_cpu_ms_per_job": sum(f[0] * f[3] for f in found) / jobs,
        # 1/committers when the load client's keep-alive connections were shared evenly by the workers
        "busiest_committer_share": max(f[0] for f in found) / jobs,
    }


IDLE = re.compile(
    r"acquire' of '_thread|queue\.py.*\(get\)|threading\.py.*\((wait|run|_bootstrap\w*)\)|"
    r"selectors\.py|epoll|base_events\.py.*\((run_forever|_run_once)\)|workers?\.py.*\(_worker\)|"
    r"Context' objects|builtins\.next|\(_run\)$|run_sync_in_worker_thread|asyncio/runners|"
    r"writer\.py.*\(_read_(frame|exactly)\)|'recv' of '_socket|time\.sleep"
)


def top_cumulative(stats: Any, payments: int, limit: int = 25) -> list[list[Any]]:
    """[ms per payment, calls per payment, function] of the `limit` largest cumulative times over all
    the workers' threads, without the waiting (locks, queues, the event loop's poll) that only says a
    thread was idle."""
    rows = []
    for (filename, line, name), (_, calls, _, cumulative, _) in stats.stats.items():
        where = f"{_short(filename)}:{line}({name})"
        if not IDLE.search(where):
            rows.append([round(cumulative * 1000 / payments, 3), round(calls / payments, 2), where])
    return sorted(rows, key=lambda r: -r[0])[:limit]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_gone(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _machine_cpu_seconds() -> tuple[float, float]:
    """The machine's busy and idle CPU seconds so far, over all cores (Linux `/proc/stat`; zeros elsewhere)."""
    try:
        ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = ticks[3] + ticks[4]  # idle, iowait
    per_second = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / per_second, idle / per_second


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None
