"""`puhui serve --workers N` (issue 17): the worker count per backend, and the leader lock that keeps the
background loops (hold expiry, merchant notifications, the monitor) in exactly one of the processes
sharing a database, taken over when that process dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from puhui import app as app_module
from puhui import cli, server
from puhui.app import create_app
from puhui.db import create_engine_from_url
from puhui.db.engine import is_postgres
from puhui.db.leader import Leadership
from puhui.settings import Settings, get_settings

HOLD_LOCK = """
import sys, time
from puhui.db import create_engine_from_url
from puhui.db.leader import Leadership
leadership = Leadership(create_engine_from_url(sys.argv[1]))
print("leading" if leadership.try_lead() else "following", flush=True)
time.sleep(600)
"""


def _settings() -> Settings:
    return Settings(monitoring=True, merchant_notifications=True, bank_worker=False, fraud_checks=False)


def _wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_of_two_apps_on_one_database_exactly_one_runs_the_loops_and_the_other_takes_over(engine, monkeypatch):
    monkeypatch.setattr(app_module, "LEADER_RETRY_SECONDS", 0.1)
    other_engine = create_engine_from_url(str(engine.url.render_as_string(hide_password=False)))
    first, second = (
        create_app(engine, _settings(), leader_lock=True),
        create_app(other_engine, _settings(), leader_lock=True),
    )
    leader = TestClient(first)
    leader.__enter__()
    try:
        with TestClient(second) as follower:
            assert first.state.leadership.held and not second.state.leadership.held
            assert len(first.state.leader_loops) == 3 and second.state.leader_loops == []
            assert follower.get("/health").status_code == 200  # a follower serves all the same
            leader.__exit__(None, None, None)  # the leader stops: the follower takes the lock on its next try
            assert first.state.leader_loops == [] and not first.state.leadership.held
            assert _wait_until(lambda: len(second.state.leader_loops) == 3)
    finally:
        leader.__exit__(None, None, None)
        other_engine.dispose()


def test_a_dead_leader_is_replaced_by_a_follower(engine, monkeypatch):
    monkeypatch.setattr(app_module, "LEADER_RETRY_SECONDS", 0.1)
    url = engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "leading"
        app = create_app(engine, _settings(), leader_lock=True)
        with TestClient(app):
            assert app.state.leader_loops == [] and not Leadership(engine).try_lead()
            holder.send_signal(signal.SIGKILL)  # no clean release: the database or the kernel drops the lock
            holder.wait(10)
            assert _wait_until(lambda: len(app.state.leader_loops) == 3)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)


def test_without_the_leader_lock_an_app_runs_its_loops_itself(engine):
    app = create_app(engine, _settings())
    with TestClient(app):
        assert not hasattr(app.state, "leadership")


def test_worker_count_by_backend(engine):
    if is_postgres(engine):
        assert server.worker_count(engine, None) == (os.cpu_count() or 1)
        assert server.worker_count(engine, 3) == 3
    else:
        assert server.worker_count(engine, None) == server.worker_count(engine, 1) == 1
        with pytest.raises(server.WorkersRefused, match="SQLite has one writer"):
            server.worker_count(engine, 2)


def test_workers_pools_fit_the_servers_connections_and_a_worker_builds_its_own(engine, monkeypatch):
    if not is_postgres(engine):
        pytest.skip("SQLite has no connection limit")
    with engine.connect() as connection:
        limit = int(connection.exec_driver_sql("SHOW max_connections").scalar_one())
    budget = limit - server.RESERVED_CONNECTIONS
    for workers in (1, 2, 8, budget // 2):
        kept, extra = server.pool_for_workers(engine, workers)
        assert 1 <= kept <= server.POOL_KEPT_MAX and extra >= 1
        assert (kept + extra) * workers <= budget
    assert server.pool_for_workers(engine, 2) == (10, budget // 2 - 10)  # 16 clients: 8 a worker, none churned

    monkeypatch.setenv("PUHUI_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PUHUI_DB_POOL_SIZE", "7")
    monkeypatch.setenv("PUHUI_DB_POOL_OVERFLOW", "3")
    made = []
    real = app_module.create_app
    monkeypatch.setattr(app_module, "create_app", lambda built, *a, **k: made.append(built) or real(built, *a, **k))
    app_module.serve_app()
    try:
        assert (made[0].pool.size(), made[0].pool._max_overflow) == (7, 3)
    finally:
        made[0].dispose()


@pytest.fixture
def real_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("PUHUI_SANDBOX", "true")
    monkeypatch.setenv("PUHUI_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.delenv("PUHUI_WRITER_SOCKET", raising=False)  # `serve` sets it for its worker: gone after the test
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_serve_on_sqlite_refuses_two_workers_in_one_line_and_never_listens(real_secrets, monkeypatch, capsys):
    monkeypatch.setattr(server.uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    monkeypatch.setattr(sys, "argv", ["puhui", "serve", "--workers", "2"])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and err.startswith("workers_refused: ") and len(err.splitlines()) == 1, err


def test_plain_serve_runs_the_worker_factory_in_one_process_on_sqlite(real_secrets, monkeypatch, tmp_path):
    served = {}
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    monkeypatch.setattr(sys, "argv", ["puhui", "serve", "--port", "8766"])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 0
    assert served["app"] == "puhui.app:serve_app" and served["factory"] and served["workers"] == 1
    assert os.environ["PUHUI_DATABASE_URL"] == f"sqlite:///{tmp_path / 'p.db'}"
    # SQLite's writer process was started for the worker, and stopped once the server returned
    socket_path = os.environ["PUHUI_WRITER_SOCKET"]
    assert socket_path.endswith("writer.sock") and not os.path.exists(socket_path)
    app = app_module.serve_app()  # what each worker builds: this database, the leader lock on
    try:
        assert app.state.writer.socket_path == socket_path
        with TestClient(app) as client:
            assert client.get("/health").json()["database"] == "ok" and app.state.leadership.held
    finally:
        app.state.engine.dispose()


def test_the_demo_refuses_several_workers_before_preparing_anything(real_secrets, monkeypatch):
    monkeypatch.setattr(server.uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    monkeypatch.setattr(server, "_demo_gate", lambda *a, **k: pytest.fail("the demo was prepared"))
    with pytest.raises(server.WorkersRefused, match="--demo runs on SQLite in one process"):
        server.run_server(host="127.0.0.1", port=8767, database_url=None, demo=True, workers=2)
