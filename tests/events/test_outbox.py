"""The transactional outbox on both backends: events exist only if their transaction commits, and
consumers reading "after position N" get every committed event exactly once, in position order,
with gap-free positions, even when an earlier-started transaction commits later."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import Engine, select, text

from puhui.db import (
    UnitOfWork,
    create_engine_from_url,
    reading,
    transaction,
    unit_of_work,
)
from puhui.db.tables import outbox
from puhui.events.outbox import Event, assign_positions, publish, read_events, read_topics


def emit(engine: Engine, *keys: str, topic: str = "test", type: str = "test.happened") -> None:
    """One committed transaction publishing one event per key."""

    def work(uow: UnitOfWork) -> None:
        for key in keys:
            publish(uow, topic, type, key, {"key": key, "text": "备付金 ok"})

    transaction(engine, work)


def keys(events: list[Event]) -> list[str | None]:
    return [e.key for e in events]


def assert_gap_free(events: list[Event], start: int = 1) -> None:
    assert [e.position for e in events] == list(range(start, start + len(events)))


def test_published_event_is_read_back_with_its_payload(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    def work(uow: UnitOfWork) -> None:
        publish(uow, "ledger", "ledger.something", "k1", {"amount": "12.34", "名字": "张三", "nested": {"n": [1, 2]}})

    transaction(engine, work)
    [event] = read_events(engine)
    assert event.position == 1
    assert (event.topic, event.type, event.key) == ("ledger", "ledger.something", "k1")
    assert event.payload == {"amount": "12.34", "名字": "张三", "nested": {"n": [1, 2]}}
    from puhui import clock as clock_module

    assert event.created_at == clock_module.now_micros()


def test_rolled_back_events_never_appear(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    emit(engine, "before")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with unit_of_work(engine) as uow:
            publish(uow, "test", "test.happened", "doomed-1", {})
            publish(uow, "test", "test.happened", "doomed-2", {})
            raise Boom

    def failing(uow: UnitOfWork) -> None:
        publish(uow, "test", "test.happened", "doomed-3", {})
        raise Boom

    with pytest.raises(Boom):
        transaction(engine, failing)
    emit(engine, "after")
    events = read_events(engine)
    assert keys(events) == ["before", "after"]
    assert_gap_free(events)
    with reading(engine) as connection:
        stored = connection.execute(select(outbox.c.key)).scalars().all()
    assert sorted(stored) == ["after", "before"]


def test_read_after_offset_returns_exactly_the_later_events_in_order(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    emit(engine, "e1")
    emit(engine, "e2", "e3", "e4")  # several in one transaction keep their order
    emit(engine, "e5")
    first = read_events(engine)
    assert keys(first) == ["e1", "e2", "e3", "e4", "e5"]
    assert_gap_free(first)
    emit(engine, "e6", "e7")
    emit(engine, "e8")
    everything = read_events(engine)
    assert keys(everything) == [f"e{i}" for i in range(1, 9)]
    assert_gap_free(everything)
    # positions already handed out never change
    assert [e.position for e in everything[:5]] == [e.position for e in first]
    for offset in range(0, 9):
        later = read_events(engine, after=offset)
        assert keys(later) == [f"e{i}" for i in range(offset + 1, 9)]
        assert [e.position for e in later] == list(range(offset + 1, 9))
    assert read_events(engine, after=8) == []
    assert read_events(engine, after=100) == []


def test_limit_pages_through_the_stream(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    emit(engine, *[f"k{i:02d}" for i in range(25)])
    offset, seen = 0, []
    while True:
        page = read_events(engine, after=offset, limit=7)
        assert len(page) <= 7
        if not page:
            break
        seen += page
        offset = page[-1].position
    assert keys(seen) == [f"k{i:02d}" for i in range(25)]
    assert_gap_free(seen)


def test_topic_filter_keeps_global_positions(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    emit(engine, "a1", topic="alpha")
    emit(engine, "b1", topic="beta")
    emit(engine, "a2", topic="alpha")
    alpha = read_events(engine, topic="alpha")
    assert keys(alpha) == ["a1", "a2"]
    assert [e.position for e in alpha] == [1, 3]
    assert keys(read_events(engine, after=1, topic="alpha")) == ["a2"]
    assert keys(read_events(engine, after=1, topic="beta")) == ["b1"]


def test_topics_read_together_each_after_its_own_position(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    emit(engine, "a1", topic="alpha")
    emit(engine, "b1", "b2", topic="beta")
    emit(engine, "a2", "a3", topic="alpha")  # waiting for their positions until a reader numbers them
    found = read_topics(engine, {"alpha": 1, "beta": 0, "gamma": 0})
    assert {topic: keys(events) for topic, events in found.items()} == {
        "alpha": ["a2", "a3"],
        "beta": ["b1", "b2"],
        "gamma": [],
    }
    assert [e.position for e in found["alpha"]] == [4, 5]
    assert keys(read_topics(engine, {"alpha": 0}, limit=2)["alpha"]) == ["a1", "a2"]
    assert read_topics(engine, {"alpha": 5, "beta": 3}) == {"alpha": [], "beta": []}


def _positions(engine: Engine) -> list[tuple]:
    with reading(engine) as connection:
        return [tuple(r) for r in connection.execute(select(outbox.c.key, outbox.c.position).order_by(outbox.c.seq))]


def test_positions_are_assigned_once_and_only_to_committed_rows(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    emit(engine, "x1", "x2")
    assert _positions(engine) == [("x1", None), ("x2", None)]
    transaction(engine, assign_positions)
    assert _positions(engine) == [("x1", 1), ("x2", 2)]
    transaction(engine, assign_positions)  # nothing new: nothing renumbered
    emit(engine, "x3")
    assert _positions(engine) == [("x1", 1), ("x2", 2), ("x3", None)]
    transaction(engine, assign_positions)
    assert _positions(engine) == [("x1", 1), ("x2", 2), ("x3", 3)]


def test_assign_positions_returns_how_many_it_numbered(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    """A relay loops on this count ("while assign_positions(...)"): it must be the real number,
    never -1 (which is what a DB-API rowcount says when the driver does not know)."""
    emit(engine, "x1", "x2")
    assert transaction(engine, assign_positions) == 2
    assert transaction(engine, assign_positions) == 0
    emit(engine, *[f"k{i}" for i in range(5)])
    assert transaction(engine, lambda uow: assign_positions(uow, limit=3)) == 3
    assert transaction(engine, lambda uow: assign_positions(uow, limit=3)) == 2


def test_sequencer_limit_numbers_in_seq_order_without_gaps(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    emit(engine, *[f"k{i}" for i in range(10)])
    transaction(engine, lambda uow: assign_positions(uow, limit=3))
    assert [p for _, p in _positions(engine)] == [1, 2, 3] + [None] * 7
    transaction(engine, lambda uow: assign_positions(uow, limit=4))
    assert [p for _, p in _positions(engine)] == [1, 2, 3, 4, 5, 6, 7] + [None] * 3
    events = read_events(engine)
    assert keys(events) == [f"k{i}" for i in range(10)]
    assert_gap_free(events)


def test_late_commit_of_an_earlier_transaction_is_not_skipped(pg_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: T1 inserts first (smaller seq) but commits after T2; a consumer that already read
    T2's event must still get T1's, after its offset."""
    engine = create_engine_from_url(pg_url)
    try:
        emit(engine, "e0")
        assert keys(read_events(engine)) == ["e0"]

        connection1 = engine.connect()
        t1 = connection1.begin()
        publish(UnitOfWork(connection1, postgres=True), "test", "test.happened", "T1", {})

        emit(engine, "T2")
        seen = read_events(engine, after=1)
        assert keys(seen) == ["T2"]  # T1 is not visible yet
        offset = seen[-1].position
        assert offset == 2

        t1.commit()
        connection1.close()
        later = read_events(engine, after=offset)
        assert keys(later) == ["T1"]
        assert later[0].position == offset + 1
        everything = read_events(engine)
        assert keys(everything) == ["e0", "T2", "T1"]
        assert_gap_free(everything)
        # T1's row was inserted before T2's, yet it is numbered after it
        with reading(engine) as connection:
            seqs = dict(connection.execute(select(outbox.c.key, outbox.c.seq)).all())
        assert seqs["T1"] < seqs["T2"]
    finally:
        engine.dispose()


