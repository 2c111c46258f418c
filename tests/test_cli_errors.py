"""One error format for every command: `<code>: <one line>` on stderr; exit 1 for failures, 2 for bad usage,
3 when the command could not run (the database cannot be reached); a bare group shows its help, exit 0."""

from __future__ import annotations

import sys

import pytest

from puhui import cli


def run(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "argv", ["puhui", *argv])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    captured = capsys.readouterr()
    return stopped.value.code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_unreachable_database_could_not_run_exit_3_in_one_line(monkeypatch, capsys):
    """Regression: it exited 1, `puhui audit`'s status for broken invariants, so a script could not tell them apart."""
    status, _, err = run(monkeypatch, capsys, "audit", "--db", "postgresql://u:secret@127.0.0.1:1/x")
    line = one_line(err)
    assert status == 3 and line.startswith("database_unavailable: ") and "secret" not in line


def test_the_exit_statuses_are_documented_where_they_are_decided(monkeypatch, capsys):
    from puhui import cli_errors
    from puhui.db.writer import WriterUnavailable
    from puhui.errors import InvalidInput, PuhuiError

    assert cli_errors.describe(WriterUnavailable())[2] == 3  # a 503: unavailable, try again
    assert cli_errors.describe(InvalidInput())[2] == 2 and cli_errors.describe(PuhuiError())[2] == 2
    assert all(f"- {status}: " in cli_errors.__doc__ for status in range(4))
    status, out, _ = run(monkeypatch, capsys, "--help")
    assert status == 0 and "3 could not run" in " ".join(out.split())


@pytest.mark.parametrize("argv", [(), ("regtech",), ("regtech", "report"), ("risk", "profiles")])
def test_a_bare_group_shows_its_help_and_exits_0(monkeypatch, capsys, argv):
    """Regression: the help, then an empty `usage_error:  (see …)` line and exit 2."""
    status, out, err = run(monkeypatch, capsys, *argv)
    assert status == 0 and err == "", err
    assert "Usage: puhui" in out and "Commands" in out


def test_a_missing_env_file_stops_every_command_naming_it(monkeypatch, capsys, tmp_path):
    """Regression: PUHUI_ENV_FILE naming no file was ignored, and the command ran on the default database."""
    served = []
    monkeypatch.setattr("puhui.server.run_server", lambda **options: served.append(options))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("PUHUI_DATABASE_URL", raising=False)
    missing = tmp_path / "nowhere" / "puhui.env"
    monkeypatch.setenv("PUHUI_ENV_FILE", str(missing))
    for argv in (("audit",), ("serve",), ("serve", "--demo"), ("openapi",), ("risk", "models")):
        status, out, err = run(monkeypatch, capsys, *argv)
        line = one_line(err)
        assert status == 2 and line.startswith(f"env_file_missing: PUHUI_ENV_FILE names {missing}, "), (argv, err)
    assert served == [] and not (tmp_path / "puhui").exists()  # no server, no default database made
    monkeypatch.setenv("PUHUI_ENV_FILE", str(tmp_path))  # a directory is no settings file either
    status, _, err = run(monkeypatch, capsys, "audit")
    assert status == 2 and "is a directory" in one_line(err)


def test_a_missing_env_file_still_shows_every_help_and_stops_every_command(monkeypatch, capsys, tmp_path):
    """Regression: with PUHUI_ENV_FILE naming no file, `puhui risk --help`, `puhui risk score --help` and a bare
    `puhui risk` refused with `env_file_missing` as the commands do (only `puhui --help` showed its help)."""
    from typer.main import get_command

    from puhui.settings import EnvFileMissing

    monkeypatch.setenv("PUHUI_ENV_FILE", str(tmp_path / "nowhere" / "puhui.env"))
    commands = 0
    for path, command in _commands(get_command(cli.app)):
        for argv in ((*path, "--help"), path) if hasattr(command, "commands") else ((*path, "--help"),):
            status, out, err = run(monkeypatch, capsys, *argv)
            assert status == 0 and err == "" and f"Usage: puhui {' '.join(path)}".rstrip() in out, (argv, err)
        if not hasattr(command, "commands"):  # a command: it refuses before it does anything, whatever it is
            commands += 1
            with pytest.raises(EnvFileMissing):
                command.callback()
    assert commands > 50


