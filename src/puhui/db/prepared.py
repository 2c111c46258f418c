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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.dml import Insert, UpdateBase

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


class Prepared:
    """A Core statement run on the driver (`run`)."""

    __slots__ = ("statement", "_forms", "_insert")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._forms: dict[tuple[str, tuple[str, ...] | None], _Form] = {}
        self._insert = isinstance(statement, Insert)

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


def run(connection: Connection, prepared: Prepared, params: Mapping[str, Any] | None = None) -> Rows:
    """`prepared` with `params` on the driver connection under `connection` (in its transaction)."""
    form = prepared.form(connection.dialect, params or {})
    values = form.values(params or {})
    driver = _ready(connection, form.sql, values)
    try:
        cursor = driver.execute(form.sql, values)
        rows = cursor.fetchall() if form.columns else []
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemys(connection, form.sql, values, error) from error
    if form.results and rows:
        rows = [_converted(row, form.results) for row in rows]
    return Rows(rows, form, cursor.rowcount)


def run_many(connection: Connection, prepared: Prepared, params: Iterable[Mapping[str, Any]]) -> None:
    """`prepared` once per mapping of `params` (all with the same keys), as one driver `executemany`."""
    batch = list(params)
    if batch:
        form = prepared.form(connection.dialect, batch[0])
        run_sql(connection, form.sql, [form.values(p) for p in batch], many=True)


def run_sql(connection: Connection, sql: str, values: Any = (), *, many: bool = False) -> list[tuple[Any, ...]]:
    """Driver SQL already in the driver's own parameter style (`?` for SQLite): its rows, if any.
    With `many`, `values` is a sequence of parameter tuples for one `executemany`."""
    driver = _ready(connection, sql, values, many)
    try:
        if many:
            driver.cursor().executemany(sql, values)
            return []
        cursor = driver.execute(sql, values)
        return cursor.fetchall() if cursor.description else []
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemys(connection, sql, values, error) from error


def run_writes(connection: Connection, writes: list[tuple[Prepared, Mapping[str, Any]]], last: str) -> None:
    """`writes` (whose results nobody reads) and then the driver SQL `last`, in order. On PostgreSQL they
    go in one pipeline: one round trip instead of one each. The first failure is raised, as SQLAlchemy's."""
    statements = []
    for prepared, params in writes:
        form = prepared.form(connection.dialect, params)
        statements.append((form.sql, form.values(params)))
    statements.append((last, ()))
    driver = _ready(connection, *statements[0])
    for sql, values in statements[1:]:
        _announce(connection, sql, values, False)
    try:
        if connection.dialect.name != "postgresql":
            for sql, values in statements:
                driver.execute(sql, values)
            return
        with driver.pipeline():
            for sql, values in statements:
                driver.execute(sql, values or None)
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemys(connection, last, (), error) from error


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
