"""The sandbox clock over the database: the offset is one row, so the server, every command and every
worker on that database see the same platform time. Outside the sandbox nothing here is installed."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import Engine, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.sandbox.models import ClockReading, new_offset
from puhui.sandbox.tables import sandbox_clock

log = logging.getLogger("puhui.sandbox")
REFRESH_SECONDS = 0.5


def read_offset(connection) -> dt.timedelta:
    micros = connection.execute(select(sandbox_clock.c.offset_micros).where(sandbox_clock.c.id == 1)).scalar()
    return dt.timedelta(microseconds=micros or 0)


def move(
    uow: UnitOfWork, wall: dt.datetime, *, advance: dt.timedelta | None = None, to: dt.datetime | None = None
) -> ClockReading:
    """Move the platform clock forward (in this unit of work, the row locked); returns the new reading."""
    row = uow.execute(select(sandbox_clock.c.offset_micros).where(sandbox_clock.c.id == 1).with_for_update()).first()
    current = ClockReading(wall, dt.timedelta(microseconds=row[0] if row else 0))
    offset = new_offset(current, advance=advance, to=to)
    values = {"offset_micros": offset // dt.timedelta(microseconds=1), "updated_at": clock.to_micros(wall)}
    if row is None:
        uow.execute(sandbox_clock.insert().values(id=1, **values))
    else:
        uow.execute(sandbox_clock.update().where(sandbox_clock.c.id == 1).values(**values))
    return ClockReading(wall, offset)


class SandboxClock:
    """Wall time plus the database's offset. `now()` never touches the database: the offset is read at
    start, refreshed by a daemon thread every `REFRESH_SECONDS`, and set at once by a move made here."""

    def __init__(self, engine: Engine, base: clock.Clock | None = None) -> None:
        self.engine = engine
        self.base = base or clock.SystemClock()
        self._offset = dt.timedelta(0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def now(self) -> dt.datetime:
        return self.base.now() + self.offset

    @property
    def offset(self) -> dt.timedelta:
        with self._lock:
            return self._offset

    def reading(self) -> ClockReading:
        return ClockReading(self.base.now(), self.offset)

    def refresh(self) -> None:
        with reading(self.engine) as connection:
            self.adopt(read_offset(connection))

    def adopt(self, offset: dt.timedelta) -> None:
        """Take a newer offset (forward only: a stale read never takes the clock back)."""
        with self._lock:
            self._offset = max(self._offset, offset)

    def move(self, *, advance: dt.timedelta | None = None, to: dt.datetime | None = None) -> ClockReading:
        moved = transaction(self.engine, lambda uow: move(uow, self.base.now(), advance=advance, to=to))
        self.adopt(moved.offset)
        return moved

    def follow(self) -> SandboxClock:
        """Keep the offset in step with moves made by other processes (a daemon thread)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._follow, name="sandbox-clock", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _follow(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS) and clock.current() is self:  # uninstalled: nothing to follow
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - a failed read keeps the last offset; the next one retries
                log.warning("reading the sandbox clock failed", exc_info=True)


def install(engine: Engine, *, follow: bool = True, base: clock.Clock | None = None) -> SandboxClock:
    """Install the sandbox clock process-wide for `engine`'s database (the caller checked the sandbox is on),
    over `base` (the system's wall clock unless given)."""
    sandbox = SandboxClock(engine, base)
    clock.install(sandbox.follow() if follow else sandbox)
    return sandbox


def installed() -> SandboxClock | None:
    current = clock.current()
    return current if isinstance(current, SandboxClock) else None
