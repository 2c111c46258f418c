"""Guesses (`puhui.db.prepared.read_ahead(guess=...)`, `take_guess`, `drop_guess`): writes sent ahead under
a savepoint of their own. Taken, they count once and cost no statement; asked for anything else, left
untaken or written past, they are undone as if never sent. On SQLite nothing is guessed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from puhui.db import transaction
from puhui.db.prepared import GuessNotTaken, drop_guess, read_ahead, run, take_guess
from tests.db.test_read_ahead import NOTE, OTHER, SET_NOTE, SET_OTHER, Statements, notes, other, tables  # noqa: F401


def _values(connection, table) -> dict[str, int]:
    return dict(connection.execute(select(table.c.id, table.c.n)).all())


def _postgres_only(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL sends a guess (SQLite has no round trips to save)")


def test_a_guess_taken_answers_its_writes_once_without_a_statement(tables):
    _postgres_only(tables)

    def work(uow):
        c = uow.connection
        guessed = [(OTHER, {"id": "b"}), (SET_NOTE, {"key": "a", "to": 5}), (SET_NOTE, {"key": "b", "to": 6})]
        read_ahead(c, [(NOTE, {"id": "a"}), (NOTE, {"id": "b"})], first="SAVEPOINT job", guess=guessed)
        with Statements(tables) as seen:
            before = run(c, NOTE, {"id": "a"}).scalar()  # read ahead of the guess: as it was before it
            taken = take_guess(c, [(SET_NOTE, {"key": "b", "to": 6}), (SET_NOTE, {"key": "a", "to": 5})])
            read_with_it = run(c, OTHER, {"id": "b"}).scalar()
            sent = len(seen)
            after = run(c, NOTE, {"id": "b"}).scalar()  # kept from before the guess, dropped once it is taken
        again = take_guess(c, [(SET_NOTE, {"key": "a", "to": 5})])  # taken once: nothing is left
        return before, [rows.rowcount for rows in taken], read_with_it, sent, after, again, _values(c, notes)

    assert transaction(tables, work) == (1, [1, 1], 1, 0, 6, None, {"a": 5, "b": 6})


def test_a_guess_does_not_keep_its_reads_of_a_table_it_writes(tables):
    _postgres_only(tables)

    def work(uow):
        c = uow.connection
        guessed = [(NOTE, {"id": "b"}), (OTHER, {"id": "a"}), (SET_NOTE, {"key": "b", "to": 2})]
        read_ahead(c, [], first="SAVEPOINT job", guess=guessed)
        take_guess(c, guessed[2:])
        with Statements(tables) as seen:
            values = run(c, OTHER, {"id": "a"}).scalar(), run(c, NOTE, {"id": "b"}).scalar()
        return values, len(seen)

    assert transaction(tables, work) == ((1, 2), 1)


def test_a_guess_other_than_what_is_asked_is_undone(tables):
    _postgres_only(tables)

    def work(uow):
        c = uow.connection
        read_ahead(c, [(OTHER, {"id": "a"})], first="SAVEPOINT job", guess=[(SET_NOTE, {"key": "a", "to": 5})])
        taken = take_guess(c, [(SET_NOTE, {"key": "a", "to": 7})])
        undone = _values(c, notes)
        run(c, SET_NOTE, {"key": "a", "to": 7})  # the caller's own write, now nothing is pending
        return taken, undone, run(c, NOTE, {"id": "a"}).scalar(), run(c, OTHER, {"id": "a"}).scalar()

    assert transaction(tables, work) == (None, {"a": 1, "b": 1}, 7, 1)


def test_a_guess_partly_asked_for_is_undone_whole(tables):
    _postgres_only(tables)

    def work(uow):
        c = uow.connection
        guessed = [(SET_NOTE, {"key": "a", "to": 5}), (SET_OTHER, {"key": "b", "to": 5})]
        read_ahead(c, [], first="SAVEPOINT job", guess=guessed)
        return take_guess(c, guessed[:1]), _values(c, notes), _values(c, other)

    assert transaction(tables, work) == (None, {"a": 1, "b": 1}, {"a": 1, "b": 1})


def test_a_guess_left_untaken_is_dropped_and_a_write_past_it_refused(tables):
    _postgres_only(tables)

    def work(uow):
        c = uow.connection
        read_ahead(c, [(NOTE, {"id": "b"})], first="SAVEPOINT job", guess=[(SET_NOTE, {"key": "b", "to": 9})])
        with pytest.raises(GuessNotTaken):  # it would count twice, or be undone with the guess
            run(c, SET_OTHER, {"key": "a", "to": 3})
        dropped = drop_guess(c), drop_guess(c)
        run(c, SET_OTHER, {"key": "a", "to": 3})
        return dropped, _values(c, notes), _values(c, other)

    assert transaction(tables, work) == ((True, False), {"a": 1, "b": 1}, {"a": 3, "b": 1})


def test_a_job_rolled_back_takes_its_guess_with_it(tables):
    _postgres_only(tables)
    from puhui.db.prepared import forget, rollback_to_savepoint

    def work(uow):
        c = uow.connection
        read_ahead(c, [], first="SAVEPOINT job", guess=[(SET_NOTE, {"key": "a", "to": 4})])
        forget(c)  # what a failed job does first: nothing kept, nothing pending
        rollback_to_savepoint(c, "job")
        return take_guess(c, [(SET_NOTE, {"key": "a", "to": 4})]), _values(c, notes)

    assert transaction(tables, work) == (None, {"a": 1, "b": 1})


def test_sqlite_sends_no_guess(tables):
    if tables.dialect.name != "sqlite":
        pytest.skip("PostgreSQL sends it")

    def work(uow):
        c = uow.connection
        read_ahead(c, [(NOTE, {"id": "a"})], first="SAVEPOINT job", guess=[(SET_NOTE, {"key": "a", "to": 5})])
        return take_guess(c, [(SET_NOTE, {"key": "a", "to": 5})]), drop_guess(c), _values(c, notes)

    assert transaction(tables, work) == (None, False, {"a": 1, "b": 1})


def test_where_only_deferred_writes_may_be_made_a_statement_is_refused(tables):
    _postgres_only(tables)
    from puhui.db.prepared import NotDeferred, deferring_only

    def work(uow):
        c = uow.connection
        with deferring_only(c):
            uow.deferred = []
            uow.write(SET_NOTE, {"key": "a", "to": 8})  # deferred: nothing is sent
            with pytest.raises(NotDeferred):
                run(c, NOTE, {"id": "a"})
        uow.flush()
        return run(c, NOTE, {"id": "a"}).scalar()

    assert transaction(tables, work) == 8
