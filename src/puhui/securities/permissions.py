"""What staff set on a brokerage account (证券账户), never the customer: the commission rate (佣金费率) and
the ChiNext (创业板) and STAR Market (科创板) permissions (权限开通). Every account opens on the platform's
terms (`accounts.open_account`: `models.DEFAULT_COMMISSION_RATE`, no board permission); an operator
changes them here, through an audited, idempotent call (`securities.api`).

The rate: above zero and at most the 0.3% cap (`models.MAX_COMMISSION_RATE`); whatever the rate, an
order still pays at least the 5 CNY minimum.

The permissions follow the exchanges' investor-suitability rules (创业板投资者适当性管理实施办法, 2020;
上海证券交易所科创板股票交易特别规定, 2019): average daily assets in the investor's securities and cash
accounts over the 20 trading days before the application (前20个交易日日均资产) of at least 100,000 CNY
for ChiNext and 500,000 CNY for STAR, and 24 months of trading experience. The platform checks what its
own books show and leaves the rest to the operator who approves:

- The 20-day average (`daily_assets.average`): each account's assets at every trading day's close
  (日终资产: cash, free and frozen, and shares, held and frozen, at the day's prices) are snapshotted
  when clearing clears the day; a grant averages the snapshots of the 20 XSHG trading days before the
  application date (today's business date, itself not counted), a day without one counting as zero (the
  account not yet open, nothing in it, or the day not cleared yet; a day cleared late is read back as of
  its end, so it counts). So a new account is not eligible until it has held the assets for 20 trading
  days, and assets moved in today do not count.
  Below the threshold the grant is refused (409 `board_permission_not_eligible`, naming the average,
  the window and the threshold) and nothing changes.
- The customer's risk level (投资者适当性) must cover the board's shares, R4 (C4 or above), as every buy on
  it will need (`suitability.check_board_grant`): below it the grant is refused (403 `unsuitable_product`,
  naming the level needed), without a current assessment 409 `suitability_assessment_required`; checked
  before the assets, and nothing changes.
- The operator's call is the approval: it stands for the 24 months of trading experience (and for assets
  the investor holds elsewhere), which the operator checks on the investor's own evidence (statements,
  another broker's asset proof); the platform cannot see them. A customer cannot grant themselves
  anything: the account opening takes no permission and no rate, and these calls are staff-only.
- Revoking (`permitted` false) always goes through; granting or revoking what is already so changes
  nothing (no event).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events.outbox import publish
from puhui.money import format_minor
from puhui.securities import accounts, daily_assets, models, suitability
from puhui.securities.errors import CommissionRateInvalid
from puhui.securities.refusals import BoardPermissionNotEligible
from puhui.securities.tables import securities_accounts as accounts_table

TOPIC = "securities"
# 前20个交易日日均资产 (fen) a board's permission needs: 创业板 10万元, 科创板 50万元.
THRESHOLDS = {models.Board.chinext: 100_000_00, models.Board.star: 500_000_00}
COLUMNS = {models.Board.chinext: "chinext", models.Board.star: "star"}  # the account's permission flags
NAMES = {models.Board.chinext: "ChiNext (创业板)", models.Board.star: "STAR Market (科创板)"}


def set_board_permission(uow: UnitOfWork, customer_id: str, board: models.Board, permitted: bool) -> dict[str, Any]:
    """Grant (after the 20-day average check) or revoke the account's permission to buy on `board` (chinext or
    star). Answers the account."""
    column = COLUMNS[board]
    account = accounts.require(uow.connection, customer_id)
    if bool(account[column]) == permitted:
        return accounts.account_json(uow.connection, account)
    if permitted:
        suitability.check_board_grant(uow.connection, customer_id, board, NAMES[board])
        _check_average(uow.connection, customer_id, board)
    _update(uow, customer_id, {column: permitted})
    changed = {"customer_id": customer_id, "board": board.value, "permitted": permitted}
    publish(uow, TOPIC, "securities.board_permission_changed", customer_id, changed)
    return accounts.account_json(uow.connection, accounts.require(uow.connection, customer_id))


def _check_average(connection: Connection, customer_id: str, board: models.Board) -> None:
    """Refuse the grant unless the 20-trading-day average before today reaches the board's threshold."""
    held, threshold = daily_assets.average(connection, customer_id, clock.business_date()), THRESHOLDS[board]
    if held.reaches(threshold):
        return
    average = format_minor(held.shown(), 2)
    raise BoardPermissionNotEligible(
        f"{NAMES[board]} needs average daily assets (前20个交易日日均资产) of at least {format_minor(threshold, 2)} "
        f"CNY over the 20 trading days before the application ({held.first} to {held.last}); the account's "
        f"20-day average is {average} CNY ({held.days_on_record} of the 20 days with a close on record; a day "
        "without one counts as zero)",
        average_daily_assets=average,
        threshold=format_minor(threshold, 2),
        window_first=held.first.isoformat(),
        window_last=held.last.isoformat(),
    )


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
