"""An owner's unsettled accounts (`ledger.queries.unsettled_accounts_of`), on SQLite and PostgreSQL: what
closing a customer (注销) reads to refuse while anything is still held. An account with a posted balance
or a hold pending on either side is listed, with its ledger's scale; one moved back to zero with no holds
left is not; another owner's accounts never are."""

from __future__ import annotations

from sqlalchemy import Engine

from puhui.db import reading
from puhui.ledger import queries
from puhui.ledger.models import Transfer
from tests.ledger.test_ledger_service import F, R, funded, open_account, submit, xfer  # noqa: F401 - `funded` is a fixture


def unsettled(engine: Engine, owner: str) -> dict[str, queries.OwnedAccount]:
    with reading(engine) as connection:
        return {a.id: a for a in queries.unsettled_accounts_of(connection, owner)}


def test_posted_balances_and_holds_on_either_side_are_unsettled(funded: Engine) -> None:
    engine = funded
    open_account(engine, "w3", owner_id="alice")
    found = unsettled(engine, "alice")
    assert list(found) == ["w1"]  # w3 has nothing yet
    w1 = found["w1"]
    assert (w1.ledger, w1.scale, w1.net_credit, w1.pending) == ("CNY", 2, 10_000, 0)
    assert unsettled(engine, "nobody") == {}

    assert submit(engine, xfer("out", "w1", "w2", 10_000)) == [R.ok]  # alice's wallet back to zero
    assert unsettled(engine, "alice") == {}
    assert unsettled(engine, "bob")["w2"].net_credit == 10_000

    assert submit(engine, xfer("hold", "src", "w3", 500, flags=F.pending)) == [R.ok]  # credits pending only
    w3 = unsettled(engine, "alice")["w3"]
    assert (w3.net_credit, w3.credits_pending, w3.pending) == (0, 500, 500)

    assert submit(engine, Transfer("void", pending_id="hold", flags=F.void_pending)) == [R.ok]
    assert unsettled(engine, "alice") == {}

    assert submit(engine, xfer("owed", "w3", "src", 1)) == [R.ok]  # a debit balance (owed) is unsettled too
    assert unsettled(engine, "alice")["w3"].net_credit == -1
