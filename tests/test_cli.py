"""The `puhui` command: db upgrade, audit (exit codes and offending rows), on both backends."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import create_engine_from_url, transaction
from puhui.ledger import service
from puhui.ledger.models import AccountFlags, Transfer, TransferFlags

runner = CliRunner()


def _move_some_money(url: str) -> None:
    engine = create_engine_from_url(url)
    try:

        def work(uow):  # type: ignore[no-untyped-def]
            service.create_account(
                uow, id="w1", ledger="CNY", code="customer_wallet", flags=AccountFlags.debits_must_not_exceed_credits
            )
            return service.create_transfers(
                uow,
                [
                    Transfer("t1", "platform.reserve_bank.CNY", "w1", 10_000, "CNY", "topup"),
                    Transfer(
                        "t2",
                        "w1",
                        "platform.fee_income.CNY",
                        2_500,
                        "CNY",
                        "fee",
                        flags=TransferFlags.pending,
                        timeout_seconds=60,
                    ),
                ],
            )

        assert [r.value for r in transaction(engine, work)] == ["ok", "ok"]
    finally:
        engine.dispose()


def test_db_upgrade_is_idempotent(db_url):
    first = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    again = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    assert first.exit_code == 0 and again.exit_code == 0, first.output
    assert "revision" in again.output


def test_audit_passes_then_fails_on_a_corrupted_balance(db_url, clock):
    _move_some_money(db_url)
    passed = runner.invoke(app, ["audit", "--db", db_url])
    assert passed.exit_code == 0, passed.output
    assert "audit passed" in passed.output

    engine = create_engine_from_url(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = 'w1'"))
    engine.dispose()
    failed = runner.invoke(app, ["audit", "--db", db_url, "--json"])
    assert failed.exit_code == 1
    report = json.loads(failed.output)
    checks = {v["check"] for v in report["violations"]}
    assert {"ledger_totals_balance", "account_balances_match_transfers"} <= checks
    offending = next(v for v in report["violations"] if v["check"] == "account_balances_match_transfers")
    assert offending["rows"][0]["id"] == "w1"


def test_audit_flags_a_hold_left_past_its_timeout(db_url, clock):
    _move_some_money(db_url)
    clock.advance(seconds=61)
    stale = runner.invoke(app, ["audit", "--db", db_url, "--json"])
    assert stale.exit_code == 1
    assert [v["check"] for v in json.loads(stale.output)["violations"]] == ["no_overdue_pending"]

    engine = create_engine_from_url(db_url)
    assert transaction(engine, service.expire_pending) == 1
    engine.dispose()
    assert runner.invoke(app, ["audit", "--db", db_url]).exit_code == 0


def _commands(command, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """(path, command) of every command and group under `command`."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


# Owned by the RegTech package's work in progress: its summaries are its own to shorten.
def test_every_command_lists_with_a_one_line_summary_and_every_option_has_help():
    """Regression: a docstring's line breaks showed inside the command lists (`puhui`: settle, reconcile, eod),
    and `risk train --folds/--seed` and `risk score --name` had no help at all."""
    from typer.main import get_command

    long, bare = [], []
    for path, command in _commands(get_command(app)):
        summary = (command.help or "").strip().split("\n\n")[0]
        if "\n" in summary:
            long.append(" ".join(path))
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option" and param.name != "help" and not param.help:
                bare.append(f"{' '.join(path)} {param.opts[0]}")
    assert long == [] and bare == [], (long, bare)
    listed = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    settle = next(line for line in listed.splitlines() if " settle " in line)
    assert settle.split("settle", 1)[1].strip(" │") == "Pay every merchant its net earnings of DATE (T+1), once."


def test_every_commands_help_shows_a_flag_as_a_flag_with_no_type():
    """Regression: help showed flags with a type, as if they took a value: `--json <bool>`, `--record
    --no-record <bool>`, `--help <bool>` (Typer 0.29's help; earlier Typers hid it, and the type a flag
    would show is checked as well, under any Typer)."""
    from typer.main import get_command

    flags = []
    for path, command in _commands(get_command(app)):
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0 and "Usage: " in shown.output, (path, shown.output)
        assert "<bool" not in shown.output, (path, shown.output)
        context = command.context_class(command)
        for param in [*command.params, command.get_help_option(context)]:
            if getattr(param, "is_flag", False):
                shows = getattr(param, "display_type_rich", None) or param.make_metavar
                flags.append((" ".join(path), param.opts[0], shows(context)))
    assert ("reserve-check", "--record", "") in flags and ("audit", "--json", "") in flags
    assert [flag for flag in flags if flag[2]] == []
