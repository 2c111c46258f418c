"""Fund distribution (基金代销) for non-money-market funds: products, purchases, redemptions, end of day.

Each fund's units are a ledger of their own (`FUND:<code>`, 0.01 unit), as for the money-market
fund, with accounts `fund.<code>.issued` (units outstanding), `.redeeming` (units taken by a
redemption, not yet priced) and one holder account per customer. On CNY: `.pending` (在途申购款),
`.assets` (the fund's assets from subscriptions), `.payable` (应付赎回款) and `.portfolio` (the
money held by the fund, outside the reserve).

- Purchase (申购): the wallet is debited at order time and the cash leaves the reserve for the fund
  (as in mmf.py, so the reserve keeps covering the wallets). On confirmation (T+1, once T's NAV is
  known) the units are issued at T's NAV, the front-end fee becomes fee income (its cash goes from
  the fund to the platform's operating bank) and the net amount becomes the fund's assets.
- Redemption (赎回): the units leave the holding at order time (held in `.redeeming`). On
  confirmation they are priced at T's NAV, less the redemption fee by holding period: the fund's
  part stays in its assets, the distributor's part is fee income. The cash reaches the wallet on
  T+N (and comes back into the reserve).
- Holding period: first in, first out over the confirmed purchases (lots), in natural days from a
  lot's confirmation date to the redemption's trade date.
- Simplification: the fund's `.assets` and `.portfolio` track money in and out at the prices of
  the orders; market gains and losses of the portfolio are not booked here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal

from sqlalchemy import Connection, Engine, select

from puhui import clock
from puhui.db import UnitOfWork, transaction
from puhui.eod import answers
from puhui.eod import runs as eod_runs
from puhui.errors import InvalidInput
from puhui.events.outbox import publish
from puhui.identity.service import customer_wallet_id
from puhui.ledger import queries as ledger_queries
from puhui.ledger import service as ledger_service
from puhui.ledger.errors import InsufficientFunds, Shortfall
from puhui.ledger.models import AccountFlags, Transfer
from puhui.money import format_minor
from puhui.wealth.errors import (
    FundClosed,
    InsufficientUnits,
    InvalidFundOrder,
    OrderConflict,
    UnknownFund,
)
from puhui.wealth.funds import nav_source
from puhui.wealth.funds import pricing as fund_pricing
from puhui.wealth.funds.nav_source import NavSource
from puhui.wealth.funds.pricing import FeeTier, RedemptionFeeStep
from puhui.wealth.funds.tables import (
    fund_eod_runs,
    fund_lots,
    fund_navs,
    fund_orders,
    fund_products,
)
from puhui.wealth.mmf.tables import mmf_funds
from puhui.wealth.suitability.service import ProductRisk, require_suitable

RESERVE = "platform.reserve_bank.CNY"
OPERATING = "platform.operating_bank.CNY"
FEE_INCOME = "platform.fee_income.CNY"
TOPIC = "wealth"
EOD_JOB = "wealth.funds"  # its dates in `eod_runs`
CODE = re.compile(r"^[A-Z0-9]{1,8}$")
NAV_SCALE = 4  # NAV in 1/10000 yuan


def ledger_of(code: str) -> str:
    return f"FUND:{code}"


def account(code: str, part: str) -> str:
    """issued | redeeming (units); pending | assets | payable | portfolio (CNY)."""
    return f"fund.{code}.{part}"


def holder_account(code: str, customer_id: str) -> str:
    return f"fund.{code}.h.{customer_id}"


def nav_decimal(nav_e4: int) -> Decimal:
    return Decimal(nav_e4).scaleb(-NAV_SCALE)


# ---------------------------------------------------------------------------------------------
# Products


def tiers_of(product: dict) -> list[FeeTier]:
    return [FeeTier(t["min_amount"], Decimal(t["rate"]), t.get("fixed")) for t in json.loads(product["fee_tiers"])]


def schedule_of(product: dict) -> list[RedemptionFeeStep]:
    return [
        RedemptionFeeStep(s["under_days"], Decimal(s["rate"]), Decimal(s["to_fund_share"]))
        for s in json.loads(product["redemption_fees"])
    ]


def _check_rate(rate: Decimal, what: str) -> None:
    if not rate.is_finite() or not Decimal(0) <= rate < 1:
        raise InvalidInput(f"{what} must be at least 0 and below 1")


def _validate(
    code: str, name: str, risk: int, tiers: list[FeeTier], schedule: list[RedemptionFeeStep], redemption_days: int
) -> None:
    if not CODE.match(code):
        raise InvalidInput("a fund code is 1-8 characters of A-Z 0-9")
    if not name or len(name) > 64:
        raise InvalidInput("a fund name is 1-64 characters")
    if risk not in range(1, 6):
        raise InvalidInput("risk is 1-5 (R1-R5)")
    if not tiers or not 1 <= redemption_days <= 10:
        raise InvalidInput("a fund needs fee tiers and redemption cash in 1-10 trading days")
    for tier in tiers:
        _check_rate(tier.rate, "a fee rate")
        if tier.min_amount < 0 or (tier.fixed is not None and tier.fixed < 0):
            raise InvalidInput("fee tier amounts must not be negative")
    for step in schedule:
        _check_rate(step.rate, "a redemption fee rate")
        if not Decimal(0) <= step.to_fund_share <= 1:
            raise InvalidInput("the fund's share of a redemption fee is between 0 and 1")
    fund_pricing.check_schedule(schedule)


def create_product(
    uow: UnitOfWork,
    code: str,
    name: str,
    risk: int,
    tiers: list[FeeTier],
    schedule: list[RedemptionFeeStep],
    redemption_days: int,
    status: str = "open",
) -> dict:
    """A new distributed fund: its units ledger, its accounts and its row (the same again is a no-op)."""
    _validate(code, name, risk, tiers, schedule, redemption_days)
    if status not in ("open", "closed"):
        raise InvalidInput("status is open or closed")
    existing = uow.execute(select(fund_products).where(fund_products.c.code == code)).mappings().first()
    if existing is not None:
        return dict(existing)
    ledger = ledger_of(code)
    if uow.execute(
        select(mmf_funds.c.code).where(mmf_funds.c.code == code)
    ).first() is not None or ledger_queries.ledger_exists(uow.connection, ledger):
        raise InvalidInput(f"fund code {code} is already used")
    ledger_service.create_ledger(uow, ledger, f"{name} units", kind="asset", scale=2)
    owner = f"fund.{code}"
    for part, on, account_code in (
        ("issued", ledger, "fund_units_issued"),
        ("redeeming", ledger, "fund_units_redeeming"),
        ("pending", "CNY", "fund_purchases_pending"),
        ("assets", "CNY", "fund_assets"),
        ("payable", "CNY", "fund_redemptions_payable"),
        ("portfolio", "CNY", "fund_portfolio"),
    ):
        ledger_service.create_account(uow, ledger=on, code=account_code, owner_id=owner, id=account(code, part))
    row = {
        "code": code,
        "name": name,
        "risk": risk,
        "status": status,
        "ledger": ledger,
        "fee_tiers": json.dumps([{"min_amount": t.min_amount, "rate": str(t.rate), "fixed": t.fixed} for t in tiers]),
        "redemption_fees": json.dumps(
            [{"under_days": s.under_days, "rate": str(s.rate), "to_fund_share": str(s.to_fund_share)} for s in schedule]
        ),
        "redemption_days": redemption_days,
        "created_at": clock.now_micros(),
    }
    uow.execute(fund_products.insert().values(**row))
    return row


def get_product(connection: Connection, code: str) -> dict:
    row = connection.execute(select(fund_products).where(fund_products.c.code == code)).mappings().first()
    if row is None:
        raise UnknownFund(f"fund {code!r} does not exist")
    return dict(row)


def require_open(connection: Connection, code: str) -> dict:
    product = get_product(connection, code)
    if product["status"] != "open":
        raise FundClosed(f"fund {code} is {product['status']}")
    return product


def set_status(uow: UnitOfWork, code: str, status: str) -> dict:
    if status not in ("open", "closed"):
        raise InvalidInput("status is open or closed")
    get_product(uow.connection, code)
    uow.execute(fund_products.update().where(fund_products.c.code == code).values(status=status))
    return get_product(uow.connection, code)


def list_products(connection: Connection) -> list[dict]:
    return [dict(r) for r in connection.execute(select(fund_products).order_by(fund_products.c.code)).mappings()]


def latest_nav(connection: Connection, code: str) -> tuple[str, int] | None:
    row = connection.execute(
        select(fund_navs.c.nav_date, fund_navs.c.nav)
        .where(fund_navs.c.fund_code == code)
        .order_by(fund_navs.c.nav_date.desc())
        .limit(1)
    ).first()
    return (row[0], int(row[1])) if row else None


def nav_on(connection: Connection, code: str, day: str) -> int | None:
    return connection.execute(
        select(fund_navs.c.nav).where(fund_navs.c.fund_code == code, fund_navs.c.nav_date == day)
    ).scalar()


def navs_of(connection: Connection, code: str, limit: int = 250) -> list[dict]:
    rows = connection.execute(
        select(fund_navs.c.nav_date, fund_navs.c.nav)
        .where(fund_navs.c.fund_code == code)
        .order_by(fund_navs.c.nav_date.desc())
        .limit(limit)
    )
    return [{"date": d, "nav": str(nav_decimal(n))} for d, n in rows]


def product_json(connection: Connection, product: dict) -> dict:
    latest = latest_nav(connection, product["code"])
    return {
        "code": product["code"],
        "name": product["name"],
        "kind": "non_money_market",
        "risk": ProductRisk(product["risk"]).name,
        "status": product["status"],
        "units_ledger": product["ledger"],
        "redemption_days": product["redemption_days"],
        "fee_tiers": [
            {
                "min_amount": format_minor(t.min_amount, 2),
                "rate": str(t.rate),
                "fixed": None if t.fixed is None else format_minor(t.fixed, 2),
            }
            for t in tiers_of(product)
        ],
        "redemption_fees": [
            {"under_days": s.under_days, "rate": str(s.rate), "to_fund_share": str(s.to_fund_share)}
            for s in schedule_of(product)
        ],
        "nav": str(nav_decimal(latest[1])) if latest else None,
        "nav_date": latest[0] if latest else None,
    }


# ---------------------------------------------------------------------------------------------
# Orders


def order_id(customer_id: str, kind: str, client_id: str) -> str:
    return "fo_" + hashlib.sha256(f"{customer_id}\x1f{kind}\x1f{client_id}".encode()).hexdigest()[:32]


def order_json(row: dict) -> dict:
    return {
        "id": row["id"],
        "fund_code": row["fund_code"],
        "kind": row["kind"],
        "amount": format_minor(row["amount"], 2),
        "units": format_minor(row["units"], 2),
        "fee": format_minor(row["fee"], 2),
        "fee_to_fund": format_minor(row["fee_to_fund"], 2),
        "nav": None if row["nav"] is None else str(nav_decimal(row["nav"])),
        "status": row["status"],
        "trade_date": row["trade_date"],
        "confirm_date": row["confirm_date"],
        "cash_date": row["cash_date"],
        "created_at": clock.from_micros(row["created_at"]).isoformat(),
    }


def _existing(uow: UnitOfWork, oid: str, code: str, customer_id: str, field: str, value: int) -> dict | None:
    row = uow.execute(select(fund_orders).where(fund_orders.c.id == oid)).mappings().first()
    if row is None:
        return None
    if (row["fund_code"], row["customer_id"], row[field]) != (code, customer_id, value):
        raise OrderConflict(f"order {oid} exists with different details")
    return dict(row)


def _move(uow: UnitOfWork, transfers: list[Transfer], short: Shortfall, what: str) -> None:
    ledger_service.post_chain(uow, [t for t in transfers if t.amount], short=short, what=what)


def _insert(uow: UnitOfWork, **row) -> dict:
    row = {
        "nav": None,
        "lots": None,
        "cash_date": None,
        "completed_at": None,
        "fee_to_fund": 0,
        "created_at": clock.now_micros(),
        **row,
    }
    uow.execute(fund_orders.insert().values(**row))
    publish(uow, TOPIC, f"fund.{row['kind']}", row["customer_id"], order_json(row))
    return row


def _lock(uow: UnitOfWork, code: str) -> None:
    """Every unit movement of a fund goes through its issued account: lock it first (one lock order)."""
    ledger_queries.lock_account(uow, account(code, "issued"))


def units_held(connection: Connection, code: str, customer_id: str) -> int:
    return ledger_queries.available(connection, holder_account(code, customer_id)) or 0


def purchase(uow: UnitOfWork, customer_id: str, code: str, amount: int, client_id: str) -> tuple[dict, bool]:
    """申购: the wallet pays now (cash out of the reserve to the fund); units at T's NAV on T+1."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidFundOrder("a purchase must be greater than zero")
    product = require_open(uow.connection, code)
    oid = order_id(customer_id, "purchase", client_id)
    found = _existing(uow, oid, code, customer_id, "amount", amount)
    if found is not None:
        return found, False
    require_suitable(uow.connection, customer_id, ProductRisk(product["risk"]))
    fee = fund_pricing.subscribe(amount, tiers_of(product), Decimal(1)).fee  # the fee does not depend on the NAV
    ledger_service.create_account(
        uow,
        ledger=product["ledger"],
        code="fund_units_held",
        owner_id=customer_id,
        flags=AccountFlags.debits_must_not_exceed_credits,
        id=holder_account(code, customer_id),
    )
    _move(
        uow,
        [
            Transfer(
                oid + ".pay", customer_wallet_id(customer_id), account(code, "pending"), amount, "CNY", "fund_purchase"
            )
        ],
        InsufficientFunds,
        "the wallet cannot cover the purchase",
    )
    _move(
        uow,
        [Transfer(oid + ".invest", account(code, "portfolio"), RESERVE, amount, "CNY", "fund_invest")],
        InsufficientFunds,
        "the reserve cannot pay the fund",
    )
    dates = fund_pricing.order_dates(clock.now_micros())
    return _insert(
        uow,
        id=oid,
        fund_code=code,
        customer_id=customer_id,
        kind="purchase",
        amount=amount,
        units=0,
        fee=fee,
        status="pending",
        trade_date=dates.trade_date.isoformat(),
        confirm_date=dates.confirm_date.isoformat(),
    ), True


