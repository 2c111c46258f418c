"""What staff set on a brokerage account (证券账户), never the customer: the commission rate (佣金费率) and
the ChiNext (创业板) and STAR Market (科创板) permissions (权限开通). Every account opens on the platform's
terms (`accounts.open_account`: `models.DEFAULT_COMMISSION_RATE`, no board permission); an operator
changes them here, through an audited, idempotent call (`securities.api`).

The rate: above zero and at most the 0.3% cap (`models.MAX_COMMISSION_RATE`); whatever the rate, an
order still pays at least the 5 CNY minimum.

The permissions follow the exchanges' investor-suitability rules (创业板投资者适当性管理实施办法, 2020;
上海证券交易所科创板股票交易特别规定, 2019): average daily assets in the investor's securities and cash
accounts over the 20 trading days before the application of at least 100,000 CNY for ChiNext and
500,000 CNY for STAR, and 24 months of trading experience. The platform checks what its own books show
and leaves the rest to the operator who approves:

- Assets (`assets`): the account's cash, free and frozen under open orders, and its shares, held and
  frozen under sell orders, each instrument at its reference price (the day's last trade, else the
  previous close: the only prices the books carry) — as they stand *now*. Not an average over 20 trading
  days: this package keeps no daily snapshot of an account's assets, and the history of its cash and
  shares is the ledger's transfers, which no package outside the ledger reads (`tests/test_boundaries.py`),
  so the best the data allows here is today's figure. A grant needs that figure at or above the board's
  threshold; below it the grant is refused (409 `board_permission_not_eligible`, naming the threshold)
  and nothing changes.
- The operator's call is the approval: it stands for the 20-day average and the 24 months of trading
  experience, which the operator checks on the investor's own evidence (statements, another broker's
  asset proof); the platform cannot see either. A customer cannot grant themselves anything: the account
  opening takes no permission and no rate, and these calls are staff-only.
- Revoking (`permitted` false) always goes through; granting or revoking what is already so changes
  nothing (no event).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from puhui.db import UnitOfWork
from puhui.events.outbox import publish
from puhui.money import format_minor
from puhui.securities import accounts, instruments, models, orders
from puhui.securities.errors import CommissionRateInvalid
from puhui.securities.refusals import BoardPermissionNotEligible
from puhui.securities.tables import securities_accounts as accounts_table

TOPIC = "securities"
# 前20个交易日日均资产 (fen) a board's permission needs: 创业板 10万元, 科创板 50万元.
THRESHOLDS = {models.Board.chinext: 100_000_00, models.Board.star: 500_000_00}
COLUMNS = {models.Board.chinext: "chinext", models.Board.star: "star"}  # the account's permission flags
NAMES = {models.Board.chinext: "ChiNext (创业板)", models.Board.star: "STAR Market (科创板)"}


def assets(connection: Connection, customer_id: str) -> int:
    """The account's assets on the platform now, in fen: cash (free and frozen) and every position (held
    and frozen) at its instrument's reference price (last trade, else previous close)."""
    total = accounts.cash(connection, customer_id) + accounts.frozen_cash(connection, customer_id)
    for position in orders.list_positions(connection, customer_id):
        code = position["code"]
        row = instruments.require(connection, code)
        total += models.trade_value(code, row["last_price"] or row["previous_close"], position["total"])
    return total


def set_board_permission(uow: UnitOfWork, customer_id: str, board: models.Board, permitted: bool) -> dict[str, Any]:
    """Grant (after the assets check) or revoke the account's permission to buy on `board` (chinext or
    star). Answers the account."""
    column = COLUMNS[board]
    account = accounts.require(uow.connection, customer_id)
    if bool(account[column]) == permitted:
        return accounts.account_json(uow.connection, account)
    if permitted:
        held, threshold = assets(uow.connection, customer_id), THRESHOLDS[board]
        if held < threshold:
            raise BoardPermissionNotEligible(
                f"{NAMES[board]} needs average daily assets of at least {format_minor(threshold, 2)} CNY over "
                f"the previous 20 trading days; the account holds {format_minor(held, 2)} CNY on the platform"
            )
    _update(uow, customer_id, {column: permitted})
    changed = {"customer_id": customer_id, "board": board.value, "permitted": permitted}
    publish(uow, TOPIC, "securities.board_permission_changed", customer_id, changed)
    return accounts.account_json(uow.connection, accounts.require(uow.connection, customer_id))


def set_commission_rate(uow: UnitOfWork, customer_id: str, rate: Decimal) -> dict[str, Any]:
    """Set the account's commission rate: above zero, at most 0.3%. Answers the account."""
    if not Decimal(0) < rate <= models.MAX_COMMISSION_RATE:
        raise CommissionRateInvalid(f"commission rate {rate} is not above 0 and at most {models.MAX_COMMISSION_RATE}")
    text = f"{rate.normalize():f}"
    account = accounts.require(uow.connection, customer_id)
    if Decimal(account["commission_rate"]) != rate:
        _update(uow, customer_id, {"commission_rate": text})
        changed = {"customer_id": customer_id, "commission_rate": text, "previous": account["commission_rate"]}
        publish(uow, TOPIC, "securities.commission_rate_changed", customer_id, changed)
    return accounts.account_json(uow.connection, accounts.require(uow.connection, customer_id))


def _update(uow: UnitOfWork, customer_id: str, values: dict[str, Any]) -> None:
    uow.execute(accounts_table.update().where(accounts_table.c.customer_id == customer_id).values(**values))
