"""Statements compiled once per dialect and run on the driver's own connection (预编译语句).

A SQLAlchemy Core statement costs 25-45 µs of Python a run even from its compiled cache (the cache
key, the execution context, the result's metadata); the driver itself takes 4-9 µs. A payment
runs about twenty statements in its group-commit batch, so the hot path's statements are declared
`Prepared`: the Core statement stays the one definition, compiled once per dialect (and, for an
insert, per set of columns given), and each run is one call of the driver with the values in the
order its SQL wants them.

It takes only what it can run exactly as SQLAlchemy would: the binds' and result columns' type
processors are applied, and a statement whose run needs more (Python-side column defaults,
expanding `IN` parameters) is refused when it is first compiled. Driver errors are raised as
SQLAlchemy's (`DBAPIError.instance`), so callers see the same exceptions either way.

Reads ahead (预读): on PostgreSQL a statement is a round trip, and a payment's reads of its session,
idempotency key, QR code, earlier payment and tier do not depend on one another. `read_ahead` sends
such reads in one pipeline and keeps their rows; the `run` of the same statement with the same values
then answers from them without a round trip. What is kept is dropped as soon as any statement writes a
table it read (or runs SQL it cannot attribute: a savepoint's release or rollback, a `WITH`), whichever
path that statement takes (this module, SQLAlchemy Core): on an engine made `watch`ed, every statement
passes `_forget` first. A kept row is therefore what the read would return now.

A guess (推测执行): a caller that can tell the writes it will most likely make next (from what it read
earlier: a QR code's immutable terms, the payer's wallet class) sends them after its reads, under a
savepoint of their own (`read_ahead(guess=...)`). Their results wait until the caller asks for exactly
those statements (`take_guess`); asked for anything else, or written past, or left untaken
(`drop_guess`), the guess is rolled back to its savepoint as if never sent.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Connection, Engine, String, any_, bindparam, cast, event, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql import util as sql_util
from sqlalchemy.sql.dml import Insert, UpdateBase

from puhui.db import pq_pipeline

Processor = Callable[[Any], Any]


class NotPreparable(TypeError):
    """A statement `Prepared` cannot run exactly as SQLAlchemy would (a programming error)."""


@dataclass(frozen=True)
class _Form:
    sql: str
    names: tuple[str, ...] | None  # positional drivers (SQLite): the bind names in the SQL's order
    defaults: Mapping[str, Any]  # the values the statement itself carries (literals, fixed binds)
    binds: tuple[tuple[str, Processor], ...]  # binds whose type converts the value first
    columns: tuple[str, ...]
    results: tuple[tuple[int, Processor], ...]  # result columns whose type converts the value

    def values(self, params: Mapping[str, Any]) -> Any:
        if not self.defaults and not self.binds:  # the usual case: the values as given
            return params if self.names is None else tuple(params[name] for name in self.names)
        merged = {**self.defaults, **params} if self.defaults else dict(params)
        for name, process in self.binds:
            if merged.get(name) is not None:
                merged[name] = process(merged[name])
        if self.names is None:
            return merged
        return tuple(merged[name] for name in self.names)


@dataclass(frozen=True)
class ByKeys:
    """How reads of rows by key are made for several jobs in one statement: `read_ahead_each` sends one
    `read` for the jobs of a batch that each make the read. A read's keys are `keys`, each the names of its
    values (by default one key, `columns`). `read` binds a list for each name of `columns`: the values of
    every key of every job, position by position. It returns each row's key first, then the columns of the
    read it stands for. A job's rows are those whose key is one of its own, in `read`'s order, so `read`
    may return rows no job wants (it may filter on each column alone). Only for tables whose statistics
    make `= ANY` an index scan: a table that starts empty gets a plan that scans it whole, and a prepared
    statement keeps that plan as the table grows (a payment's own row, looked up by its id, is not read so)."""

    read: Prepared
    columns: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...] = ()

    def keys_of(self, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return [tuple(params[name] for name in key) for key in self.keys or (self.columns,)]


def among(column: Any, name: str) -> ColumnElement[bool]:
    """`column` equal to one of the values bound as `name`, a PostgreSQL array's text (`array_literal`): a
    `ByKeys` read's filter, one statement whatever their number. A string column's array is unbounded
    (`VARCHAR[]`), so no value is cut to the column's length."""
    element = String() if isinstance(column.type, String) else column.type
    return column == any_(cast(bindparam(name, type_=String), ARRAY(element)))


def array_literal(values: Sequence[str | int]) -> str:
    """Strings or integers as a PostgreSQL array's text (`{"a","b"}`), each quoted: for `among`. psycopg's
    own list adapter inspects and dumps each element in Python, a cost a batch's reads by key paid many
    times over."""
    quoted = ('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return "{" + ",".join(quoted) + "}"


class Prepared:
    """A Core statement run on the driver (`run`); `by_keys` where several runs of it can be one statement."""

    __slots__ = ("statement", "_forms", "_insert", "tables", "by_keys")

    def __init__(self, statement: ClauseElement, by_keys: ByKeys | None = None) -> None:
        self.statement = statement
        self.by_keys = by_keys
        self._forms: dict[tuple[str, tuple[str, ...] | None], _Form] = {}
        self._insert = isinstance(statement, Insert)
        self.tables = frozenset(table.name for table in sql_util.find_tables(statement, include_crud=True))

    def form(self, dialect: Dialect, params: Mapping[str, Any]) -> _Form:
        key = (dialect.name, tuple(params) if self._insert else None)  # an insert: by the columns given
        found = self._forms.get(key)
        if found is None:
            found = self._forms[key] = _compile(self.statement, dialect, _columns_given(self.statement, params))
        return found


def _columns_given(statement: ClauseElement, params: Mapping[str, Any]) -> frozenset[str] | None:
    """For a bare `table.insert()`, the columns this run gives: its SQL names only those, as Core's would."""
    if isinstance(statement, Insert) and params and set(params) <= set(statement.table.c.keys()):
        return frozenset(params)
    return None


def _compile(statement: ClauseElement, dialect: Dialect, keys: frozenset[str] | None) -> _Form:
    compiled: Any = statement.compile(dialect=dialect, column_keys=sorted(keys) if keys is not None else None)
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        raise NotPreparable(f"{statement} has Python-side column defaults")
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    if any(bind.expanding for bind in binds.values()):
        raise NotPreparable(f"{statement} has an expanding IN parameter")
    defaults = {name: bind.effective_value for name, bind in binds.items() if not bind.required}
    processors = tuple(
        (name, process)
        for name, bind in binds.items()
        if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    columns: tuple[str, ...] = ()
    results: tuple[tuple[int, Processor], ...] = ()
    selected = statement.exported_columns if isinstance(statement, UpdateBase) else statement.selected_columns  # type: ignore[attr-defined]
    if selected:
        columns = tuple(str(column.key) for column in selected)
        results = tuple(
            (i, process)
            for i, column in enumerate(selected)
            if (process := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        )
    positions = tuple(compiled.positiontup) if compiled.positiontup else None
    return _Form(compiled.string, positions, defaults, processors, columns, results)


class Rows:
    """What a prepared statement returned: rows as tuples (`first`, `all`, `scalar`), as dicts
    (`mapping`, `mappings`), and for a write the number of rows it changed (`rowcount`)."""

    __slots__ = ("_rows", "_form", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], form: _Form, rowcount: int) -> None:
        self._rows, self._form, self.rowcount = rows, form, rowcount

    def all(self) -> list[tuple[Any, ...]]:
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def mapping(self) -> dict[str, Any] | None:
        return dict(zip(self._form.columns, self._rows[0], strict=True)) if self._rows else None

    def mappings(self) -> list[dict[str, Any]]:
        return [dict(zip(self._form.columns, row, strict=True)) for row in self._rows]


Read = tuple[Prepared, Mapping[str, Any]]  # a statement and its values, to be read ahead


def run(
    connection: Connection, prepared: Prepared, params: Mapping[str, Any] | None = None, *, ahead: Sequence[Read] = ()
) -> Rows:
    """`prepared` with `params` on the driver connection under `connection` (in its transaction): the
    rows kept for it by `read_ahead` when there are. On PostgreSQL `ahead` are reads sent in the same
    round trip, before it, and kept for later `run`s (a read of a table this statement writes is not kept)."""
    kept = connection.info.get(_KEPT)
    if kept:
        found = kept.pop(_key(prepared, params), None)
        if found is not None:
            return found[0]
    if ahead and _watched(connection):
        return _pipelined(connection, [*ahead, (prepared, params or {})], reads=len(ahead))[0]
    form = prepared.form(connection.dialect, params or {})
    values = form.values(params or {})
    driver = _ready(connection, form.sql, values)
    try:
        if connection.dialect.name == "postgresql":
            [(rows, count)] = _answers(driver, [(form.sql, values)])
        else:
            cursor = driver.execute(form.sql, values)
            rows, count = (cursor.fetchall() if form.columns else []), cursor.rowcount
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemys(connection, form.sql, values, error) from error
    if form.results and rows:
        rows = [_converted(row, form.results) for row in rows]
    return Rows(rows, form, count)


def run_many(connection: Connection, prepared: Prepared, params: Iterable[Mapping[str, Any]]) -> None:
    """`prepared` once per mapping of `params` (all with the same keys), as one driver `executemany`."""
    batch = list(params)
    if batch:
        form = prepared.form(connection.dialect, batch[0])
        run_sql(connection, form.sql, [form.values(p) for p in batch], many=True)


def run_sql(connection: Connection, sql: str, values: Any = (), *, many: bool = False) -> list[tuple[Any, ...]]:
    """Driver SQL already in the driver's own parameter style (`?` for SQLite): its rows, if any.
    With `many`, `values` is a sequence of parameter tuples, run as one `executemany` (on PostgreSQL one
    pipeline)."""
    driver = _ready(connection, sql, values, many)
    try:
        if connection.dialect.name == "postgresql":
            if many:  # the statement once a set of values, in one pipeline sent in one write
                _answers(driver, [(sql, each) for each in values])
                return []
            return _answers(driver, [(sql, values)])[0][0]
        if many:
            driver.cursor().executemany(sql, values)
            return []
        cursor = driver.execute(sql, values)
        return cursor.fetchall() if cursor.description else []
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemys(connection, sql, values, error) from error


def run_sql_all(connection: Connection, statements: Sequence[tuple[str, Any]]) -> list[tuple[list[Any], int]]:
    """Driver SQL statements in order, each one's rows and rowcount: on PostgreSQL in one round trip, so
    for statements that do not need each other's results. The first failure is raised, as SQLAlchemy's."""
    if not statements:
        return []
    driver = _ready(connection, *statements[0])
    for sql, values in statements[1:]:
        _announce(connection, sql, values, False)
    try:
        if connection.dialect.name == "postgresql":
            return _answers(driver, [(sql, values or None) for sql, values in statements])
        answers = []
        for sql, values in statements:
            cursor = driver.execute(sql, values)
            answers.append((cursor.fetchall() if cursor.description else [], cursor.rowcount))
        return answers
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemys(connection, statements[-1][0], statements[-1][1], error) from error


def rollback_to_savepoint(connection: Connection, name: str) -> None:
    """ROLLBACK TO SAVEPOINT `name`, keeping the connection's prepared statements.

    psycopg forgets every statement a connection has prepared at any command whose status is ROLLBACK
    (and sends DEALLOCATE ALL): rolled-back DDL could leave one naming what is gone. Puhui's savepoints
    undo data, never DDL, so on PostgreSQL it is sent below psycopg's cache (libpq's own `exec`) when no
    statement failed: a payment refused by a rule (funds, limits, the code's state) no longer makes its
    batch's neighbours parse and plan their statements again."""
    sql = f"ROLLBACK TO SAVEPOINT {name}"
    if connection.dialect.name != "postgresql":
        run_sql(connection, sql)
        return
    driver = _ready(connection, sql, ())
    if not pq_pipeline.in_transaction(driver):
        # A statement failed (or none began the transaction): psycopg's way, which forgets. A pipeline that
        # failed skipped the PREPAREs queued after its error, which psycopg already counts as made.
        run_sql(connection, sql)
        return
    try:
        pq_pipeline.command(driver, sql)
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemys(connection, sql, (), error) from error


def run_writes(connection: Connection, writes: Sequence[tuple[Prepared | str, Any]], last: str | None = None) -> None:
    """`writes` (whose results nobody reads: a prepared statement and its values, or driver SQL and its
    values) and then the driver SQL `last`, in order. On PostgreSQL they go in one pipeline: one round
    trip instead of one each. The first failure is raised, as SQLAlchemy's."""
    run_sql_all(connection, write_statements(connection, writes, last))


def write_statements(
    connection: Connection, writes: Sequence[tuple[Prepared | str, Any]], last: str | None = None
) -> list[tuple[str, Any]]:
    """`run_writes`'s statements as driver SQL and values, to be sent in some later pipeline (on
    PostgreSQL consecutive plain inserts joined)."""
    statements: list[tuple[str, Any]] = []
    for prepared, params in writes:
        if isinstance(prepared, str):
            statements.append((prepared, params))
            continue
        form = prepared.form(connection.dialect, params)
        statements.append((form.sql, form.values(params)))
    if last is not None:
        statements.append((last, ()))
    return _inserts_joined(statements) if connection.dialect.name == "postgresql" else statements


def failed_at(error: BaseException) -> int | None:
    """The position, in its pipeline, of the statement whose failure `error` is, when the pipeline went
    in one write (`puhui.db.pq_pipeline`); None when not known."""
    return getattr(getattr(error, "orig", error), "pipeline_index", None)


def in_one_write(connection: Connection) -> bool:
    """Whether a PostgreSQL pipeline on this connection goes in one write now, with each failure's position."""
    return connection.dialect.name == "postgresql" and pq_pipeline.supported(connection.connection.driver_connection)


def _inserts_joined(statements: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Each run of consecutive plain INSERTs into different tables made one statement, the others' inserts
    as data-modifying `WITH` parts (PostgreSQL runs each exactly once, all or none): a statement costs
    the driver and the server far more than a row, and a payment writes five rows to five tables. An
    upsert (its conflict must see the rows before it) and a second insert into the same table (whose
    order among the parts would not be kept) start a new statement. A data-modifying statement that names
    none of the run's tables goes before the run, which goes on past it (a payment's fraud decision joins
    its other rows past the ledger's statement)."""
    joined: list[tuple[str, Any]] = []
    run: list[tuple[str, str, Any]] = []
    for sql, values in [*statements, ("", None)]:
        table = _plain_insert(sql) if isinstance(values, Mapping) else None
        if table is None and run and sql and _passes(sql, run):
            joined.append((sql, values))
            continue
        if table is None or any(table == seen for seen, _, _ in run):
            if len(run) > 1:
                joined.append(_joined(run))
            elif run:
                joined.append(run[0][1:])
            run = []
        if table is not None:
            run.append((table, sql, values))
        elif sql:
            joined.append((sql, values))
    return joined


_INSERT = re.compile(r"\s*INSERT\s+INTO\s+(\w+)\s", re.IGNORECASE)
_PLAIN: dict[str, str | None] = {}  # SQL -> the table of a plain INSERT, or None


def _plain_insert(sql: str) -> str | None:
    if sql not in _PLAIN:
        match = _INSERT.match(sql)
        _PLAIN[sql] = match.group(1) if match and "ON CONFLICT" not in sql.upper() and ";" not in sql else None
    return _PLAIN[sql]


_DML = re.compile(r"\s*(?:WITH|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_NAMED = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|FROM|JOIN|USING)\s+\"?(\w+)", re.IGNORECASE)
_NAMES: dict[str, frozenset[str] | None] = {}  # SQL -> every table it names, or None: not one to pass


def _passes(sql: str, run: list[tuple[str, str, Any]]) -> bool:
    """Whether plain inserts into the run's tables may go after `sql`: a single data-modifying statement
    that names none of them (what it names is a superset of what it reads and writes; no table of Puhui's
    has a trigger or a rule)."""
    if sql in _NAMES:
        names = _NAMES[sql]
    else:
        names = frozenset(_NAMED.findall(sql)) if _DML.match(sql) and ";" not in sql else None
        if len(_NAMES) < 4096:
            _NAMES[sql] = names
    return names is not None and not any(table in names for table, _, _ in run)


_JOINED: dict[tuple[str, ...], str] = {}
_PARAM = re.compile(r"%\((\w+)\)s")


def _joined(run: list[tuple[str, str, Any]]) -> tuple[str, dict[str, Any]]:
    sqls = tuple(sql for _, sql, _ in run)
    sql = _JOINED.get(sqls)
    if sql is None:
        parts = [_PARAM.sub(lambda m, i=i: f"%(w{i}_{m.group(1)})s", one) for i, one in enumerate(sqls)]
        sql = "WITH " + ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts[:-1])) + " " + parts[-1]
        if len(_JOINED) < 1024:
            _JOINED[sqls] = sql
    values = {f"w{i}_{name}": value for i, (_, _, one) in enumerate(run) for name, value in one.items()}
    return sql, values


def run_all(connection: Connection, statements: Sequence[Read], *, ahead: Sequence[Read] = ()) -> list[Rows]:
    """Each of `statements` in order, its rows in the same order; on PostgreSQL in one round trip, with
    `ahead` read first and kept (as `run`'s). For statements that do not need each other's results (whose
    errors would end the caller anyway). When `read_ahead` kept the rows of every one of them, those."""
    kept = connection.info.get(_KEPT)
    if kept and not ahead and all(_key(prepared, params) in kept for prepared, params in statements):
        return [kept.pop(_key(prepared, params))[0] for prepared, params in statements]
    if ahead and _watched(connection):
        return _pipelined(connection, [*ahead, *statements], reads=len(ahead))
    if len(statements) > 1 and connection.dialect.name == "postgresql":
        return _pipelined(connection, list(statements), reads=0)
    return [run(connection, prepared, params) for prepared, params in statements]


First = str | Sequence[tuple[str, Any]] | None  # driver SQL run before the reads, whose results nobody reads


def read_ahead(connection: Connection, reads: Sequence[Read], first: First = None, guess: Sequence[Read] = ()) -> None:
    """`first` (driver SQL whose results nobody reads, e.g. a SAVEPOINT, or such statements with their
    values), then `reads`, whose rows are kept for the `run`s that follow, then `guess` under its own
    savepoint (its reads kept as `reads`' are, its writes' results for `take_guess`). On a PostgreSQL engine
    that is `watch`ed, all in one round trip; elsewhere only `first` runs (an SQLite read costs no round
    trip, so it is left to its `run`, and a guess is not sent)."""
    if not (reads or guess) or not _watched(connection):
        forget(connection)
        run_sql_all(connection, _statements(first))
        return
    _pipelined(connection, list(reads), reads=len(reads), first=first, guess=guess)


class NotDeferred(RuntimeError):
    """A statement ran where only deferred writes may be made (`deferring_only`): a programming error, the
    statement would go before writes queued ahead of it."""


@contextmanager
def deferring_only(connection: Connection) -> Iterator[None]:
    """While open, any statement sent on `connection` raises NotDeferred (PostgreSQL engines that are
    `watch`ed): for work whose writes must all go after others not sent yet."""
    connection.info[_DEFER_ONLY] = True
    try:
        yield
    finally:
        connection.info.pop(_DEFER_ONLY, None)


class GuessNotTaken(RuntimeError):
    """A statement wrote while a guess was neither taken nor dropped (a programming error: the guess's
    writes would count twice, or be undone with it)."""


def take_guess(connection: Connection, statements: Sequence[Read]) -> list[Rows] | None:
    """What the guess's writes returned, when they are exactly `statements` (in any order): the guess is
    then the caller's own, and reads kept from before it of the tables it wrote are dropped. Otherwise
    None, with any guess rolled back (`drop_guess`), for the caller to run `statements` itself."""
    pending = connection.info.get(_GUESS)
    if not pending:
        return None
    keys = [_key(prepared, params) for prepared, params in statements]
    if len(keys) != len(pending) or any(key not in pending for key in keys):
        drop_guess(connection)
        return None
    del connection.info[_GUESS]
    wrote(connection, *(table for prepared, _ in statements for table in prepared.tables))
    return [pending[key] for key in keys]


def drop_guess(connection: Connection) -> bool:
    """Roll back a guess not taken (its writes and its savepoint's), and forget every kept row (some were
    read after it): True when there was one."""
    if not connection.info.pop(_GUESS, None):
        return False
    if connection.info.get(_SIDE):
        raise LeftSideBySide("a guess of a job run side by side was not taken")
    forget(connection)
    rollback_to_savepoint(connection, _GUESS_SAVEPOINT)
    return True


class LeftSideBySide(RuntimeError):
    """A job run side by side did what only a job run alone may: it sent a statement of its own, or left
    its guess untaken (whose undoing would undo its neighbours'). Its batch runs its jobs one by one."""


@dataclass
class Ahead:
    """What `read_ahead_each` read and guessed for one job: its rows kept, its guess's writes' rows."""

    kept: dict[Any, Any]
    guessed: dict[Any, Rows]


def read_ahead_each(
    connection: Connection, each: Sequence[tuple[Sequence[Read], Sequence[Read]]], first: First = None
) -> list[Ahead]:
    """`first`, then each job's reads and guess, in one PostgreSQL round trip, for jobs that read and write
    rows none of the others does (run side by side, `puhui.db.group_commit`). A guess has no savepoint of its
    own here: one not taken is refused (`side_by_side`). A read several jobs make alike (the fee income's
    account) is sent once, when no statement of the pipeline writes its tables: each gets its rows.
    `first` has run whenever this returns or raises."""
    wanted = [read for reads, guess in each for read in (*reads, *guess)]
    keys = [_key(*read) for read in wanted]  # once each: they are the kept rows' keys too
    written = _written(wanted)
    sent: dict[Any, int] = {}  # a shareable read's key -> its position among the statements sent
    statements, positions = [], []
    for read, key in zip(wanted, keys, strict=True):
        shareable = _reads_only(read[0]) and not read[0].tables & written
        if shareable and key in sent:
            positions.append(sent[key])
            continue
        if shareable:
            sent[key] = len(statements)
        positions.append(len(statements))
        statements.append(read)
    try:
        sending, answered = _by_keys(connection, statements, written)
    except BaseException:
        run_sql_all(connection, _statements(first))
        raise
    sent_results = answered(_pipelined(connection, sending, reads=0, first=first))
    results = [sent_results[at] for at in positions]
    forget(connection)
    found, at = [], 0
    for reads, guess in each:
        kept: dict[Any, Any] = {}
        _kept_in(kept, reads, results[at : at + len(reads)], set(), keys[at : at + len(reads)])
        at += len(reads)
        guessed = _guessed_in(kept, guess, results[at : at + len(guess)], keys[at : at + len(guess)])
        at += len(guess)
        found.append(Ahead(kept, guessed))
    return found


def _by_keys(
    connection: Connection, statements: list[Read], written: set[str]
) -> tuple[list[Read], Callable[[list[Rows]], list[Rows]]]:
    """What to send for `statements`: reads made by key (`ByKeys`) through the same read two or more times, of
    tables the pipeline does not write, sent once for all their keys; and how each statement's rows are told from
    the results of what was sent."""
    made: dict[tuple[Prepared, tuple[str, ...]], tuple[ByKeys, list[int]]] = {}
    for i, (prepared, _) in enumerate(statements):  # by the read sent for them: one for a lock of 2 ids or of 3
        if (by_keys := prepared.by_keys) is not None and not prepared.tables & written:
            made.setdefault((by_keys.read, by_keys.columns), (by_keys, []))[1].append(i)
    merged = [(by_keys, at) for by_keys, at in made.values() if len(at) > 1]
    if not merged:
        return statements, lambda results: results
    merging = {i for _, at in merged for i in at}
    alone = [i for i in range(len(statements)) if i not in merging]
    sending = [statements[i] for i in alone]
    keys = [[_own_keys(statements[i]) for i in at] for _, at in merged]  # each by its own `ByKeys.keys`
    for (by_keys, _), theirs in zip(merged, keys, strict=True):
        every = [key for own in theirs for key in own]
        sending.append(
            (by_keys.read, {name: array_literal([k[j] for k in every]) for j, name in enumerate(by_keys.columns)})
        )

    def answered(results: list[Rows]) -> list[Rows]:
        found: dict[int, Rows] = dict(zip(alone, results, strict=False))
        for (by_keys, at), theirs, rows in zip(merged, keys, results[len(alone) :], strict=True):
            width = len(by_keys.columns)
            for i, own in zip(at, theirs, strict=True):
                mine = [row[width:] for row in rows.all() if tuple(row[:width]) in own]
                prepared, params = statements[i]
                found[i] = Rows(mine, prepared.form(connection.dialect, params), len(mine))
        return [found[i] for i in range(len(statements))]

    return sending, answered


def _own_keys(read: Read) -> list[tuple[Any, ...]]:
    prepared, params = read
    assert prepared.by_keys is not None
    return prepared.by_keys.keys_of(params)


@contextmanager
def side_by_side(connection: Connection, ahead: Ahead) -> Iterator[None]:
    """While open, `run` answers from `ahead`'s rows and `take_guess` from its guess; any statement that
    would be sent, a guess not taken by the end, or a guess dropped raises LeftSideBySide."""
    info = connection.info
    info[_KEPT], info[_SIDE] = ahead.kept, True
    if ahead.guessed:
        info[_GUESS] = ahead.guessed
    try:
        yield
        if info.get(_GUESS):
            raise LeftSideBySide("a guess of a job run side by side was not taken")
    finally:
        for key in (_SIDE, _KEPT, _GUESS):
            info.pop(key, None)


def alone(connection: Connection) -> None:
    """For statements sent below this module (the driver's own cursor): refused in a job run side by side."""
    if connection.info.get(_SIDE):
        raise LeftSideBySide("a job run side by side reached for the driver")


def _statements(first: First) -> list[tuple[str, Any]]:
    if first is None:
        return []
    return [(first, ())] if isinstance(first, str) else list(first)


def forget(connection: Connection) -> None:
    """Drop every row kept by `read_ahead` on this connection, and any guess's (its writes are undone with
    the savepoint or transaction they were made in)."""
    connection.info.pop(_KEPT, None)
    connection.info.pop(_GUESS, None)


def wrote(connection: Connection, *tables: str) -> None:
    """Drop the kept rows of these tables: for a write sent on the driver's own cursor, which the engine's
    listeners do not see."""
    kept = connection.info.get(_KEPT)
    if kept:
        for key in [key for key, (_, read) in kept.items() if read & set(tables)]:
            del kept[key]


_KEPT = "puhui.read_ahead"  # in `Connection.info`: {(prepared, values): (rows, tables read)}
_GUESS = "puhui.guess"  # in `Connection.info`: {(prepared, values): rows} of a guess's writes not yet taken
_GUESS_SAVEPOINT = "puhui_guess"
_DEFER_ONLY = "puhui.defer_only"
_SIDE = "puhui.side_by_side"


def _key(prepared: Prepared, params: Mapping[str, Any] | None) -> tuple[Any, ...]:
    return (prepared, *sorted(params.items())) if params else (prepared,)


def _pipelined(
    connection: Connection, statements: list[Read], reads: int, first: First = None, guess: Sequence[Read] = ()
) -> list[Rows]:
    """`first`, then `statements`, then `guess` under its savepoint, in one PostgreSQL pipeline; the first
    `reads` of `statements` are kept (as `read_ahead` keeps them), the rest's rows returned, and the guess
    kept as `read_ahead` says. `first` has run whenever this returns or raises: a statement whose values
    cannot even be sent raises after `first` ran alone."""
    try:
        forms = [(prepared.form(connection.dialect, params), params) for prepared, params in [*statements, *guess]]
        built = [(form.sql, form.values(params)) for form, params in forms]
    except BaseException:
        run_sql_all(connection, _statements(first))
        raise
    at_guess = len(statements)
    if guess:
        built.insert(at_guess, (f"SAVEPOINT {_GUESS_SAVEPOINT}", ()))
    sqls = _statements(first) + built
    driver = _ready(connection, *sqls[0])
    for sql, values in sqls[1:]:
        _announce(connection, sql, values, False)
    try:
        answers = _answers(driver, [(sql, values or None) for sql, values in sqls])[len(sqls) - len(built) :]
        if guess:
            del answers[at_guess]
        results = []
        for (rows, count), (form, _) in zip(answers, forms, strict=True):
            if form.results and rows:
                rows = [_converted(row, form.results) for row in rows]
            results.append(Rows(rows, form, count))
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemys(connection, sqls[-1][0], sqls[-1][1], error) from error
    _keep(connection, statements[:reads], results[:reads], _written(statements[reads:]))
    if guess:
        _keep_guess(connection, guess, results[at_guess:])
    return results[reads:at_guess]


def _written(statements: Sequence[Read]) -> set[str]:
    return set().union(*(prepared.tables for prepared, _ in statements if not _reads_only(prepared)))


def _keep(connection: Connection, reads: Sequence[Read], results: Sequence[Rows], written: set[str]) -> None:
    _kept_in(connection.info.setdefault(_KEPT, {}), reads, results, written)


def _kept_in(
    kept: dict[Any, Any],
    reads: Sequence[Read],
    results: Sequence[Rows],
    written: set[str],
    keys: Sequence[tuple[Any, ...]] | None = None,
) -> None:
    """`reads`' rows kept in `kept` (but those of a table in `written`), under `keys` when the caller has them."""
    for i, ((prepared, params), read) in enumerate(zip(reads, results, strict=True)):
        if not prepared.tables & written:
            kept[keys[i] if keys is not None else _key(prepared, params)] = (read, prepared.tables)


def _keep_guess(connection: Connection, guess: Sequence[Read], results: Sequence[Rows]) -> None:
    """The guess's reads kept (but those of a table it writes), its writes' rows held for `take_guess`.
    Rows kept from before it stay: the caller reads them before it takes the guess, in the order it
    guessed in (`take_guess` then drops those of the tables the guess wrote)."""
    writes = _guessed_in(connection.info.setdefault(_KEPT, {}), guess, results)
    if writes:
        connection.info[_GUESS] = writes


def _guessed_in(
    kept: dict[Any, Any], guess: Sequence[Read], results: Sequence[Rows], keys: Sequence[tuple[Any, ...]] | None = None
) -> dict[Any, Rows]:
    """The guess's reads kept in `kept` (but those of a table it writes); its writes' rows, by key."""
    found = keys if keys is not None else [_key(*read) for read in guess]
    reads: list[tuple[Read, Rows, tuple[Any, ...]]] = []
    writes: dict[tuple[Any, ...], Rows] = {}
    for read, rows, key in zip(guess, results, found, strict=True):
        if _reads_only(read[0]):
            reads.append((read, rows, key))
        else:
            writes[key] = rows
    _kept_in(kept, [r[0] for r in reads], [r[1] for r in reads], _written(guess), [r[2] for r in reads])
    return writes


def _answers(driver: Any, statements: list[tuple[str, Any]]) -> list[tuple[list[Any], int]]:
    """Each statement's rows and rowcount, all in one PostgreSQL round trip (a transaction's BEGIN with
    them): below psycopg's cursors when it may, else psycopg's own way."""
    if pq_pipeline.supported(driver):
        return pq_pipeline.run(driver, statements)
    if pq_pipeline.idle(driver):  # autocommit
        with driver.pipeline():
            cursors = [driver.execute(sql, values) for sql, values in statements]
    else:  # after a failure: one at a time, so that a ROLLBACK's forgetting is done before what follows
        cursors = [driver.execute(sql, values) for sql, values in statements]
    return [(cursor.fetchall() if cursor.description else [], cursor.rowcount) for cursor in cursors]


def _reads_only(prepared: Prepared) -> bool:
    return not isinstance(prepared.statement, UpdateBase)


_WRITE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_WRITES: dict[str, str | None] = {}  # SQL -> the one table it writes ("" none, None: cannot tell)


def _writes(sql: str) -> str | None:
    found = _WRITES.get(sql, False)
    if found is False:
        match = _WRITE.match(sql)
        found = match.group(1) if match else "" if _READ.match(sql) else None
        if len(_WRITES) < 4096:
            _WRITES[sql] = found
    return found  # type: ignore[return-value]


def watch(engine: Engine) -> None:
    """Let `read_ahead` keep rows on `engine`'s connections: from now on each statement drops the kept
    rows it makes stale. Called where the engine is made, before any connection (a connection made
    earlier would not pass its SQLAlchemy statements by the listener)."""
    event.listen(engine, "before_cursor_execute", _forget)
    for ended in ("commit", "rollback"):  # nothing kept outlives its transaction
        event.listen(engine, ended, forget)
    event.listen(engine.pool, "reset", lambda _driver, record, _state: record.info.pop(_KEPT, None))


def _watched(connection: Connection) -> bool:
    engine = connection.engine
    found = _WATCHED.get(engine)
    if found is None:
        found = _WATCHED[engine] = event.contains(engine, "before_cursor_execute", _forget)
    return found and connection.dialect.name == "postgresql"


_WATCHED: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _forget(connection: Connection, cursor: Any, sql: str, parameters: Any, context: Any, many: bool) -> None:
    """Every statement on a `watch`ed engine: the kept rows a write makes stale are dropped."""
    info = connection.info
    if info.get(_SIDE):
        raise LeftSideBySide(f"a job run side by side sent a statement of its own: {sql[:80]}")
    if info.get(_GUESS) and _writes(sql) != "":
        raise GuessNotTaken(f"a guess was neither taken nor dropped before: {sql[:80]}")
    if info.get(_DEFER_ONLY):
        raise NotDeferred(f"only deferred writes may be made here, not: {sql[:80]}")
    kept = connection.info.get(_KEPT)
    if not kept:
        return
    table = _writes(sql)
    if table == "":
        return
    if table is None:
        kept.clear()
        return
    for key in [key for key, (_, tables) in kept.items() if table in tables]:
        del kept[key]


def _ready(connection: Connection, sql: str, values: Any, many: bool = False) -> Any:
    """The driver connection under `connection`, its transaction begun (as SQLAlchemy's autobegin would:
    a reader's BEGIN), once the engine's `before_cursor_execute` listeners (statement counters,
    profilers) have been told what runs."""
    if not connection.in_transaction():
        connection.begin()
    _announce(connection, sql, values, many)
    return connection.connection.driver_connection


def _announce(connection: Connection, sql: str, values: Any, many: bool) -> None:
    listeners = connection.dispatch.before_cursor_execute
    if listeners:
        listeners(connection, None, sql, values, None, many)


def _as_sqlalchemys(connection: Connection, sql: str, values: Any, error: Exception) -> exc.StatementError:
    dialect = connection.dialect
    return exc.DBAPIError.instance(sql, values, error, dialect.loaded_dbapi.Error, dialect=dialect)


def _converted(row: tuple[Any, ...], results: tuple[tuple[int, Processor], ...]) -> tuple[Any, ...]:
    values = list(row)
    for i, process in results:
        values[i] = process(values[i])
    return tuple(values)
