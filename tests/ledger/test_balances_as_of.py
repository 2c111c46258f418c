"""Several accounts' balances as of a past moment (`ledger.queries.balances_as_of`, `available_as_of`), on
SQLite and PostgreSQL: what a package outside the ledger reads a day's close back with (securities'
日终资产 after a late clearing). At every moment of a history of plain transfers and holds posted, voided
and expired, each account's answer is the balances it had then (recorded as they happened), the
available balance is credits posted − debits posted − debits pending then, however many ids are asked at
once, and an account without transfers by then answers zero."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from puhui import clock as clock_module
from puhui.clock import ManualClock
from puhui.db import reading, transaction
from puhui.ledger import queries, service
from puhui.ledger.models import Balances, Transfer
from tests.ledger.test_ledger_service import (  # noqa: F401 - `funded` is a fixture
    F,
    R,
    assert_audit_ok,
    bal,
    funded,
    submit,
    xfer,
)

IDS = ("src", "w1", "w2")


def test_balances_as_of_many_accounts_at_past_moments(
    funded: Engine, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = funded
    history: list[tuple[int, dict[str, Balances]]] = []

    def record() -> None:
        history.append((clock_module.now_micros(), {i: bal(engine, i) for i in IDS}))

    record()
    steps: list[list[Transfer] | str] = [
        [xfer("h1", "w1", "w2", 1_000), xfer("h2", "w1", "w2", 2_000, flags=F.pending, timeout_seconds=5)],
        [xfer("h3", "w2", "w1", 700, flags=F.pending), xfer("h4", "src", "w2", 40)],
        [Transfer("h5", pending_id="h3", amount=300, flags=F.post_pending)],
        "expire",
        [xfer("h6", "w1", "w2", 60, flags=F.pending), Transfer("h7", pending_id="h6", flags=F.void_pending)],
    ]
    for step in steps:
        clock.advance(seconds=3)
        if isinstance(step, str):  # "expire": the hold left open past its timeout
            assert transaction(engine, service.expire_pending) == 1
        else:
            assert set(submit(engine, *step)) == {R.ok}
        record()
    monkeypatch.setattr(queries, "AS_OF_CHUNK", 2)  # the ids asked in more than one statement
    with reading(engine) as connection:
        for at, expected in history:
            answered = queries.balances_as_of(connection, [*IDS, "w1", "nobody"], at)
            assert answered == {**expected, "nobody": Balances()}, at
            available = queries.available_as_of(connection, IDS, at + 999_999)  # nothing moved in that second
            assert available == {
                i: b.credits_posted - b.debits_posted - b.debits_pending for i, b in expected.items()
            }, at
            assert {i: service.balance_as_of(connection, i, at) for i in IDS} == expected
        assert queries.balances_as_of(connection, IDS, history[0][0] - 10_000_000) == dict.fromkeys(IDS, Balances())
        now = {i: queries.available(connection, i) for i in IDS}
        assert queries.available_as_of(connection, IDS, clock_module.now_micros()) == now
        assert queries.balances_as_of(connection, [], history[-1][0]) == {}
    assert_audit_ok(engine)
