"""Log-in throttling (登录限制): after `MAX_FAILURES` wrong passwords for one phone within
`WINDOW`, that phone is locked for `LOCK`, right password or not. The phone is kept only as its
blind index. A successful log-in clears the count.

Every attempt is counted before its password is checked (`reserve_attempt`, under the row's lock), so
parallel guesses cannot all slip past the check while the slow hashes run: at most `MAX_FAILURES`
passwords are ever tried per window."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from puhui import clock
from puhui.db import UnitOfWork
from puhui.identity.tables import login_throttle

MAX_FAILURES = 5
WINDOW = 15 * 60 * 1_000_000  # µs
LOCK = 15 * 60 * 1_000_000


def reserve_attempt(uow: UnitOfWork, subject_index: str) -> int | None:
    """Count one attempt before its password is checked; the seconds to wait when the phone is locked
    (then nothing is tried). The caller commits either way: a lock set here must stay."""
    now = clock.now_micros()
    insert = (pg_insert if uow.postgres else sqlite_insert)(login_throttle).values(
        subject_index=subject_index, failures=0, window_start=now, locked_until=None
    )
    uow.execute(insert.on_conflict_do_nothing(index_elements=["subject_index"]))
    query = select(login_throttle).where(login_throttle.c.subject_index == subject_index)
    row = uow.execute(query.with_for_update() if uow.postgres else query).mappings().one()
    if row["locked_until"] is not None and row["locked_until"] > now:
        return -(-(row["locked_until"] - now) // 1_000_000)
    fresh = now - row["window_start"] > WINDOW
    tried = 0 if fresh else row["failures"]
    if tried >= MAX_FAILURES:
        uow.execute(
            login_throttle.update()
            .where(login_throttle.c.subject_index == subject_index)
            .values(failures=0, window_start=now, locked_until=now + LOCK)
        )
        return LOCK // 1_000_000
    uow.execute(
        login_throttle.update()
        .where(login_throttle.c.subject_index == subject_index)
        .values(failures=tried + 1, window_start=now if fresh else row["window_start"])
    )
    return None


def clear(uow: UnitOfWork, subject_index: str) -> None:
    uow.execute(login_throttle.delete().where(login_throttle.c.subject_index == subject_index))
