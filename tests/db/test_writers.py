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
