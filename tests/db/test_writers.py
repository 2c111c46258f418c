"""SQLite's write lock taken in turn by a process's threads (`puhui.db.writers`): first come first
served, so a writer waiting behind the busy group committer goes before the committer's next batch."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from puhui.db import group_commit, transaction
from puhui.db.writers import WriterQueue, queue_of


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.002)


def test_turns_are_handed_over_in_arrival_order():
    queue = WriterQueue()
    assert queue.acquire()
    order: list[int] = []
    threads = []
    for n in range(5):
        thread = threading.Thread(target=lambda n=n: (queue.acquire(), order.append(n), queue.release()))
        thread.start()
        threads.append(thread)
        _wait_for(lambda n=n: queue.waiting() == n + 1, f"waiter {n} never queued")
    assert not WriterQueue.acquire(queue, timeout=0.01)  # a waiter that gives up leaves the queue as it was
    assert queue.waiting() == 5
    queue.release()
    for thread in threads:
        thread.join(timeout=30)
    assert order == [0, 1, 2, 3, 4]
    assert queue.acquire(timeout=0)  # free again


def test_a_waiting_writer_goes_before_the_committers_next_batch(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database")
    queue = queue_of(engine)
    assert queue is not None
    transaction(engine, lambda uow: uow.execute(text("CREATE TABLE turns (n INTEGER PRIMARY KEY, who TEXT)")))
    order: list[str] = []
    inside, go = threading.Event(), threading.Event()

    def gate(uow) -> None:
        inside.set()
        assert go.wait(timeout=30)

    def write(who: str):
        def work(uow) -> None:
            order.append(who)
            uow.execute(text("INSERT INTO turns (who) VALUES (:who)"), {"who": who})

        return work

    held = group_commit.submit(engine, group_commit.Job(gate))
    assert inside.wait(timeout=30)
    plain = threading.Thread(target=lambda: transaction(engine, write("plain")))
    plain.start()
    _wait_for(lambda: queue.waiting() == 1, "the plain writer never queued for its turn")
    batch = group_commit.submit(engine, group_commit.Job(write("batch")))
    go.set()
    held.result(timeout=30)
    batch.result(timeout=30)
    plain.join(timeout=30)
    assert order == ["plain", "batch"]


def _file_turn_taken(path: str) -> bool:
    """Whether some writer holds the processes' turn (`<database>.writer`): a new descriptor cannot lock it."""
    import fcntl

    with open(path, "a+b") as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
        return False


def test_a_write_holds_the_processes_turn_from_begin_to_commit(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database")
    from puhui.db import reading
    from puhui.db.engine import writer_lock_path

    path = writer_lock_path(engine)
    assert path is not None and path.endswith(".writer")
    during: list[bool] = []
    transaction(engine, lambda uow: during.append(_file_turn_taken(path)))
    with reading(engine) as connection:  # a reader takes no turn
        connection.execute(text("SELECT 1"))
        during.append(_file_turn_taken(path))

    def refused(uow) -> None:
        during.append(_file_turn_taken(path))
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        transaction(engine, refused)
    assert during == [True, False, True]
    assert not _file_turn_taken(path)  # given back at commit and at rollback


def test_two_engines_of_one_process_on_one_file_never_wait_on_each_others_turn(db_url):
    """A thread writing through a second engine while its first holds the turn goes without the file turn:
    it meets SQLite's lock (busy, after its busy timeout) instead of waiting on itself for ever."""
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows, not the database")
    from sqlalchemy.exc import OperationalError

    from puhui.db import create_engine_from_url

    first, second = create_engine_from_url(db_url), create_engine_from_url(db_url)
    outcome: list[str] = []

    def nested(uow) -> None:
        uow.execute(text("CREATE TABLE pairs (who TEXT)"))
        with second.connect() as connection:
            connection.connection.driver_connection.execute("PRAGMA busy_timeout=100")  # not a transaction
            try:
                with connection.begin():
                    outcome.append("wrote")
            except OperationalError as error:
                outcome.append(str(error.orig))

    try:
        writer = threading.Thread(target=transaction, args=(first, nested), daemon=True)
        writer.start()
        writer.join(timeout=30)
        assert not writer.is_alive(), "the second engine waited on its own process's turn"
        assert outcome == ["database is locked"]
        transaction(second, lambda uow: uow.execute(text("INSERT INTO pairs VALUES ('second')")))  # free again
    finally:
        first.dispose()
        second.dispose()
