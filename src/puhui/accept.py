"""Least-connections accepting (最少连接) for `puhui serve` with several workers.

uvicorn's workers share one listening socket, and each accepts in its event loop: woken by a new
connection, a loop accepts every connection waiting. A burst of keep-alive connections (a load
balancer's upstream pool, the benchmark's sixteen clients) then often lands on one worker, which
serves them all on one core while the other idles: in 5 of 14 runs of `puhui bench payments`, one
worker took 60-99% of the payments, and those runs made 334-439 payments a second against 416-491.

Here each worker accepts on a thread of its own, and takes a waiting connection only while no other
live worker holds fewer. The workers publish how many connections they hold in a small table, a
file every worker maps (`LoadTable`). A worker that does not take its turn (its process busy or
gone) is waited for at most `PATIENCE` seconds, so nobody's connection waits on a stuck peer, and the
slot of a worker gone is freed the first time it makes another wait.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import mmap
import os
import select
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import multiprocess

log = logging.getLogger(__name__)

TABLE_ENV = "PUHUI_ACCEPT_TABLE"
PATIENCE = 0.02  # seconds a worker holding more connections leaves a waiting one to the others
POLL = 0.05  # seconds between looks at the listening socket when nothing arrives
_SLOT = struct.Struct("qq")  # a worker's pid, the connections it holds


class LoadTable:
    """The connections each worker holds, in a file mapped by all of them: a slot per worker process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), 0)
        self.slots = len(self._map) // _SLOT.size
        self._mine: int | None = None

    @staticmethod
    def create(path: Path, slots: int) -> None:
        path.write_bytes(bytes(_SLOT.size * slots))

    def claim(self, pid: int) -> None:
        """Take a free slot (never used, or left by a process that is gone) for `pid`."""
        with self._locked():
            for slot in range(self.slots):
                owner, _ = _SLOT.unpack_from(self._map, slot * _SLOT.size)
                if owner == 0 or not _alive(owner):
                    _SLOT.pack_into(self._map, slot * _SLOT.size, pid, 0)
                    self._mine = slot
                    return
        raise RuntimeError(f"no free slot in {self.path} for worker {pid}")

    def publish(self, held: int) -> None:
        if self._mine is not None:
            struct.pack_into("q", self._map, self._mine * _SLOT.size + 8, held)

    def fewest_elsewhere(self) -> int | None:
        """The fewest connections any other worker holds, or None when there is no other."""
        fewest = None
        for slot in range(self.slots):
            if slot == self._mine:
                continue
            owner, held = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if owner and (fewest is None or held < fewest):
                fewest = held
        return fewest

    def free_dead(self) -> None:
        """Free the slots of workers gone without releasing them (killed): their counts are stale."""
        with self._locked():
            for slot in range(self.slots):
                owner, _ = _SLOT.unpack_from(self._map, slot * _SLOT.size)
                if owner and slot != self._mine and not _alive(owner):
                    _SLOT.pack_into(self._map, slot * _SLOT.size, 0, 0)

    def owners(self) -> list[int]:
        """The pids of the workers holding a slot."""
        return [owner for slot in range(self.slots) if (owner := _SLOT.unpack_from(self._map, slot * _SLOT.size)[0])]

    def release(self) -> None:
        if self._mine is not None:
            with self._locked():
                _SLOT.pack_into(self._map, self._mine * _SLOT.size, 0, 0)
            self._mine = None

    def close(self) -> None:
        self.release()
        self._map.close()
        self._file.close()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Acceptor:
    """Accepts on `listener` for this worker while it holds no more connections than any other, and
    hands each connection to `serve` (called in the thread; `serve` passes it to the event loop)."""

    def __init__(
        self,
        listener: socket.socket,
        table: LoadTable,
        held: Callable[[], int],
        serve: Callable[[socket.socket], None],
        patience: float = PATIENCE,
    ) -> None:
        self.listener, self.table, self.held, self.serve, self.patience = listener, table, held, serve, patience
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="puhui-accept", daemon=True)

    def start(self, backlog: int) -> None:
        self.listener.listen(backlog)  # as the event loop's server would: the socket comes bound, not listening
        self.listener.setblocking(False)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * POLL + 1)

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self.listener.fileno(), select.POLLIN)
        waiting_since: float | None = None
        while not self._stop.is_set():
            held = self.held()
            self.table.publish(held)
            if not poller.poll(POLL * 1000):
                waiting_since = None
                continue
            fewest = self.table.fewest_elsewhere()
            if fewest is not None and held > fewest:
                now = time.monotonic()
                if waiting_since is None:  # the others' turn, unless the one with fewer is gone
                    waiting_since = now
                    self.table.free_dead()
                if now - waiting_since < self.patience:
                    time.sleep(0.0005)
                    continue
            waiting_since = None
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue  # another worker took it
            except OSError as error:
                log.warning("accepting a connection failed: %r", error)
                time.sleep(POLL)
                continue
            self.serve(connection)


