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