def test_late_commit_with_threads_and_a_consumer_in_between(pg_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    """The same interleaving driven by two threads: T1 publishes then waits; T2 publishes and commits;
    the consumer reads; T1 commits; the consumer reads again from its offset."""
    engine = create_engine_from_url(pg_url)
    t1_published, t2_done, consumer_read, t1_done = (threading.Event() for _ in range(4))
    errors: list[BaseException] = []

    def t1() -> None:
        try:
            with unit_of_work(engine) as uow:
                publish(uow, "test", "test.happened", "T1", {})
                t1_published.set()
                assert consumer_read.wait(10)
            t1_done.set()
        except BaseException as error:  # pragma: no cover
            errors.append(error)

    def t2() -> None:
        try:
            assert t1_published.wait(10)
            emit(engine, "T2")
            t2_done.set()
        except BaseException as error:  # pragma: no cover
            errors.append(error)

    try:
        threads = [threading.Thread(target=t1), threading.Thread(target=t2)]
        for t in threads:
            t.start()
        assert t2_done.wait(10)
        first = read_events(engine)
        consumer_read.set()
        assert t1_done.wait(10)
        for t in threads:
            t.join(10)
        assert not errors, errors
        assert keys(first) == ["T2"]
        second = read_events(engine, after=first[-1].position)
        assert keys(second) == ["T1"]
        assert_gap_free(first + second)
    finally:
        engine.dispose()


def test_a_batchs_events_are_numbered_as_it_commits_and_a_refused_jobs_are_not_there(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    """A group-commit batch's events get their positions in its own transaction (on PostgreSQL inserted
    numbered, under the sequencer's lock held to its COMMIT), in its jobs' order; a job that failed left none.
    An event a plain transaction committed earlier waits for a reader, who numbers it after them."""
    from puhui.db import group_commit
    from puhui.errors import InvalidInput
    from tests.db.test_group_commit import Gate

    emit(engine, "plain")  # committed, waiting for its position
    assert _positions(engine) == [("plain", None)]

    def job(key: str, refuse: bool = False) -> group_commit.Job:
        def work(uow: UnitOfWork) -> str:
            publish(uow, "test", "test.happened", key, {"key": key})
            publish(uow, "test", "test.happened", key + "'", {"key": key})
            if refuse:
                raise InvalidInput("no")
            return key

        return group_commit.Job(work)

    gate = Gate(engine)
    futures = [group_commit.submit(engine, job("a")), group_commit.submit(engine, job("b", True))]
    futures.append(group_commit.submit(engine, job("c")))
    gate.open()
    assert futures[0].result(timeout=30) == "a" and futures[2].result(timeout=30) == "c"
    with pytest.raises(InvalidInput):
        futures[1].result(timeout=30)
    numbered = [row for row in _positions(engine) if row[1] is not None]
    if engine.dialect.name == "postgresql":  # the batch numbered only its own events
        assert sorted(numbered, key=lambda row: row[1]) == [("a", 1), ("a'", 2), ("c", 3), ("c'", 4)]
    events = read_events(engine)  # a reader numbers what waits, after what is numbered
    if engine.dialect.name == "postgresql":
        assert keys(events) == ["a", "a'", "c", "c'", "plain"]
    else:  # SQLite's batch numbers every event waiting, in the order they were written
        assert keys(events) == ["plain", "a", "a'", "c", "c'"]
    assert_gap_free(events)


@pytest.mark.parametrize("consumers", [1, 2])
def test_concurrent_producers_and_consumers_see_everything_once(db_url: str, clock, consumers: int) -> None:  # type: ignore[no-untyped-def]
    """Producers commit events (some after holding their transaction open a while, some roll back)
    while consumers poll from their own offsets; every consumer ends with exactly the committed
    events, gap-free and in one common order."""
    engine = create_engine_from_url(db_url, pool_size=8)
    postgres = db_url.startswith("postgresql")
    committed: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[list[Event]] = [[] for _ in range(consumers)]

    def producer(p: int) -> None:
        rng = random.Random(p)
        try:
            for i in range(15):
                batch = [f"p{p}-{i}-{j}" for j in range(rng.randint(1, 3))]
                rollback = rng.random() < 0.2

                class Rollback(Exception):
                    pass

                try:
                    with unit_of_work(engine) as uow:
                        for key in batch:
                            publish(uow, "test", "test.happened", key, {})
                        if postgres:
                            time.sleep(rng.random() * 0.01)  # hold it open: others commit meanwhile
                        if rollback:
                            raise Rollback
                except Rollback:
                    continue
                with lock:
                    committed.update(batch)
        except BaseException as error:  # pragma: no cover
            errors.append(error)

    def consumer(c: int) -> None:
        offset = 0
        try:
            while True:
                done = stop.is_set()
                page = read_events(engine, after=offset, limit=50)
                seen[c].extend(page)
                if page:
                    offset = page[-1].position
                elif done:
                    return
                else:
                    time.sleep(0.002)
        except BaseException as error:  # pragma: no cover
            errors.append(error)

    try:
        producers = [threading.Thread(target=producer, args=(p,)) for p in range(4)]
        readers = [threading.Thread(target=consumer, args=(c,)) for c in range(consumers)]
        for t in producers + readers:
            t.start()
        for t in producers:
            t.join(120)
        stop.set()
        for t in readers:
            t.join(120)
        assert not errors, errors
        for events in seen:
            assert sorted(keys(events)) == sorted(committed)  # each committed event exactly once
            assert_gap_free(events)
        # all consumers agree on the order
        assert len({tuple(keys(events)) for events in seen}) == 1
        with reading(engine) as connection:
            unnumbered = connection.execute(text("SELECT count(*) FROM outbox WHERE position IS NULL")).scalar_one()
        assert unnumbered == 0
    finally:
        engine.dispose()