class BalancedServer(uvicorn.Server):
    """uvicorn's server, accepting through an `Acceptor` on the sockets it is given."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._acceptor: Acceptor | None = None
        self._table: LoadTable | None = None
        # accepted by the acceptors' threads, and handed to the event loop: each counter has one writer
        self._accepted = 0
        self._handed = 0
        self._handing: set[asyncio.Task[None]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if sockets and len(sockets) > 1:
            raise ValueError("least-connections accepting serves one listening socket")
        await super().startup(sockets=[] if sockets else sockets)
        if not sockets or self.should_exit:
            return
        loop = asyncio.get_running_loop()
        self._table = LoadTable(Path(os.environ[TABLE_ENV]))
        self._table.claim(os.getpid())
        factory = self._protocol_factory()

        def held() -> int:  # the connections served, and those on their way to the event loop
            return len(self.server_state.connections) + self._accepted - self._handed

        def serve(connection: socket.socket) -> None:
            self._accepted += 1
            loop.call_soon_threadsafe(self._connect, loop, factory, connection)

        self._acceptor = Acceptor(sockets[0], self._table, held, serve)
        self._acceptor.start(self.config.backlog)

    def _protocol_factory(self) -> Callable[[], asyncio.Protocol]:
        config, state, app_state = self.config, self.server_state, self.lifespan.state

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(config=config, server_state=state, app_state=app_state, _loop=_loop)  # type: ignore[call-arg]

        return create_protocol

    def _connect(self, loop: asyncio.AbstractEventLoop, factory: Callable[[], Any], connection: socket.socket) -> None:
        async def made() -> None:
            try:
                await loop.connect_accepted_socket(factory, connection)
            except OSError as error:
                log.warning("serving an accepted connection failed: %r", error)
                connection.close()
            finally:
                self._handed += 1

        task = loop.create_task(made())
        self._handing.add(task)
        task.add_done_callback(self._handing.discard)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._acceptor is not None:
            self._acceptor.stop()
        if self._table is not None:
            self._table.close()
        await super().shutdown(sockets=sockets)


class _Worker(multiprocess.Process):
    """uvicorn's worker process, serving with a `BalancedServer`."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = BalancedServer(config=self.config)
        return self._server


def run_workers(config: uvicorn.Config) -> None:
    """`config.workers` processes (uvicorn's supervisor: restarts, signals) accepting least-connections."""
    with tempfile.TemporaryDirectory(
        prefix="puhui-accept-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None
    ) as d:
        table = Path(d) / "load"
        LoadTable.create(table, slots=4 * config.workers)
        os.environ[TABLE_ENV] = str(table)  # the workers are spawned with this environment
        plain = multiprocess.Process
        multiprocess.Process = _Worker  # type: ignore[misc]  # the supervisor makes its workers by this name
        try:
            multiprocess.Multiprocess(config, sockets=[config.bind_socket()]).run()
        except KeyboardInterrupt:  # as uvicorn.run: the supervisor has stopped its workers
            pass
        finally:
            multiprocess.Process = plain  # type: ignore[misc]
            os.environ.pop(TABLE_ENV, None)
