"""A PostgreSQL pipeline sent in one write, below psycopg's cursors (libpq's pipeline mode, 管道).

psycopg's `Connection.pipeline()` sends each statement as it is executed: a `poll` and a `sendto` a
statement, and a cursor with its generators around each, about 36 µs of the client's CPU a statement
where libpq itself needs about 9. The server is also woken once a statement instead of once a pipeline.
A payment's job runs about seventeen statements in three pipelines, so `run` sends a pipeline's
statements at once and reads their results after one sync.

Everything psycopg keeps about the connection stays psycopg's: statements are converted by its
`PostgresQuery` with the connection's adapters, prepared under its own names and counts (its
`PrepareManager`, so its `DEALLOCATE ALL` forgets them too), and results are loaded by its `Transformer`.
Errors are psycopg's (`error_from_result`, with their SQLSTATE). A transaction not yet begun is begun
with psycopg's own BEGIN, sent with the statements (psycopg's pipeline waits for its answer first). After
a failed statement `supported` says no and the caller goes psycopg's way.
"""

from __future__ import annotations

import select
from collections.abc import Sequence
from typing import Any

from psycopg import errors, pq
from psycopg.adapt import Transformer

try:  # psycopg's own query conversion and prepared-statement bookkeeping (3.1 and later)
    from psycopg._preparing import Prepare
    from psycopg._queries import PostgresQuery
except ImportError:  # pragma: no cover - another psycopg: its own pipeline serves
    PostgresQuery = None  # type: ignore[assignment,misc]

Statement = tuple[str, Any]  # psycopg-style SQL and its values (None: no placeholders in it)
Answer = tuple[list[tuple[Any, ...]], int]  # a statement's rows (none unless it returns rows) and rowcount

_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY)


def supported(driver: Any) -> bool:
    """Whether `run` may take this psycopg connection now: not in autocommit, not already in a pipeline,
    and in a transaction in which nothing failed, or in none yet (then `run` sends psycopg's BEGIN first)."""
    status = driver.pgconn.transaction_status
    return (
        PostgresQuery is not None
        and driver._pipeline is None
        and not driver.autocommit
        and (status == pq.TransactionStatus.INTRANS or status == pq.TransactionStatus.IDLE)
        and hasattr(driver, "_prepared")
        and hasattr(driver, "_get_tx_start_command")
    )


def idle(driver: Any) -> bool:
    """No transaction open on this connection (in autocommit none ever is)."""
    return bool(driver.pgconn.transaction_status == pq.TransactionStatus.IDLE)


def in_transaction(driver: Any) -> bool:
    """A transaction is open on this connection and no statement in it failed."""
    return bool(driver.pgconn.transaction_status == pq.TransactionStatus.INTRANS)


def command(driver: Any, sql: str) -> None:
    """One command through libpq's own `exec`, below psycopg's prepared-statement cache (which forgets
    everything at any command whose status is ROLLBACK). Raises psycopg's error if it fails."""
    with driver.lock:
        result = driver.pgconn.exec_(sql.encode())
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise errors.error_from_result(result, encoding=driver.info.encoding)


def run(driver: Any, statements: Sequence[Statement]) -> list[Answer]:
    """`statements` in order in one pipeline: each one's rows and rowcount. The first failure is raised
    once every result is read (the statements after it are skipped by the server, as in any pipeline); a
    value that cannot be adapted is raised after the statements before it ran."""
    transformer = Transformer(driver)
    queries: list[Any] = []
    unadaptable: Exception | None = None
    for sql, values in statements:
        query = PostgresQuery(transformer)
        try:
            query.convert(sql, values)
        except errors.Error as error:
            error.pipeline_index = len(queries)  # type: ignore[attr-defined]
            unadaptable = error
            break
        queries.append(query)
    with driver.lock:
        # psycopg's queued deallocations first: a DEALLOCATE ALL sent after this pipeline would drop what
        # it prepares; then those this one's cache rotation queued
        driver.wait(driver._prepared.maintain_gen(driver))
        answers = _exchange(driver, transformer, queries) if queries else []
        driver.wait(driver._prepared.maintain_gen(driver))
    if unadaptable is not None:
        raise unadaptable
    return answers


