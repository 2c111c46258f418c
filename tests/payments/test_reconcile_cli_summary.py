"""`puhui reconcile` printed a bare `[]` on success (new-user pass): it now tells the operator, one line a date
on stderr, the date reconciled, the orders of the bank's statement matched, and the exceptions the run opened
and closed and those open; stdout stays the date's exceptions as JSON, the exit code as before (1 while one is
open); on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from tests.payments.test_cli_bank import run_cli
from tests.payments.test_reconciliation import day, order  # noqa: F401 - fixtures
from tests.payments.test_settlement import D, client  # noqa: F401 - fixtures


def test_reconcile_says_what_it_matched_opened_and_closed(day, engine, db_url, clock, tmp_path, monkeypatch, capsys):  # noqa: F811
    clock.advance(hours=24)
    bank = day["bank"]
    clean = tmp_path / "clean.csv"
    clean.write_text(bank.statement(D), encoding="utf-8")
    bank.inject_statement_fault(D, "missing", order_id=day["ids"]["top_up_1"])
    faulty = tmp_path / "faulty.csv"
    faulty.write_text(bank.statement(D), encoding="utf-8")
    date = D.isoformat()

    def reconcile(file):  # type: ignore[no-untyped-def]
        return run_cli(monkeypatch, capsys, "reconcile", "--date", date, "--statement", str(file), "--db", db_url)

    code, out, err = reconcile(clean)
    assert (code, json.loads(out)) == (0, []), err
    assert err.splitlines() == [
        f"reconciled {date}: 3 of 3 orders on the bank's statement (3 lines) matched; "
        "exceptions: 0 opened, 0 closed, 0 open"
    ]
    code, out, err = reconcile(faulty)
    found = json.loads(out)
    assert code == 1 and [(r["kind"], r["status"]) for r in found] == [("missing_at_bank", "open")]
    assert err.splitlines() == [
        f"reconciled {date}: 2 of 2 orders on the bank's statement (2 lines) matched; "
        "exceptions: 1 opened, 0 closed, 1 open"
    ]
    code, out, err = reconcile(clean)  # the corrected statement: the exception is no longer found
    assert code == 0 and [r["status"] for r in json.loads(out)] == ["resolved"], out
    assert err.splitlines() == [
        f"reconciled {date}: 3 of 3 orders on the bank's statement (3 lines) matched; "
        "exceptions: 0 opened, 1 closed, 0 open"
    ]