def _take_lots(uow: UnitOfWork, code: str, customer_id: str, units: int, trade_date: dt.date) -> list[list[int]]:
    """Consume the customer's lots first in, first out: [[units, holding days], ...]."""
    taken, left = [], units
    lots = (
        uow.execute(
            select(fund_lots)
            .where(fund_lots.c.fund_code == code, fund_lots.c.customer_id == customer_id, fund_lots.c.units > 0)
            .order_by(fund_lots.c.confirm_date, fund_lots.c.order_id)
        )
        .mappings()
        .all()
    )
    for lot in lots:
        if left == 0:
            break
        part = min(left, lot["units"])
        days = max(0, (trade_date - dt.date.fromisoformat(lot["confirm_date"])).days)
        taken.append([part, days])
        uow.execute(fund_lots.update().where(fund_lots.c.order_id == lot["order_id"]).values(units=lot["units"] - part))
        left -= part
    if left:  # units without a lot would be a broken invariant; they pay the short-holding fee
        taken.append([left, 0])
    return taken


def redeem(uow: UnitOfWork, customer_id: str, code: str, units: int, client_id: str) -> tuple[dict, bool]:
    """赎回: the units leave the holding now; priced at T's NAV on T+1; cash to the wallet on T+N."""
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise InvalidFundOrder("a redemption must be greater than zero units")
    product = require_open(uow.connection, code)
    oid = order_id(customer_id, "redeem", client_id)
    found = _existing(uow, oid, code, customer_id, "units", units)
    if found is not None:
        return found, False
    _lock(uow, code)
    held = units_held(uow.connection, code, customer_id)
    if held < units:
        raise InsufficientUnits(f"redeeming {format_minor(units, 2)} units; {format_minor(held, 2)} held")
    dates = fund_pricing.order_dates(clock.now_micros(), redemption_days=product["redemption_days"])
    assert dates.cash_date is not None  # given redemption days, every order has its cash date
    lots = _take_lots(uow, code, customer_id, units, dates.trade_date)
    _move(
        uow,
        [
            Transfer(
                oid + ".units",
                holder_account(code, customer_id),
                account(code, "redeeming"),
                units,
                product["ledger"],
                "fund_redeem",
            )
        ],
        InsufficientUnits,
        "the holding does not have that many units",
    )
    return _insert(
        uow,
        id=oid,
        fund_code=code,
        customer_id=customer_id,
        kind="redeem",
        amount=0,
        units=units,
        fee=0,
        lots=json.dumps(lots),
        status="pending",
        trade_date=dates.trade_date.isoformat(),
        confirm_date=dates.confirm_date.isoformat(),
        cash_date=dates.cash_date.isoformat(),
    ), True


