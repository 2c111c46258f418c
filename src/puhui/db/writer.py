"""SQLite's single writer (单写进程): the group committer in a process of its own, fed by the server.

On SQLite one connection writes at a time, so a server has one group committer. In the serving process
that committer shares the GIL with the event loop: a payment's HTTP work and its batch took turns on
one core while the machine's other cores idled. `puhui serve` on SQLite therefore starts this process
next to the server (`start`). The server parses, authenticates and validates each call and sends its
job here over a Unix socket (`WriterClient`); this process runs it in its group commit
(`puhui.db.group_commit`) and answers once the batch's commit is durable.

A job crosses as a pickled `Call`: its work and the refusal to audit when the work raises, both plain
picklable callables (module functions, `functools.partial`, dataclass instances). The answer is the
work's value or its error, pickled back. Only the server's own user can reach the socket: it lies in a
directory of `tempfile.mkdtemp`, which only that user may enter.

If this process dies, the calls waiting on it fail with `WriterUnavailable` (503: retry with the same
`Idempotency-Key`, whose stored answer says whether it committed) and the server commits in its own
process from then on. The process ends when its server does: it ignores SIGINT and SIGTERM (a stop
signal to the group must not cut a batch the server still waits for) and leaves once its standard
input closes, after the jobs already queued are committed.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import logging
import os
import pickle
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from puhui.db.group_commit import Job, committer_for, submit
from puhui.db.uow import UnitOfWork
from puhui.errors import PuhuiError

log = logging.getLogger(__name__)

SOCKET_ENV = "PUHUI_WRITER_SOCKET"
READY = b"ready\n"
START_SECONDS = 120.0  # rebuilding the fraud window state from a large outbox takes a while
_FRAME = struct.Struct("!I")
_CALL_ID = struct.Struct("!Q")


@dataclass(frozen=True)
class Call:
    """One job for the writer: `work` in its own savepoint, `refused` in the batch when it raised."""

    work: Callable[[UnitOfWork], Any]
    refused: Callable[[UnitOfWork, Exception], None] | None = None


class WriterUnavailable(PuhuiError):
    code = "writer_unavailable"
    status = 503
    title = "The database's writer stopped before answering: retry with the same Idempotency-Key"


class WriterNotThere(WriterUnavailable):
    """The writer could not be reached: the call was not sent, so its caller may run it elsewhere."""

    code = "writer_not_reached"
    title = "The database's writer process could not be reached: the call was not sent"


# -- the writer process -------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    """`python -m puhui.db.writer SOCKET SETUP`: serve the database of `PUHUI_DATABASE_URL` on SOCKET,
    after `SETUP` (`module:function`, called with the engine) has made the process ready for its jobs."""
    from puhui.db.engine import create_engine_from_url
    from puhui.settings import Settings

    path, setup = argv
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     [writer] %(message)s")
    engine = create_engine_from_url(Settings().resolved_database_url())
    module, function = setup.split(":")
    getattr(importlib.import_module(module), function)(engine)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    threading.Thread(target=_accept, args=(listener, engine), name="puhui-writer-accept", daemon=True).start()
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe from now on: a print must not fill it
    sys.stdin.buffer.read()  # until the server is gone
    _drain(engine)
    log.info("the server is gone: the writer stops; %s", committer_for(engine).stats.summary())


def _accept(listener: socket.socket, engine: Engine) -> None:
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=_serve, args=(connection, engine), name="puhui-writer-read", daemon=True).start()


def _serve(connection: socket.socket, engine: Engine) -> None:
    """Read a connection's calls and queue each to the group committer; each is answered when its batch is done."""
    sending = threading.Lock()
    with connection:
        while (frame := _read_frame(connection)) is not None:
            call_id = _CALL_ID.unpack_from(frame)[0]
            future: Future[Any] = Future()
            try:
                call = pickle.loads(frame[_CALL_ID.size :])
            except Exception as error:  # noqa: BLE001 - a call that does not unpickle is answered with why
                log.exception("call %d does not unpickle", call_id)
                future.set_exception(RuntimeError(f"the writer could not read the call: {error!r}"))
            else:
                future = submit(engine, Job(call.work, refused=call.refused))
            future.add_done_callback(lambda done, call_id=call_id: _answer(connection, sending, call_id, done))


def _answer(connection: socket.socket, sending: threading.Lock, call_id: int, done: Future[Any]) -> None:
    error = done.exception()
    try:
        data = pickle.dumps((call_id, error is None, done.result() if error is None else error))
    except (pickle.PicklingError, TypeError, AttributeError) as failure:
        log.warning("answer to call %d does not pickle: %r", call_id, failure)
        data = pickle.dumps((call_id, False, RuntimeError(f"{type(error or failure).__name__}: {error or failure}")))
    try:
        with sending:
            connection.sendall(_FRAME.pack(len(data)) + data)
    except OSError:
        log.warning("the server left before call %d was answered", call_id)


