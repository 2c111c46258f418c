"""The ledger service against real databases (SQLite and PostgreSQL): accounts, transfers in a unit
of work, two-phase holds with timeouts, history, balances as of a past time, outbox events, audit."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import Engine, func, select, text

from puhui.db import (
    UnitOfWork,
    create_engine_from_url,
    reading,
    transaction,
    unit_of_work,
)
from puhui.db.tables import outbox
from puhui.events.outbox import read_events
from puhui.ledger import service
from puhui.ledger.audit import audit
from puhui.ledger.errors import (
    AccountCodeNotFound,
    AccountNotFound,
    BatchTooLarge,
    InvalidAccount,
    LedgerNotFound,
)
from puhui.ledger.models import (
    MAX_BATCH,
    Account,
    AccountFlags,
    AccountResult,
    Balances,
    PendingStatus,
    Transfer,
    TransferFlags,
    TransferResult,
)
from puhui.ledger.tables import account_codes, accounts, transfers

R = TransferResult
F = TransferFlags
A = AccountFlags


# -- helpers ------------------------------------------------------------------------------------


def open_account(
    engine: Engine, id: str, *, ledger: str = "CNY", code: str = "customer_wallet", flags=A.NONE, owner_id=None
) -> Account:  # type: ignore[no-untyped-def]
    result, account = transaction(
        engine, lambda uow: service.create_account(uow, ledger=ledger, code=code, owner_id=owner_id, flags=flags, id=id)
    )
    assert result == AccountResult.ok
    return account


def submit(engine: Engine, *batch: Transfer) -> list[TransferResult]:
    return transaction(engine, lambda uow: service.create_transfers(uow, list(batch)))


def xfer(id: str, debit: str, credit: str, amount: int, **kw) -> Transfer:  # type: ignore[no-untyped-def]
    kw.setdefault("ledger", "CNY")
    kw.setdefault("code", "payment")
    return Transfer(id=id, debit_account_id=debit, credit_account_id=credit, amount=amount, **kw)


def bal(engine: Engine, account_id: str) -> Balances:
    with reading(engine) as connection:
        return service.require_account(connection, account_id).balances


def run_audit(engine: Engine):  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return audit(connection)


def assert_audit_ok(engine: Engine) -> None:
    report = run_audit(engine)
    assert report.ok, report.violations


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def seeded_accounts(engine) -> int:  # type: ignore[no-untyped-def]
    """The platform's own accounts the migrations open (the chart's, the funds', ...): created at 0."""
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(accounts).where(accounts.c.created_at == 0)
        ).scalar_one()


def ledger_events(engine: Engine, type: str = "ledger.transfers_committed") -> list:
    return [e for e in read_events(engine, 0, limit=100_000, topic="ledger") if e.type == type]


@pytest.fixture
def funded(engine: Engine, clock) -> Engine:  # type: ignore[no-untyped-def]
    """Accounts `src` (unflagged, a source of funds), `w1` and `w2` (wallets that cannot go below zero)."""
    open_account(engine, "src", code="clearing")
    open_account(engine, "w1", flags=A.debits_must_not_exceed_credits, owner_id="alice")
    open_account(engine, "w2", flags=A.debits_must_not_exceed_credits, owner_id="bob")
    assert submit(engine, xfer("fund1", "src", "w1", 10_000)) == [R.ok]
    return engine


# -- chart of accounts --------------------------------------------------------------------------


def test_chart_of_accounts_has_the_platform_accounts(engine: Engine) -> None:
    with reading(engine) as connection:
        codes = set(connection.execute(select(account_codes.c.code)).scalars())
        ledgers = service.ledgers_of(connection)
        platform = {
            a.id: a
            for a in map(
                service.account_from_row,
                connection.execute(select(accounts).where(accounts.c.owner_id == "platform")).mappings(),
            )
        }
    assert {
        "customer_wallet",
        "merchant_wallet",
        "reserve_bank",
        "clearing",
        "suspense",
        "fee_income",
        "interest_income",
        "loan_receivable",
        "fund_assets",
        "premium_income",
        "claim_reserve",
        "equity",
    } <= codes
    assert {"CNY", "USD"} <= set(ledgers)
    assert ledgers["CNY"].scale == 2
    for ledger in ("CNY", "USD"):
        for code in ("reserve_bank", "clearing", "suspense", "fee_income", "interest_income", "equity"):
            account = platform[f"platform.{code}.{ledger}"]
            assert (account.ledger, account.code) == (ledger, code)
            assert account.balances == Balances()
    # bank cash cannot go below zero: credits must not exceed debits on the reserve account
    assert platform["platform.reserve_bank.CNY"].flags == A.credits_must_not_exceed_debits
    assert platform["platform.clearing.CNY"].flags == A.NONE
    assert_audit_ok(engine)