def _exchange(driver: Any, transformer: Any, queries: list[Any]) -> list[Answer]:
    pgconn, prepared = driver.pgconn, driver._prepared
    # psycopg's own BEGIN (isolation level, read-only) when none was sent: with the statements, where
    # psycopg's pipeline would wait for its answer first
    begin = driver._get_tx_start_command() if pgconn.transaction_status == pq.TransactionStatus.IDLE else None
    pgconn.enter_pipeline_mode()
    try:
        if begin is not None:
            pgconn.send_query_params(begin, None)
        made = [_send(pgconn, prepared, query) for query in queries]
        _sync(pgconn)
        _flush(pgconn)
        results = _read(pgconn, (begin is not None) + sum(2 if prep is Prepare.SHOULD else 1 for _, prep, _ in made))
    except BaseException:
        _leave(pgconn)
        raise
    pgconn.exit_pipeline_mode()
    failure: Exception | None = None
    answers: list[Answer] = []
    position = 0
    if begin is not None:
        failure = _error(driver, results[0])
        position = 1
    for index, (key, prep, name) in enumerate(made):
        if prep is Prepare.SHOULD:  # the PREPARE's own result comes first
            failure = failure or _error(driver, results[position], index)
            position += 1
        result = results[position]
        position += 1
        if key is not None:
            prepared.validate(key, prep, name, [result])
        failure = failure or _error(driver, result, index)
        if result.status not in _OK:
            continue
        rows: list[tuple[Any, ...]] = []
        if result.status == pq.ExecStatus.TUPLES_OK and result.ntuples:
            transformer.set_pgresult(result)
            rows = transformer.load_rows(0, result.ntuples, tuple)
        count = result.command_tuples
        answers.append((rows, count if count is not None else -1))
    if failure is not None:
        raise failure
    return answers


def _send(pgconn: Any, prepared: Any, query: Any) -> tuple[Any, Any, bytes]:
    """Queue one statement as psycopg's cursor would (prepared once it has run often enough)."""
    prep, name = prepared.get(query, None)
    if prep is Prepare.NO:
        pgconn.send_query_params(query.query, query.params, param_formats=query.formats, param_types=query.types)
    else:
        if prep is Prepare.SHOULD:
            pgconn.send_prepare(name, query.query, param_types=query.types)
        pgconn.send_query_prepared(name, query.params, param_formats=query.formats)
    return prepared.maybe_add_to_cache(query, prep, name), prep, name


def _leave(pgconn: Any) -> None:
    """Out of pipeline mode after an error on our side: what was queued is synced and its results read
    (a broken connection is left as it is: its own error goes up)."""
    try:
        _sync(pgconn)
        _flush(pgconn)
        _read(pgconn, None)
        pgconn.exit_pipeline_mode()
    except errors.Error:
        pass


def _error(driver: Any, result: Any, index: int | None = None) -> Exception | None:
    """The error `result` is, if it is one, with the position of its statement (`pipeline_index`)."""
    if result.status != pq.ExecStatus.FATAL_ERROR:
        return None
    error = errors.error_from_result(result, encoding=driver.info.encoding)
    error.pipeline_index = index  # type: ignore[attr-defined]
    return error


def _loaded_libpq() -> Any:
    """The libpq psycopg's C module loaded, through ctypes, or None where it cannot be found (not Linux,
    psycopg's pure-Python libpq, two libpqs). ctypes lets go of the GIL during a call, psycopg's C methods
    do not: sending a sync wakes the server's backend, which may take the CPU from the sender then and
    there, and for as long as it runs no other thread of the process can run Python (17% of the GIL's
    busy time of a payments benchmark's workers was spent there)."""
    if pq.__impl__ not in ("c", "binary"):
        return None
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "/libpq" in line}
    except OSError:
        return None
    if len(paths) != 1:
        return None
    import ctypes

    try:
        library = ctypes.CDLL(paths.pop())
        sync = library.PQpipelineSync  # libpq 14 and later
    except (OSError, AttributeError):
        return None
    sync.argtypes = [ctypes.c_void_p]
    sync.restype = ctypes.c_int
    return library


_LIBPQ = _loaded_libpq()


def _sync(pgconn: Any) -> None:
    """libpq's pipeline sync, sent and flushed (`PGconn.pipeline_sync`), with the GIL let go where it can be."""
    if _LIBPQ is None:
        pgconn.pipeline_sync()
    elif _LIBPQ.PQpipelineSync(pgconn.pgconn_ptr) != 1:
        raise errors.OperationalError(f"sending the pipeline's sync failed: {pq.error_message(pgconn)}")


def _flush(pgconn: Any) -> None:
    while pgconn.flush():  # reading what has come meanwhile, so that neither side blocks on a full buffer
        if _wait(pgconn, select.POLLIN | select.POLLOUT) & select.POLLIN:
            pgconn.consume_input()


def _read(pgconn: Any, expected: int | None) -> list[Any]:
    """Each queued command's result (its error, its rows, or that it was skipped), up to the sync."""
    results: list[Any] = []
    last: Any = None
    while True:
        while pgconn.is_busy():
            _wait(pgconn, select.POLLIN)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one command's results
            if last is not None:
                results.append(last)
                last = None
            continue
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            break
        if last is None or last.status != pq.ExecStatus.FATAL_ERROR:
            last = result
    if expected is not None and len(results) != expected:  # pragma: no cover - libpq's protocol broken
        raise errors.InternalError(f"a pipeline of {expected} commands answered {len(results)}")
    return results


def _wait(pgconn: Any, events: int) -> int:
    poller = select.poll()
    poller.register(pgconn.socket, events)
    return sum(happened for _, happened in poller.poll())