def _drain(engine: Engine, seconds: float = 30.0) -> None:
    """Let the jobs already queued commit before the process ends."""
    committer = committer_for(engine)
    deadline = time.monotonic() + seconds
    while committer.queued() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the batch taken last


def _read_frame(connection: socket.socket) -> bytes | None:
    head = _read_exactly(connection, _FRAME.size)
    return None if head is None else _read_exactly(connection, _FRAME.unpack(head)[0])


def _read_exactly(connection: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = connection.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- the server's side ----------------------------------------------------------------------------


@dataclass
class WriterProcess:
    """The writer started for a server (`start`); `stop` ends it after its queued jobs."""

    process: subprocess.Popen[bytes]
    socket_path: str

    def stop(self, seconds: float = 30.0) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()  # the pipe it said READY on: its descriptor must not outlive the writer
        Path(self.socket_path).unlink(missing_ok=True)
        Path(self.socket_path).parent.rmdir()


def start(setup: str, env: dict[str, str] | None = None) -> WriterProcess:
    """Start the writer of the database named by `PUHUI_DATABASE_URL` in `env` (default: this process's),
    made ready by `setup` (`module:function`); returns once it listens."""
    path = str(Path(tempfile.mkdtemp(prefix="puhui-writer-")) / "writer.sock")
    process = subprocess.Popen(
        [sys.executable, "-m", "puhui.db.writer", path, setup],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env if env is not None else dict(os.environ),
    )
    assert process.stdout is not None
    if not _readable(process.stdout, START_SECONDS) or process.stdout.readline() != READY:
        process.kill()
        with process:  # closes its pipes
            pass
        raise RuntimeError(f"the database's writer process did not start (exit status {process.poll()})")
    return WriterProcess(process, path)


def _readable(stream: Any, seconds: float) -> bool:
    """Whether `stream` has something to read within `seconds`. A selector, not `select.select`: a process
    with more than 1,024 descriptors open (a long-lived server, a test run) gets one numbered above
    FD_SETSIZE, which `select` refuses."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        return bool(selector.select(seconds))


class WriterClient:
    """The server's connection to its writer: `submit` sends a `Call` and waits for its answer. Once the
    writer is gone, `gone` is true, the calls waiting got `WriterUnavailable` and later ones `WriterNotThere`."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.gone = False
        self._ids = itertools.count()
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._connecting = asyncio.Lock()

    async def submit(self, call: Call) -> Any:
        writer = self._writer or await self._connect()
        if self.gone:
            raise WriterNotThere("the database's writer process is gone")
        call_id = next(self._ids)
        data = _CALL_ID.pack(call_id) + pickle.dumps(call)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = answer
        try:
            if writer.is_closing():  # the writer went before its reader noticed
                raise ConnectionResetError("the connection to the writer is closing")
            writer.write(_FRAME.pack(len(data)) + data)
        except (OSError, RuntimeError) as error:  # uvloop raises RuntimeError on a closed transport
            self._waiting.pop(call_id, None)  # never sent: its caller commits it itself
            raise WriterNotThere(f"the database's writer process is gone: {error!r}") from error
        return await answer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()

    async def _connect(self) -> asyncio.StreamWriter:
        async with self._connecting:
            if self._writer is None:
                if self.gone:
                    raise WriterNotThere("the database's writer process is gone")
                try:
                    reader, self._writer = await asyncio.open_unix_connection(self.socket_path)
                except OSError as error:
                    self.gone = True
                    log.error("the database's writer process is not there (%r): this process commits", error)
                    raise WriterNotThere(f"the database's writer process is not there: {error}") from error
                self._reader_task = asyncio.create_task(self._read_answers(reader))
            return self._writer

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                size = _FRAME.unpack(await reader.readexactly(_FRAME.size))[0]
                call_id, ok, value = pickle.loads(await reader.readexactly(size))
                answer = self._waiting.pop(call_id, None)
                if answer is None or answer.done():
                    continue
                if ok:
                    answer.set_result(value)
                else:
                    answer.set_exception(value)
        except (asyncio.IncompleteReadError, OSError) as error:
            log.error("the database's writer process is gone (%r): this process commits on its own now", error)
        finally:
            self.gone = True
            if self._writer is not None:
                self._writer.close()  # its socket goes now that the writer is gone, not when the client is collected
            for answer in self._waiting.values():
                if not answer.done():
                    answer.set_exception(WriterUnavailable("the writer stopped before this call's batch was answered"))
            self._waiting.clear()


if __name__ == "__main__":
    main(sys.argv[1:])