def _commands(command, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_a_missing_env_file_stops_the_servers_settings(monkeypatch, tmp_path):
    """The server's workers read their settings themselves (`puhui.app.serve_app`): they refuse as well."""
    from puhui.settings import EnvFileMissing, Settings

    monkeypatch.setenv("PUHUI_ENV_FILE", str(tmp_path / "missing.env"))
    with pytest.raises(EnvFileMissing, match="missing.env"):
        Settings()
    (tmp_path / "missing.env").write_text("PUHUI_MERCHANT_FEE_BP=42\n")
    assert Settings().merchant_fee_bp == 42
    monkeypatch.setenv("PUHUI_ENV_FILE", "")  # set but empty: no file, as before
    assert Settings().merchant_fee_bp == 60


@pytest.mark.parametrize(
    "argv, code",
    [
        (("audit", "--nope"), "usage_error"),
        (("no-such-command",), "usage_error"),
        (("audit", "--db", "mysql://x/y"), "unsupported_database"),
        (("audit", "--db", "not a url"), "database_url_invalid"),
        (("risk", "score", "--applicant", "/no/such/file.json"), None),
    ],
)
def test_bad_usage_exits_2_with_its_code(monkeypatch, capsys, tmp_path, argv, code):
    status, _, err = run(monkeypatch, capsys, *argv)
    line = one_line(err)
    assert status == 2, err
    assert code is None or line.startswith(f"{code}: "), line
    assert ": " in line and line.split(": ")[0].replace("_", "").isalpha()


def test_an_unexpected_error_is_one_line_unless_debugging(monkeypatch, capsys):
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr("puhui.ledger.audit.audit", broken)
    url = "sqlite:///" + str(__import__("tempfile").mkdtemp()) + "/x.db"
    assert run(monkeypatch, capsys, "db", "upgrade", "--db", url)[0] == 0
    status, _, err = run(monkeypatch, capsys, "audit", "--db", url)
    assert status == 1 and one_line(err).startswith("internal_error: RuntimeError: boom")
    monkeypatch.setenv("PUHUI_DEBUG", "1")
    status, _, err = run(monkeypatch, capsys, "audit", "--db", url)
    assert status == 1 and "Traceback" in err and err.strip().endswith("(PUHUI_DEBUG=1 shows the traceback)")


def test_help_and_success_exit_0(monkeypatch, capsys, tmp_path):
    assert run(monkeypatch, capsys, "--help")[0] == 0
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    assert run(monkeypatch, capsys, "db", "upgrade", "--db", url)[0] == 0
    status, out, err = run(monkeypatch, capsys, "audit", "--db", url)
    assert status == 0 and "audit passed" in out and err == ""


def test_a_bare_command_after_the_demo_says_how_to_reach_the_demo_database(monkeypatch, capsys, tmp_path):
    """Regression: after `serve --demo`, `puhui audit` silently opened another (empty) database."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("PUHUI_DATABASE_URL", raising=False)
    monkeypatch.delenv("PUHUI_ENV_FILE", raising=False)
    demo_env = tmp_path / "puhui" / "demo" / "puhui.env"
    demo_env.parent.mkdir(parents=True)
    demo_env.write_text(f"PUHUI_DATABASE_URL=sqlite:///{tmp_path / 'demo.db'}\n")
    status, _, err = run(monkeypatch, capsys, "audit")
    assert status == 2 and f"export PUHUI_ENV_FILE={demo_env}" in one_line(err)
    db = tmp_path / "demo.db"
    assert run(monkeypatch, capsys, "db", "upgrade", "--db", f"sqlite:///{db}")[0] == 0
    monkeypatch.setenv("PUHUI_ENV_FILE", str(demo_env))
    status, out, _ = run(monkeypatch, capsys, "audit")
    assert status == 0 and "audit passed" in out
