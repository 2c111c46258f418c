"""The engine a `puhui` command works on (its `--db`, or the configured database), checked to be
migrated, with the sandbox's platform time when the server runs in the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from puhui.db.engine import DatabaseNotMigrated, create_engine_from_url


def engine_for(url: str | None = None, *, check_schema: bool = True) -> Engine:
    """The engine of a command's `--db`, or else of PUHUI_DATABASE_URL (the default SQLite file);
    refused with `database_not_migrated` unless its schema is the current one."""
    from puhui.db.migrate import current_revision, head_revision
    from puhui.settings import Settings

    settings = Settings()
    chosen = url or settings.resolved_database_url()
    if check_schema and (missing := _missing_sqlite_file(chosen)) is not None:
        raise DatabaseNotMigrated(
            f"there is no database at {missing}: run `puhui db upgrade` (with the same --db) to make one"
            + _demo_hint(url or settings.database_url)
        )
    engine = create_engine_from_url(chosen)
    if check_schema and (found := current_revision(engine)) != head_revision():
        engine.dispose()
        raise DatabaseNotMigrated(
            f"the database is at revision {found or 'none'}, not {head_revision()}: "
            "run `puhui db upgrade` (with the same --db)" + _demo_hint(url or settings.database_url)
        )
    if settings.sandbox and check_schema:  # the command sees the platform time of the server on this database
        from puhui.sandbox.service import install

        install(engine)
    if _RUNNING:
        _RUNNING[-1].append(engine)
    return engine


_RUNNING: list[list[Engine]] = []  # the engines of each command running (a stack: one per `puhui` invocation)


def disposed_when_done(context: Any) -> None:
    """The engines the command of `context` (the `puhui` root's click context) makes are disposed when it ends:
    a process that runs many commands (a script over `cli.app`, a test suite) kept each one's pool and its
    open files."""
    made: list[Engine] = []
    _RUNNING.append(made)

    def dispose() -> None:
        _RUNNING.remove(made)
        for engine in made:
            engine.dispose()

    context.call_on_close(dispose)


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite `url` when it does not exist: a command that needs a migrated database does
    not make an empty one (and its lock files) on the way to refusing it."""
    from sqlalchemy.engine import make_url

    from puhui.db.engine import normalize_url

    parsed = make_url(normalize_url(url))
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if parsed.query.get("mode") == "memory" or database.startswith("file:"):
        return None
    return None if Path(database).exists() else Path(database)


def _demo_hint(chosen: str) -> str:
    """A newcomer who ran `serve --demo` and then a bare command meant the demo's database: say how."""
    import platformdirs

    demo_env = Path(platformdirs.user_data_dir("puhui")) / "demo" / "puhui.env"
    if chosen or not demo_env.is_file():
        return ""
    return f"; for the demo's database and keys, first `export PUHUI_ENV_FILE={demo_env}`"
