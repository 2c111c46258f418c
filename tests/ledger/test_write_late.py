"""A group-commit job's ledger rows written late (`create_transfers(write_late=True)`): on PostgreSQL they
go with the job's last writes, one round trip fewer. The rows are the same, a later ledger batch in the
job sees them, and they stay all or nothing with the job."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event, literal, select

from puhui.db import group_commit, transaction
from puhui.db.prepared import Prepared, run_all
from puhui.errors import InvalidInput
from puhui.ledger import service
from puhui.ledger.errors import InsufficientFunds, LedgerRefused
from puhui.ledger.models import AccountFlags as A
from puhui.ledger.models import TransferResult
from tests.db.test_group_commit import Gate
from tests.ledger.test_ledger_service import bal, open_account, run_audit, xfer


@pytest.fixture
def books(engine: Engine) -> Engine:
    open_account(engine, "payer", code="clearing")
    for name in ("shop", "bank"):
        open_account(engine, name, flags=A.debits_must_not_exceed_credits)
    return engine


def _chain_then(uow, n: int, then_amount: int | None = None, refuse: bool = False) -> list[TransferResult]:  # type: ignore[no-untyped-def]
    service.post_chain(uow, [xfer(f"p{n}", "payer", "shop", 500)], write_late=True)
    results = []
    if then_amount is not None:  # the shop spends what the chain just credited it
        results = service.create_transfers(uow, [xfer(f"s{n}", "shop", "bank", then_amount)], write_late=True)
    if refuse:
        raise InvalidInput("refused after its transfers")
    return results


def test_rows_written_late_are_sent_with_the_jobs_last_writes(books: Engine) -> None:
    seen: list[str] = []

    def count(*args) -> None:  # type: ignore[no-untyped-def]
        seen.append(" ".join(args[2].split()))

    event.listen(books, "before_cursor_execute", count)
    assert group_commit.run(books, lambda uow: _chain_then(uow, 1)) == []
    event.remove(books, "before_cursor_execute", count)
    ledger_rows = [i for i, sql in enumerate(seen) if "INSERT INTO transfers" in sql]
    release = [i for i, sql in enumerate(seen) if sql.startswith("RELEASE SAVEPOINT puhui_job")]
    if books.dialect.name == "postgresql":  # one statement, sent in the release's pipeline, right before it
        assert len(ledger_rows) == 1 and ledger_rows[0] == release[-1] - 1, seen
    assert ledger_rows and release and ledger_rows[-1] < release[-1]
    assert (bal(books, "shop").credits_posted, bal(books, "payer").debits_posted) == (500, 500)
    assert run_audit(books).ok


def test_a_later_batch_of_the_job_sees_the_rows_written_late(books: Engine) -> None:
    # without them the shop would have nothing to spend: exceeds_credits
    assert group_commit.run(books, lambda uow: _chain_then(uow, 2, then_amount=500)) == [TransferResult.ok]
    assert (bal(books, "shop").debits_posted, bal(books, "shop").credits_posted) == (500, 500)
    assert bal(books, "bank").credits_posted == 500
    assert run_audit(books).ok


def test_rows_written_late_are_all_or_nothing_with_their_job(books: Engine) -> None:
    gate = Gate(books)
    futures = [
        group_commit.submit(books, group_commit.Job(lambda uow: _chain_then(uow, 3))),
        group_commit.submit(books, group_commit.Job(lambda uow: _chain_then(uow, 4, refuse=True))),
        group_commit.submit(books, group_commit.Job(lambda uow: _chain_then(uow, 5, then_amount=200))),
    ]
    gate.open()
    assert futures[0].result(timeout=30) == [] and futures[2].result(timeout=30) == [TransferResult.ok]
    with pytest.raises(InvalidInput):
        futures[1].result(timeout=30)
    assert bal(books, "shop").credits_posted == 1_000 and bal(books, "payer").debits_posted == 1_000
    assert bal(books, "bank").credits_posted == 200
    with pytest.raises(InsufficientFunds):  # p4's 500 is not in the ledger: the shop holds 1,000 - 200
        transaction(books, lambda uow: service.post_chain(uow, [xfer("x", "shop", "bank", 801)]))
    assert run_audit(books).ok


def test_outside_a_group_commit_the_rows_are_written_at_once(books: Engine) -> None:
    def work(uow) -> int:  # type: ignore[no-untyped-def]
        service.post_chain(uow, [xfer("p6", "payer", "shop", 300)], write_late=True)
        return uow.connection.exec_driver_sql("SELECT count(*) FROM transfers WHERE id = 'p6'").scalar()

    assert transaction(books, work) == 1
    assert bal(books, "shop").credits_posted == 300


def _ahead_then_chain(uow, n: int, write_between: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    """The chain's ledger reads sent ahead with a statement of the job's own, then the chain: the statements
    the chain itself sent."""
    reads = service.reads_ahead(uow, [f"p{n}"], ["payer", "shop"])
    run_all(uow.connection, [(_ONE, {})], ahead=reads)
    if write_between:  # the shop's balance changes after the read: what was read ahead is stale
        service.create_transfers(uow, [xfer(f"w{n}", "payer", "shop", 100)])
    seen: list[str] = []

    def count(*args) -> None:  # type: ignore[no-untyped-def]
        seen.append(args[2])

    event.listen(uow.connection.engine, "before_cursor_execute", count)
    try:
        service.post_chain(uow, [xfer(f"p{n}", "payer", "shop", 500)], write_late=True)
    finally:
        event.remove(uow.connection.engine, "before_cursor_execute", count)
    return seen


_ONE = Prepared(select(literal(1)))


def test_the_ledgers_reads_sent_ahead_answer_the_chain(books: Engine) -> None:
    postgres = books.dialect.name == "postgresql"
    seen = group_commit.run(books, lambda uow: _ahead_then_chain(uow, 6))
    reads = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
    assert reads == [] if postgres else reads, seen  # on SQLite nothing is read ahead
    assert (bal(books, "shop").credits_posted, bal(books, "payer").debits_posted) == (500, 500)
    with pytest.raises(LedgerRefused, match="exists"):  # the transfer read ahead is found: not posted twice
        group_commit.run(books, lambda uow: _ahead_then_chain(uow, 6))
    assert bal(books, "shop").credits_posted == 500
    assert run_audit(books).ok


def test_a_write_after_the_reads_ahead_makes_the_chain_read_again(books: Engine) -> None:
    seen = group_commit.run(books, lambda uow: _ahead_then_chain(uow, 7, write_between=True))
    assert any("FOR UPDATE" in sql for sql in seen) or books.dialect.name == "sqlite", seen
    assert (bal(books, "shop").credits_posted, bal(books, "payer").debits_posted) == (600, 600)
    assert run_audit(books).ok