def test_reserve_account_cannot_pay_out_more_than_it_holds(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    open_account(engine, "alice", flags=A.debits_must_not_exceed_credits)
    reserve = "platform.reserve_bank.CNY"
    # a top-up: the bank account is debited, the wallet credited
    assert submit(engine, xfer("topup", reserve, "alice", 500)) == [R.ok]
    # a withdrawal of more than the bank holds
    assert submit(engine, xfer("wd1", "alice", reserve, 501)) == [R.exceeds_credits]
    assert submit(engine, xfer("wd2", "platform.clearing.CNY", reserve, 501)) == [R.exceeds_debits]
    assert submit(engine, xfer("wd3", "alice", reserve, 500)) == [R.ok]
    assert bal(engine, reserve) == Balances(debits_posted=500, credits_posted=500)
    assert_audit_ok(engine)


# -- accounts -----------------------------------------------------------------------------------


def test_create_account_ok_then_exists(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    def create(uow: UnitOfWork):  # type: ignore[no-untyped-def]
        return service.create_account(
            uow, ledger="CNY", code="customer_wallet", owner_id="u1", flags=A.debits_must_not_exceed_credits, id="acc-1"
        )

    result, account = transaction(engine, create)
    assert result == AccountResult.ok
    assert account == Account("acc-1", "CNY", "customer_wallet", "u1", A.debits_must_not_exceed_credits)
    with reading(engine) as connection:
        assert service.get_account(connection, "acc-1") == account
    again, same = transaction(engine, create)
    assert again == AccountResult.exists and same == account
    assert count(engine, accounts) == seeded_accounts(engine) + 1
    assert [e.key for e in ledger_events(engine, "ledger.account_opened")] == ["acc-1"]
    assert_audit_ok(engine)


def test_create_account_without_id_gets_a_fresh_one(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    r1, a1 = transaction(engine, lambda uow: service.create_account(uow, ledger="USD", code="customer_wallet"))
    r2, a2 = transaction(engine, lambda uow: service.create_account(uow, ledger="USD", code="customer_wallet"))
    assert r1 == r2 == AccountResult.ok
    assert a1.id != a2.id
    with reading(engine) as connection:
        assert service.get_account(connection, a2.id) == a2


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"ledger": "USD"}, AccountResult.exists_with_different_ledger),
        ({"code": "merchant_wallet"}, AccountResult.exists_with_different_code),
        ({"owner_id": "someone-else"}, AccountResult.exists_with_different_owner_id),
        ({"owner_id": None}, AccountResult.exists_with_different_owner_id),
        ({"flags": A.NONE}, AccountResult.exists_with_different_flags),
        ({"flags": A.credits_must_not_exceed_debits}, AccountResult.exists_with_different_flags),
    ],
)
def test_create_account_exists_with_different_fields(engine: Engine, clock, change, expected) -> None:  # type: ignore[no-untyped-def]
    fields = dict(
        ledger="CNY", code="customer_wallet", owner_id="u1", flags=A.debits_must_not_exceed_credits, id="acc-1"
    )
    transaction(engine, lambda uow: service.create_account(uow, **fields))
    result, existing = transaction(engine, lambda uow: service.create_account(uow, **{**fields, **change}))
    assert result == expected
    # the stored account is unchanged
    assert (existing.ledger, existing.code, existing.owner_id, existing.flags) == (
        "CNY",
        "customer_wallet",
        "u1",
        A.debits_must_not_exceed_credits,
    )
    with reading(engine) as connection:
        assert service.get_account(connection, "acc-1") == existing


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"ledger": "XXX"}, LedgerNotFound),
        ({"ledger": "cny"}, LedgerNotFound),
        ({"code": "no_such_code"}, AccountCodeNotFound),
        ({"id": "has space"}, InvalidAccount),
        ({"id": "x" * 65}, InvalidAccount),
        ({"id": "账户"}, InvalidAccount),
        ({"id": "semi;colon"}, InvalidAccount),
        ({"owner_id": "bad owner"}, InvalidAccount),
        ({"flags": A.closed}, InvalidAccount),
        ({"flags": A.debits_must_not_exceed_credits | A.credits_must_not_exceed_debits}, InvalidAccount),
    ],
)
def test_create_account_refuses_bad_input_and_writes_nothing(engine: Engine, clock, fields, error) -> None:  # type: ignore[no-untyped-def]
    base = dict(ledger="CNY", code="customer_wallet", id="acc-1")
    before = count(engine, accounts)
    with pytest.raises(error):
        transaction(engine, lambda uow: service.create_account(uow, **{**base, **fields}))
    assert count(engine, accounts) == before
    assert count(engine, outbox) == 0


