"""Late credits (`puhui.ledger.late_credits`) on SQLite and PostgreSQL: in a group-commit batch the hot
account is credited once, last, with exactly the credits of the jobs that succeeded; a job that also
debits it, or any transaction outside a group commit, locks and writes it as every other account;
the audit passes after each."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from puhui.db import group_commit, reading, transaction
from puhui.errors import InvalidInput
from puhui.ledger import late_credits, service
from puhui.ledger.audit import audit
from puhui.ledger.models import AccountFlags as A
from tests.db.test_group_commit import Gate
from tests.ledger.test_ledger_service import open_account, xfer

HOT = frozenset({"hot"})


def _posted(engine: Engine, account_id: str) -> tuple[int, int]:
    with reading(engine) as connection:
        account = service.get_account(connection, account_id)
    return account.debits_posted, account.credits_posted


def _pay(n: int, fee: int, *, refuse: bool = False, debit_hot: bool = False):  # type: ignore[no-untyped-def]
    def work(uow) -> int:  # type: ignore[no-untyped-def]
        chain = [xfer(f"p{n}", "payer", "shop", 1_000), xfer(f"f{n}", "shop", "hot", fee)]
        if debit_hot:
            chain.append(xfer(f"r{n}", "hot", "shop", 1))
        service.post_chain(uow, chain, credit_late=HOT)
        if refuse:
            raise InvalidInput("refused after its transfers")
        return n

    return work


@pytest.fixture
def books(engine: Engine) -> Engine:
    open_account(engine, "payer", code="clearing")
    open_account(engine, "shop", flags=A.debits_must_not_exceed_credits)
    open_account(engine, "hot", code="clearing")
    return engine


def test_a_batch_credits_the_hot_account_once_with_what_its_jobs_kept(books: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    applied: list[dict] = []
    apply = late_credits.apply

    def watched(uow) -> None:  # type: ignore[no-untyped-def]
        applied.append(dict(uow.batch_sums))
        apply(uow)

    monkeypatch.setattr(late_credits, "apply", watched)
    gate = Gate(books)
    futures = [
        group_commit.submit(books, group_commit.Job(_pay(1, 6))),
        group_commit.submit(books, group_commit.Job(_pay(2, 7, refuse=True))),
        group_commit.submit(books, group_commit.Job(_pay(3, 8))),
    ]
    gate.open()
    assert futures[0].result(timeout=30) == 1 and futures[2].result(timeout=30) == 3
    with pytest.raises(InvalidInput):
        futures[1].result(timeout=30)
    assert _posted(books, "hot") == (0, 14)
    assert applied == [{(late_credits.KEY, "hot"): 14}]  # once, for the batch, without the refused job's 7
    with reading(books) as connection:
        report = audit(connection)
    assert report.ok, report


def test_a_debit_of_the_hot_account_or_a_plain_transaction_locks_it_as_usual(books: Engine) -> None:
    assert group_commit.run(books, _pay(4, 5, debit_hot=True)) == 4  # credited 5, debited 1, in the job
    assert _posted(books, "hot") == (1, 5)
    assert transaction(books, _pay(5, 9)) == 5  # outside a group commit
    assert _posted(books, "hot") == (1, 14)
    with reading(books) as connection:
        report = audit(connection)
    assert report.ok, report


def test_an_account_limiting_its_credits_is_refused_late(engine: Engine) -> None:
    open_account(engine, "payer", code="clearing")
    open_account(engine, "shop", flags=A.debits_must_not_exceed_credits)
    open_account(engine, "hot", code="clearing", flags=A.credits_must_not_exceed_debits)
    with pytest.raises(ValueError, match="cannot be credited late"):
        group_commit.run(engine, _pay(6, 5))
    assert _posted(engine, "hot") == (0, 0)
