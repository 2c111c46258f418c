"""The demo world for `puhui serve --demo`, seeded through the real HTTP API (identity and payments
services): customers registered, verified and upgraded, merchants with API keys, staff for the
regulator and the risk officer, top-ups settled through the sandbox bank, QR payments (static and
dynamic), a partial refund and a P2P transfer.

Deterministic (fixed people, amounts and idempotency keys) and fast (argon2 kept cheap while seeding).
The living market around it (演示市场) is in `puhui.demo_market`: `prepare_demo` runs a short
simulation, the monitor and the graph analytics, opens cases, then seeds this world, once per database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from stdnum import luhn
from stdnum.cn import ric

from puhui import clock
from puhui.demo_history import HISTORY_WEEKS
from puhui.settings import Settings, get_settings

DEMO_PASSWORD = "puhui-demo-2024"
CHANNELS = ("public_security", "bank_card", "face", "mobile_operator", "tax")


def _id_number(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


# (name, resident id, phone, verifications: 3 -> Class II, 5 -> Class III)
CUSTOMERS = [
    ("张伟", _id_number("110105", "19880412", "135"), "13800000001", 5),
    ("李娜", _id_number("310104", "19910723", "246"), "13800000002", 3),
    ("王芳", _id_number("440305", "19950101", "068"), "13800000003", 3),
    ("刘洋", _id_number("110105", "19830915", "371"), "13800000004", 5),
    ("陈杰", _id_number("310104", "19990228", "452"), "13800000005", 3),
    ("赵磊", _id_number("440305", "19870630", "519"), "13800000006", 3),
]
MERCHANTS = [
    {
        "name": "兰州拉面馆",
        "credit_code": "91110000600037341L",
        "settlement_account": "110060774018010012345",
        "settlement_holder": "马晓明",
        "settlement_bank": "交通银行北京分行",
    },
    {
        "name": "鲜果水果摊",
        "credit_code": "91310000MA1FL8XQ37",
        "settlement_account": "6222020000000000059",
        "settlement_holder": "周丽",
        "settlement_bank": "工商银行上海分行",
    },
    {
        "name": "新华书店",
        "credit_code": "91440300MA5FUXHN4D",
        "settlement_account": "440060774018010067890",
        "settlement_holder": "黄志强",
        "settlement_bank": "建设银行深圳分行",
    },
]
# one Luhn-valid debit card per customer, opened at the sandbox bank with money on it
CARDS = [body + luhn.calc_check_digit(body) for body in (f"62220211000000{n:04d}" for n in range(1, 7))]
TOP_UPS = ["3000.00", "1200.00", "1500.00", "4000.00", "800.00", "900.00"]


# staff created through POST /v1/staff: the regulator reads the supervision dashboard
STAFF = (("regulator", "regulator.demo"), ("risk_officer", "risk-officer.demo"))


SEEDED = "demo world seeded "
"""How the seeded world's summary (`DemoWorld.summary`, saved and shown again on a restart) begins: with
when it was seeded, so its counts read as that day's."""


