"""The money-market fund wallet (余额宝-style): subscribe, redeem (T+1 and fast T+0), pay from the fund.

Each operation runs in the caller's unit of work: ledger transfers, the order row and an outbox
event together. NAV is fixed at 1.00, so 1 fen buys 0.01 unit and amounts and units share one
integer. Subscriptions move money wallet → fund assets at once and issue units the next trading
day after T (earning from that day); a normal redemption takes the units at once and pays the cash
the next trading day after T; a fast redemption pays at once, within 10,000 CNY per customer per day.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.events.outbox import publish
from puhui.identity.kyc import tier_of
from puhui.identity.models import WalletTier
from puhui.identity.service import customer_wallet_id
from puhui.ledger.errors import InsufficientFunds, Shortfall
from puhui.ledger.models import MAX_BATCH, Transfer, TransferResult
from puhui.ledger.service import create_transfers, get_account, post_chain
from puhui.money import format_minor
from puhui.payments import limits
from puhui.payments.errors import LimitExceeded
from puhui.wealth import calendar
from puhui.wealth import units as funds
from puhui.wealth.errors import (
    FastRedemptionCapExceeded,
    InsufficientUnits,
    OrderConflict,
    WalletClassTooLow,
)
from puhui.wealth.mmf.tables import mmf_orders

RESERVE = "platform.reserve_bank.CNY"
TOPIC = "wealth"
FAST_REDEMPTION_CAP = 1_000_000  # fen: 10,000 CNY per customer per day (快速赎回单日上限)
FAST_BUCKET = "mmf_fast_redeem"


def order_id(customer_id: str, kind: str, client_id: str) -> str:
    return "mo_" + hashlib.sha256(f"{customer_id}\x1f{kind}\x1f{client_id}".encode()).hexdigest()[:32]


def order_json(row) -> dict:
    return {
        "id": row["id"],
        "fund_code": row["fund_code"],
        "kind": row["kind"],
        "amount": format_minor(row["amount"], 2),
        "units": funds.units_str(row["amount"]),
        "status": row["status"],
        "trade_date": row["trade_date"],
        "due_date": row["due_date"],
        "payment_id": row["payment_id"],
        "created_at": clock.from_micros(row["created_at"]).isoformat(),
    }


def _existing(uow: UnitOfWork, oid: str, fund_code: str, customer_id: str, amount: int) -> dict | None:
    row = uow.execute(select(mmf_orders).where(mmf_orders.c.id == oid)).mappings().first()
    if row is None:
        return None
    if (row["fund_code"], row["customer_id"], row["amount"]) != (fund_code, customer_id, amount):
        raise OrderConflict(f"order {oid} exists with different details")
    return dict(row)


def _require_class_iii(connection: Connection, customer_id: str) -> None:
    tier = tier_of(connection, customer_id)
    if tier != WalletTier.III:
        name = tier.name if tier is not None else "none"
        raise WalletClassTooLow(f"only Class III wallets may buy funds; this wallet is class {name}")


def _move(uow: UnitOfWork, transfer: Transfer, short: Shortfall, what: str) -> None:
    post_chain(uow, [transfer], short=short, what=what)


def _insert(uow: UnitOfWork, **row) -> dict:
    row = {"payment_id": None, "completed_at": None, "created_at": clock.now_micros(), **row}
    uow.execute(mmf_orders.insert().values(**row))
    publish(uow, TOPIC, f"mmf.{row['kind']}", row["customer_id"], order_json(row))
    return row


def subscribe(uow: UnitOfWork, customer_id: str, fund_code: str, amount: int, client_id: str) -> tuple[dict, bool]:
    """申购: money wallet → fund assets now; units on the next trading day after T."""
    if amount <= 0:
        raise InvalidInput("a subscription must be greater than zero")
    funds.require_open(uow.connection, fund_code)
    oid = order_id(customer_id, "subscribe", client_id)
    found = _existing(uow, oid, fund_code, customer_id, amount)
    if found is not None:
        return found, False
    _require_class_iii(uow.connection, customer_id)
    funds.ensure_holder(uow, fund_code, customer_id)
    _move(
        uow,
        Transfer(
            oid + ".pay",
            customer_wallet_id(customer_id),
            funds.assets_account(fund_code),
            amount,
            "CNY",
            "mmf_subscribe",
        ),
        InsufficientFunds,
        "the wallet cannot cover the subscription",
    )
    _move(uow, _invest(oid, fund_code, amount), InsufficientFunds, "the reserve cannot pay the fund")
    t = calendar.trade_date(clock.now_micros())
    return _insert(
        uow,
        id=oid,
        fund_code=fund_code,
        customer_id=customer_id,
        kind="subscribe",
        amount=amount,
        status="pending",
        trade_date=t.isoformat(),
        due_date=calendar.next_trading_day(t).isoformat(),
    ), True


def sweep(uow: UnitOfWork, customer_id: str, fund_code: str, keep: int, client_id: str) -> tuple[dict | None, bool]:
    """Auto-sweep (自动转入): subscribe whatever the wallet holds above `keep`; nothing when it holds less."""
    if keep < 0:
        raise InvalidInput("the amount to keep in the wallet must not be negative")
    found = (
        uow.execute(select(mmf_orders).where(mmf_orders.c.id == order_id(customer_id, "subscribe", client_id)))
        .mappings()
        .first()
    )
    if found is not None:
        return dict(found), False
    wallet = get_account(uow.connection, customer_wallet_id(customer_id))
    spare = (wallet.credits_posted - wallet.debits_posted - wallet.debits_pending) - keep if wallet else 0
    if spare <= 0:
        return None, False
    return subscribe(uow, customer_id, fund_code, spare, client_id)


def redeem(
    uow: UnitOfWork, customer_id: str, fund_code: str, units: int, client_id: str, fast: bool = False
) -> tuple[dict, bool]:
    """赎回: the units leave the holding now; the cash reaches the wallet T+1 (normal) or now (fast)."""
    if units <= 0:
        raise InvalidInput("a redemption must be greater than zero units")
    funds.get_fund(uow.connection, fund_code)
    kind = "fast_redeem" if fast else "redeem"
    oid = order_id(customer_id, kind, client_id)
    found = _existing(uow, oid, fund_code, customer_id, units)
    if found is not None:
        return found, False
    holder = funds.holder_account(fund_code, customer_id)
    funds.lock_units(uow, fund_code)
    held = funds.units_held(uow.connection, fund_code, customer_id)
    if held < units:
        raise InsufficientUnits(f"redeeming {funds.units_str(units)} units; {funds.units_str(held)} held")
    today = clock.business_date()
    if fast:
        try:
            limits.consume(uow, customer_id, FAST_BUCKET, today.isoformat(), units, FAST_REDEMPTION_CAP)
        except LimitExceeded:
            left = FAST_REDEMPTION_CAP - limits.used(uow.connection, customer_id, FAST_BUCKET, today.isoformat())
            raise FastRedemptionCapExceeded(
                f"fast redemption is capped at {format_minor(FAST_REDEMPTION_CAP, 2)} CNY per customer per day: "
                f"{format_minor(max(left, 0), 2)} is left today; redeem the rest normally (T+1)",
                remaining_today=format_minor(max(left, 0), 2),
            ) from None
    _move(
        uow,
        Transfer(
            oid + ".units", holder, funds.issued_account(fund_code), units, funds.ledger_of(fund_code), "mmf_redeem"
        ),
        InsufficientUnits,
        "the holding does not have that many units",
    )
    t = calendar.trade_date(clock.now_micros())
    row = {
        "id": oid,
        "fund_code": fund_code,
        "customer_id": customer_id,
        "kind": kind,
        "amount": units,
        "trade_date": t.isoformat(),
    }
    if not fast:
        return _insert(uow, **row, status="pending", due_date=calendar.next_trading_day(t).isoformat()), True
    _pay_out(uow, fund_code, customer_id, oid, units)
    return _insert(uow, **row, status="settled", due_date=today.isoformat(), completed_at=clock.now_micros()), True


def _pay_out(uow: UnitOfWork, fund_code: str, customer_id: str, oid: str, amount: int) -> None:
    _move(
        uow,
        Transfer(
            oid + ".cash",
            funds.assets_account(fund_code),
            customer_wallet_id(customer_id),
            amount,
            "CNY",
            "mmf_redeem_cash",
        ),
        InsufficientFunds,
        "the fund's assets cannot cover the redemption",
    )
    _move(uow, _divest(oid, fund_code, amount), InsufficientFunds, "the fund's portfolio cannot pay out")


def _invest(oid: str, fund_code: str, amount: int) -> Transfer:
    """The cash of a subscription leaves the reserve account (备付金) for the fund's portfolio: the
    wallet it came from no longer owes it, so the reserve still covers every wallet."""
    return Transfer(oid + ".invest", funds.portfolio_account(fund_code), RESERVE, amount, "CNY", "mmf_invest")


def _divest(oid: str, fund_code: str, amount: int) -> Transfer:
    """Redemption cash (principal and income) comes back from the portfolio into the reserve, as
    the wallet it is paid into now owes it."""
    return Transfer(oid + ".divest", RESERVE, funds.portfolio_account(fund_code), amount, "CNY", "mmf_divest")


def pay_from_fund(
    uow: UnitOfWork,
    customer_id: str,
    fund_code: str,
    qr_id: str,
    amount: int | None,
    strength,
    client_id: str,
    default_fee_bp: int,
) -> tuple[dict, dict, bool]:
    """Redeem-and-pay (余额宝付款): a fast redemption of the amount and the QR payment, one unit of work."""
    from puhui.payments import service as payments

    qr = payments.get_qr(uow.connection, qr_id)
    due = qr["amount"] if qr["kind"] == "dynamic" else amount
    if due is None or due <= 0:
        raise InvalidInput("paying a static QR code needs an amount greater than zero")
    order, created = redeem(uow, customer_id, fund_code, due, client_id, fast=True)
    payment, _ = payments.pay_qr(uow, customer_id, qr_id, amount, strength, client_id, default_fee_bp)
    if created:
        uow.execute(mmf_orders.update().where(mmf_orders.c.id == order["id"]).values(payment_id=payment["id"]))
        order = {**order, "payment_id": payment["id"]}
    return order, payment, created


def _batches(items: list, size: int = MAX_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _due(uow: UnitOfWork, fund_code: str, kinds: tuple[str, ...], day: dt.date) -> list[dict]:
    return [
        dict(r)
        for r in uow.execute(
            select(mmf_orders)
            .where(
                mmf_orders.c.fund_code == fund_code,
                mmf_orders.c.status == "pending",
                mmf_orders.c.kind.in_(kinds),
                mmf_orders.c.due_date <= day.isoformat(),
            )
            .order_by(mmf_orders.c.id)
        ).mappings()
    ]


def _post_all(uow: UnitOfWork, batch: list[Transfer]) -> None:
    for chunk in _batches(batch):
        bad = [
            (t.id, r.value) for t, r in zip(chunk, create_transfers(uow, chunk), strict=True) if r != TransferResult.ok
        ]
        if bad:
            raise InvalidInput(f"end-of-day transfers failed: {bad[:5]}")


def _mark(uow: UnitOfWork, ids: list[str], status: str) -> None:
    now = clock.now_micros()
    for chunk in _batches(ids, 1000):
        uow.execute(mmf_orders.update().where(mmf_orders.c.id.in_(chunk)).values(status=status, completed_at=now))


def confirm_due(uow: UnitOfWork, fund_code: str, day: dt.date) -> int:
    """份额确认: issue units for every subscription due by `day`."""
    due = _due(uow, fund_code, ("subscribe",), day)
    ledger, issued = funds.ledger_of(fund_code), funds.issued_account(fund_code)
    _post_all(
        uow,
        [
            Transfer(
                o["id"] + ".units",
                issued,
                funds.holder_account(fund_code, o["customer_id"]),
                o["amount"],
                ledger,
                "mmf_confirm",
                user_data=day.isoformat(),  # the business date confirmed, whenever end of day ran for it
            )
            for o in due
        ],
    )
    _mark(uow, [o["id"] for o in due], "confirmed")
    return len(due)


def settle_due(uow: UnitOfWork, fund_code: str, day: dt.date) -> int:
    """赎回款到账: pay every normal redemption due by `day` into the wallet."""
    due = _due(uow, fund_code, ("redeem",), day)
    assets = funds.assets_account(fund_code)
    _post_all(
        uow,
        [
            t
            for o in due
            for t in (
                Transfer(
                    o["id"] + ".cash",
                    assets,
                    customer_wallet_id(o["customer_id"]),
                    o["amount"],
                    "CNY",
                    "mmf_redeem_cash",
                ),
                _divest(o["id"], fund_code, o["amount"]),
            )
        ],
    )
    _mark(uow, [o["id"] for o in due], "settled")
    return len(due)


def orders_of(connection: Connection, customer_id: str, limit: int = 100) -> list[dict]:
    return [
        dict(r)
        for r in connection.execute(
            select(mmf_orders)
            .where(mmf_orders.c.customer_id == customer_id)
            .order_by(mmf_orders.c.created_at.desc(), mmf_orders.c.id)
            .limit(limit)
        ).mappings()
    ]
