"""The batch rules of the ledger (`puhui.ledger.batch.apply_batch`), pure: no database, no clock.

Every reachable `TransferResult` has at least one case in `CASES` (or a dedicated test below);
`test_every_result_code_is_exercised` fails when a code is added to the enum without a test.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import pytest

from puhui.ledger.batch import apply_batch
from puhui.ledger.models import (
    AMOUNT_MAX,
    MAX_BATCH,
    TIMEOUT_MAX,
    USER_DATA_MAX_LENGTH,
    Account,
    AccountFlags,
    Balances,
    PendingStatus,
    StoredTransfer,
    Transfer,
    TransferFlags,
    TransferResult,
)

R = TransferResult
F = TransferFlags
A = AccountFlags

NOW = 1_767_576_600_000_000  # 2026-01-05 01:30 UTC in µs
SECOND = 1_000_000


# -- builders -------------------------------------------------------------------------------------


def acct(id: str, ledger: str = "CNY", flags: AccountFlags = A.NONE, **balances: int) -> Account:
    return Account(id=id, ledger=ledger, code="customer_wallet", owner_id=None, flags=flags, **balances)


def xfer(id: str, debit: str = "a", credit: str = "b", amount: int | None = 100, **kw) -> Transfer:  # type: ignore[no-untyped-def]
    kw.setdefault("ledger", "CNY")
    kw.setdefault("code", "payment")
    return Transfer(id=id, debit_account_id=debit, credit_account_id=credit, amount=amount, **kw)


def post(id: str, pending_id: str, amount: int | None = None, **kw) -> Transfer:  # type: ignore[no-untyped-def]
    return Transfer(id=id, pending_id=pending_id, amount=amount, flags=F.post_pending | kw.pop("flags", F.NONE), **kw)


def void(id: str, pending_id: str, amount: int | None = None, **kw) -> Transfer:  # type: ignore[no-untyped-def]
    return Transfer(id=id, pending_id=pending_id, amount=amount, flags=F.void_pending | kw.pop("flags", F.NONE), **kw)


def stored_from(t: Transfer, *, timestamp: int = NOW - 10 * SECOND, **kw) -> StoredTransfer:  # type: ignore[no-untyped-def]
    """The row a successful `t` would have left in the ledger (a plain or pending transfer)."""
    pending = F.pending in t.flags
    values = dict(
        id=t.id,
        debit_account_id=t.debit_account_id,
        credit_account_id=t.credit_account_id,
        amount=t.amount,
        ledger=t.ledger,
        code=t.code,
        flags=t.flags,
        pending_id=t.pending_id,
        timeout_seconds=t.timeout_seconds,
        user_data=t.user_data,
        timestamp=timestamp,
        status=PendingStatus.pending if pending else None,
        expires_at=timestamp + t.timeout_seconds * SECOND if pending and t.timeout_seconds else None,
    )
    values.update(kw)
    return StoredTransfer(**values)  # type: ignore[arg-type]


def hold(id: str = "p", debit: str = "a", credit: str = "b", amount: int = 100, timeout: int = 0, **kw):  # type: ignore[no-untyped-def]
    """A stored pending transfer and the accounts that carry its hold."""
    t = xfer(id, debit, credit, amount, flags=F.pending, timeout_seconds=timeout)
    return stored_from(t, **kw)


def accounts(*items: Account) -> dict[str, Account]:
    return {a.id: a for a in items}


def two(debit_flags: AccountFlags = A.NONE, credit_flags: AccountFlags = A.NONE, **kw) -> dict[str, Account]:  # type: ignore[no-untyped-def]
    return accounts(acct("a", flags=debit_flags, **kw.get("a", {})), acct("b", flags=credit_flags, **kw.get("b", {})))


def held(amount: int = 100) -> dict[str, Account]:
    """Accounts a (debit) and b (credit) carrying a pending hold of `amount`."""
    return accounts(acct("a", debits_pending=amount), acct("b", credits_pending=amount))


def balances(outcome_accounts: dict[str, Account], start: dict[str, Account], id: str) -> Balances:
    return (outcome_accounts.get(id) or start[id]).balances


# -- one table of single-code cases ----------------------------------------------------------------


@dataclass
class Case:
    name: str
    transfers: list[Transfer]
    accounts: dict[str, Account]
    expected: list[TransferResult]
    stored: dict[str, StoredTransfer] = field(default_factory=dict)
    now: int = NOW
    expired: list[str] = field(default_factory=list)  # overdue holds the batch expires on the way


def _stored(*rows: StoredTransfer) -> dict[str, StoredTransfer]:
    return {r.id: r for r in rows}


_PLAIN = xfer("t1", user_data="u")
_PENDING_T = xfer("t1", flags=F.pending, timeout_seconds=30)

CASES: list[Case] = [
    # success and idempotency
    Case("ok_posted", [xfer("t1")], two(), [R.ok]),
    Case("ok_pending", [xfer("t1", flags=F.pending, timeout_seconds=5)], two(), [R.ok]),
    Case("exists", [_PLAIN], two(), [R.exists], _stored(stored_from(_PLAIN))),
    Case("exists_pending_replay", [_PENDING_T], held(), [R.exists], _stored(stored_from(_PENDING_T))),
    Case(
        "exists_with_different_flags",
        [replace(_PLAIN, flags=F.pending)],
        two(),
        [R.exists_with_different_flags],
        _stored(stored_from(_PLAIN)),
    ),
    Case(
        "exists_with_different_pending_id",
        [replace(_PLAIN, pending_id="other")],
        two(),
        [R.exists_with_different_pending_id],
        _stored(stored_from(_PLAIN)),
    ),
    Case(
        "exists_with_different_timeout",
        [replace(_PENDING_T, timeout_seconds=31)],
        held(),
        [R.exists_with_different_timeout],
        _stored(stored_from(_PENDING_T)),
    ),
    Case(
        "exists_with_different_debit_account_id",
        [replace(_PLAIN, debit_account_id="c")],
        accounts(acct("a"), acct("b"), acct("c")),
        [R.exists_with_different_debit_account_id],
        _stored(stored_from(_PLAIN)),
    ),
    Case(
        "exists_with_different_credit_account_id",
        [replace(_PLAIN, credit_account_id="c")],
        accounts(acct("a"), acct("b"), acct("c")),
        [R.exists_with_different_credit_account_id],
        _stored(stored_from(_PLAIN)),
    ),
    Case(
        "exists_with_different_amount",
        [replace(_PLAIN, amount=101)],
        two(),
        [R.exists_with_different_amount],
        _stored(stored_from(_PLAIN)),
    ),
    Case(
        "exists_with_different_user_data",
        [replace(_PLAIN, user_data="v")],
        two(),
        [R.exists_with_different_user_data],
        _stored(stored_from(_PLAIN)),
    ),
    Case(
        "exists_with_different_ledger",
        [replace(_PLAIN, ledger="USD")],
        two(),
        [R.exists_with_different_ledger],
        _stored(stored_from(_PLAIN)),
    ),
    Case(
        "exists_with_different_code",
        [replace(_PLAIN, code="refund")],
        two(),
        [R.exists_with_different_code],
        _stored(stored_from(_PLAIN)),
    ),
    # validation of the request itself
    Case("id_must_not_be_empty", [xfer("")], two(), [R.id_must_not_be_empty]),
    Case("id_is_invalid_chars", [xfer("bad id!")], two(), [R.id_is_invalid]),
    Case("id_is_invalid_length", [xfer("x" * 65)], two(), [R.id_is_invalid]),
    Case("id_is_invalid_unicode", [xfer("转账1")], two(), [R.id_is_invalid]),
    Case(
        "flags_are_mutually_exclusive",
        [xfer("t1", flags=F.pending | F.post_pending)],
        two(),
        [R.flags_are_mutually_exclusive],
    ),
    Case(
        "flags_are_mutually_exclusive_post_void",
        [Transfer("t1", pending_id="p", flags=F.post_pending | F.void_pending)],
        held(),
        [R.flags_are_mutually_exclusive],
        _stored(hold()),
    ),
    Case("user_data_too_long", [xfer("t1", user_data="x" * (USER_DATA_MAX_LENGTH + 1))], two(), [R.user_data_too_long]),
    Case("debit_account_id_must_not_be_empty", [xfer("t1", debit="")], two(), [R.debit_account_id_must_not_be_empty]),
    Case(
        "credit_account_id_must_not_be_empty", [xfer("t1", credit="")], two(), [R.credit_account_id_must_not_be_empty]
    ),
    Case("accounts_must_be_different", [xfer("t1", "a", "a")], two(), [R.accounts_must_be_different]),
    Case("pending_id_must_be_empty", [xfer("t1", pending_id="p")], two(), [R.pending_id_must_be_empty]),
    Case("pending_id_must_not_be_empty", [post("t1", "")], held(), [R.pending_id_must_not_be_empty]),
    Case("pending_id_must_be_different", [post("t1", "t1")], held(), [R.pending_id_must_be_different]),
    Case(
        "timeout_reserved_for_pending_transfer",
        [xfer("t1", timeout_seconds=10)],
        two(),
        [R.timeout_reserved_for_pending_transfer],
    ),
    Case(
        "timeout_reserved_for_pending_transfer_post",
        [post("t1", "p", timeout_seconds=10)],
        held(),
        [R.timeout_reserved_for_pending_transfer],
        _stored(hold()),
    ),
    Case("amount_must_not_be_zero", [xfer("t1", amount=0)], two(), [R.amount_must_not_be_zero]),
    Case("amount_must_not_be_zero_none", [xfer("t1", amount=None)], two(), [R.amount_must_not_be_zero]),
    Case("amount_must_not_be_zero_post", [post("t1", "p", 0)], held(), [R.amount_must_not_be_zero], _stored(hold())),
    Case("amount_must_not_be_negative", [xfer("t1", amount=-1)], two(), [R.amount_must_not_be_negative]),
    Case(
        "amount_must_not_be_negative_pending",
        [xfer("t1", amount=-5, flags=F.pending)],
        two(),
        [R.amount_must_not_be_negative],
    ),
    Case(
        "amount_must_not_be_negative_post",
        [post("t1", "p", -1)],
        held(),
        [R.amount_must_not_be_negative],
        _stored(hold()),
    ),
    Case(
        "amount_must_not_be_negative_void",
        [void("t1", "p", -100)],
        held(),
        [R.amount_must_not_be_negative],
        _stored(hold()),
    ),
    Case("ledger_must_not_be_empty", [xfer("t1", ledger="")], two(), [R.ledger_must_not_be_empty]),
    Case("code_must_not_be_empty", [xfer("t1", code="")], two(), [R.code_must_not_be_empty]),
    # accounts
    Case("debit_account_not_found", [xfer("t1", "ghost", "b")], two(), [R.debit_account_not_found]),
    Case("credit_account_not_found", [xfer("t1", "a", "ghost")], two(), [R.credit_account_not_found]),
    Case(
        "debit_account_not_found_for_pending",
        [post("t1", "p")],
        accounts(acct("b", credits_pending=100)),
        [R.debit_account_not_found],
        _stored(hold()),
    ),
    Case(
        "credit_account_not_found_for_pending",
        [post("t1", "p")],
        accounts(acct("a", debits_pending=100)),
        [R.credit_account_not_found],
        _stored(hold()),
    ),
    Case(
        "accounts_must_have_the_same_ledger",
        [xfer("t1")],
        accounts(acct("a", "CNY"), acct("b", "USD")),
        [R.accounts_must_have_the_same_ledger],
    ),
    Case(
        "transfer_must_have_the_same_ledger_as_accounts",
        [xfer("t1", ledger="USD")],
        two(),
        [R.transfer_must_have_the_same_ledger_as_accounts],
    ),
    Case("debit_account_already_closed", [xfer("t1")], two(debit_flags=A.closed), [R.debit_account_already_closed]),
    Case("credit_account_already_closed", [xfer("t1")], two(credit_flags=A.closed), [R.credit_account_already_closed]),
    Case(
        "debit_account_already_closed_post",
        [post("t1", "p")],
        accounts(acct("a", flags=A.closed, debits_pending=100), acct("b", credits_pending=100)),
        [R.debit_account_already_closed],
        _stored(hold()),
    ),
    Case(
        "credit_account_already_closed_post",
        [post("t1", "p")],
        accounts(acct("a", debits_pending=100), acct("b", flags=A.closed, credits_pending=100)),
        [R.credit_account_already_closed],
        _stored(hold()),
    ),
    # balance rules
    Case(
        "exceeds_credits",
        [xfer("t1", amount=101)],
        two(debit_flags=A.debits_must_not_exceed_credits, a={"credits_posted": 100}),
        [R.exceeds_credits],
    ),
    Case(
        "exceeds_credits_counts_pending_debits",
        [xfer("t1", amount=41)],
        two(debit_flags=A.debits_must_not_exceed_credits, a={"credits_posted": 100, "debits_pending": 60}),
        [R.exceeds_credits],
    ),
    Case(
        "exceeds_credits_for_a_pending_transfer",
        [xfer("t1", amount=101, flags=F.pending)],
        two(debit_flags=A.debits_must_not_exceed_credits, a={"credits_posted": 100}),
        [R.exceeds_credits],
    ),
    Case(
        "exceeds_credits_ignores_pending_credits",
        [xfer("t1", amount=1)],
        two(debit_flags=A.debits_must_not_exceed_credits, a={"credits_pending": 100}),
        [R.exceeds_credits],
    ),
    Case(
        "within_credits_exactly",
        [xfer("t1", amount=100)],
        two(debit_flags=A.debits_must_not_exceed_credits, a={"credits_posted": 100}),
        [R.ok],
    ),
    Case(
        "exceeds_debits",
        [xfer("t1", amount=51)],
        two(credit_flags=A.credits_must_not_exceed_debits, b={"debits_posted": 50}),
        [R.exceeds_debits],
    ),
    Case(
        "exceeds_debits_pending",
        [xfer("t1", amount=51, flags=F.pending)],
        two(credit_flags=A.credits_must_not_exceed_debits, b={"debits_posted": 50}),
        [R.exceeds_debits],
    ),
    Case(
        "within_debits_exactly",
        [xfer("t1", amount=50)],
        two(credit_flags=A.credits_must_not_exceed_debits, b={"debits_posted": 50}),
        [R.ok],
    ),
    # overflows
    Case(
        "overflows_debits_pending",
        [xfer("t1", amount=2, flags=F.pending)],
        two(a={"debits_pending": AMOUNT_MAX - 1}, b={"credits_pending": 0}),
        [R.overflows_debits_pending],
    ),
    Case(
        "overflows_credits_pending",
        [xfer("t1", amount=2, flags=F.pending)],
        two(b={"credits_pending": AMOUNT_MAX - 1}),
        [R.overflows_credits_pending],
    ),
    Case(
        "overflows_debits_posted",
        [xfer("t1", amount=2)],
        two(a={"debits_posted": AMOUNT_MAX - 1}),
        [R.overflows_debits_posted],
    ),
    Case(
        "overflows_credits_posted",
        [xfer("t1", amount=2)],
        two(b={"credits_posted": AMOUNT_MAX - 1}),
        [R.overflows_credits_posted],
    ),
    Case(
        "overflows_debits_posted_by_huge_amount",
        [xfer("t1", amount=AMOUNT_MAX + 1)],
        two(),
        [R.overflows_debits_posted],
    ),
    # a hold that large would overflow the *pending* debits, and should say so
    Case(
        "overflows_debits_pending_by_huge_amount",
        [xfer("t1", amount=AMOUNT_MAX + 1, flags=F.pending)],
        two(),
        [R.overflows_debits_pending],
    ),
    Case("max_amount_fits", [xfer("t1", amount=AMOUNT_MAX)], two(), [R.ok]),
    Case(
        "overflows_debits_posted_on_post",
        [post("t1", "p")],
        accounts(acct("a", debits_pending=100, debits_posted=AMOUNT_MAX - 99), acct("b", credits_pending=100)),
        [R.overflows_debits_posted],
        _stored(hold()),
    ),
    Case(
        "overflows_credits_posted_on_post",
        [post("t1", "p")],
        accounts(acct("a", debits_pending=100), acct("b", credits_pending=100, credits_posted=AMOUNT_MAX - 99)),
        [R.overflows_credits_posted],
        _stored(hold()),
    ),
    Case(
        "overflows_timeout",
        [xfer("t1", flags=F.pending, timeout_seconds=TIMEOUT_MAX + 1)],
        two(),
        [R.overflows_timeout],
    ),
    Case("overflows_timeout_negative", [xfer("t1", flags=F.pending, timeout_seconds=-1)], two(), [R.overflows_timeout]),
    Case("max_timeout_fits", [xfer("t1", flags=F.pending, timeout_seconds=TIMEOUT_MAX)], two(), [R.ok]),
    # two-phase
    Case("pending_transfer_not_found", [post("t1", "nope")], two(), [R.pending_transfer_not_found]),
    Case(
        "pending_transfer_not_pending",
        [post("t1", "t0")],
        two(b={"credits_posted": 100}, a={"debits_posted": 100}),
        [R.pending_transfer_not_pending],
        _stored(stored_from(xfer("t0"))),
    ),
    Case(
        "pending_transfer_already_posted",
        [post("t2", "p")],
        two(),
        [R.pending_transfer_already_posted],
        _stored(hold(status=PendingStatus.posted, resolved_at=NOW - SECOND)),
    ),
    Case(
        "pending_transfer_already_voided",
        [void("t2", "p")],
        two(),
        [R.pending_transfer_already_voided],
        _stored(hold(status=PendingStatus.voided, resolved_at=NOW - SECOND)),
    ),
    Case(
        "pending_transfer_expired_status",
        [post("t2", "p")],
        two(),
        [R.pending_transfer_expired],
        _stored(hold(timeout=5, status=PendingStatus.expired, resolved_at=NOW - SECOND)),
    ),
    Case(
        "pending_transfer_expired_overdue",
        [post("t2", "p")],
        held(),
        [R.pending_transfer_expired],
        _stored(hold(timeout=10, timestamp=NOW - 10 * SECOND)),  # expires_at == now
        expired=["p"],
    ),
    Case(
        "pending_transfer_not_yet_expired",
        [post("t2", "p")],
        held(),
        [R.ok],
        _stored(hold(timeout=10, timestamp=NOW - 10 * SECOND + 1)),  # one µs to go
    ),
    Case(
        "pending_transfer_expired_void",
        [void("t2", "p")],
        held(),
        [R.pending_transfer_expired],
        _stored(hold(timeout=1)),
        expired=["p"],
    ),
    Case(
        "exceeds_pending_transfer_amount",
        [post("t1", "p", 101)],
        held(),
        [R.exceeds_pending_transfer_amount],
        _stored(hold()),
    ),
    Case(
        "pending_transfer_has_different_amount",
        [void("t1", "p", 99)],
        held(),
        [R.pending_transfer_has_different_amount],
        _stored(hold()),
    ),
    Case(
        "pending_transfer_has_different_debit_account_id",
        [post("t1", "p", debit_account_id="c")],
        held(),
        [R.pending_transfer_has_different_debit_account_id],
        _stored(hold()),
    ),
    Case(
        "pending_transfer_has_different_credit_account_id",
        [post("t1", "p", credit_account_id="c")],
        held(),
        [R.pending_transfer_has_different_credit_account_id],
        _stored(hold()),
    ),
    Case(
        "pending_transfer_has_different_ledger",
        [post("t1", "p", ledger="USD")],
        held(),
        [R.pending_transfer_has_different_ledger],
        _stored(hold()),
    ),
    Case(
        "pending_transfer_has_different_code",
        [post("t1", "p", code="refund")],
        held(),
        [R.pending_transfer_has_different_code],
        _stored(hold()),
    ),
    Case(
        "post_naming_the_same_fields_is_ok",
        [post("t1", "p", 100, debit_account_id="a", credit_account_id="b", ledger="CNY", code="payment")],
        held(),
        [R.ok],
        _stored(hold()),
    ),
    Case(
        "void_on_closed_accounts_is_ok",
        [void("t1", "p")],
        accounts(acct("a", flags=A.closed, debits_pending=100), acct("b", flags=A.closed, credits_pending=100)),
        [R.ok],
        _stored(hold()),
    ),
    Case("void_with_exact_amount_is_ok", [void("t1", "p", 100)], held(), [R.ok], _stored(hold())),
    # linked chains
    Case(
        "linked_event_failed",
        [xfer("t1", flags=F.linked), xfer("t2", "a", "ghost")],
        two(),
        [R.linked_event_failed, R.credit_account_not_found],
    ),
    Case(
        "linked_event_chain_open",
        [xfer("t1", flags=F.linked), xfer("t2", flags=F.linked)],
        two(),
        [R.linked_event_failed, R.linked_event_chain_open],
    ),
    Case(
        "linked_event_chain_open_single",
        [xfer("t1"), xfer("t2", flags=F.linked)],
        two(),
        [R.ok, R.linked_event_chain_open],
    ),
    Case(
        "linked_chain_ok",
        [xfer("t1", flags=F.linked), xfer("t2", "b", "a", 30, flags=F.linked), xfer("t3", amount=5)],
        two(),
        [R.ok, R.ok, R.ok],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_result_code(case: Case) -> None:
    accounts_before = copy.deepcopy(case.accounts)
    stored_before = copy.deepcopy(case.stored)
    outcome = apply_batch(case.transfers, case.accounts, case.stored, case.now)
    assert outcome.results == case.expected
    # apply_batch is pure: its inputs are untouched
    assert case.accounts == accounts_before
    assert case.stored == stored_before
    assert [t.id for t in outcome.expired] == case.expired
    if case.expired:
        assert outcome.resolved == {i: (PendingStatus.expired, case.now) for i in case.expired}
        assert outcome.accounts["a"].debits_pending == 0 and outcome.accounts["b"].credits_pending == 0
    if not any(r == R.ok for r in case.expected):
        # a rejected (or already applied) transfer moves nothing and records nothing
        assert outcome.created == []
        if not case.expired:
            assert outcome.resolved == {}
            for account in outcome.accounts.values():
                assert account == case.accounts[account.id]
    else:
        # the accepted ones are written, with this batch's timestamp
        created_ids = [t.id for t in outcome.created]
        ok_ids = [t.id for t, r in zip(case.transfers, outcome.results) if r == R.ok]
        assert created_ids == ok_ids
        assert all(t.timestamp == case.now for t in outcome.created)


def test_every_result_code_is_exercised() -> None:
    covered = {r for case in CASES for r in case.expected}
    # codes exercised by the dedicated tests below rather than by the table
    covered |= {R.ok, R.exists}
    assert set(TransferResult) - covered == set()


# -- balances ------------------------------------------------------------------------------------


def test_posted_transfer_moves_posted_balances_and_records_the_row() -> None:
    start = two(a={"credits_posted": 500})
    t = xfer("t1", amount=120, user_data="order:1")
    outcome = apply_batch([t], start, {}, NOW)
    assert outcome.results == [R.ok]
    assert outcome.accounts["a"].balances == Balances(0, 120, 0, 500)
    assert outcome.accounts["b"].balances == Balances(0, 0, 0, 120)
    [row] = outcome.created
    assert (row.id, row.debit_account_id, row.credit_account_id, row.amount, row.ledger, row.code) == (
        "t1",
        "a",
        "b",
        120,
        "CNY",
        "payment",
    )
    assert row.status is None and row.expires_at is None and row.pending_id is None
    assert row.user_data == "order:1" and row.timestamp == NOW


def test_pending_transfer_reserves_and_records_expiry() -> None:
    outcome = apply_batch([xfer("p", amount=70, flags=F.pending, timeout_seconds=30)], two(), {}, NOW)
    assert outcome.results == [R.ok]
    assert outcome.accounts["a"].balances == Balances(debits_pending=70)
    assert outcome.accounts["b"].balances == Balances(credits_pending=70)
    [row] = outcome.created
    assert row.status == PendingStatus.pending
    assert row.expires_at == NOW + 30 * SECOND
    no_timeout = apply_batch([xfer("q", flags=F.pending)], two(), {}, NOW).created[0]
    assert no_timeout.expires_at is None and no_timeout.status == PendingStatus.pending


def test_partial_post_releases_the_rest_of_the_hold() -> None:
    start = held(100)
    outcome = apply_batch([post("t1", "p", 30)], start, _stored(hold(amount=100)), NOW)
    assert outcome.results == [R.ok]
    assert outcome.accounts["a"].balances == Balances(debits_pending=0, debits_posted=30)
    assert outcome.accounts["b"].balances == Balances(credits_pending=0, credits_posted=30)
    assert outcome.resolved == {"p": (PendingStatus.posted, NOW)}
    [row] = outcome.created
    # accounts, ledger and code come from the hold; the amount is what was posted
    assert (row.debit_account_id, row.credit_account_id, row.amount, row.ledger, row.code, row.pending_id) == (
        "a",
        "b",
        30,
        "CNY",
        "payment",
        "p",
    )
    assert row.flags == F.post_pending and row.status is None


def test_post_without_amount_posts_the_whole_hold() -> None:
    outcome = apply_batch([post("t1", "p")], held(100), _stored(hold(amount=100)), NOW)
    assert outcome.results == [R.ok]
    assert outcome.accounts["a"].balances == Balances(debits_posted=100)
    assert outcome.accounts["b"].balances == Balances(credits_posted=100)
    assert outcome.created[0].amount == 100


def test_void_releases_the_whole_hold() -> None:
    start = accounts(acct("a", debits_pending=100, debits_posted=7), acct("b", credits_pending=100, credits_posted=7))
    outcome = apply_batch([void("t1", "p")], start, _stored(hold(amount=100)), NOW)
    assert outcome.results == [R.ok]
    assert outcome.accounts["a"].balances == Balances(debits_posted=7)
    assert outcome.accounts["b"].balances == Balances(credits_posted=7)
    assert outcome.resolved == {"p": (PendingStatus.voided, NOW)}
    assert outcome.created[0].amount == 100 and outcome.created[0].flags == F.void_pending


def test_only_one_settlement_per_hold_within_a_batch() -> None:
    outcome = apply_batch(
        [post("t1", "p", 40), post("t2", "p", 10), void("t3", "p")], held(100), _stored(hold(amount=100)), NOW
    )
    assert outcome.results == [R.ok, R.pending_transfer_already_posted, R.pending_transfer_already_posted]
    assert outcome.accounts["a"].balances == Balances(debits_posted=40)


def test_a_hold_created_and_settled_in_the_same_batch() -> None:
    outcome = apply_batch(
        [
            xfer("p", amount=100, flags=F.pending),
            post("t1", "p", 60),
            xfer("q", amount=5, flags=F.pending),
            void("t2", "q"),
        ],
        two(),
        {},
        NOW,
    )
    assert outcome.results == [R.ok] * 4
    assert outcome.accounts["a"].balances == Balances(debits_posted=60)
    assert outcome.accounts["b"].balances == Balances(credits_posted=60)
    by_id = {t.id: t for t in outcome.created}
    assert [t.id for t in outcome.created] == ["p", "t1", "q", "t2"]
    assert by_id["p"].status == PendingStatus.posted and by_id["p"].resolved_at == NOW
    assert by_id["q"].status == PendingStatus.voided
    assert outcome.resolved == {}  # only holds stored before the batch are "resolved"


def test_overdue_hold_named_by_a_batch_is_expired_and_released() -> None:
    overdue = hold(amount=100, timeout=5, timestamp=NOW - 6 * SECOND)
    start = accounts(acct("a", debits_pending=100), acct("b", credits_pending=100), acct("c"))
    # the batch names the hold only as a (failing) post; the expiry is still recorded
    outcome = apply_batch([post("t1", "p"), xfer("t2", "c", "a", 1)], start, _stored(overdue), NOW)
    assert outcome.results == [R.pending_transfer_expired, R.ok]
    assert [t.id for t in outcome.expired] == ["p"]
    assert outcome.resolved == {"p": (PendingStatus.expired, NOW)}
    assert outcome.accounts["a"].balances == Balances(credits_posted=1)
    assert outcome.accounts["b"].balances == Balances()


def test_expired_hold_frees_room_under_a_balance_rule() -> None:
    overdue = hold(amount=100, timeout=5, timestamp=NOW - 60 * SECOND)
    start = accounts(
        acct("a", flags=A.debits_must_not_exceed_credits, debits_pending=100, credits_posted=100),
        acct("b", credits_pending=100),
    )
    outcome = apply_batch(
        [xfer("p", flags=F.pending, timeout_seconds=5), xfer("t2", amount=100)], start, _stored(overdue), NOW
    )
    assert outcome.results == [R.exists, R.ok]
    assert outcome.accounts["a"].balances == Balances(debits_posted=100, credits_posted=100)


def test_posting_less_than_a_hold_never_breaks_a_balance_rule() -> None:
    start = accounts(
        acct("a", flags=A.debits_must_not_exceed_credits, debits_pending=100, credits_posted=100),
        acct("b", flags=A.NONE, credits_pending=100),
    )
    outcome = apply_batch([post("t1", "p", 1)], start, _stored(hold()), NOW)
    assert outcome.results == [R.ok]
    assert outcome.accounts["a"].balances == Balances(debits_posted=1, credits_posted=100)


# -- linked chains --------------------------------------------------------------------------------


def test_failed_linked_chain_leaves_balances_exactly_as_before() -> None:
    start = accounts(
        acct("a", credits_posted=1000, debits_posted=10),
        acct("b", flags=A.debits_must_not_exceed_credits, credits_posted=50),
        acct("c", debits_pending=100),
        acct("d", credits_pending=100),
    )
    pending = hold("p", "c", "d", 100)
    chain = [
        xfer("t1", "a", "b", 100, flags=F.linked),
        xfer("t2", "a", "b", 10, flags=F.linked | F.pending, timeout_seconds=60),
        post("t3", "p", 40, flags=F.linked),
        xfer("t4", "b", "a", 151, flags=F.linked),  # after t1, b has 150 of credits: exceeds_credits
        xfer("t5", "a", "b", 1),
    ]
    outcome = apply_batch(chain, start, _stored(pending), NOW)
    assert outcome.results == [
        R.linked_event_failed,
        R.linked_event_failed,
        R.linked_event_failed,
        R.exceeds_credits,
        R.linked_event_failed,
    ]
    assert outcome.created == []
    assert outcome.resolved == {}
    for id, account in start.items():
        assert balances(outcome.accounts, start, id) == account.balances


def test_chain_failure_is_contained_to_its_chain() -> None:
    start = two(a={"credits_posted": 0})
    batch = [
        xfer("t1", amount=1),  # alone: ok
        xfer("t2", amount=2, flags=F.linked),
        xfer("t3", "a", "ghost", 3),  # fails the chain t2..t3
        xfer("t4", amount=4, flags=F.linked),
        xfer("t5", "b", "a", 5),  # chain t4..t5 is ok
    ]
    outcome = apply_batch(batch, start, {}, NOW)
    assert outcome.results == [R.ok, R.linked_event_failed, R.credit_account_not_found, R.ok, R.ok]
    assert [t.id for t in outcome.created] == ["t1", "t4", "t5"]
    assert outcome.accounts["a"].balances == Balances(debits_posted=5, credits_posted=5)
    assert outcome.accounts["b"].balances == Balances(debits_posted=5, credits_posted=5)


def test_failed_chain_releases_the_id_of_its_members() -> None:
    outcome = apply_batch([xfer("t1", flags=F.linked), xfer("t2", "a", "ghost"), xfer("t1")], two(), {}, NOW)
    assert outcome.results == [R.linked_event_failed, R.credit_account_not_found, R.ok]
    assert [t.id for t in outcome.created] == ["t1"]


def test_failed_chain_undoes_a_settlement_of_a_hold() -> None:
    start = held(100)
    outcome = apply_batch(
        [void("t1", "p", flags=F.linked), xfer("t2", amount=0), post("t3", "p")],
        start,
        _stored(hold()),
        NOW,
    )
    # the void was rolled back with its chain, so the later post finds the hold still pending
    assert outcome.results == [R.linked_event_failed, R.amount_must_not_be_zero, R.ok]
    assert outcome.resolved == {"p": (PendingStatus.posted, NOW)}
    assert outcome.accounts["a"].balances == Balances(debits_posted=100)


def test_chain_open_applies_nothing_of_the_open_chain() -> None:
    outcome = apply_batch([xfer("t1"), xfer("t2", flags=F.linked), xfer("t3", flags=F.linked)], two(), {}, NOW)
    assert outcome.results == [R.ok, R.linked_event_failed, R.linked_event_chain_open]
    assert [t.id for t in outcome.created] == ["t1"]
    assert outcome.accounts["a"].balances == Balances(debits_posted=100)


def test_replayed_chain_returns_exists_for_every_member_and_moves_nothing() -> None:
    start = two(a={"credits_posted": 1000})
    chain = [
        xfer("t1", amount=10, flags=F.linked),
        xfer("p", amount=20, flags=F.linked | F.pending, timeout_seconds=60),
        post("t2", "p", 15, flags=F.linked),
        xfer("t3", "b", "a", 7),
    ]
    first = apply_batch(chain, start, {}, NOW)
    assert first.results == [R.ok] * 4
    after = {**start, **first.accounts}
    stored = {t.id: replace(t, seq=i) for i, t in enumerate(first.created, 1)}
    replay = apply_batch(chain, after, stored, NOW + SECOND)
    assert replay.results == [R.exists] * 4
    assert replay.created == [] and replay.resolved == {}
    for id, account in after.items():
        assert balances(replay.accounts, after, id) == account.balances


def test_replayed_chain_with_one_changed_member_fails_whole() -> None:
    start = two()
    chain = [xfer("t1", amount=10, flags=F.linked), xfer("t2", amount=20)]
    first = apply_batch(chain, start, {}, NOW)
    after = {**start, **first.accounts}
    stored = {t.id: t for t in first.created}
    changed = [chain[0], replace(chain[1], amount=21)]
    outcome = apply_batch(changed, after, stored, NOW)
    assert outcome.results == [R.linked_event_failed, R.exists_with_different_amount]
    assert outcome.created == []


def test_replayed_post_without_amount_is_exists_and_with_other_amount_is_not() -> None:
    first = apply_batch([post("t1", "p")], held(100), _stored(hold(amount=100)), NOW)
    after = {**held(100), **first.accounts}
    stored = {
        **_stored(hold(amount=100, status=PendingStatus.posted, resolved_at=NOW)),
        **{t.id: t for t in first.created},
    }
    assert apply_batch([post("t1", "p")], after, stored, NOW).results == [R.exists]
    assert apply_batch([post("t1", "p", 100)], after, stored, NOW).results == [R.exists]
    assert apply_batch([post("t1", "p", 99)], after, stored, NOW).results == [R.exists_with_different_amount]
    assert apply_batch([void("t1", "p")], after, stored, NOW).results == [R.exists_with_different_flags]
    assert apply_batch([post("t1", "q")], after, stored, NOW).results == [R.exists_with_different_pending_id]


# -- duplicates inside one batch --------------------------------------------------------------------


def test_duplicate_id_in_one_batch_moves_money_once() -> None:
    t = xfer("t1", amount=25)
    outcome = apply_batch([t, t, replace(t, amount=26)], two(), {}, NOW)
    assert outcome.results == [R.ok, R.exists, R.exists_with_different_amount]
    assert [c.id for c in outcome.created] == ["t1"]
    assert outcome.accounts["a"].balances == Balances(debits_posted=25)
    assert outcome.accounts["b"].balances == Balances(credits_posted=25)


def test_failed_transfer_does_not_take_its_id() -> None:
    start = two(debit_flags=A.debits_must_not_exceed_credits, a={"credits_posted": 10})
    outcome = apply_batch([xfer("t1", amount=11), xfer("t1", amount=10)], start, {}, NOW)
    assert outcome.results == [R.exceeds_credits, R.ok]
    assert outcome.created[0].amount == 10


def test_transfers_in_a_batch_see_earlier_ones() -> None:
    start = accounts(acct("a"), acct("w", flags=A.debits_must_not_exceed_credits), acct("m"))
    batch = [xfer("t1", "w", "m", 50), xfer("t2", "a", "w", 80), xfer("t3", "w", "m", 80), xfer("t4", "w", "m", 1)]
    outcome = apply_batch(batch, start, {}, NOW)
    assert outcome.results == [R.exceeds_credits, R.ok, R.ok, R.exceeds_credits]
    assert outcome.accounts["w"].balances == Balances(debits_posted=80, credits_posted=80)


# -- amounts must be positive ------------------------------------------------------------------------


def test_negative_amount_is_rejected_and_moves_nothing() -> None:
    """The design says amount > 0. A negative amount would move money backwards and slip past the
    credit account's `debits_must_not_exceed_credits` rule (only checked on the debit side)."""
    start = accounts(acct("a"), acct("w", flags=A.debits_must_not_exceed_credits))
    outcome = apply_batch([xfer("t1", "a", "w", -100)], start, {}, NOW)
    assert not outcome.results[0].succeeded, outcome.results
    assert outcome.created == []
    for id, account in start.items():
        assert balances(outcome.accounts, start, id) == account.balances


def test_negative_post_amount_is_rejected_and_moves_nothing() -> None:
    start = held(100)
    outcome = apply_batch([post("t1", "p", -50)], start, _stored(hold()), NOW)
    assert not outcome.results[0].succeeded, outcome.results
    assert outcome.created == []
    assert outcome.resolved == {}


# -- misc --------------------------------------------------------------------------------------------


def test_empty_batch() -> None:
    outcome = apply_batch([], two(), {}, NOW)
    assert outcome.results == [] and outcome.created == [] and outcome.accounts == {}


def test_large_batch_keeps_every_result_in_order() -> None:
    start = two(debit_flags=A.debits_must_not_exceed_credits, a={"credits_posted": MAX_BATCH // 2})
    batch = [xfer(f"t{i}", amount=1) for i in range(MAX_BATCH)]
    outcome = apply_batch(batch, start, {}, NOW)
    half = MAX_BATCH // 2
    assert outcome.results == [R.ok] * half + [R.exceeds_credits] * (MAX_BATCH - half)
    assert len(outcome.created) == half
    assert outcome.accounts["a"].balances == Balances(debits_posted=half, credits_posted=half)
