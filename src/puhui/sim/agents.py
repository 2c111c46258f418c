"""The people of the simulated market (市场主体) and the platform facade they act through.

`Platform` calls the real services, one unit of work per act; a refusal the business expects
(insufficient funds, a limit, nothing due) is counted, rolled back, and the agent moves on.
Agents only decide: what to do today, at what minute, for how much — from their own seeded RNG."""

from __future__ import annotations

import datetime as dt
import enum
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine
from stdnum.cn import ric, uscc

from puhui.db import reading, transaction
from puhui.demo_risk import ensure_model
from puhui.errors import PuhuiError
from puhui.identity import consent, kyc, org, sessions
from puhui.identity import customers as customer_ops
from puhui.identity.models import VerificationChannel
from puhui.identity.service import customer_wallet_id
from puhui.identity.vault import Vault
from puhui.ledger import queries as ledger_queries
from puhui.lending import repayments
from puhui.lending import service as lending
from puhui.payments import challenges, reviews, wallets
from puhui.payments import service as payments
from puhui.payments.bank.channel import OrderKind, OrderState
from puhui.payments.models import QrKind, VerificationStrength
from puhui.payments.risk_hook import PaymentContext
from puhui.wealth import units as funds
from puhui.wealth.mmf import service as mmf


def run_vault() -> Vault:
    """Keys for a run nobody gave keys to: its people are sealed for the run only, like any throwaway data."""
    from puhui.identity.vault import generate_key

    return Vault.from_config(f"sim:{generate_key()}", generate_key())


OPERATOR = SimpleNamespace(id="simulator", role="admin")
# How the simulated people answer a step-up challenge (核身), as data: an honest owner reads the code
# texted to their phone and answers, except a few who give up (the payment expires); an account taker
# fails (three wrong codes) unless they hold the victim's phone (a SIM swap, a code talked out of the
# victim), as a few do.
STEP_UP = {"honest_abandons": 0.03, "fraud_holds_factor": 0.05}
FUND = "PH0001"
PRODUCT = {
    "code": "sim-cash-6",
    "name": "模拟现金贷 6期",
    "min_amount": "1000.00",
    "max_amount": "50000.00",
    "min_term": 3,
    "max_term": 12,
    "method": "equal_instalments",
    "annual_rate": "0.18",
    "grace_days": 3,
    "penalty_annual_rate": "0.24",  # the cap (`lending.disclosure.check_penalty_cap`)
    "early_repayment_fee_rate": "0.01",
}
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "杰"]
CITIES = ("北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆")


class Kind(enum.StrEnum):
    salary = "salary"  # 工薪族
    student = "student"  # 学生
    mule = "mule"  # 钱骡: an accomplice of a planted typology, a light ordinary user otherwise
    affiliate = "affiliate"  # 关联方: a related party of the platform as a lender


class Borrowing(enum.StrEnum):
    on_time = "on_time"
    late = "late"
    default = "default"


def id_number(n: int) -> str:
    """A valid resident ID (GB 11643) unique per n, born 1970–1999."""
    year = 1970 + n % 30
    rest = n // 30
    body = f"110105{year}{1 + rest % 12:02d}{1 + (rest // 12) % 28:02d}{(rest // 336) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


# Districts (Tianjin, Shanghai, Nanjing) for IDs built on a given birth date, not 110105 of `id_number`: 37, a
# prime, so the n of two runs (a million apart) share a district and sequence only 37 runs apart.
BORN_DISTRICTS = (
    "120101", "120102", "120103", "120104", "120105", "120106", "120107", "120108", "120109", "120110",
    "120111", "120112", "120113", "310101", "310102", "310103", "310104", "310105", "310106", "310107",
    "310108", "310109", "310110", "310112", "310113", "320101", "320102", "320103", "320104", "320105",
    "320106", "320107", "320111", "320112", "320113", "320114", "330101",
)  # fmt: skip