def plural(n: int, word: str, words: str | None = None) -> str:
    """`n` and the word for that many: "1 repayment", "2 repayments", "0 repayments" (`words`: a plural
    not made with -s). Every count of the start banner is told with it."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


class DemoSeedError(RuntimeError):
    pass


@dataclass
class DemoWorld:
    customers: list[dict] = field(default_factory=list)  # id, name, phone, password, tier
    merchants: list[dict] = field(default_factory=list)  # id, name, api_key
    staff: list[dict] = field(default_factory=list)  # role, handle, token
    payments: int = 0
    refunds: int = 0
    p2p: int = 0
    top_ups: int = 0
    insurer: str = ""  # the demo insurer's partner id; its products are MEDICAL and RETURN_SHIPPING
    covered_orders: int = 0  # orders bought with return-shipping cover at the first merchant
    credit_lines: int = 0
    funds: int = 0
    market_maker: str = ""  # the liquidity provider's name (puhui.demo_securities)
    seeded_at: int = 0  # when it was seeded (UTC micros; the platform clock), told in the summary
    history: int = 0  # everyday payments of the people's past (`puhui.demo_history`)
    cards: list[str] = field(default_factory=list, repr=False)  # each customer's bound bank card id
    static_qrs: list[str] = field(default_factory=list, repr=False)  # each merchant's static QR code
    # the sandbox bank that settled the seeded top-ups: the served app keeps it (`bank_worker.hand_over`),
    # or a new bank would know none of them (reconciliation: missing at the bank) and repeat their references
    bank: object | None = field(default=None, repr=False, compare=False)

    def summary(self) -> str:
        """What was seeded, when (China time: the summary is saved and shown again on a restart, when its
        counts are that day's), and the credentials to try it with."""
        c, m = self.customers[0], self.merchants[0]
        when = clock.from_micros(self.seeded_at).astimezone(clock.CHINA)
        return (
            f"{SEEDED}{when:%Y-%m-%d %H:%M} China time: "
            f"{plural(len(self.customers), 'customer')}, {plural(len(self.merchants), 'merchant')}, "
            f"{plural(self.top_ups, 'bank top-up')}, {plural(self.payments, 'QR payment')}, "
            f"{plural(self.refunds, 'refund')}, {plural(self.p2p, 'P2P transfer')}\n"
            f"  the customers' past: {plural(self.history, 'everyday payment')} at the merchants over the "
            f"{HISTORY_WEEKS} weeks before the simulated days (risk control knows them as regular customers)\n"
            f"  customer login: phone {c['phone']}  password {c['password']}  (POST /v1/customers/login)\n"
            f"  merchant {m['name']} ({m['id']}) API key: {m['api_key']}  (Authorization: Bearer <key>)"
            + "".join(f"\n  {s['role']} {s['handle']} token: {s['token']}" for s in self.staff)
            + f"\n  insurer {self.insurer}: medical {MEDICAL['code']} v1, return-shipping {RETURN_SHIPPING['code']} v1 "
            + f"({plural(self.covered_orders, 'order')} with cover at {m['name']}: /merchant/return-shipping)"
            + f"\n  credit lines of {DEMO_LINE} CNY for {plural(self.credit_lines, 'customer')} (/app/credit); "
            + f"{plural(self.funds, 'fund')} R2 to R5 with {plural(NAV_DAYS, 'day')} of NAVs (/app/funds)"
            + f"\n  stocks and ETFs: {self.market_maker} quotes every listed one in trading hours, China time "
            + "(/app/securities, ETF robo-advice at /app/securities/robo)"
        )

    def __str__(self) -> str:
        return self.summary()


MEDICAL = {
    "code": "zunxiang-e",
    "version": 1,
    "name": "尊享e生 百万医疗 (演示)",
    "min_age": 0,
    "bands": [
        {"years": 18, "with_social_insurance": "200.00", "without_social_insurance": "450.00"},
        {"years": 23, "with_social_insurance": "299.00", "without_social_insurance": "688.00"},
        {"years": 25, "with_social_insurance": "899.00", "without_social_insurance": "1999.00"},
    ],
    "waiting_days": 30,  # 等待期: an illness in the first 30 days of cover is not covered
    "early_claim_days": 30,  # any claim in them goes to a person (人工审核), an accident's too
    "questionnaire": [
        {"id": "hypertension", "text": "是否患有高血压？", "on_yes": "exclude", "condition": "I10"},
        {"id": "cancer", "text": "是否患有或曾患恶性肿瘤？", "on_yes": "decline"},
    ],
}
DEMO_CAPITAL = 10_000_000_00  # fen: the platform's paid-in capital (实缴资本), which it lends
DEMO_LINE = "5000.00"
DEMO_INCOME = "120000.00"  # the annual income each demo customer declares (申报年收入): a third bounds their credit
DEMO_FUNDS = (  # distributed funds (代销基金) from cautious to bold, with a yearly drift and daily swing of NAV
    ("970002", "稳盈纯债 (演示)", "R2", "0.03", 0.001),
    ("970003", "均衡配置混合 (演示)", "R3", "0.08", 0.008),
    ("970005", "创新先锋股票 (演示)", "R5", "0.12", 0.018),
)
DEMO_REDEMPTION_FEES = [  # 赎回费 of the demo funds: under 7 days 1.5%, all of it to the fund, as the CSRC rule charges
    {"under_days": 7, "rate": "0.015", "to_fund_share": "1"},
    {"under_days": 365, "rate": "0.005"},
    {"rate": "0"},
]
NAV_DAYS = 60
RETURN_SHIPPING = {"code": "rs-demo", "version": 1, "claim_amount": "12.00", "target_loss_ratio": "0.7"}
INSURER_TERMS = {
    "commission_rate": "0.15",
    "schedule": {"kind": "monthly", "value": 15},
    "bank_name": "演示银行",
    "bank_account": "6222000000000001",
    "claims_float": "10000.00",
}


def _seed_insurance(client, admin: dict) -> str:
    """An insurer partner with a 百万医疗 product, return-shipping cover, settlement terms and a claims float."""
    insurer = _check(
        client.post(
            "/v1/partners", headers={**admin, "Idempotency-Key": "demo-insurer"}, json={"name": "众安在线 (演示)"}
        ),
        201,
    )["id"]
    steps = (
        ("/v1/insurance/insurers", {"partner_id": insurer}, 201),
        ("/v1/insurance/products", {**MEDICAL, "insurer_id": insurer}, 201),
        ("/v1/insurance/return-shipping/products", {**RETURN_SHIPPING, "insurer_id": insurer}, 201),
        (f"/v1/insurance/insurers/{insurer}/funding", {"amount": "50000.00"}, 201),
    )
    for n, (path, body, status) in enumerate(steps):
        _check(client.post(path, headers={**admin, "Idempotency-Key": f"demo-insurance-{n}"}, json=body), status)
    terms = client.put(
        f"/v1/insurance/insurers/{insurer}/terms",
        headers={**admin, "Idempotency-Key": "demo-insurer-terms"},
        json=INSURER_TERMS,
    )
    _check(terms, 200)
    return insurer


def _check(answer, *expected: int) -> dict:
    if answer.status_code not in expected:
        raise DemoSeedError(f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}")
    return answer.json()


def _seed_credit(engine: Engine, client, admin: dict, customer_ids: list[str]) -> int:
    """The platform's capital paid in (so it can lend) and a credit line (信用额度) per demo customer, as a
    risk officer would open them: buy now, pay later works at once in the customer app."""
    from puhui.db import transaction
    from puhui.payments import reserve

    transaction(engine, lambda uow: reserve.inject_capital(uow, "demo.capital", DEMO_CAPITAL))
    for cid in customer_ids:
        line = {"customer_id": cid, "limit": DEMO_LINE, "annual_income": DEMO_INCOME}
        _check(client.post("/v1/lending/lines", headers=admin, json=line), 201)
    return len(customer_ids)


def _seed_funds(client, admin: dict) -> int:
    """Distributed funds R2, R3, R5 and their NAVs for the last NAV_DAYS trading days (a seeded random walk), so
    the customer app's funds, questionnaire and robo-advice have something to show."""
    import datetime as dt
    import random
    from decimal import Decimal

    from puhui.wealth.calendar import is_trading_day

    rng, day = random.Random(9), clock.business_date() - dt.timedelta(days=1)
    days: list[dt.date] = []  # funds are valued on trading days only: the last NAV_DAYS of them before today
    while len(days) < NAV_DAYS:
        if is_trading_day(day):
            days.append(day)
        day -= dt.timedelta(days=1)
    rows = ["date,fund_code,nav"]
    for code, name, risk, drift, swing in DEMO_FUNDS:
        fund = {
            "code": code,
            "name": name,
            "risk": risk,
            "redemption_days": 2,
            "fee_tiers": [{"min_amount": "1.00", "rate": "0.015"}, {"min_amount": "1000000.00", "rate": "0.001"}],
            "redemption_fees": DEMO_REDEMPTION_FEES,
        }
        _check(client.post("/v1/wealth/fund-products", headers=admin, json=fund), 201)
        nav = Decimal("1.0000")
        for valued in reversed(days):
            nav *= 1 + Decimal(drift) / 250 + Decimal(str(rng.gauss(0, swing)))  # about 250 trading days a year
            rows.append(f"{valued},{code},{nav:.4f}")
    _check(client.post("/v1/wealth/navs", headers=admin, json={"csv": "\n".join(rows) + "\n"}), 200)
    return len(DEMO_FUNDS)


def _base_settings(settings: Settings | None) -> Settings:
    """The settings the seeding runs with: the server's (with its PII keys and JWT secret), or demo secrets."""
    from puhui.identity.service import with_demo_secrets

    return settings if settings is not None else with_demo_secrets(get_settings().model_copy())


@contextlib.contextmanager
def _seeding(engine: Engine, base: Settings) -> Iterator[tuple[Any, dict, Settings]]:
    """(client, admin headers, settings) of an in-process app seeding through the real API, with argon2
    kept cheap. It runs no monitor loop of its own: `prepare_demo` watches the seeded payments once, after."""
    import warnings

    from argon2 import PasswordHasher

    with warnings.catch_warnings():  # the in-process client seeds through the real API; Starlette's
        warnings.filterwarnings("ignore", message=".*httpx.*")  # notice about its transport is no news to a newcomer
        from fastapi.testclient import TestClient

    from puhui.app import create_app
    from puhui.identity import auth

    admin_token = base.admin_token or secrets.token_urlsafe(24)
    # the seeding is not traffic: its many log-ins (each person's sessions through the weeks of the past, on a
    # clock the seeding moves) are not held to the per-address rate limit (限流) the server keeps for callers
    updates = {"admin_token": admin_token, "monitoring": False, "auth_rate_per_minute": 0}
    seeding = base.model_copy(update=updates)
    previous = auth.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    try:
        with TestClient(create_app(engine, seeding, run_expiry=False), base_url="http://demo.local") as client:
            yield client, {"Authorization": f"Bearer {admin_token}"}, seeding
    finally:
        auth.set_password_hasher(previous)


def wire_bank(client, bank) -> None:
    """The sandbox bank notifies this client's app (the seeding app of the moment)."""

    def callback(body: bytes, header: str) -> int:
        return client.post(
            "/v1/bank/notifications",
            content=body,
            headers={"X-Bank-Signature": header, "Content-Type": "application/json"},
        ).status_code

    bank.register_callback(callback)
    client.app.state.bank = bank


def _settle_bank(bank, manual: clock.ManualClock | None = None) -> None:
    """Let the bank settle and notify everything due; on a `manual` clock (the past), move it to each event."""
    for _ in range(100):
        due = bank.next_event_at()
        if due is None:
            return
        if manual is not None and due > manual.now():
            manual.set(due)
        bank.deliver_due(max(due, clock.now()))


def _login(client, customer: dict) -> dict:
    body = {"phone": customer["phone"], "password": customer["password"]}
    return {"Authorization": f"Bearer {_check(client.post('/v1/customers/login', json=body), 200)['token']}"}


def _hook_caught_up(client) -> None:
    """The fraud checks' windows take the payments made so far (their loop follows the outbox on its own
    time; the seeding moves faster), so each payment of the past is decided on the history before it."""
    hook = getattr(client.app.state, "fraud_hook", None)
    if hook is not None:
        hook.catch_up()


def seed_demo_people(engine: Engine, settings: Settings | None, until: dt.date) -> DemoWorld:
    """The demo customers, merchants and their past (`puhui.demo_history`), all before `until`: registered,
    verified and given their wallet class, their bank cards bound, the merchants opened with a static QR
    code each, and `HISTORY_WEEKS` of monthly top-ups and everyday payments, on a ManualClock in the past.
    `prepare_demo` calls it before the simulated days (the outbox stays in time order); `seed_demo_world`
    then seeds the present."""
    from puhui import demo_history
    from puhui.demo_people import register_person
    from puhui.payments.bank.worker import make_bank

    manual = clock.ManualClock(demo_history.history_start(until))
    world = DemoWorld()
    past = demo_history.in_the_past(engine, manual)  # platform time: the sandbox offset is not added again
    with past, _seeding(engine, _base_settings(settings)) as (client, admin, seeding):
        bank = world.bank = make_bank(engine, seeding)  # the server's own kind: `serve --demo` takes it over
        wire_bank(client, bank)
        for name, id_number, phone, verifications in CUSTOMERS:
            person = {"name": name, "id_number": id_number, "phone": phone, "password": DEMO_PASSWORD}
            made = register_person(client, admin, _check, person, CHANNELS[:verifications])
            world.customers.append(
                {"id": made.id, "name": name, "phone": phone, "password": DEMO_PASSWORD, "tier": made.tier}
            )
            bank.open_card(CARDS[len(world.cards)], 50_000_00)
            card = {"card_number": CARDS[len(world.cards)]}
            world.cards.append(
                _check(client.post(f"/v1/customers/{made.id}/cards", headers=made.headers, json=card), 201)["id"]
            )
        for spec in MERCHANTS:
            opened = _check(client.post("/v1/merchants", headers=admin, json=spec), 201)
            world.merchants.append({"id": opened["id"], "name": spec["name"], "api_key": opened["api_key"]})
        for m in world.merchants:
            static = client.post(f"/v1/merchants/{m['id']}/qr-codes", headers=_key(m), json={"kind": "static"})
            world.static_qrs.append(_check(static, 201)["id"])

        sessions: dict[str, tuple[float, dict]] = {}

        def session(customer: dict) -> dict:  # a session per person, logged in again before it expires
            at = manual.now().timestamp()
            since, headers = sessions.get(customer["id"], (-1e18, {}))
            if at - since > seeding.jwt_ttl_seconds / 2:
                sessions[customer["id"]] = (at, headers := _login(client, customer))
            return headers

        def top_up(day: dt.date) -> None:
            for customer, card in zip(world.customers, world.cards):
                order = {"card_id": card, "amount": demo_history.TOP_UP, "client_order_id": f"demo-month-{day}"}
                me = {**session(customer), "Idempotency-Key": f"demo-month-{customer['id']}-{day}"}
                _check(client.post("/v1/wallets/me/top-ups", headers=me, json=order), 202)
            _settle_bank(bank, manual)

        def pay(purchase: demo_history.Purchase) -> None:  # the shop prices the order: a dynamic code (动态码)
            customer, shop = world.customers[purchase.person], world.merchants[purchase.shop]
            stamp = f"{customer['id']}-{purchase.at:%Y%m%d%H%M}"
            order = {"kind": "dynamic", "amount": purchase.amount, "order_ref": f"DEMO-PAST-{stamp}"}
            qr = _check(client.post(f"/v1/merchants/{shop['id']}/qr-codes", headers=_key(shop), json=order), 201)
            _hook_caught_up(client)
            body = {"verification": "two_factors", "password": DEMO_PASSWORD}
            me = {**session(customer), "Idempotency-Key": f"demo-past-{stamp}"}
            _check(client.post(f"/v1/qr-codes/{qr['id']}/pay", headers=me, json=body), 201)

        people, count = len(world.customers), len(world.merchants)
        world.history = demo_history.live_history(manual, until, people, count, top_up, pay)
    return world


def _key(merchant: dict) -> dict:
    return {"Authorization": f"Bearer {merchant['api_key']}"}


def seed_demo_world(engine: Engine, settings: Settings | None = None, people: DemoWorld | None = None) -> DemoWorld:
    """Seed the demo world; returns a DemoWorld whose str() is the summary with credentials.

    `settings` must carry the PII keys and JWT secret the server will use (server.py passes the
    settings after `with_demo_secrets`); without it, demo secrets are filled in from `get_settings()`.
    `people`: the demo people and their past from `seed_demo_people` (made here, up to today, without it).
    """
    from puhui import demo_securities
    from puhui.demo_risk import ensure_model

    ensure_model(engine)  # the platform credit model: a demo customer's application gets a graded decision
    base = _base_settings(settings)
    world = people if people is not None else seed_demo_people(engine, base, clock.business_date())
    world.seeded_at = clock.now_micros()
    _align_bank_reserve(engine, world.bank)  # the simulated market's past, booked in the ledger alone
    with _seeding(engine, base) as (client, admin, _):
        bank = world.bank
        wire_bank(client, bank)

        # first: `puhui.demo_market.seeded` takes the regulator for the mark of a seeded world
        for role, handle in STAFF:
            made = _check(client.post("/v1/staff", headers=admin, json={"handle": handle, "role": role}), 201)
            world.staff.append({"role": role, "handle": handle, "token": made["token"]})

        tokens = [(c["id"], _login(client, c)) for c in world.customers]
        # today's top-ups: order from the bound card, let the bank settle and notify
        orders = []
        for (cid, me), amount, card in zip(tokens, TOP_UPS, world.cards):
            body = {"card_id": card, "amount": amount, "client_order_id": "demo-top"}
            top = client.post("/v1/wallets/me/top-ups", headers={**me, "Idempotency-Key": f"demo-top-{cid}"}, json=body)
            orders.append((me, _check(top, 202)["id"]))
        _settle_bank(bank)
        world.top_ups = _top_ups_settled(client, orders)
        if world.top_ups != len(tokens):
            raise DemoSeedError(f"only {world.top_ups} of {len(tokens)} top-ups settled")
        _seed_payments(client, world, tokens)
        world.insurer = _seed_insurance(client, admin)
        world.covered_orders = _seed_covered_orders(client, world, tokens)
        world.credit_lines = _seed_credit(engine, client, admin, [cid for cid, _ in tokens])
        world.funds = _seed_funds(client, admin)
        world.market_maker = demo_securities.seed_market(client, engine, admin, bank, DEMO_PASSWORD, CHANNELS, _check)
        _clear_bank_reserve(engine, bank)
    return world


RESERVE_REASON = (
    "demo seeding: the reserve the ledger holds (the simulated market's top-ups and withdrawals, its loans' own "
    "funds and fund flows moved it without the sandbox bank)"
)


def _align_bank_reserve(engine: Engine, bank) -> None:
    """The seeding bank's reserve account made to hold what the ledger says the platform holds there, once the
    simulated market (`puhui.sim`) booked its past: it books its top-ups and withdrawals, and its loans' and fund
    flows' reserve legs, straight in the ledger. Without it, the served demo's bank held only the seeded top-ups,
    and every payout larger failed `reserve_insufficient`. What the seeding moves on the reserve after it goes to
    the bank as clearing orders (`_clear_bank_reserve`), as the served demo's does."""
    from puhui.payments.bank.worker import align_reserve, record_booked_orders

    if bank is not None:
        align_reserve(engine, bank, RESERVE_REASON)
        record_booked_orders(engine, bank)  # the simulated market's top-ups and withdrawals, on the statements


def _clear_bank_reserve(engine: Engine, bank) -> None:
    """The seeded present's reserve movements without a bank order (the credit lines' own funds, fund
    subscriptions, the insurer's claims funding) sent to the bank as clearing orders (`bank_worker.clear_reserve`),
    settled and notified: the served demo starts with the bank holding the reserve the ledger says."""
    from puhui.payments.bank.worker import clear_reserve

    if bank is not None and clear_reserve(engine, bank):
        _settle_bank(bank)


def _top_ups_settled(client, orders: list[tuple[dict, str]]) -> int:
    """How many of today's top-ups (each customer's session and order id) the bank settled."""
    answers = [_check(client.get(f"/v1/wallets/me/top-ups/{order}", headers=me), 200) for me, order in orders]
    return sum(answer["status"] == "succeeded" for answer in answers)


COVERED_ORDERS = ("36.00", "58.50")
"""Orders the last demo customers buy at the first merchant with return-shipping cover (退货运费险) at checkout:
the merchant's portal then has covered orders whose returns it can confirm. (Not the first two: the README's
walk-through and its tests spend their day's QR limit.)"""


def _seed_covered_orders(client, world: DemoWorld, tokens: list[tuple[str, dict]]) -> int:
    merchant = world.merchants[0]
    buyers = tokens[-len(COVERED_ORDERS) :]
    for n, (amount, (cid, me)) in enumerate(zip(COVERED_ORDERS, buyers, strict=False)):
        order = {"kind": "dynamic", "amount": amount, "order_ref": f"DEMO-RS-{n + 1}"}
        made = client.post(f"/v1/merchants/{merchant['id']}/qr-codes", headers=_key(merchant), json=order)
        body = {
            "qr_id": _check(made, 201)["id"],
            "product_code": RETURN_SHIPPING["code"],
            "product_version": RETURN_SHIPPING["version"],
            "verification": "two_factors",
            "password": DEMO_PASSWORD,
        }
        headers = {**me, "Idempotency-Key": f"demo-covered-{cid}"}
        _check(client.post("/v1/insurance/return-shipping/checkout", headers=headers, json=body), 201)
    return min(len(COVERED_ORDERS), len(buyers))


def _seed_payments(client, world: DemoWorld, tokens: list[tuple[str, dict]]) -> None:
    """Today's QR payments (static and dynamic), a partial refund of the first and a P2P transfer."""
    shops = [_key(m) for m in world.merchants]
    first_payment = None
    for n in range(12):
        cid, me = tokens[n % len(tokens)]
        k = n % len(world.merchants)
        amount = f"{12 + 7 * n}.{(n * 37) % 100:02d}"
        if n % 2 == 0:  # dynamic: the merchant prices the order
            order = {"kind": "dynamic", "amount": amount, "order_ref": f"DEMO-{n}"}
            qr = _check(
                client.post(f"/v1/merchants/{world.merchants[k]['id']}/qr-codes", headers=shops[k], json=order), 201
            )["id"]
            body: dict = {"verification": "two_factors", "password": DEMO_PASSWORD}
        else:  # static: the payer types the amount
            qr, body = world.static_qrs[k], {"amount": amount}
        paid = _check(
            client.post(f"/v1/qr-codes/{qr}/pay", headers={**me, "Idempotency-Key": f"demo-pay-{n}"}, json=body), 201
        )
        world.payments += 1
        if first_payment is None:
            first_payment = (paid["id"], shops[k])
    assert first_payment is not None
    payment_id, shop = first_payment
    refund = client.post(
        f"/v1/payments/{payment_id}/refunds",
        headers={**shop, "Idempotency-Key": "demo-refund"},
        json={"amount": "5.00"},
    )
    _check(refund, 201)
    world.refunds += 1
    transfer = {"to_customer_id": tokens[1][0], "amount": "66.00", "client_transfer_id": "demo-p2p"}
    _check(client.post("/v1/transfers/p2p", headers=tokens[0][1], json=transfer), 201)
    world.p2p += 1