def orders_of(connection: Connection, customer_id: str, limit: int = 100) -> list[dict]:
    return [
        dict(r)
        for r in connection.execute(
            select(fund_orders)
            .where(fund_orders.c.customer_id == customer_id)
            .order_by(fund_orders.c.created_at.desc(), fund_orders.c.id)
            .limit(limit)
        ).mappings()
    ]


def holdings_of(connection: Connection, customer_id: str) -> list[dict]:
    """Each fund the customer holds or has pending: units, market value at the latest NAV."""
    out = []
    for product in list_products(connection):
        code = product["code"]
        units = units_held(connection, code, customer_id)
        pending = [
            o for o in orders_of(connection, customer_id, 1000) if o["fund_code"] == code and o["status"] == "pending"
        ]
        if not units and not pending:
            continue
        latest = latest_nav(connection, code)
        value = fund_pricing._fen(Decimal(units) * nav_decimal(latest[1])) if latest else None
        out.append(
            {
                "fund_code": code,
                "name": product["name"],
                "units": format_minor(units, 2),
                "nav": str(nav_decimal(latest[1])) if latest else None,
                "nav_date": latest[0] if latest else None,
                "market_value": None if value is None else format_minor(value, 2),
                "pending_purchases": format_minor(sum(o["amount"] for o in pending if o["kind"] == "purchase"), 2),
                "pending_redemption_units": format_minor(sum(o["units"] for o in pending if o["kind"] == "redeem"), 2),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# End of day


def _confirm_purchase(uow: UnitOfWork, product: dict, order: dict, nav_e4: int) -> None:
    code, oid = product["code"], order["id"]
    priced = fund_pricing.subscribe(order["amount"], tiers_of(product), nav_decimal(nav_e4))
    units = int(priced.units.scaleb(2))
    _move(
        uow,
        [
            Transfer(
                oid + ".units",
                account(code, "issued"),
                holder_account(code, order["customer_id"]),
                units,
                product["ledger"],
                "fund_confirm",
            ),
            Transfer(oid + ".fee", account(code, "pending"), FEE_INCOME, priced.fee, "CNY", "fund_purchase_fee"),
            Transfer(oid + ".feecash", OPERATING, account(code, "portfolio"), priced.fee, "CNY", "fund_fee_cash"),
            Transfer(
                oid + ".net", account(code, "pending"), account(code, "assets"), priced.net, "CNY", "fund_purchase_net"
            ),
        ],
        InvalidInput,
        "confirmation failed",
    )
    uow.execute(
        fund_lots.insert().values(
            order_id=oid,
            fund_code=code,
            customer_id=order["customer_id"],
            confirm_date=order["confirm_date"],
            units=units,
        )
    )
    uow.execute(
        fund_orders.update()
        .where(fund_orders.c.id == oid)
        .values(units=units, fee=priced.fee, nav=nav_e4, status="confirmed", completed_at=clock.now_micros())
    )


def price_redemption(lots: list[list[int]], nav: Decimal, schedule: list[RedemptionFeeStep]) -> dict[str, int]:
    """Gross, fee (to the fund / to the distributor) and net, summed over the lots taken."""
    total = {"gross": 0, "fee": 0, "fee_to_fund": 0, "fee_to_distributor": 0, "net": 0}
    for units, days in lots:
        r = fund_pricing.redeem(Decimal(units).scaleb(-2), nav, days, schedule)
        for key in total:
            total[key] += getattr(r, key)
    return total


def _confirm_redemption(uow: UnitOfWork, product: dict, order: dict, nav_e4: int) -> None:
    code, oid = product["code"], order["id"]
    priced = price_redemption(json.loads(order["lots"]), nav_decimal(nav_e4), schedule_of(product))
    to_distributor = priced["fee_to_distributor"]
    _move(
        uow,
        [
            Transfer(
                oid + ".cancel",
                account(code, "redeeming"),
                account(code, "issued"),
                order["units"],
                product["ledger"],
                "fund_redeem_confirm",
            ),
            Transfer(
                oid + ".payable",
                account(code, "assets"),
                account(code, "payable"),
                priced["net"],
                "CNY",
                "fund_redeem_payable",
            ),
            Transfer(oid + ".fee", account(code, "assets"), FEE_INCOME, to_distributor, "CNY", "fund_redeem_fee"),
            Transfer(oid + ".feecash", OPERATING, account(code, "portfolio"), to_distributor, "CNY", "fund_fee_cash"),
        ],
        InvalidInput,
        "confirmation failed",
    )
    uow.execute(
        fund_orders.update()
        .where(fund_orders.c.id == oid)
        .values(
            amount=priced["net"], fee=priced["fee"], fee_to_fund=priced["fee_to_fund"], nav=nav_e4, status="confirmed"
        )
    )


def _settle_redemption(uow: UnitOfWork, order: dict) -> None:
    code, oid, cash = order["fund_code"], order["id"], order["amount"]
    _move(
        uow,
        [
            Transfer(
                oid + ".cash",
                account(code, "payable"),
                customer_wallet_id(order["customer_id"]),
                cash,
                "CNY",
                "fund_redeem_cash",
            ),
            Transfer(oid + ".divest", RESERVE, account(code, "portfolio"), cash, "CNY", "fund_divest"),
        ],
        InvalidInput,
        "settlement failed",
    )
    uow.execute(
        fund_orders.update().where(fund_orders.c.id == oid).values(status="settled", completed_at=clock.now_micros())
    )


def _due(uow: UnitOfWork, status: str, column, day: dt.date) -> list[dict]:
    return [
        dict(r)
        for r in uow.execute(
            select(fund_orders)
            .where(fund_orders.c.status == status, column <= day.isoformat())
            .order_by(fund_orders.c.fund_code, fund_orders.c.created_at, fund_orders.c.id)
        ).mappings()
    ]


def run_day(uow: UnitOfWork, day: dt.date, navs: NavSource | None = None) -> dict:
    """Confirm orders due by `day` whose trade-date NAV is known, then pay redemptions due by `day`.
    With a NAV source (the sandbox's, `nav_source`), the closed trading days through `day` that have
    no NAV get one first (on a re-run of `day` too: its NAV may not have been known the first time;
    but not for a fund created since `day` ran, nor for a day before a fund existed).

    A date that ran (its `fund_eod_runs` row, one for every fund) answers what it did and moves
    nothing: the orders placed since are due after it (their trade date is on or after the day they
    were placed), and a fund created since has none due by it."""
    products = {p["code"]: p for p in list_products(uow.connection)}
    if navs is not None:
        for code in sorted(products):
            _lock(uow, code)
    done = (
        uow.execute(
            select(fund_eod_runs.c.summary, fund_eod_runs.c.finished_at).where(
                fund_eod_runs.c.business_date == day.isoformat()
            )
        )
        .mappings()
        .first()
    )
    if navs is not None:
        nav_source.publish(uow, day, navs, ran_at=None if done is None else int(done["finished_at"]))
    if done is not None:
        return {**answers.stored(done["summary"]), "already_done": True}
    if navs is None:
        for code in sorted(products):
            _lock(uow, code)
    counts = {"purchases_confirmed": 0, "redemptions_confirmed": 0, "redemptions_settled": 0, "waiting_for_nav": 0}
    for order in _due(uow, "pending", fund_orders.c.confirm_date, day):
        nav_e4 = nav_on(uow.connection, order["fund_code"], order["trade_date"])
        if nav_e4 is None:
            counts["waiting_for_nav"] += 1
            continue
        product = products[order["fund_code"]]
        if order["kind"] == "purchase":
            _confirm_purchase(uow, product, order, nav_e4)
            counts["purchases_confirmed"] += 1
        else:
            _confirm_redemption(uow, product, order, nav_e4)
            counts["redemptions_confirmed"] += 1
    for order in _due(uow, "confirmed", fund_orders.c.cash_date, day):
        if order["kind"] == "redeem":
            _settle_redemption(uow, order)
            counts["redemptions_settled"] += 1
    summary = {"business_date": day.isoformat(), **counts}
    uow.execute(
        fund_eod_runs.insert().values(
            business_date=day.isoformat(), summary=json.dumps(summary), finished_at=clock.now_micros()
        )
    )
    return {**summary, "already_done": False}


def funds_eod(engine: Engine, day: dt.date, navs: NavSource | None = None) -> dict:
    """`puhui wealth funds-eod --date D`: one unit of work per date, idempotent per date, under the
    rule of every end of day (`puhui.eod.runs`): D over and not skipped before the last run;
    the days of a gap run first, in order (`caught_up`). `navs`: the sandbox's NAV source, else None."""
    return _answer(
        eod_runs.run_days(engine, EOD_JOB, day, lambda d: transaction(engine, lambda uow: run_day(uow, d, navs)))
    )


def funds_eod_in(uow: UnitOfWork, day: dt.date, navs: NavSource | None = None) -> dict:
    """The same in the caller's unit of work (the API): every day of a gap commits, or none."""
    return _answer(eod_runs.run_in(uow, EOD_JOB, day, lambda u, d: run_day(u, d, navs)))


def _answer(done: eod_runs.Run[dict]) -> dict:
    return {**done.result, "caught_up": [summary for _, summary in done.caught_up]}


# ---------------------------------------------------------------------------------------------
# The robo-advisor's universe


def universe(connection: Connection):
    """The platform's distributed funds for the advisor: NAVs (dates × codes) and each fund's risk."""
    import pandas as pd

    from puhui.wealth.advice.advisor import Universe

    products = [p for p in list_products(connection) if p["status"] == "open"]
    rows = connection.execute(
        select(fund_navs.c.nav_date, fund_navs.c.fund_code, fund_navs.c.nav).where(
            fund_navs.c.fund_code.in_([p["code"] for p in products])
        )
    ).all()
    if not rows:
        return Universe(pd.DataFrame(), {})
    frame = pd.DataFrame(rows, columns=["date", "code", "nav"])
    frame["date"] = pd.to_datetime(frame["date"])
    navs = frame.pivot(index="date", columns="code", values="nav").sort_index().astype(float) / 10**NAV_SCALE
    return Universe(navs, {p["code"]: ProductRisk(p["risk"]) for p in products if p["code"] in navs.columns})


def _register() -> None:
    from puhui.wealth.advice import advisor

    if universe not in advisor.UNIVERSE_SOURCES:
        advisor.UNIVERSE_SOURCES.append(universe)


_register()
