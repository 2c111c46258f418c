"""Turns at SQLite's one write lock for the threads of a process, first come first served.

SQLite lets one transaction write at a time; a writer that finds it taken sleeps in the busy
handler (1, 2, 5 … 100 ms) and tries again. A busy writer that commits and begins again at once —
the group committer under load — wins nearly every time, and the others (the outbox sequencer, the
fraud window's offsets, a refund) wait for seconds. So every write transaction of an engine first
takes its turn here: the committer's next batch queues behind whoever was already waiting.

Processes take turns too, through an exclusive `flock` on `<database>.writer` held from BEGIN to
COMMIT or ROLLBACK: a process waiting for it sleeps in the kernel and wakes as soon as the lock is
free, instead of polling in the busy handler. `puhui serve` on SQLite has two writing processes (the
server's background loops and other calls, and the payments' writer process, `puhui.db.writer`).
A process that does not take the file lock (the sqlite3 shell) still meets SQLite's own lock and its
busy timeout.
"""

from __future__ import annotations

import collections
import threading
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, event

TURN = "puhui_write_turn"
FILE_TURN = "puhui_write_file_turn"
WAIT_SECONDS = 30.0  # as long as SQLite's busy timeout; then the writer goes on without its turn


class FileTurn:
    """The processes' turn at a database file: an exclusive `flock` on its `.writer` file, one per file
    in a process (`file_turn`). While one of the process's engines holds it, another engine of the same
    process on the same file goes without it (SQLite's busy handler, as before), so a thread writing
    through two engines at once never waits on itself."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._mutex = threading.Lock()
        self._held = False
        self._file: Any = None

    def acquire(self) -> bool:
        import fcntl

        with self._mutex:
            if self._held:
                return False
            self._held = True
            if self._file is None:
                self._file = open(self.path, "a+b")  # noqa: SIM115 - kept open: one descriptor a process
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)  # waits in the kernel, the GIL released
        return True

    def release(self) -> None:
        import fcntl

        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        with self._mutex:
            self._held = False


_FILE_TURNS: dict[str, FileTurn] = {}
_FILE_TURNS_MUTEX = threading.Lock()


def file_turn(path: str) -> FileTurn:
    with _FILE_TURNS_MUTEX:
        found = _FILE_TURNS.get(path)
        if found is None:
            found = _FILE_TURNS[path] = FileTurn(path)
        return found


class WriterQueue:
    """A lock handed to its waiters in arrival order; with `between_processes`, each holder also takes
    the processes' turn once it has its own."""

    def __init__(self, between_processes: FileTurn | None = None) -> None:
        self.between_processes = between_processes
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: collections.deque[threading.Lock] = collections.deque()

    def acquire(self, timeout: float = WAIT_SECONDS) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over by `release`
        with self._mutex:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                return True  # handed over just as the wait ran out
            return False

    def waiting(self) -> int:
        with self._mutex:
            return len(self._waiters)

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


_QUEUES: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


def queue_of(engine: Engine) -> WriterQueue | None:
    return _QUEUES.get(engine)


def take_turns(engine: Engine, lock_file: str | None = None) -> WriterQueue:
    """Make the engine's write transactions (`BEGIN IMMEDIATE`) take turns, between the processes too
    when `lock_file` is given; returns the queue. The turn passes on once COMMIT or ROLLBACK has
    returned (SQLite's lock is free then), so the next writer never meets the busy handler."""
    queue = _QUEUES[engine] = WriterQueue(file_turn(lock_file) if lock_file else None)
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def done(info: dict | None) -> None:
        if info is None:
            return
        if info.pop(FILE_TURN, False):
            assert queue.between_processes is not None
            queue.between_processes.release()
        if info.pop(TURN, False):
            queue.release()

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            done(_info(dbapi_connection))

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            done(_info(dbapi_connection))

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        done(record.info)  # a connection returned with its transaction still open never keeps the turn

    return queue


def _info(dbapi_connection: Any) -> dict | None:
    """The pooled connection's info (where its turn is noted); None for the engine's first probe."""
    try:
        return dbapi_connection.info
    except (AttributeError, NotImplementedError):
        return None


def begin_writing(queue: WriterQueue, conn: Connection) -> None:
    """Wait for the turn, then BEGIN IMMEDIATE; the turn passes on at commit or rollback."""
    conn.info[TURN] = queue.acquire()
    try:
        if queue.between_processes is not None and conn.info[TURN]:
            conn.info[FILE_TURN] = queue.between_processes.acquire()
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if conn.info.pop(FILE_TURN, False):
            assert queue.between_processes is not None
            queue.between_processes.release()
        if conn.info.pop(TURN, False):
            queue.release()
        raise