def id_number_born(born: dt.date, n: int) -> str:
    """A valid resident ID (GB 11643) carrying the birth date `born`, unique per n among those born that day
    (n mod 37,000: the sequence code and the district)."""
    district = BORN_DISTRICTS[(n // 1000) % len(BORN_DISTRICTS)]
    body = f"{district}{born:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def credit_code(n: int) -> str:
    """A valid unified social credit code (GB 32100) unique per n."""
    digits = f"{10000000 + n:08d}"
    org_code = digits + _org_check(digits)
    body = "91310000" + org_code
    return body + uscc.calc_check_digit(body)


def _org_check(digits: str) -> str:
    """GB 11714 organization code check character."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    c = 11 - sum(int(d) * w for d, w in zip(digits, weights)) % 11
    return "X" if c == 10 else ("0" if c == 11 else str(c))


@dataclass
class Agent:
    index: int
    kind: Kind
    rng: random.Random
    customer_id: str = ""
    payday: int = 0  # day of the month the income arrives
    income: int = 0  # fen per month
    pays_per_day: float = 0.0
    saver: bool = False
    borrowing: Borrowing | None = None
    borrow_day: int = 0
    loan_id: str | None = None
    due_days: list[int] = field(default_factory=list)
    quiet: tuple[int, int] | None = None  # days [from, to) the agent does nothing at all


@dataclass
class Merchant:
    index: int
    merchant_id: str
    qr_id: str


def make_agent(index: int, kind: Kind, seed: int, days: int) -> Agent:
    rng = random.Random(f"{seed}:agent:{index}")
    agent = Agent(index, kind, rng)
    if kind in (Kind.mule, Kind.affiliate):
        agent.pays_per_day = 0.2
        return agent
    agent.payday = rng.randrange(28)
    if kind == Kind.salary:
        agent.income = rng.randrange(4_000_00, 20_000_00, 100)
        agent.pays_per_day = rng.uniform(0.4, 1.4)
        agent.saver = rng.random() < 0.35
    else:
        agent.income = rng.randrange(800_00, 3_000_00, 100)
        agent.pays_per_day = rng.uniform(0.2, 1.0)
    if rng.random() < 0.15:
        agent.borrowing = rng.choices(list(Borrowing), weights=(70, 20, 10))[0]
        agent.borrow_day = rng.randrange(min(days, 5))
    return agent


class Platform:
    """The services, one unit of work per act; counts what was done and what was refused."""

    def __init__(self, engine: Engine, run_id: str, vault: Vault | None = None) -> None:
        self.engine, self.run_id = engine, run_id
        self.vault = vault or run_vault()  # the server's vault when it will read these people back
        self.n = 0
        self.done: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.volume: Counter[str] = Counter()  # fen moved by successful acts, per kind
        self.held: Counter[str] = Counter()  # payments held for review, by how the holder answered
        self.challenged: dict[str, str] = {}  # payment id -> passed / failed / abandoned (核身)
        self.answers = random.Random(f"{run_id}:step-up")
        self.after_challenge: Callable[[], object] | None = None  # the fraud state catching up at once
        self.contexts: dict[str, PaymentContext] = {}  # each customer's own phone and city
        self.homes: dict[str, str] = {}  # the home city of a customer away on a trip
        self._hash: str | None = None

    def key(self) -> str:
        self.n += 1
        return f"{self.run_id}.{self.n}"

    def attempt(self, what: str, work: Callable[[Any], Any], fen: int = 0) -> Any:
        try:
            result = transaction(self.engine, work)
        except PuhuiError as refused:
            self.refused[f"{what}:{type(refused).__name__}"] += 1
            return None
        self.done[what] += 1
        self.volume[what] += fen
        return result

    # -- onboarding ----------------------------------------------------------------------------

    def password_hash(self) -> str:
        """Hashing is slow on purpose; simulated customers share one password."""
        if self._hash is None:
            self._hash = customer_ops.prepare_registration(
                name="张伟", id_number=id_number(0), phone="13000000000", password="correct horse battery"
            ).password_hash
        return self._hash

    def register(self, agent: Agent, seq: int, born: dt.date | None = None) -> str:
        """Open the agent's account; `born`, when given, is the birth date its ID number carries (an insured's
        age is read from it), else one in 1970–1999 by `seq`."""
        name = SURNAMES[agent.rng.randrange(10)] + GIVEN[agent.rng.randrange(10)]
        number = id_number(seq) if born is None else id_number_born(born, seq)
        data = customer_ops.Registration(  # the fields checked as `prepare_registration` does; one shared hash
            name=customer_ops.normalize_name(name),
            id_number=customer_ops.normalize_id_number(number),
            phone=customer_ops.normalize_phone(f"13{seq:09d}"),
            address=None,
            password_hash=self.password_hash(),
        )

        def work(uow):
            cid = customer_ops.register(uow, self.vault, data)
            # the consents a sign-up gives, as `POST /v1/customers` records them (a self sign-up)
            consent.record_registration_consents(uow, cid, list(consent.REGISTRATION_CONSENTS), None)
            for channel in VerificationChannel:
                kyc.record_verification(uow, cid, channel, f"SIM-{cid}-{channel}", True, OPERATOR)
            kyc.upgrade_tier(uow, cid, OPERATOR, "simulated onboarding")
            return cid

        agent.customer_id = transaction(self.engine, work)
        self.contexts[agent.customer_id] = home_context(seq)
        return agent.customer_id

    def merchant(self, index: int, seq: int, name: str = "模拟小店") -> Merchant:
        data = org.prepare_merchant(
            name=f"{name}{seq}",
            credit_code=credit_code(seq),
            settlement_account="6222020000000000059",
            settlement_holder="周丽",
            settlement_bank="工商银行上海分行",
        )

        def work(uow):
            mid, _ = org.create_merchant(uow, self.vault, data, OPERATOR)
            return mid, payments.create_qr(uow, mid, QrKind.static, None, 0, None)["id"]

        mid, qr = transaction(self.engine, work)
        return Merchant(index, mid, qr)

    def relate_to_platform(self, affiliates: list[Agent]) -> None:
        """Compliance registers the platform's related parties (关联方), as it would over the API."""
        from puhui.regtech import related

        for agent in affiliates:
            body = {"lender": "platform", "party": agent.customer_id, "relation": "affiliate"}
            transaction(self.engine, lambda uow, body=body: related.add(uow, body, OPERATOR.id))

    # -- money ---------------------------------------------------------------------------------

    def top_up(self, cid: str, fen: int) -> str | None:
        """From the customer's bank card (充值)."""
        return self._bank_order("top_up", cid, fen, OrderKind.debit_card)

    def _bank_order(self, what: str, cid: str, fen: int, kind: OrderKind) -> str | None:
        """An order the sandbox bank posts at once."""
        key = self.key()

        def work(uow):
            row = wallets.open_order(uow, cid, "card-1", kind, fen, key)
            wallets.finish(uow, row["id"], OrderState.succeeded, fen, kind)
            return row["id"]

        return self.attempt(what, work, fen)

    def p2p(
        self,
        payer: str,
        payee: str,
        fen: int,
        context: PaymentContext | None = None,
        genuine: bool = True,
        holds_factor: bool = False,
        purpose: str | None = None,
    ) -> str | None:
        key, ctx = self.key(), context or self.contexts.get(payer, payments.NO_CONTEXT)
        row = self.attempt("p2p", lambda uow: payments.pay_p2p(uow, payer, payee, fen, key, ctx, purpose)[0], fen)
        return self.settle_review(row, genuine, holds_factor) if row else None

    def qr_pay(
        self,
        payer: str,
        merchant: Merchant,
        fen: int,
        context: PaymentContext | None = None,
        genuine: bool = True,
        holds_factor: bool = False,
    ) -> str | None:
        key, ctx = self.key(), context or self.contexts.get(payer, payments.NO_CONTEXT)
        row = self.attempt(
            "qr",
            lambda uow: payments.pay_qr(
                uow, payer, merchant.qr_id, fen, VerificationStrength.two_factors, key, 60, ctx
            )[0],
            fen,
        )
        return self.settle_review(row, genuine, holds_factor) if row else None

    def settle_review(self, row: dict, genuine: bool, holds_factor: bool = False) -> str | None:
        """A payment held for review (待审核): the platform asks the account holder; the holder confirms a
        payment they made and disowns one they did not (an account takeover), which is then rejected.
        A payment parked for a step-up challenge is answered by whoever made it (`step_up`)."""
        if challenges.is_challenge(row):
            return self.step_up(row, genuine, holds_factor)
        if not payments.is_review(row):
            return row["id"]
        rid = row["id"]
        if genuine:
            self.held["confirmed"] += 1
            transaction(self.engine, lambda uow: payments.approve_review(uow, rid, OPERATOR.id, "the holder confirmed"))
            return rid
        self.held["disowned"] += 1
        transaction(self.engine, lambda uow: reviews.reject(uow, rid, OPERATOR.id, "the holder disowned it"))
        return None

    def step_up(self, row: dict, genuine: bool, holds_factor: bool) -> str | None:
        """Answer a step-up challenge (核身) as the payments API does (`challenges.answer` with the
        payment's completion): the owner with the code texted to them, unless they give up; an account
        taker with the code only when they hold the victim's phone, else three wrong guesses."""
        try:
            return self._step_up(row, genuine, holds_factor)
        finally:
            if self.after_challenge is not None:
                self.after_challenge()

    def _step_up(self, row: dict, genuine: bool, holds_factor: bool) -> str | None:
        cid, challenge_id = row["payer_id"], row["id"]
        texted = challenges.SMS_OUTBOX.pop(cid, [])
        if genuine and self.answers.random() < STEP_UP["honest_abandons"]:
            self.challenged[challenge_id] = "abandoned"  # declined when it expires (`expire_challenges`)
            return None
        if genuine or holds_factor:
            code = texted[-1] if texted else None
            done = self._answer(challenge_id, cid, code)
            if done is not None and done["status"] == "passed":
                self.challenged[challenge_id] = "passed"
                return done["payment_id"]
        for _ in range(challenges.MAX_ATTEMPTS):
            guess = self.answers.randrange(1_000_000)
            wrong = f"{(guess + 1) % 1_000_000 if texted and f'{guess:06d}' == texted[-1] else guess:06d}"
            self._answer(challenge_id, cid, wrong)
        self.challenged[challenge_id] = "failed"
        return None

    def _answer(self, challenge_id: str, cid: str, code: str | None) -> dict | None:
        try:
            return transaction(
                self.engine,
                lambda uow: challenges.answer(uow, challenge_id, cid, code, None, payments.complete_held_payment),
            )
        except PuhuiError as refused:
            self.refused[f"challenge:{type(refused).__name__}"] += 1
            return None

    def expire_challenges(self) -> int:
        """Decline the challenges nobody answered in time (the owners who gave up)."""
        expired = 0
        while done := transaction(self.engine, challenges.expire_due):
            expired += done
        return expired

    def bind_card(self, cid: str, seq: int) -> str | None:
        """Bind another bank card (绑卡) to the customer."""
        import zlib

        from stdnum import luhn

        body = f"622848{zlib.crc32(self.run_id.encode()) % 10**4:04d}{seq % 10**8:08d}"
        number = body + luhn.calc_check_digit(body)
        return self.attempt("bind_card", lambda uow: customer_ops.bind_card(uow, self.vault, cid, number))

    def change_password(self, cid: str) -> int | None:
        """Change the customer's password (改密), ending its sessions; simulated customers keep one hash."""
        return self.attempt("change_password", lambda uow: sessions.change_password(uow, cid, self.password_hash()))

    def balance(self, cid: str) -> int:
        with reading(self.engine) as connection:
            return ledger_queries.available(connection, customer_wallet_id(cid)) or 0

    def withdraw(self, cid: str, fen: int) -> str | None:
        """To the customer's bank card (提现)."""
        return self._bank_order("withdrawal", cid, fen, OrderKind.credit_card)

    def withdraw_share(self, cid: str, percent: int) -> str | None:
        fen = self.balance(cid) * percent // 100
        return self.withdraw(cid, fen) if fen > 0 else None

    def subscribe(self, cid: str, fen: int) -> None:
        key = self.key()
        self.attempt("mmf_subscribe", lambda uow: mmf.subscribe(uow, cid, FUND, fen, key), fen)

    def redeem_part(self, cid: str, percent: int, fast: bool) -> None:
        with reading(self.engine) as connection:
            units = funds.units_held(connection, FUND, cid)
        part = units * percent // 100  # units at a NAV of 1.00: fen
        if part > 0:
            key = self.key()
            self.attempt("mmf_redeem", lambda uow: mmf.redeem(uow, cid, FUND, part, key, fast), part)

    def redeem_fen(self, cid: str, fen: int, fast: bool) -> bool:
        """Redeem `fen` of fund units (a NAV of 1.00); False when the holding (confirmed units) is short."""
        with reading(self.engine) as connection:
            if funds.units_held(connection, FUND, cid) < fen:  # not confirmed yet: tried again later
                return False
        key = self.key()
        return self.attempt("mmf_redeem", lambda uow: mmf.redeem(uow, cid, FUND, fen, key, fast), fen) is not None

    def pay_merchant(self, payer: str, merchant: Merchant, fen: int, genuine: bool = True) -> str | None:
        """A purchase by the merchant's dynamic QR code for the order (动态码), confirmed with the payer's
        certificate: no per-day QR cap, as for school fees, a car or a banquet."""
        key, ctx = self.key(), self.contexts.get(payer, payments.NO_CONTEXT)

        def work(uow):
            qr = payments.create_qr(uow, merchant.merchant_id, QrKind.dynamic, fen, 600, key)
            return payments.pay_qr(uow, payer, qr["id"], fen, VerificationStrength.certificate, key, 60, ctx)[0]

        row = self.attempt("purchase", work, fen)
        return self.settle_review(row, genuine) if row else None

    # -- credit --------------------------------------------------------------------------------

    def ensure_product(self) -> None:
        with reading(self.engine) as connection:
            known = {p["code"] for p in lending.list_products(connection)}
        if PRODUCT["code"] not in known:
            transaction(self.engine, lambda uow: lending.create_product(uow, PRODUCT))
        ensure_model(self.engine)  # lending approves nothing without a platform credit model

    def borrow(self, agent: Agent, fen: int, term: int) -> None:
        cid = agent.customer_id

        # The income the borrower declares (申报年收入, unverified): a year of its pay, or three times the
        # loan where that is more, so the one-third-of-income limit leaves the simulated loans as they were.
        declared = max(agent.income * 12, 3 * fen)

        def work(uow):
            application = lending.apply(uow, cid, PRODUCT["code"], fen, term, declared)
            if application["decision"] != "approved":
                return None
            offer = lending.make_offer(uow, application["id"], cid)
            loan = lending.accept(uow, offer["id"], cid)
            return loan["id"], [r["due_day"] for r in lending.instalments(uow.connection, loan["id"])]

        taken = self.attempt("loan", work, fen)
        if taken:
            agent.loan_id, agent.due_days = taken

    def repay(self, agent: Agent, early: bool = False) -> str | None:
        """The instalment due, or the whole loan early (提前还款); the repayment's id."""
        assert agent.loan_id is not None
        loan_id, cid, kind = agent.loan_id, agent.customer_id, "early_full" if early else "scheduled"
        done = self.attempt("repayment", lambda uow: repayments.repay(uow, loan_id, cid, None, kind))
        return done["id"] if done else None


def home_context(seq: int) -> PaymentContext:
    """The customer's own phone and home city: the same on every payment they make."""
    return PaymentContext(device_id=f"dev-{seq}", location=CITIES[seq % len(CITIES)])


Act = tuple[int, Callable[[], Any]]  # (minute of the China day, the act)


def daily_acts(
    agent: Agent,
    day: int,
    month_day: int,
    lending_day: int,
    platform: Platform,
    customers: list[Agent],
    merchants: list[Merchant],
) -> list[Act]:
    """What an ordinary agent does today, each act at a minute of the day."""
    if agent.quiet is not None and agent.quiet[0] <= day < agent.quiet[1]:
        return []
    rng, cid, acts = agent.rng, agent.customer_id, []
    if agent.kind in (Kind.mule, Kind.affiliate):  # keeps the account alive: a small purchase now and then
        if rng.random() < agent.pays_per_day:
            m = merchants[rng.randrange(len(merchants))]
            acts.append(
                (rng.randrange(600, 1260), lambda m=m, fen=rng.randrange(10_00, 200_00): platform.qr_pay(cid, m, fen))
            )
        return acts
    if day == 0 or month_day == agent.payday:
        acts.append((rng.randrange(420, 600), lambda fen=agent.income: platform.top_up(cid, fen)))
        if agent.saver:
            acts.append((rng.randrange(600, 1200), lambda fen=agent.income * 3 // 10: platform.subscribe(cid, fen)))
    for _ in range(_poisson(rng, agent.pays_per_day)):
        m = merchants[rng.randrange(len(merchants))]
        fen = max(100, int(rng.lognormvariate(4.0, 0.9) * 100))
        acts.append((rng.randrange(420, 1380), lambda m=m, fen=fen: platform.qr_pay(cid, m, fen)))
    if rng.random() < 0.08 and len(customers) > 1:
        other = customers[rng.randrange(len(customers))]
        if other is not agent and not (other.quiet and other.quiet[0] <= day < other.quiet[1]):  # a dormant
            # account is one nobody pays into either
            fen = rng.randrange(20_00, 2_000_00, 100)
            acts.append((rng.randrange(480, 1380), lambda o=other, fen=fen: platform.p2p(cid, o.customer_id, fen)))
    if agent.kind == Kind.salary and rng.random() < 0.04:
        fen = rng.randrange(200_00, 2_000_00, 100)
        acts.append((rng.randrange(540, 1320), lambda fen=fen: platform.withdraw(cid, fen)))
    if agent.saver and rng.random() < 0.03:
        fast = rng.random() < 0.5
        acts.append((rng.randrange(540, 900), lambda: platform.redeem_part(cid, 50, fast)))
    acts.extend(_credit_acts(agent, day, lending_day, platform))
    return acts


def _credit_acts(agent: Agent, day: int, lending_day: int, platform: Platform) -> list[Act]:
    rng = agent.rng
    if agent.borrowing is None:
        return []
    if day == agent.borrow_day and agent.loan_id is None:
        fen = rng.randrange(3_000_00, 20_000_00, 100_00)
        return [(rng.randrange(540, 1200), lambda: platform.borrow(agent, fen, 6))]
    if agent.loan_id is None or agent.borrowing == Borrowing.default:
        return []
    delay = 0 if agent.borrowing == Borrowing.on_time else 15
    if any(lending_day == due + delay for due in agent.due_days):
        return [(rng.randrange(480, 1200), lambda: platform.repay(agent))]
    return []


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's draw; small means only."""
    import math

    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