def test_create_account_with_an_empty_id_is_refused(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    """An empty id is not a valid id (`check_id("")` is false). Only `id=None` asks for a fresh one;
    an empty string silently opening a new random account on every call would defeat idempotency."""
    before = count(engine, accounts)
    with pytest.raises(InvalidAccount):
        transaction(engine, lambda uow: service.create_account(uow, ledger="CNY", code="customer_wallet", id=""))
    assert count(engine, accounts) == before


def test_max_length_account_id_is_accepted(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    open_account(engine, "x" * 64)
    open_account(engine, "A-z_0.9:x")


def test_close_and_reopen(funded: Engine) -> None:
    engine = funded
    closed = transaction(engine, lambda uow: service.set_account_closed(uow, "w1", True))
    assert closed.closed and A.debits_must_not_exceed_credits in closed.flags
    with reading(engine) as connection:
        assert service.require_account(connection, "w1").closed
    assert submit(engine, xfer("t1", "w1", "w2", 10)) == [R.debit_account_already_closed]
    assert submit(engine, xfer("t2", "src", "w1", 10)) == [R.credit_account_already_closed]
    # closing twice changes nothing; the account keeps its balances
    transaction(engine, lambda uow: service.set_account_closed(uow, "w1", True))
    assert bal(engine, "w1") == Balances(credits_posted=10_000)
    # creating it again with the same fields is still `exists`
    result, _ = transaction(
        engine,
        lambda uow: service.create_account(
            uow, ledger="CNY", code="customer_wallet", owner_id="alice", flags=A.debits_must_not_exceed_credits, id="w1"
        ),
    )
    assert result == AccountResult.exists
    reopened = transaction(engine, lambda uow: service.set_account_closed(uow, "w1", False))
    assert not reopened.closed and reopened.flags == A.debits_must_not_exceed_credits
    assert submit(engine, xfer("t1", "w1", "w2", 10)) == [R.ok]
    kinds = [
        e.type for e in read_events(engine, 0, topic="ledger") if e.key == "w1" and e.type != "ledger.account_opened"
    ]
    assert kinds == ["ledger.account_closed", "ledger.account_reopened"]
    assert_audit_ok(engine)


def test_close_unknown_account(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AccountNotFound):
        transaction(engine, lambda uow: service.set_account_closed(uow, "ghost", True))


def test_hold_on_a_closed_account_can_be_voided_but_not_posted(funded: Engine) -> None:
    engine = funded
    assert submit(
        engine, xfer("h1", "w1", "w2", 300, flags=F.pending), xfer("h2", "w1", "w2", 200, flags=F.pending)
    ) == [R.ok, R.ok]
    transaction(engine, lambda uow: service.set_account_closed(uow, "w2", True))
    assert submit(engine, Transfer("p1", pending_id="h1", flags=F.post_pending)) == [R.credit_account_already_closed]
    assert submit(engine, Transfer("v1", pending_id="h1", flags=F.void_pending)) == [R.ok]
    assert bal(engine, "w1") == Balances(debits_pending=200, credits_posted=10_000)
    assert bal(engine, "w2") == Balances(credits_pending=200)
    assert_audit_ok(engine)


# -- transfers ----------------------------------------------------------------------------------


def test_transfers_move_money_once(funded: Engine) -> None:
    engine = funded
    batch = [xfer("t1", "w1", "w2", 2_500, user_data="order:9"), xfer("t2", "w2", "w1", 500)]
    assert submit(engine, *batch) == [R.ok, R.ok]
    assert bal(engine, "w1") == Balances(debits_posted=2_500, credits_posted=10_500)
    assert bal(engine, "w2") == Balances(debits_posted=500, credits_posted=2_500)
    # the same batch again: nothing moves twice
    assert submit(engine, *batch) == [R.exists, R.exists]
    assert submit(engine, xfer("t1", "w1", "w2", 2_501, user_data="order:9")) == [R.exists_with_different_amount]
    assert bal(engine, "w1") == Balances(debits_posted=2_500, credits_posted=10_500)
    with reading(engine) as connection:
        stored = service.get_transfers(connection, ["t1", "t2", "nope"])
    assert set(stored) == {"t1", "t2"}
    t1 = stored["t1"]
    assert (t1.debit_account_id, t1.credit_account_id, t1.amount, t1.ledger, t1.code, t1.user_data) == (
        "w1",
        "w2",
        2_500,
        "CNY",
        "payment",
        "order:9",
    )
    assert t1.seq is not None and stored["t2"].seq > t1.seq
    assert count(engine, transfers) == 3
    assert_audit_ok(engine)


def test_failed_transfers_change_nothing(funded: Engine) -> None:
    engine = funded
    before = {i: bal(engine, i) for i in ("src", "w1", "w2")}
    results = submit(
        engine,
        xfer("f1", "w2", "w1", 1),  # w2 is empty
        xfer("f2", "w1", "ghost", 1),
        xfer("f3", "w1", "platform.clearing.USD", 1),
        xfer("f4", "w1", "w2", 1, ledger="USD"),
        xfer("f5", "w1", "w1", 1),
    )
    assert results == [
        R.exceeds_credits,
        R.credit_account_not_found,
        R.accounts_must_have_the_same_ledger,
        R.transfer_must_have_the_same_ledger_as_accounts,
        R.accounts_must_be_different,
    ]
    assert {i: bal(engine, i) for i in before} == before
    assert count(engine, transfers) == 1
    assert_audit_ok(engine)


def test_linked_chain_is_all_or_nothing_in_the_database(funded: Engine) -> None:
    engine = funded
    chain = [
        xfer("c1", "w1", "w2", 4_000, flags=F.linked),
        xfer("c2", "w2", "src", 1_000, flags=F.linked | F.pending),
        xfer("c3", "w1", "w2", 7_000),  # w1 has 6,000 left: the chain fails here
    ]
    assert submit(engine, *chain) == [R.linked_event_failed, R.linked_event_failed, R.exceeds_credits]
    assert count(engine, transfers) == 1
    assert bal(engine, "w2") == Balances()
    fixed = chain[:2] + [xfer("c3", "w1", "w2", 6_000)]
    assert submit(engine, *fixed) == [R.ok, R.ok, R.ok]
    assert submit(engine, *fixed) == [R.exists, R.exists, R.exists]
    assert bal(engine, "w2") == Balances(debits_pending=1_000, credits_posted=10_000)
    assert_audit_ok(engine)


def test_rolled_back_unit_of_work_leaves_no_trace(funded: Engine) -> None:
    engine = funded
    events_before = count(engine, outbox)

    class Boom(Exception):
        pass

    def work(uow: UnitOfWork) -> None:
        assert service.create_transfers(uow, [xfer("t1", "w1", "w2", 100)]) == [R.ok]
        raise Boom

    with pytest.raises(Boom):
        transaction(engine, work)
    assert count(engine, transfers) == 1
    assert count(engine, outbox) == events_before
    assert bal(engine, "w2") == Balances()
    assert submit(engine, xfer("t1", "w1", "w2", 100)) == [R.ok]
    assert_audit_ok(engine)


def test_batch_too_large_writes_nothing(funded: Engine) -> None:
    engine = funded
    events_before = count(engine, outbox)
    batch = [xfer(f"big{i}", "src", "w2", 1) for i in range(MAX_BATCH + 1)]
    with pytest.raises(BatchTooLarge):
        submit(engine, *batch)
    assert count(engine, transfers) == 1
    assert count(engine, outbox) == events_before
    assert bal(engine, "w2") == Balances()
    # exactly the maximum is one batch, one commit, one event
    results = submit(engine, *batch[:MAX_BATCH])
    assert results == [R.ok] * MAX_BATCH
    assert bal(engine, "w2") == Balances(credits_posted=MAX_BATCH)
    [*_, event] = ledger_events(engine)
    assert len(event.payload["transfers"]) == MAX_BATCH
    assert_audit_ok(engine)


def test_one_outbox_event_per_committed_batch(funded: Engine) -> None:
    engine = funded
    start = len(ledger_events(engine))
    assert submit(engine, xfer("e1", "w1", "w2", 100), xfer("e2", "w1", "w2", 200)) == [R.ok, R.ok]
    assert submit(engine, xfer("e3", "w1", "w2", 300, flags=F.pending)) == [R.ok]
    assert submit(engine, Transfer("e4", pending_id="e3", amount=120, flags=F.post_pending)) == [R.ok]
    # a batch in which nothing is applied commits nothing and announces nothing
    assert submit(engine, xfer("e5", "w2", "w1", 10**9)) == [R.exceeds_credits]
    assert submit(engine, xfer("e1", "w1", "w2", 100)) == [R.exists]
    events = ledger_events(engine)[start:]
    assert [[t["id"] for t in e.payload["transfers"]] for e in events] == [["e1", "e2"], ["e3"], ["e4"]]
    assert events[0].payload["transfers"][0]["amount"] == "1.00"
    assert events[1].payload["transfers"][0]["flags"] == ["pending"]
    assert events[2].payload["pending_resolved"] == [{"id": "e3", "status": "posted"}]
    assert [e.position for e in events] == sorted(e.position for e in events)
    assert_audit_ok(engine)


# -- two-phase transfers and timeouts ---------------------------------------------------------------


def test_partial_post_and_void(funded: Engine) -> None:
    engine = funded
    assert submit(
        engine, xfer("h1", "w1", "w2", 1_000, flags=F.pending), xfer("h2", "w1", "w2", 500, flags=F.pending)
    ) == [R.ok, R.ok]
    assert bal(engine, "w1") == Balances(debits_pending=1_500, credits_posted=10_000)
    assert run_audit(engine).ok
    assert submit(
        engine,
        Transfer("p1", pending_id="h1", amount=400, flags=F.post_pending),
        Transfer("v2", pending_id="h2", flags=F.void_pending),
    ) == [R.ok, R.ok]
    assert bal(engine, "w1") == Balances(debits_posted=400, credits_posted=10_000)
    assert bal(engine, "w2") == Balances(credits_posted=400)
    with reading(engine) as connection:
        stored = service.get_transfers(connection, ["h1", "h2", "p1", "v2"])
    assert stored["h1"].status == PendingStatus.posted and stored["h2"].status == PendingStatus.voided
    assert stored["p1"].amount == 400 and stored["p1"].debit_account_id == "w1"
    assert submit(engine, Transfer("p2", pending_id="h1", flags=F.post_pending)) == [R.pending_transfer_already_posted]
    assert submit(engine, Transfer("p3", pending_id="h2", flags=F.post_pending)) == [R.pending_transfer_already_voided]
    assert submit(engine, Transfer("p1", pending_id="h1", amount=400, flags=F.post_pending)) == [R.exists]
    assert_audit_ok(engine)


def test_pending_timeout_then_expire_pending_releases_the_hold(funded: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    engine = funded
    assert submit(
        engine,
        xfer("h1", "w1", "w2", 3_000, flags=F.pending, timeout_seconds=60),
        xfer("h2", "w1", "w2", 1_000, flags=F.pending),
    ) == [R.ok, R.ok]
    with reading(engine) as connection:
        h1 = service.get_transfers(connection, ["h1"])["h1"]
    assert h1.expires_at == h1.timestamp + 60_000_000
    assert_audit_ok(engine)

    clock.advance(seconds=59)
    assert transaction(engine, service.expire_pending) == 0
    assert_audit_ok(engine)

    clock.advance(seconds=1)  # exactly at the timeout: due
    report = run_audit(engine)
    assert [v.check for v in report.violations] == ["no_overdue_pending"]
    assert [row["id"] for row in report.violations[0].rows] == ["h1"]

    assert transaction(engine, service.expire_pending) == 1
    assert transaction(engine, service.expire_pending) == 0
    assert bal(engine, "w1") == Balances(debits_pending=1_000, credits_posted=10_000)
    assert bal(engine, "w2") == Balances(credits_pending=1_000)
    with reading(engine) as connection:
        h1 = service.get_transfers(connection, ["h1"])["h1"]
    assert h1.status == PendingStatus.expired and h1.resolved_at == h1.expires_at
    assert_audit_ok(engine)

    # too late to settle it now
    assert submit(engine, Transfer("p1", pending_id="h1", flags=F.post_pending)) == [R.pending_transfer_expired]
    assert submit(engine, Transfer("v1", pending_id="h1", flags=F.void_pending)) == [R.pending_transfer_expired]
    # the hold without timeout is still there
    assert submit(engine, Transfer("p2", pending_id="h2", flags=F.post_pending)) == [R.ok]
    assert bal(engine, "w1") == Balances(debits_posted=1_000, credits_posted=10_000)
    events = ledger_events(engine)
    assert {"id": "h1", "status": "expired"} in [r for e in events for r in e.payload["pending_resolved"]]
    assert_audit_ok(engine)


def test_post_after_timeout_without_expiry_run_is_expired_and_releases(funded: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    engine = funded
    assert submit(engine, xfer("h1", "w1", "w2", 3_000, flags=F.pending, timeout_seconds=10)) == [R.ok]
    clock.advance(seconds=11)
    assert not run_audit(engine).ok
    assert submit(engine, Transfer("p1", pending_id="h1", flags=F.post_pending)) == [R.pending_transfer_expired]
    # the hold was released in that same commit
    assert bal(engine, "w1") == Balances(credits_posted=10_000)
    assert bal(engine, "w2") == Balances()
    assert transaction(engine, service.expire_pending) == 0
    with reading(engine) as connection:
        assert service.get_transfers(connection, ["h1"])["h1"].status == PendingStatus.expired
    assert_audit_ok(engine)


def test_expire_pending_respects_its_limit(funded: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    engine = funded
    holds = [xfer(f"h{i}", "w1", "w2", 10, flags=F.pending, timeout_seconds=1 + i) for i in range(5)]
    assert submit(engine, *holds) == [R.ok] * 5
    clock.advance(seconds=30)
    assert transaction(engine, lambda uow: service.expire_pending(uow, limit=2)) == 2
    assert bal(engine, "w1").debits_pending == 30
    with reading(engine) as connection:
        statuses = {i: t.status for i, t in service.get_transfers(connection, [t.id for t in holds]).items()}
    # the earliest-due are expired first
    assert statuses == {"h0": "expired", "h1": "expired", "h2": "pending", "h3": "pending", "h4": "pending"}
    assert transaction(engine, service.expire_pending) == 3
    assert bal(engine, "w1") == Balances(credits_posted=10_000)
    assert_audit_ok(engine)


# -- history -------------------------------------------------------------------------------------


def test_account_history_pages_through_every_transfer_in_order(funded: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    engine = funded
    open_account(engine, "other")
    expected = ["fund1"]
    n = 0
    for _ in range(6):
        batch = []
        for position in range(4):
            n += 1
            flags = F.linked if position < 3 else F.NONE
            if n % 3 == 0:
                batch.append(xfer(f"h{n}", "w2", "w1", 1, flags=flags))  # w1 on the credit side
            elif n % 3 == 1:
                batch.append(xfer(f"h{n}", "w1", "w2", 5, flags=flags))  # w1 on the debit side
            else:
                batch.append(xfer(f"h{n}", "src", "other", 7, flags=flags))  # not w1's
        assert submit(engine, *batch) == [R.ok] * 4
        expected += [t.id for t in batch if "w1" in (t.debit_account_id, t.credit_account_id)]
        clock.advance(seconds=1)
    assert submit(
        engine, xfer("hp", "w1", "other", 9, flags=F.pending), Transfer("hq", pending_id="hp", flags=F.void_pending)
    ) == [R.ok, R.ok]
    expected += ["hp", "hq"]

    with reading(engine) as connection:
        everything = service.account_history(connection, "w1", limit=1000)
        pages, cursor = [], None
        while True:
            page = service.account_history(connection, "w1", after_seq=cursor, limit=3)
            assert len(page) <= 3
            if not page:
                break
            pages.append(page)
            cursor = page[-1].seq
    seen = [t.id for page in pages for t in page]
    assert seen == expected
    assert len(seen) == len(set(seen))
    assert [t.id for t in everything] == expected
    seqs = [t.seq for t in everything]
    assert seqs == sorted(seqs)
    assert all(len(p) == 3 for p in pages[:-1])
    assert_audit_ok(engine)


def test_account_history_of_an_account_without_transfers(engine: Engine) -> None:
    with reading(engine) as connection:
        assert service.account_history(connection, "platform.equity.USD") == []


# -- balances as of a past time ----------------------------------------------------------------------


def test_balance_as_of_past_times(funded: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    engine = funded
    ids = ("src", "w1", "w2")
    snapshots: list[tuple[int, dict[str, Balances]]] = []

    def snap() -> None:
        from puhui import clock as clock_module

        snapshots.append((clock_module.now_micros(), {i: bal(engine, i) for i in ids}))

    snap()
    steps = [
        [xfer("b1", "w1", "w2", 1_000), xfer("b2", "w1", "w2", 2_000, flags=F.pending, timeout_seconds=5)],
        [xfer("b3", "w1", "w2", 500, flags=F.pending), xfer("b4", "w2", "w1", 100)],
        [Transfer("b5", pending_id="b3", amount=200, flags=F.post_pending)],
        "expire",
        [
            xfer("b6", "w1", "w2", 50, flags=F.pending),
            Transfer("b7", pending_id="b6", flags=F.void_pending),
            xfer("b8", "src", "w2", 5),
        ],
    ]
    for step in steps:
        clock.advance(seconds=3)
        if step == "expire":
            assert transaction(engine, service.expire_pending) == 1
        else:
            assert set(submit(engine, *step)) == {R.ok}
        snap()
    clock.advance(seconds=3)
    with reading(engine) as connection:
        for at, expected in snapshots:
            for i in ids:
                assert service.balance_as_of(connection, i, at) == expected[i], (at, i)
                # nothing happened in the following second either
                assert service.balance_as_of(connection, i, at + 999_999) == expected[i], (at, i)
        first = snapshots[0][0]
        assert service.balance_as_of(connection, "w1", first - 1) == Balances()
        # far ahead equals the account's current balances
        for i in ids:
            assert (
                service.balance_as_of(connection, i, snapshots[-1][0] + 10_000_000)
                == service.require_account(connection, i).balances
            )
    assert_audit_ok(engine)


# -- audit ------------------------------------------------------------------------------------------


CORRUPTIONS = {
    "account_balance_off": (
        ["UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = 'w1'"],
        {"account_balances_match_transfers", "ledger_totals_balance"},
    ),
    "both_sides_off": (
        [
            "UPDATE accounts SET credits_posted = credits_posted + 7 WHERE id = 'w1'",
            "UPDATE accounts SET debits_posted = debits_posted + 7 WHERE id = 'w2'",
        ],
        {"account_balances_match_transfers"},
    ),
    "pending_off": (
        [
            "UPDATE accounts SET debits_pending = debits_pending + 1 WHERE id = 'w1'",
            "UPDATE accounts SET credits_pending = credits_pending + 1 WHERE id = 'w2'",
        ],
        {"account_balances_match_transfers"},
    ),
    "transfer_amount_changed": (
        ["UPDATE transfers SET amount = amount + 1 WHERE id = 't1'"],
        {"account_balances_match_transfers"},
    ),
    "overdrawn_flagged_account": (
        ["UPDATE accounts SET flags = 1 WHERE id = 'src'"],
        {"flagged_accounts_not_overdrawn"},
    ),
    "transfer_to_missing_account": (
        ["UPDATE transfers SET ledger = 'USD' WHERE id = 't1'"],
        {"transfers_name_existing_accounts"},
    ),
    "hold_settled_without_settlement": (
        ["UPDATE transfers SET status = 'posted', resolved_at = 1 WHERE id = 'h2'"],
        {"settled_holds_have_settlements", "account_balances_match_transfers"},
    ),
    "settlement_kind_mismatch": (
        ["UPDATE transfers SET status = 'voided' WHERE id = 'h1'"],
        {"holds_settled_once"},
    ),
    "overdue_hold_left_pending": (
        ["UPDATE transfers SET expires_at = 1 WHERE id = 'h2'"],
        {"no_overdue_pending"},
    ),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_audit_detects_corruption(funded: Engine, name: str) -> None:
    engine = funded
    assert (
        submit(
            engine,
            xfer("t1", "w1", "w2", 1_000),
            xfer("h1", "w1", "w2", 300, flags=F.pending),
            xfer("h2", "w1", "w2", 200, flags=F.pending),
            Transfer("p1", pending_id="h1", flags=F.post_pending),
        )
        == [R.ok] * 4
    )
    assert_audit_ok(engine)
    statements, expected = CORRUPTIONS[name]
    with engine.begin() as connection:
        for sql in statements:
            assert connection.execute(text(sql)).rowcount == 1
    report = run_audit(engine)
    assert not report.ok
    assert {v.check for v in report.violations} == expected
    assert report.accounts == seeded_accounts(engine) + 3 and report.transfers == 5


# -- concurrency (PostgreSQL) ------------------------------------------------------------------------


def _wait_for_lock_waiter(engine: Engine, timeout: float = 10.0) -> None:
    """Until some other backend of this database waits on a lock."""
    deadline = time.monotonic() + timeout
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second transaction never blocked on the account locks")


def test_overdue_hold_is_released_once_when_a_replay_races_the_expiry(pg_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: a batch that names an overdue hold by its own id (a client replaying it) while
    `expire_pending` is expiring it must not release the hold a second time."""
    engine = create_engine_from_url(pg_url)
    try:
        open_account(engine, "src", code="clearing")
        open_account(engine, "w1", flags=A.debits_must_not_exceed_credits)
        hold_t = xfer("h1", "src", "w1", 500, flags=F.pending, timeout_seconds=5)
        assert submit(engine, hold_t) == [R.ok]
        clock.advance(seconds=6)

        replay_result: list = []
        errors: list[BaseException] = []
        with unit_of_work(engine) as uow:
            assert service.expire_pending(uow) == 1  # holds the account locks until commit

            def replay() -> None:
                try:
                    replay_result.extend(submit(engine, hold_t))
                except BaseException as error:  # pragma: no cover - reported below
                    errors.append(error)

            worker = threading.Thread(target=replay)
            worker.start()
            _wait_for_lock_waiter(engine)
        worker.join(30)
        assert not errors, errors
        assert replay_result == [R.exists]
        assert bal(engine, "src") == Balances()
        assert bal(engine, "w1") == Balances()
        assert_audit_ok(engine)
    finally:
        engine.dispose()


def _race(engine: Engine, first, second):  # type: ignore[no-untyped-def]
    """Run `first` in a unit of work left open until `second` (in another thread, its own
    transaction) is blocked on a lock that `first` holds; then commit `first`. Returns both results."""
    outcome: dict[str, object] = {}
    errors: list[BaseException] = []
    with unit_of_work(engine) as uow:
        outcome["first"] = first(uow)

        def run() -> None:
            try:
                outcome["second"] = transaction(engine, second)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        _wait_for_lock_waiter(engine)
    worker.join(30)
    assert not worker.is_alive()
    assert not errors, errors
    return outcome["first"], outcome["second"]


def test_two_posts_of_one_hold_race_and_only_one_wins(pg_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: two batches post the same hold (naming it only by pending_id) at once."""
    engine = create_engine_from_url(pg_url)
    try:
        open_account(engine, "src", code="clearing")
        open_account(engine, "w1", flags=A.debits_must_not_exceed_credits)
        assert submit(engine, xfer("h1", "src", "w1", 500, flags=F.pending)) == [R.ok]
        first, second = _race(
            engine,
            lambda uow: service.create_transfers(
                uow, [Transfer("p1", pending_id="h1", amount=200, flags=F.post_pending)]
            ),
            lambda uow: service.create_transfers(uow, [Transfer("p2", pending_id="h1", flags=F.post_pending)]),
        )
        assert first == [R.ok]
        assert second == [R.pending_transfer_already_posted]
        assert bal(engine, "src") == Balances(debits_posted=200)
        assert bal(engine, "w1") == Balances(credits_posted=200)
        assert_audit_ok(engine)
    finally:
        engine.dispose()


def test_the_same_transfer_sent_twice_at_once_moves_money_once(pg_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(pg_url)
    try:
        open_account(engine, "src", code="clearing")
        open_account(engine, "w1", flags=A.debits_must_not_exceed_credits)
        t = xfer("t1", "src", "w1", 700)
        first, second = _race(
            engine,
            lambda uow: service.create_transfers(uow, [t]),
            lambda uow: service.create_transfers(uow, [t]),
        )
        assert (first, second) == ([R.ok], [R.exists])
        assert bal(engine, "w1") == Balances(credits_posted=700)
        assert count(engine, transfers) == 1
        assert_audit_ok(engine)
    finally:
        engine.dispose()


def test_the_same_account_opened_twice_at_once(pg_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(pg_url)
    try:

        def create(uow: UnitOfWork):  # type: ignore[no-untyped-def]
            return service.create_account(uow, ledger="CNY", code="customer_wallet", owner_id="u1", id="acc-1")

        (r1, a1), (r2, a2) = _race(engine, create, create)
        assert (r1, r2) == (AccountResult.ok, AccountResult.exists)
        assert a1 == a2
        assert count(engine, accounts) == seeded_accounts(engine) + 1
    finally:
        engine.dispose()


def test_concurrent_batches_on_shared_accounts_keep_the_books_balanced(db_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(db_url, pool_size=4)
    try:
        open_account(engine, "src", code="clearing")
        wallets = [f"w{i}" for i in range(4)]
        for w in wallets:
            open_account(engine, w, flags=A.debits_must_not_exceed_credits)
        assert submit(engine, *[xfer(f"fund-{w}", "src", w, 1_000) for w in wallets]) == [R.ok] * 4
        results: dict[str, list] = {}
        errors: list[BaseException] = []

        def worker(k: int) -> None:
            try:
                for j in range(15):
                    a, b = wallets[(k + j) % 4], wallets[(k + 2 * j + 1) % 4]
                    if a == b:
                        b = wallets[(wallets.index(a) + 1) % 4]
                    batch = [xfer(f"c{k}-{j}-x", a, b, 90), xfer(f"c{k}-{j}-y", b, a, 30, flags=F.pending)]
                    results[f"{k}-{j}"] = submit(engine, *batch)
            except BaseException as error:  # pragma: no cover
                errors.append(error)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert len(results) == 60
        total = sum(bal(engine, w).credits_posted - bal(engine, w).debits_posted for w in wallets)
        assert total == 4_000  # money only moved between the wallets
        for w in wallets:
            b = bal(engine, w)
            assert b.debits_pending + b.debits_posted <= b.credits_posted
        assert_audit_ok(engine)
    finally:
        engine.dispose()
