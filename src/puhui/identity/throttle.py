"""Log-in throttling (登录限制): after `MAX_FAILURES` wrong passwords for one phone within
`WINDOW`, that phone is locked for `LOCK`, right password or not. The phone is kept only as its
blind index. A successful log-in clears the count."""

from __future__ import annotations

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import PuhuiError
from puhui.identity.tables import login_throttle

MAX_FAILURES = 5
WINDOW = 15 * 60 * 1_000_000  # µs
LOCK = 15 * 60 * 1_000_000


class TooManyLoginAttempts(PuhuiError):
    code = "too_many_login_attempts"
    status = 429
    title = "Too many failed log-ins for this phone; try again later"


def check_not_locked(connection: Connection, subject_index: str) -> None:
    until = connection.execute(
        select(login_throttle.c.locked_until).where(login_throttle.c.subject_index == subject_index)
    ).scalar()
    now = clock.now_micros()
    if until is not None and until > now:
        raise TooManyLoginAttempts(retry_after_seconds=-(-(until - now) // 1_000_000))


def record_failure(uow: UnitOfWork, subject_index: str) -> None:
    now = clock.now_micros()
    query = select(login_throttle).where(login_throttle.c.subject_index == subject_index)
    row = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
    if row is None:
        uow.execute(login_throttle.insert().values(subject_index=subject_index, failures=1, window_start=now,
                                                   locked_until=None))
        return
    fresh = now - row["window_start"] > WINDOW
    failures = 1 if fresh else row["failures"] + 1
    uow.execute(login_throttle.update().where(login_throttle.c.subject_index == subject_index).values(
        failures=0 if failures >= MAX_FAILURES else failures,
        window_start=now if fresh or failures >= MAX_FAILURES else row["window_start"],
        locked_until=now + LOCK if failures >= MAX_FAILURES else row["locked_until"]))


def clear(uow: UnitOfWork, subject_index: str) -> None:
    uow.execute(login_throttle.delete().where(login_throttle.c.subject_index == subject_index))
