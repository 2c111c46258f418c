"""One error format for every command: `<code>: <one line>` on stderr, exit 2 for bad usage, 1 for failures."""

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


def test_an_unreachable_database_is_a_failure_in_one_line(monkeypatch, capsys):
    status, _, err = run(monkeypatch, capsys, "audit", "--db", "postgresql://u:secret@127.0.0.1:1/x")
    line = one_line(err)
    assert status == 1 and line.startswith("database_unavailable: ") and "secret" not in line


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
