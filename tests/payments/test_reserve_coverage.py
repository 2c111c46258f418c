"""Reserve coverage (备付金): the reserve at the custodian covers every wallet, and the check says so."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import reading, transaction
from puhui.ledger import service
from puhui.ledger.models import AccountFlags, Transfer, TransferFlags
from puhui.payments.reserve import reserve_coverage

RESERVE = "platform.reserve_bank.CNY"


def _wallets(uow):  # type: ignore[no-untyped-def]
    wallet = AccountFlags.debits_must_not_exceed_credits
    service.create_account(uow, id="wallet.c1", ledger="CNY", code="customer_wallet", flags=wallet)
    service.create_account(uow, id="wallet.m1", ledger="CNY", code="merchant_wallet", flags=wallet)


def test_wallet_money_that_came_through_the_reserve_is_covered(engine, clock, db_url):
    transaction(engine, _wallets)
    results = transaction(
        engine,
        lambda uow: service.create_transfers(
            uow,
            [
                Transfer("top", RESERVE, "wallet.c1", 50_000, "CNY", "topup"),
                Transfer("pay", "wallet.c1", "wallet.m1", 12_000, "CNY", "qr_payment"),
                Transfer("fee", "wallet.m1", "platform.fee_income.CNY", 72, "CNY", "merchant_fee"),
                Transfer("held", RESERVE, "wallet.c1", 9_999, "CNY", "topup", flags=TransferFlags.pending),
            ],
        ),
    )
    assert all(r.value == "ok" for r in results)
    with reading(engine) as connection:
        coverage = reserve_coverage(connection)
    assert (coverage.reserve, coverage.owed, coverage.covered) == (50_000, 49_928, True)
    assert coverage.as_json()["surplus"] == "0.72"  # the fee income is the platform's own money
    result = CliRunner().invoke(app, ["reserve-check", "--db", db_url])
    assert result.exit_code == 0 and json.loads(result.output)["covered"] is True


def test_money_put_into_a_wallet_around_the_reserve_is_caught(engine, clock, db_url):
    transaction(engine, _wallets)
    transaction(
        engine,
        lambda uow: service.create_transfers(
            uow,
            [
                Transfer("top", RESERVE, "wallet.c1", 10_000, "CNY", "topup"),
                Transfer("bad", "platform.suspense.CNY", "wallet.c1", 1, "CNY", "adjustment"),
            ],
        ),
    )
    with reading(engine) as connection:
        coverage = reserve_coverage(connection)
    assert not coverage.covered and coverage.surplus == -1
    result = CliRunner().invoke(app, ["reserve-check", "--db", db_url])
    assert result.exit_code == 1 and json.loads(result.output)["covered"] is False


def test_the_platform_funds_the_reserve_from_its_own_account_only_when_it_has_the_money(engine):
    """Lending and financing credit wallets with the platform's own money: it first moves into the
    reserve (自有资金 → 备付金), refused when the platform's own account cannot pay."""
    import pytest

    from puhui.db import reading, transaction
    from puhui.ledger.service import get_account
    from puhui.payments import reserve

    with pytest.raises(reserve.PlatformFundsShort):
        transaction(engine, lambda uow: reserve.fund_reserve(uow, "fund.1", 100_00))
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.1", 1_000_00))
    transaction(engine, lambda uow: reserve.fund_reserve(uow, "fund.1", 100_00))
    transaction(engine, lambda uow: reserve.fund_reserve(uow, "fund.1", 100_00))  # the same transfer: once
    with reading(engine) as connection:
        operating = get_account(connection, reserve.OPERATING)
        assert operating.debits_posted - operating.credits_posted == 900_00
        assert reserve.reserve_coverage(connection).reserve == 100_00
