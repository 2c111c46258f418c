"""Stateful property test of the ledger service on SQLite and PostgreSQL.

A Hypothesis state machine opens accounts, submits single transfers, batches, two-phase holds
(with and without timeouts), posts (whole or part) and voids, linked chains (some built to fail),
replays earlier batches, closes and reopens accounts, moves the clock and expires holds. Beside the
database it keeps its own model of every account's balances and every transfer's state, and after
every step compares the two and runs `puhui.ledger.audit`.

All examples of one backend share one database (a fresh database per example would be too slow):
each example works under its own random id prefix, and the audit covers the whole database.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select

from puhui import clock as clock_module
from puhui.db import create_engine_from_url, reading, transaction
from puhui.ledger import service
from puhui.ledger.audit import SAMPLE, audit
from puhui.ledger.models import (
    AccountFlags,
    AccountResult,
    Balances,
    Transfer,
    TransferFlags,
    TransferResult,
)
from puhui.ledger.tables import accounts as accounts_table

R = TransferResult
F = TransferFlags
A = AccountFlags

MAX_TIMEOUT = 30  # seconds; teardown moves the clock past every hold's timeout
KINDS = {
    # kind: (account code, flags)
    "plain": ("clearing", A.NONE),
    "wallet": ("customer_wallet", A.debits_must_not_exceed_credits),
    "bank": ("reserve_bank", A.credits_must_not_exceed_debits),
}


# -- the model ----------------------------------------------------------------------------------


@dataclass
class MAccount:
    id: str
    ledger: str
    flags: AccountFlags
    closed: bool = False
    dp: int = 0  # debits pending
    dpo: int = 0  # debits posted
    cp: int = 0
    cpo: int = 0

    def balances(self) -> Balances:
        return Balances(self.dp, self.dpo, self.cp, self.cpo)


@dataclass
class MTransfer:
    request: Transfer
    debit: str
    credit: str
    amount: int
    ledger: str
    code: str
    pending: bool
    status: str | None = None  # pending | posted | voided | expired, for holds
    expires_at: int | None = None


@dataclass
class Model:
    accounts: dict[str, MAccount] = field(default_factory=dict)
    transfers: dict[str, MTransfer] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)  # transfer ids in ledger order

    # outcomes the model predicts for one transfer
    OK, EXISTS, DIFFERENT, FAIL = "ok", "exists", "exists_with_different", "fail"

    def overdue(self, now: int) -> list[MTransfer]:
        return [
            t
            for t in self.transfers.values()
            if t.status == "pending" and t.expires_at is not None and t.expires_at <= now
        ]

    def expire(self, t: MTransfer) -> None:
        self.accounts[t.debit].dp -= t.amount
        self.accounts[t.credit].cp -= t.amount
        t.status = "expired"

    def predict_batch(self, batch: list[Transfer], now: int) -> list[str]:
        """Apply `batch` to the model; return the expected outcome of each transfer."""
        # Holds that a batch names (as a transfer id or pending id) and that are past their timeout
        # are expired when the batch is applied, whatever happens to the batch itself.
        named = {t.id for t in batch} | {t.pending_id for t in batch if t.pending_id}
        for t in self.overdue(now):
            if t.request.id in named:
                self.expire(t)
        outcomes: list[str] = []
        start = 0
        while start < len(batch):
            end = start
            while end < len(batch) and F.linked in batch[end].flags:
                end += 1
            if end == len(batch):  # open chain: nothing of it applies
                outcomes += [R.linked_event_failed.value] * (len(batch) - start - 1) + [R.linked_event_chain_open.value]
                break
            saved = (copy.deepcopy(self.accounts), copy.deepcopy(self.transfers), list(self.created))
            chain: list[str] = []
            for t in batch[start : end + 1]:
                outcome = self.predict_one(t, now)
                chain.append(outcome)
                if outcome in (self.FAIL, self.DIFFERENT):
                    break
            if chain[-1] in (self.FAIL, self.DIFFERENT):
                self.accounts, self.transfers, self.created = saved
                failed_at = start + len(chain) - 1
                chain = [
                    chain[-1] if start + k == failed_at else R.linked_event_failed.value for k in range(end - start + 1)
                ]
            outcomes += chain
            start = end + 1
        return outcomes

    def predict_one(self, t: Transfer, now: int) -> str:
        existing = self.transfers.get(t.id)
        if existing is not None:
            return self.EXISTS if existing.request == t else self.DIFFERENT
        if t.flags & (F.post_pending | F.void_pending):
            return self._settle(t, now)
        return self._move(t, now)

    def _move(self, t: Transfer, now: int) -> str:
        pending = F.pending in t.flags
        d, c = self.accounts.get(t.debit_account_id), self.accounts.get(t.credit_account_id)
        if d is None or c is None or d is c:
            return self.FAIL
        if d.ledger != c.ledger or t.ledger != d.ledger or d.closed or c.closed:
            return self.FAIL
        if t.amount is None or t.amount <= 0 or (t.timeout_seconds and not pending):
            return self.FAIL
        amount = t.amount
        if A.debits_must_not_exceed_credits in d.flags and d.dp + d.dpo + amount > d.cpo:
            return self.FAIL
        if A.credits_must_not_exceed_debits in c.flags and c.cp + c.cpo + amount > c.dpo:
            return self.FAIL
        if pending:
            d.dp += amount
            c.cp += amount
        else:
            d.dpo += amount
            c.cpo += amount
        self.transfers[t.id] = MTransfer(
            t,
            d.id,
            c.id,
            amount,
            t.ledger,
            t.code,
            pending,
            status="pending" if pending else None,
            expires_at=now + t.timeout_seconds * 1_000_000 if pending and t.timeout_seconds else None,
        )
        self.created.append(t.id)
        return self.OK

    def _settle(self, t: Transfer, now: int) -> str:
        post = F.post_pending in t.flags
        p = self.transfers.get(t.pending_id or "")
        if p is None or not p.pending or p.status != "pending":
            return self.FAIL
        if p.expires_at is not None and p.expires_at <= now:
            return self.FAIL
        if (t.debit_account_id and t.debit_account_id != p.debit) or (
            t.credit_account_id and t.credit_account_id != p.credit
        ):
            return self.FAIL
        if (t.ledger and t.ledger != p.ledger) or (t.code and t.code != p.code):
            return self.FAIL
        amount = p.amount if t.amount is None else t.amount
        if post and not 0 < amount <= p.amount:
            return self.FAIL
        if not post and amount != p.amount:
            return self.FAIL
        d, c = self.accounts[p.debit], self.accounts[p.credit]
        if post and (d.closed or c.closed):
            return self.FAIL
        d.dp -= p.amount
        c.cp -= p.amount
        if post:
            d.dpo += amount
            c.cpo += amount
        p.status = "posted" if post else "voided"
        self.transfers[t.id] = MTransfer(t, p.debit, p.credit, amount, p.ledger, t.code or p.code, False)
        self.created.append(t.id)
        return self.OK


def matches(expected: str, actual: TransferResult) -> bool:
    if expected == Model.OK:
        return actual == R.ok
    if expected == Model.EXISTS:
        return actual == R.exists
    if expected == Model.DIFFERENT:
        return actual.value.startswith("exists_with_different_")
    if expected == Model.FAIL:
        return not actual.succeeded and actual not in (R.linked_event_failed, R.linked_event_chain_open)
    return actual.value == expected


# -- the state machine ----------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    engine: Engine  # set per backend by the test below
    clock: clock_module.ManualClock

    def __init__(self) -> None:
        super().__init__()
        self.prefix = uuid.uuid4().hex[:12]
        self.model = Model()
        self.counter = 0
        self.batches: list[tuple[list[Transfer], list[TransferResult]]] = []
        self.snapshots: dict[int, dict[str, Balances]] = {}
        self.inherited: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------------
    def next_id(self, kind: str) -> str:
        self.counter += 1
        return f"{self.prefix}-{kind}{self.counter}"

    def now(self) -> int:
        return clock_module.now_micros()

    def submit(self, batch: list[Transfer]) -> list[TransferResult]:
        now = self.now()
        expected = self.model.predict_batch(batch, now)
        results = transaction(self.engine, lambda uow: service.create_transfers(uow, batch))
        assert len(results) == len(batch)
        for t, e, r in zip(batch, expected, results):
            assert matches(e, r), f"{t}: model expected {e}, ledger said {r.value}\nbatch={batch}\nresults={results}"
        self.batches.append((batch, results))
        return results

    def db_balances(self) -> dict[str, Balances]:
        with reading(self.engine) as connection:
            rows = (
                connection.execute(select(accounts_table).where(accounts_table.c.owner_id == self.prefix))
                .mappings()
                .all()
            )
        return {row["id"]: service.account_from_row(row).balances for row in rows}

    def account_ids(self) -> list[str]:
        return list(self.model.accounts)

    def room(self, debit: str, credit: str) -> int | None:
        """How much more the balance rules of these accounts let move from debit to credit."""
        limits = []
        d, c = self.model.accounts.get(debit), self.model.accounts.get(credit)
        if d is not None and A.debits_must_not_exceed_credits in d.flags:
            limits.append(d.cpo - d.dp - d.dpo)
        if c is not None and A.credits_must_not_exceed_debits in c.flags:
            limits.append(c.dpo - c.cp - c.cpo)
        return min(limits) if limits else None

    def draw_transfer(self, data, *, flags: TransferFlags = F.NONE) -> Transfer:  # type: ignore[no-untyped-def]
        ids = self.account_ids()
        debit = data.draw(st.sampled_from(ids), label="debit")
        odd = data.draw(st.integers(0, 19), label="odd_account")
        if odd == 0:
            debit = f"{self.prefix}-ghost"
        credit_choices = [i for i in ids if i != debit] if odd > 1 else ids + [f"{self.prefix}-ghost"]
        credit = data.draw(st.sampled_from(credit_choices), label="credit")
        special = data.draw(st.integers(0, 12), label="special")
        amount = {0: 0, 1: 10**7}.get(special) if special <= 1 else data.draw(st.integers(1, 400), label="amount")
        room = self.room(debit, credit)
        if room is not None and room > 0 and special > 1:
            edge = data.draw(st.integers(0, 5), label="edge")
            if edge <= 1:  # right at a balance limit, or one past it
                amount = room + edge
        kind = data.draw(st.sampled_from(["posted", "posted", "pending", "pending_timeout"]), label="kind")
        timeout = data.draw(st.integers(1, MAX_TIMEOUT), label="timeout") if kind == "pending_timeout" else 0
        if special == 2:  # a timeout on a posted transfer is refused
            kind, timeout = "posted", 5
        account = self.model.accounts.get(debit)
        ledger = account.ledger if account else "CNY"
        if special == 3:
            ledger = "USD" if ledger == "CNY" else "CNY"
        if kind != "posted":
            flags |= F.pending
        return Transfer(
            id=self.next_id("t"),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            ledger=ledger,
            code="payment",
            flags=flags,
            timeout_seconds=timeout,
            user_data=data.draw(st.sampled_from([None, "order:1", "备注"]), label="user_data"),
        )

    def draw_settlement(self, data, *, flags: TransferFlags = F.NONE) -> Transfer:  # type: ignore[no-untyped-def]
        holds = [t.request.id for t in self.model.transfers.values() if t.pending]
        open_holds = [t.request.id for t in self.model.transfers.values() if t.status == "pending"]
        others = [t.request.id for t in self.model.transfers.values() if not t.pending][:3] + [f"{self.prefix}-nope"]
        pool = data.draw(st.sampled_from(["open"] * 6 + ["any"] * 2 + ["other"]), label="pool")
        choices = {"open": open_holds or holds or others, "any": holds or others, "other": others}[pool]
        pending_id = data.draw(st.sampled_from(choices), label="pending_id")
        hold = self.model.transfers.get(pending_id)
        what = data.draw(
            st.sampled_from(["post_all", "post_part", "post_exact", "void", "void_exact", "post_too_much", "bad_code"]),
            label="what",
        )
        amount: int | None = None
        full = hold.amount if hold else 100
        if what == "post_part":
            amount = data.draw(st.integers(1, full), label="part")
        elif what in ("post_exact", "void_exact"):
            amount = full
        elif what == "post_too_much":
            amount = full + 1
        kind = F.void_pending if what.startswith("void") else F.post_pending
        extra = {}
        if hold is not None and data.draw(st.booleans(), label="name_fields"):
            extra = dict(debit_account_id=hold.debit, credit_account_id=hold.credit, ledger=hold.ledger, code=hold.code)
        if what == "bad_code":
            extra["code"] = "other"
        return Transfer(id=self.next_id("s"), pending_id=pending_id, amount=amount, flags=kind | flags, **extra)

    # -- rules -------------------------------------------------------------------------------------
    @initialize()
    def open_base_accounts(self) -> None:
        # Examples share the database. Release whatever holds an earlier (failed) example left behind,
        # and note the audit findings it may have left, so that a failure replays the same way.
        self.clock.advance(seconds=MAX_TIMEOUT + 1)
        transaction(self.engine, service.expire_pending)
        with reading(self.engine) as connection:
            self.inherited = {v.check for v in audit(connection).violations}
        for kind in ("plain", "wallet", "bank"):
            self._open(kind, "CNY")
        plain, wallet, bank = self.account_ids()
        fund = [
            Transfer(self.next_id("t"), plain, wallet, 1_000, "CNY", "top_up"),
            Transfer(self.next_id("t"), bank, plain, 1_000, "CNY", "top_up"),
        ]
        assert self.submit(fund) == [R.ok, R.ok]

    def _open(self, kind: str, ledger: str) -> None:
        code, flags = KINDS[kind]
        account_id = self.next_id("a")
        result, account = transaction(
            self.engine,
            lambda uow: service.create_account(
                uow, ledger=ledger, code=code, owner_id=self.prefix, flags=flags, id=account_id
            ),
        )
        assert result == AccountResult.ok
        assert account.balances == Balances()
        self.model.accounts[account_id] = MAccount(account_id, ledger, flags)

    @precondition(lambda self: len(self.model.accounts) < 9)
    @rule(kind=st.sampled_from(sorted(KINDS)), ledger=st.sampled_from(["CNY", "CNY", "CNY", "USD"]))
    def open_account(self, kind: str, ledger: str) -> None:
        self._open(kind, ledger)

    @rule(data=st.data())
    def reopen_existing_account_is_exists(self, data) -> None:  # type: ignore[no-untyped-def]
        account = self.model.accounts[data.draw(st.sampled_from(self.account_ids()))]
        code = next(c for c, f in KINDS.values() if f == account.flags)
        result, _ = transaction(
            self.engine,
            lambda uow: service.create_account(
                uow, ledger=account.ledger, code=code, owner_id=self.prefix, flags=account.flags, id=account.id
            ),
        )
        assert result == AccountResult.exists

    @rule(data=st.data())
    def single_transfer(self, data) -> None:  # type: ignore[no-untyped-def]
        self.submit([self.draw_transfer(data)])

    @rule(data=st.data(), size=st.integers(2, 6), duplicate=st.booleans())
    def batch_of_transfers(self, data, size: int, duplicate: bool) -> None:  # type: ignore[no-untyped-def]
        batch = []
        for _ in range(size):
            if data.draw(st.integers(0, 3), label="settle?") == 0:
                batch.append(self.draw_settlement(data))
            else:
                batch.append(self.draw_transfer(data))
        if duplicate:  # the same transfer twice in one batch
            batch.append(batch[data.draw(st.integers(0, size - 1), label="dup")])
        self.submit(batch)

    @precondition(lambda self: any(t.pending for t in self.model.transfers.values()))
    @rule(data=st.data())
    def settle_a_hold(self, data) -> None:  # type: ignore[no-untyped-def]
        self.submit([self.draw_settlement(data)])

    @rule(data=st.data(), size=st.integers(2, 4), fail=st.sampled_from(["no", "no", "amount", "ghost", "open"]))
    def linked_chain(self, data, size: int, fail: str) -> None:  # type: ignore[no-untyped-def]
        chain = []
        for i in range(size):
            flags = F.linked if i < size - 1 or fail == "open" else F.NONE
            if self.model.transfers and data.draw(st.integers(0, 4), label="settle?") == 0:
                chain.append(self.draw_settlement(data, flags=flags))
            else:
                chain.append(self.draw_transfer(data, flags=flags))
        if fail in ("amount", "ghost"):
            at = data.draw(st.integers(0, size - 1), label="fail_at")
            bad = chain[at]
            if fail == "amount" or bad.flags & (F.post_pending | F.void_pending):
                chain[at] = Transfer(**{**_fields(bad), "amount": 0})
            else:
                chain[at] = Transfer(**{**_fields(bad), "credit_account_id": f"{self.prefix}-ghost"})
        results = self.submit(chain)
        if fail in ("amount", "ghost", "open"):
            assert not any(r == R.ok for r in results), results

    @precondition(lambda self: bool(self.batches))
    @rule(data=st.data())
    def replay_a_batch(self, data) -> None:  # type: ignore[no-untyped-def]
        """The transfers of an earlier batch that are in the ledger, sent again: all `exists`."""
        batch, results = self.batches[data.draw(st.integers(0, len(self.batches) - 1), label="which")]
        replay = [t for t, r in zip(batch, results) if r.succeeded]
        if not replay:
            return
        named = {t.id for t in replay} | {t.pending_id for t in replay if t.pending_id}
        expires = any(t.request.id in named for t in self.model.overdue(self.now()))
        before = self.db_balances()
        results = self.submit(replay)
        assert results == [R.exists] * len(replay)
        if not expires:  # nothing moves twice
            assert self.db_balances() == before

    @staticmethod
    def _plain_requests(model: Model) -> list[Transfer]:
        """Stored transfers sent on their own (not settlements, not chain members)."""
        return [
            t.request
            for t in model.transfers.values()
            if not t.request.flags & (F.post_pending | F.void_pending | F.linked)
        ]

    @precondition(lambda self: bool(self._plain_requests(self.model)))
    @rule(data=st.data())
    def replay_with_a_different_amount(self, data) -> None:  # type: ignore[no-untyped-def]
        candidates = self._plain_requests(self.model)
        original = data.draw(st.sampled_from(candidates))
        changed = Transfer(**{**_fields(original), "amount": original.amount + 1})  # type: ignore[operator]
        assert self.submit([changed]) == [R.exists_with_different_amount]

    @rule(data=st.data())
    def close_or_reopen(self, data) -> None:  # type: ignore[no-untyped-def]
        account = self.model.accounts[data.draw(st.sampled_from(self.account_ids()))]
        closed = not account.closed
        stored = transaction(self.engine, lambda uow: service.set_account_closed(uow, account.id, closed))
        assert stored.closed == closed
        account.closed = closed

    @rule(seconds=st.integers(1, 2 * MAX_TIMEOUT // 3))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule()
    def expire_holds(self) -> None:
        due = self.model.overdue(self.now())
        expired = transaction(self.engine, service.expire_pending)
        assert expired == len(due)
        for t in due:
            self.model.expire(t)

    # -- checks after every step ---------------------------------------------------------------
    @invariant()
    def database_matches_model_and_audit_passes(self) -> None:
        with reading(self.engine) as connection:
            rows = (
                connection.execute(select(accounts_table).where(accounts_table.c.owner_id == self.prefix))
                .mappings()
                .all()
            )
            report = audit(connection)
        stored = {row["id"]: service.account_from_row(row) for row in rows}
        assert set(stored) == set(self.model.accounts)
        for account_id, expected in self.model.accounts.items():
            account = stored[account_id]
            assert account.balances == expected.balances(), account_id
            assert account.closed == expected.closed
            assert account.flags & ~A.closed == expected.flags
        # the only tolerated finding: holds past their timeout that nobody expired yet
        overdue = self.model.overdue(self.now())
        found = {
            v.check for v in report.violations
        } - self.inherited  # inherited: empty unless an earlier example failed
        assert found == ({"no_overdue_pending"} if overdue else set()), report.violations
        if overdue:
            [violation] = [v for v in report.violations if v.check == "no_overdue_pending"]
            reported = {row["id"] for row in violation.rows}
            assert reported <= {t.request.id for t in overdue}
            assert len(reported) == min(len(overdue), SAMPLE)
        self.snapshots[self.now()] = {i: a.balances() for i, a in self.model.accounts.items()}

    def teardown(self) -> None:
        # history and balances as of past times, from the transfers alone
        with reading(self.engine) as connection:
            for account_id in self.model.accounts:
                history = [t.id for t in service.account_history(connection, account_id, limit=10_000)]
                expected = [
                    i
                    for i in self.model.created
                    if account_id in (self.model.transfers[i].debit, self.model.transfers[i].credit)
                ]
                assert history == expected, account_id
            times = sorted(self.snapshots)
            for at in times[:: max(1, len(times) // 4)] + times[-1:]:
                for account_id, expected_balances in self.snapshots[at].items():
                    assert service.balance_as_of(connection, account_id, at) == expected_balances, (account_id, at)
        # leave no hold with a timeout behind for the next example (they share the database)
        self.clock.advance(seconds=MAX_TIMEOUT + 1)
        self.expire_holds()
        self.database_matches_model_and_audit_passes()


def _fields(t: Transfer) -> dict:
    return {name: getattr(t, name) for name in Transfer.__slots__}  # type: ignore[attr-defined]


def test_ledger_state_machine(db_url: str, clock: clock_module.ManualClock) -> None:
    engine = create_engine_from_url(db_url)
    machine = type("Machine", (LedgerMachine,), {"engine": engine, "clock": clock})
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=50,
                stateful_step_count=40,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
            ),
        )
    finally:
        engine.dispose()
