"""The leader lock (领导者锁): of all the processes serving one database, one runs the background loops.

`puhui serve --workers N` starts N processes with the same app; expiring holds, the monitor and the
merchant notifications must run once, not N times. Each process holds a `Leadership` and calls
`try_lead` now and then; the one that gets the lock leads until it stops or dies, and the lock is
released with it (by the database or the operating system), so another process takes it on its next try.

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a dedicated connection; it is
  per database, and lost when the connection is (a leader whose connection drops stops leading).
- SQLite: an exclusive `flock` on `<database file>.leader` (released by the kernel when the process
  dies). An in-memory database belongs to one process, which always leads; so does a platform
  without `fcntl`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import IO, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from puhui.db.engine import is_postgres, lock_file

log = logging.getLogger(__name__)

# A fixed 64-bit key for pg_advisory_lock: "puhui.background" in the platform's own namespace.
ADVISORY_KEY = 0x7075_6875_6962_6731


class Leadership:
    """Whether this process leads; `try_lead` takes the lock when free, `release` gives it up."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None  # PostgreSQL: the session holding the advisory lock
        self._file: IO[Any] | None = None  # SQLite: the open lock file
        self._always = not is_postgres(engine) and _lock_path(engine) is None
        self.held = False

    def try_lead(self) -> bool:
        """Take the lock if nobody holds it; keep it if held and still alive. True while leading."""
        if self._always:
            self.held = True
        elif is_postgres(self.engine):
            self.held = self._still_held() if self.held else self._take_advisory()
        else:
            self.held = self.held or self._take_file()
        return self.held

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._connection.commit()
            with contextlib.suppress(DBAPIError):
                self._connection.close()
            self._connection = None
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None
        self.held = False

    def _take_advisory(self) -> bool:
        try:
            if self._connection is None:
                self._connection = self.engine.connect()
            got = bool(self._connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar())
            self._connection.commit()  # a session lock outlives the transaction; no transaction stays open
        except DBAPIError:
            log.warning("taking the leader lock failed; retrying", exc_info=True)
            self.release()
            return False
        if not got:
            self._connection.close()  # a follower keeps no connection out of the pool
            self._connection = None
        return got

    def _still_held(self) -> bool:
        try:
            assert self._connection is not None
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except DBAPIError:
            log.warning("the leader lock's connection was lost; leading stops", exc_info=True)
            self.release()
            return False
        return True

    def _take_file(self) -> bool:
        import fcntl

        path = _lock_path(self.engine)
        assert path is not None
        handle = open(path, "a+b")  # noqa: SIM115 - held open for as long as this process leads
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True


def _lock_path(engine: Engine) -> str | None:
    """The SQLite database's leader lock file, or None when there is no file (in memory) or no `flock`."""
    return lock_file(engine, ".leader")
