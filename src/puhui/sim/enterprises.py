"""Core enterprises and their suppliers (核心企业与供应商) and the customers who buy distributed funds.

Supply-chain finance through `puhui.supplychain.service`: each core enterprise, registered with a
credit limit, confirms payables (应付账款确认) to its suppliers once a week; some suppliers sell
them to the platform at a discount (保理融资) a day or two later; at maturity the core pays
(`service.mature`, at the day's close). The core's sales receipts reach its wallet from its bank
account each weekday. None of this is a flow the laundering rules read.

Funds (基金代销) through `puhui.wealth.funds.orders`: two funds whose NAVs arrive as a NAV file each
trading day; investors answer the suitability questionnaire, buy after payday and now and then
redeem part; orders confirm at the trade date's NAV in the funds' end of day.

Every draw comes from RNGs of their own, so the ordinary customers and the launderers act as before."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine

from puhui.db import transaction
from puhui.identity.org import wallet_id
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers
from puhui.sim.agents import OPERATOR, Act, Agent, Kind, Merchant, Platform
from puhui.supplychain import service as scf
from puhui.wealth import calendar
from puhui.wealth.funds import orders as fo
from puhui.wealth.funds.nav_files import load_navs
from puhui.wealth.funds.pricing import FeeTier, RedemptionFeeStep
from puhui.wealth.suitability.service import CURRENT, record_answers

RESERVE_BANK = "platform.reserve_bank.CNY"
TENORS = (7, 14, 30, 30, 60, 90)  # days from confirmation to maturity
FUNDS = {"SIMEQ1": 3, "SIMBD1": 2}  # a mixed fund (R3) and a bond fund (R2)
TIERS = [FeeTier(100, Decimal("0.015")), FeeTier(1_000_000, Decimal("0.01")), FeeTier(500_000_000, fixed=100_000)]
SCHEDULE = [
    RedemptionFeeStep(7, Decimal("0.015"), Decimal(1)),
    RedemptionFeeStep(365, Decimal("0.005")),
    RedemptionFeeStep(None, Decimal(0)),
]


@dataclass
class Core:
    merchant: Merchant
    limit: int  # fen
    weekday: int  # the day of the week it confirms payables
    suppliers: list[Merchant]
    rng: random.Random
    confirmed: int = 0


@dataclass
class SupplyChain:
    cores: list[Core]
    to_finance: list[tuple[int, Merchant, str]] = field(default_factory=list)  # (day, supplier, receivable)
    stats: dict[str, int] = field(default_factory=lambda: {"confirmed": 0, "financed": 0, "paid": 0, "overdue": 0})


def set_up_supply_chain(platform: Platform, seed: int, customers: int, seq: int) -> SupplyChain:
    """customers // 2000 + 2 core enterprises, each with 3-8 suppliers of its own."""
    rng = random.Random(f"{seed}:supply")
    cores = []
    for k in range(customers // 2000 + 2):
        core = platform.merchant(k, seq + k * 10, name="模拟核心企业")
        suppliers = [platform.merchant(j, seq + k * 10 + 1 + j, name="模拟供应商") for j in range(rng.randrange(3, 9))]
        limit = rng.randrange(3_000_000_00, 8_000_000_00, 100_000_00)
        rate = Decimal(rng.choice(("0.042", "0.048", "0.055")))
        transaction(
            platform.engine,
            lambda uow, m=core.merchant_id, lim=limit, r=rate: scf.register_core(uow, m, lim, r, OPERATOR.id),
        )
        cores.append(Core(core, limit, k % 7, suppliers, random.Random(f"{seed}:core:{k}")))
    return SupplyChain(cores)


def supply_acts(chain: SupplyChain, day: int, platform: Platform) -> list[Act]:
    acts: list[Act] = []
    for core in chain.cores:
        if day % 7 < 5:  # weekday sales receipts from the core's bank account
            fen = core.rng.randrange(core.limit // 30, core.limit // 15, 100)
            acts.append((core.rng.randrange(540, 660), lambda c=core, f=fen: _receipts(platform, c, f, day)))
        if day % 7 == core.weekday:
            for supplier in core.rng.sample(core.suppliers, core.rng.randrange(2, len(core.suppliers) + 1)):
                first = core.confirmed == 0
                tenor = 7 if first else core.rng.choice(TENORS)  # the first is a rush order's short bill
                face = core.rng.randrange(50_000_00, 400_000_00, 100)
                core.confirmed += 1
                acts.append(
                    (
                        core.rng.randrange(600, 1020),
                        lambda c=core, s=supplier, f=face, t=tenor, n=core.confirmed: _confirm(
                            chain, platform, c, s, f, t, day, n
                        ),
                    )
                )
    for _, supplier, rid in [x for x in chain.to_finance if x[0] == day]:
        acts.append((600, lambda s=supplier, r=rid: _finance(chain, platform, s, r)))
    return acts


def _receipts(platform: Platform, core: Core, fen: int, day: int) -> None:
    """The core's sales proceeds arrive from its bank account (what a bank top-up does)."""
    tid = f"{platform.run_id}.receipts.{core.merchant.merchant_id}.{day}"
    transaction(
        platform.engine,
        lambda uow: create_transfers(
            uow, [Transfer(tid, RESERVE_BANK, wallet_id(core.merchant.merchant_id), fen, "CNY", "top_up")]
        ),
    )
    platform.done["scf_receipts"] += 1
    platform.volume["scf_receipts"] += fen


def _confirm(
    chain: SupplyChain, platform: Platform, core: Core, supplier: Merchant, face: int, tenor: int, day: int, n: int
) -> None:
    from puhui import clock

    maturity = clock.business_date() + dt.timedelta(days=tenor)
    ref = f"INV-{core.merchant.merchant_id[-6:]}-{n:05d}"
    row = platform.attempt(
        "scf_confirm",
        lambda uow: scf.confirm(uow, core.merchant.merchant_id, supplier.merchant_id, face, maturity, ref)[0],
        face,
    )
    if row is None:
        return
    chain.stats["confirmed"] += 1
    if core.rng.random() < 0.6:  # most suppliers want the cash early
        chain.to_finance.append((day + core.rng.randrange(1, 3), supplier, row["id"]))


def _finance(chain: SupplyChain, platform: Platform, supplier: Merchant, rid: str) -> None:
    row = platform.attempt("scf_finance", lambda uow: scf.finance(uow, supplier.merchant_id, rid))
    if row is not None:
        chain.stats["financed"] += 1
        platform.volume["scf_finance"] += row["face"] - row["discount"]


def close_supply_day(chain: SupplyChain, engine: Engine, date: dt.date) -> None:
    """At the day's close the payables due are paid by their cores (or turn overdue)."""
    summary = scf.mature(engine, date)
    chain.stats["paid"] += summary["paid"]
    chain.stats["overdue"] += summary["overdue"]


# -- funds ------------------------------------------------------------------------------------------


@dataclass
class Investor:
    agent: Agent
    rng: random.Random
    bold: bool  # answers the questionnaire as a risk-taker (may buy the R3 fund)
    assessed: bool = False


@dataclass
class FundDesk:
    investors: list[Investor]
    navs: dict[str, int]  # the latest NAV of each fund, in 1/10000 yuan
    rng: random.Random


def set_up_funds(platform: Platform, seed: int, agents: list[Agent]) -> FundDesk:
    """The two funds, and one salary earner in five (at least two) an investor."""
    rng = random.Random(f"{seed}:funds")
    for code, risk in FUNDS.items():
        transaction(
            platform.engine,
            lambda uow, c=code, r=risk: fo.create_product(
                uow, c, f"模拟{'混合' if r == 3 else '债券'}基金{c}", r, TIERS, SCHEDULE, 3
            ),
        )
    earners = [a for a in agents if a.kind == Kind.salary]
    chosen = rng.sample(earners, min(len(earners), max(2, len(earners) // 5)))
    investors = [Investor(a, random.Random(f"{seed}:investor:{a.index}"), rng.random() < 0.5) for a in chosen]
    return FundDesk(investors, {code: 10_000 for code in FUNDS}, rng)


def fund_acts(desk: FundDesk, day: int, month_day: int, platform: Platform) -> list[Act]:
    acts: list[Act] = []
    for inv in desk.investors:
        a = inv.agent
        if a.quiet is not None and a.quiet[0] <= day < a.quiet[1]:
            continue
        if month_day == (a.payday + 1) % 28 or inv.rng.random() < 0.06:
            code = "SIMEQ1" if inv.bold and inv.rng.random() < 0.6 else "SIMBD1"
            fen = max(100_00, a.income * inv.rng.randrange(5, 20) // 100 // 100 * 100)
            acts.append((inv.rng.randrange(600, 1320), lambda i=inv, c=code, f=fen: _buy(platform, i, c, f)))
        elif inv.rng.random() < 0.02:
            code = "SIMEQ1" if inv.bold else "SIMBD1"
            acts.append((inv.rng.randrange(600, 900), lambda i=inv, c=code: _sell(platform, i, c)))
    return acts


def _answers(bold: bool) -> dict[str, str]:
    pick = max if bold else min
    return {q.id: pick(q.choices, key=lambda c: c.score).key for q in CURRENT.questions}


def _buy(platform: Platform, inv: Investor, code: str, fen: int) -> None:
    cid = inv.agent.customer_id
    if not inv.assessed:  # 风险测评 before the first purchase
        done = platform.attempt(
            "suitability", lambda uow: record_answers(uow, cid, CURRENT.version, _answers(inv.bold))
        )
        inv.assessed = done is not None
    key = platform.key()
    platform.attempt("fund_purchase", lambda uow: fo.purchase(uow, cid, code, fen, key), fen)


def _sell(platform: Platform, inv: Investor, code: str) -> None:
    from puhui.db import reading

    cid = inv.agent.customer_id
    with reading(platform.engine) as connection:
        units = fo.units_held(connection, code, cid)
    if units // 2 > 0:
        key = platform.key()
        platform.attempt("fund_redeem", lambda uow: fo.redeem(uow, cid, code, units // 2, key))


def close_fund_day(desk: FundDesk, engine: Engine, date: dt.date) -> None:
    """A trading day's NAV file (a random walk), then the funds' end of day."""
    if calendar.is_trading_day(date):
        lines = ["date,fund_code,nav"]
        for code, risk in FUNDS.items():
            step = desk.rng.gauss(0.0003, 0.012 if risk == 3 else 0.002)
            desk.navs[code] = max(1_000, round(desk.navs[code] * (1 + step)))
            lines.append(f"{date.isoformat()},{code},{Decimal(desk.navs[code]).scaleb(-4)}")
        transaction(engine, lambda uow: load_navs(uow, "\n".join(lines)))
    fo.funds_eod(engine, date)
