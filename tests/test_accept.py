"""Least-connections accepting (`puhui.accept`): worker processes sharing one listening socket take a burst
of connections in turns, where an event loop's accept would let one of them drain it; the table of
connections held frees the slot of a worker gone."""

from __future__ import annotations

import inspect
import multiprocessing
import os
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from puhui.accept import POLL, LoadTable

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # e.g. under --import-mode=importlib
    sys.path.insert(0, _HERE)
import _acceptors  # noqa: E402  (spawned children import it by this name, through the inherited sys.path)

CONNECTIONS = 16


def test_two_workers_take_a_burst_of_connections_in_turns(tmp_path: Path) -> None:
    table_path = tmp_path / "load"
    LoadTable.create(table_path, slots=4)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    spawn = multiprocessing.get_context("spawn")
    accepted, stop = spawn.Queue(), spawn.Event()
    workers = [
        spawn.Process(target=_acceptors.accept_in_turns, args=(listener, str(table_path), accepted, stop))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 60
        while len(_owners(table_path)) < 2:  # both workers are accepting
            assert all(w.is_alive() for w in workers), "a worker died: see its traceback above"
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.05)
        time.sleep(2 * POLL)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
        served = Counter(accepted.get(timeout=30) for _ in range(CONNECTIONS))
        for client in clients:
            client.close()
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
        listener.close()
    assert set(served) == {w.pid for w in workers}, served
    # in turns, never more than one ahead (each waits up to 5 s for the other's turn here, 20 ms when serving).
    # Drained by one event loop, the split was 15/1 or 16/0.
    assert max(served.values()) <= CONNECTIONS // 2 + 1, served


def _owners(path: Path) -> list[int]:
    table = LoadTable(path)
    try:
        return table.owners()
    finally:
        table.close()


def test_a_workers_table_slot_publishes_its_count_and_is_freed_when_it_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "load"
    LoadTable.create(path, slots=2)
    mine, other = LoadTable(path), LoadTable(path)
    mine.claim(os.getpid())
    assert mine.fewest_elsewhere() is None and mine.owners() == [os.getpid()]  # alone
    gone = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    gone.start()
    gone.join()
    other.claim(gone.pid)
    other.publish(3)
    mine.publish(5)
    assert mine.fewest_elsewhere() == 3 and other.fewest_elsewhere() == 5
    late = LoadTable(path)
    late.claim(os.getpid())  # the slot of the process gone is free again
    assert late.fewest_elsewhere() == 5
    with pytest.raises(RuntimeError, match="no free slot"):
        LoadTable(path).claim(os.getpid())
    mine.release()
    assert late.fewest_elsewhere() is None
    killed = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    killed.start()
    killed.join()
    LoadTable(path).claim(killed.pid)  # a worker killed before it could release its slot, holding none
    assert late.fewest_elsewhere() == 0
    late.free_dead()
    assert late.fewest_elsewhere() is None and late.owners() == [os.getpid()]
    for table in (mine, other, late):
        table.close()


def test_uvicorns_supervisor_makes_its_workers_serve_least_connections() -> None:
    """`run_workers` relies on the worker class of uvicorn's supervisor (pinned in pyproject.toml): a
    change there would quietly bring back the event loops' accepting."""
    import uvicorn
    from uvicorn.supervisors import multiprocess

    from puhui.accept import BalancedServer, _Worker

    worker = _Worker(uvicorn.Config("puhui.app:serve_app", factory=True, workers=2), sockets=[])
    assert isinstance(worker.server, BalancedServer)
    assert "Process(self.config, self.sockets)" in inspect.getsource(multiprocess.Multiprocess)  # by this name
