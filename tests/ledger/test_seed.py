"""Bulk loads for fixtures and benchmarks (`puhui.ledger.seed`): opening balances derived from the
opening transfers, refused whole when a row breaks a ledger rule, and scratch copies of the
ledger's tables for plain-SQL baselines."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text

from puhui.db import reading
from puhui.errors import InvalidInput
from puhui.ledger import service
from puhui.ledger.audit import audit
from puhui.ledger.errors import OpeningLoadRefused
from puhui.ledger.models import AccountFlags
from puhui.ledger.seed import (
    OpeningAccount,
    OpeningTransfer,
    SelectRows,
    create_scratch_copy,
    drop_scratch_copy,
    load_opening_balances,
)

RESERVE = "platform.reserve_bank.CNY"  # opened by the migrations
WALLET = int(AccountFlags.debits_must_not_exceed_credits)

pytestmark = pytest.mark.usefixtures("clock")


def wallets(n: int, flags: int = WALLET) -> list[OpeningAccount]:
    return [OpeningAccount(f"seed.w{i}", "CNY", "customer_wallet", f"seed.c{i}", flags) for i in range(n)]


def topups(n: int, amount: int = 1_000) -> list[OpeningTransfer]:
    return [OpeningTransfer(f"seed.t{i}", RESERVE, f"seed.w{i}", amount * (i + 1), "CNY", "topup") for i in range(n)]


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        accounts = connection.execute(text("SELECT count(*) FROM accounts")).scalar_one()
        transfers = connection.execute(text("SELECT count(*) FROM transfers")).scalar_one()
    return int(accounts), int(transfers)


def balances(engine: Engine, account_id: str) -> tuple[int, int]:
    with engine.connect() as connection:
        account = service.get_account(connection, account_id)
    assert account is not None, account_id
    return account.debits_posted, account.credits_posted


def test_balances_come_from_the_opening_transfers_and_the_audit_holds(engine: Engine) -> None:
    reserve_before = balances(engine, RESERVE)
    with engine.begin() as connection:
        loaded = load_opening_balances(connection, iter(wallets(50)), (t for t in topups(50)))
    total = sum(1_000 * (i + 1) for i in range(50))
    assert (loaded.accounts, loaded.transfers, loaded.amount) == (50, 50, total)
    assert balances(engine, "seed.w0") == (0, 1_000)
    assert balances(engine, "seed.w49") == (0, 50_000)
    assert balances(engine, RESERVE) == (reserve_before[0] + total, reserve_before[1])
    with engine.connect() as connection:
        account = service.get_account(connection, "seed.w7")
    assert account is not None and account.flags == AccountFlags.debits_must_not_exceed_credits
    assert account.owner_id == "seed.c7"
    with reading(engine) as connection:
        assert audit(connection).ok


def test_accounts_alone_and_transfers_between_existing_accounts_load(engine: Engine) -> None:
    with engine.begin() as connection:
        assert load_opening_balances(connection, wallets(3), []).transfers == 0
    with engine.begin() as connection:
        loaded = load_opening_balances(
            connection, [], [OpeningTransfer("seed.x", RESERVE, "seed.w2", 5, "CNY", "topup")]
        )
    assert (loaded.accounts, loaded.transfers) == (0, 1)
    assert balances(engine, "seed.w2") == (0, 5)
    with reading(engine) as connection:
        assert audit(connection).ok


SERIES = "WITH RECURSIVE s(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < :n) "


def test_rows_made_by_a_select_load_the_same_way(engine: Engine) -> None:
    """A series made in the database (no row crosses the driver): wallet i gets i × 10 fen."""
    accounts = SelectRows(SERIES + "SELECT 'seed.s' || i, 'CNY', 'customer_wallet', 'seed.c' || i, 1 FROM s", {"n": 40})
    transfers = SelectRows(
        SERIES + "SELECT 'seed.st' || i, CAST(:reserve AS VARCHAR(64)), 'seed.s' || i, i * 10, 'CNY', 'topup' FROM s",
        {"n": 40, "reserve": RESERVE},
    )
    with engine.begin() as connection:
        loaded = load_opening_balances(connection, accounts, transfers)
    assert (loaded.accounts, loaded.transfers, loaded.amount) == (40, 40, 10 * 40 * 41 // 2)
    assert balances(engine, "seed.s40") == (0, 400)
    with reading(engine) as connection:
        assert audit(connection).ok


BROKEN = {
    "unknown account": OpeningTransfer("seed.bad", RESERVE, "seed.nobody", 10, "CNY", "topup"),
    "other ledger": OpeningTransfer("seed.bad", RESERVE, "seed.w0", 10, "FUND:PH0001", "topup"),
    "amount not positive": OpeningTransfer("seed.bad", RESERVE, "seed.w0", 0, "CNY", "topup"),
    "debit is credit": OpeningTransfer("seed.bad", "seed.w0", "seed.w0", 10, "CNY", "topup"),
    "overdraws a wallet": OpeningTransfer("seed.bad", "seed.w0", "seed.w1", 10**9, "CNY", "p2p_transfer"),
    "id already used": OpeningTransfer("seed.t0", RESERVE, "seed.w1", 10, "CNY", "topup"),
}


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_a_transfer_that_breaks_a_rule_refuses_the_whole_load(engine: Engine, broken: OpeningTransfer) -> None:
    with engine.begin() as connection:
        load_opening_balances(connection, wallets(2), topups(2))
    before = counts(engine), balances(engine, RESERVE), balances(engine, "seed.w0")
    with pytest.raises(OpeningLoadRefused) as refused, engine.begin() as connection:
        load_opening_balances(
            connection,
            [OpeningAccount("seed.new", "CNY", "customer_wallet")],
            [OpeningTransfer("seed.ok", RESERVE, "seed.new", 10, "CNY", "topup"), broken],
        )
    assert refused.value.code == "opening_load_refused" and refused.value.status == 422
    assert (counts(engine), balances(engine, RESERVE), balances(engine, "seed.w0")) == before
    with reading(engine) as connection:
        assert audit(connection).ok


def test_a_closed_account_takes_no_opening_transfer(engine: Engine) -> None:
    closed = int(AccountFlags.closed)
    before = counts(engine)
    with pytest.raises(OpeningLoadRefused), engine.begin() as connection:
        load_opening_balances(connection, wallets(1, flags=closed), topups(1))
    assert counts(engine) == before


@pytest.mark.parametrize(
    "account",
    [
        OpeningAccount(RESERVE, "CNY", "customer_wallet"),  # id already used
        OpeningAccount("seed.a", "XYZ", "customer_wallet"),  # unknown ledger
        OpeningAccount("seed.a", "CNY", "no_such_code"),  # unknown account code
    ],
    ids=["id used", "unknown ledger", "unknown code"],
)
def test_an_account_the_ledger_cannot_open_refuses_the_load(engine: Engine, account: OpeningAccount) -> None:
    before = counts(engine)
    with pytest.raises(OpeningLoadRefused), engine.begin() as connection:
        load_opening_balances(connection, [*wallets(2), account], topups(2))
    assert counts(engine) == before


def test_a_scratch_copy_has_the_ledgers_shape_and_rows_and_leaves_the_ledger_alone(engine: Engine) -> None:
    with engine.begin() as connection:
        load_opening_balances(connection, wallets(3), topups(3))
    before = counts(engine)
    with engine.begin() as connection:
        scratch = create_scratch_copy(connection, "bench_")
        assert (scratch.accounts.name, scratch.transfers.name) == ("bench_accounts", "bench_transfers")
        connection.execute(scratch.transfers.insert(), [{**row, "id": "scratch.1"} for row in _a_transfer(connection)])
        connection.execute(scratch.accounts.update().values(credits_posted=scratch.accounts.c.credits_posted + 1))
    schema = inspect(engine)
    for name in ("accounts", "transfers"):
        original, copy = schema.get_columns(name), schema.get_columns(f"bench_{name}")
        assert [(c["name"], str(c["type"]), c["nullable"]) for c in original] == [
            (c["name"], str(c["type"]), c["nullable"]) for c in copy
        ]
        assert (
            schema.get_pk_constraint(name)["constrained_columns"]
            == schema.get_pk_constraint(f"bench_{name}")["constrained_columns"]
        )
        assert sorted(i["column_names"] for i in schema.get_indexes(name)) == sorted(
            i["column_names"] for i in schema.get_indexes(f"bench_{name}")
        )
    assert len(schema.get_unique_constraints("bench_transfers")) == len(schema.get_unique_constraints("transfers"))
    with engine.connect() as connection:
        copied = connection.execute(text("SELECT count(*) FROM bench_accounts")).scalar_one()
        copied_transfers = connection.execute(text("SELECT count(*) FROM bench_transfers")).scalar_one()
    assert (copied, copied_transfers) == (before[0], before[1] + 1)
    assert counts(engine) == before  # the ledger saw none of it
    with reading(engine) as connection:
        assert audit(connection).ok
    with engine.begin() as connection:
        drop_scratch_copy(connection, scratch)
    assert not {"bench_accounts", "bench_transfers"} & set(inspect(engine).get_table_names())


def test_a_scratch_copy_without_transfers_and_a_second_copy_replaces_the_first(engine: Engine) -> None:
    with engine.begin() as connection:
        create_scratch_copy(connection, "bench_")
        scratch = create_scratch_copy(connection, "bench_", copy_transfers=False)
        assert connection.execute(scratch.transfers.select()).first() is None
        assert connection.execute(text("SELECT count(*) FROM bench_accounts")).scalar_one() == counts_in(connection)
        drop_scratch_copy(connection, scratch)


@pytest.mark.parametrize("prefix", ["", "accounts", "Bench_", "bench; DROP TABLE x_"])
def test_a_scratch_prefix_must_be_a_plain_lower_case_word(engine: Engine, prefix: str) -> None:
    tables_before = set(inspect(engine).get_table_names())
    with pytest.raises(InvalidInput), engine.begin() as connection:
        create_scratch_copy(connection, prefix)
    assert set(inspect(engine).get_table_names()) == tables_before


def counts_in(connection) -> int:  # type: ignore[no-untyped-def]
    return int(connection.execute(text("SELECT count(*) FROM accounts")).scalar_one())


def _a_transfer(connection) -> list[dict]:  # type: ignore[no-untyped-def]
    row = connection.execute(text("SELECT * FROM transfers ORDER BY seq LIMIT 1")).mappings().one()
    return [{k: v for k, v in row.items() if k != "seq"}]
