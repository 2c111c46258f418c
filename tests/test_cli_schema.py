"""A command on a database without the current schema is refused with a message, not a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from puhui import cli
from puhui.cli_engine import engine_for
from puhui.db.engine import DatabaseNotMigrated
from puhui.db.migrate import current_revision, head_revision


def test_an_unmigrated_database_is_refused_until_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with pytest.raises(DatabaseNotMigrated, match="puhui db upgrade"):
        engine_for(url)
    engine = engine_for(url, check_schema=False)
    assert current_revision(engine) is None  # the check changed nothing
    from puhui.db.migrate import upgrade

    upgrade(engine)
    assert current_revision(engine_for(url)) == head_revision()


def test_the_script_prints_the_refusal_and_exits_2(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "argv", ["puhui", "regtech", "rules", "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "database_not_migrated" in err and "Traceback" not in err


def test_a_command_on_a_missing_file_makes_no_empty_database(tmp_path: Path) -> None:
    """`puhui audit` with no database configured once left an empty `puhui.db` and its `.writer` lock."""
    url = f"sqlite:///{tmp_path / 'data' / 'puhui.db'}"
    with pytest.raises(DatabaseNotMigrated, match="there is no database at"):
        engine_for(url)
    assert not (tmp_path / "data").exists()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts this process's descriptors in /proc")
def test_a_command_leaves_no_connection_open(tmp_path: Path) -> None:
    """A command's engine is disposed when the command ends: a process that runs many (a test suite, a
    script over `cli.app`) kept each command's pooled SQLite connection and its files open."""
    from typer.testing import CliRunner

    path = tmp_path / "puhui.db"
    url = f"sqlite:///{path}"
    runner = CliRunner()
    assert runner.invoke(cli.app, ["db", "upgrade", "--db", url]).exit_code == 0
    for _ in range(3):
        done = runner.invoke(cli.app, ["audit", "--db", url])
        assert done.exit_code == 0, done.output
    # the database's files; its `.writer` lock is one descriptor a process by design (`puhui.db.writers.FileTurn`)
    assert [name for name in _open_files_under(tmp_path) if not name.endswith(".writer")] == []


def _open_files_under(folder: Path) -> list[str]:
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:  # closed while listed
            continue
        if str(target).startswith(str(folder)):
            found.append(str(target))
    return sorted(found)
