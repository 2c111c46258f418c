"""The insurance simulation (保险模拟): a seeded book of customers × days through the real services.

An insurer partner sells a 百万医疗-style medical product (premium by age band, deductible 10,000,
ratio 0.6 without / 1.0 with social insurance, health declaration) and return-shipping cover at
checkout (退货运费险). During a warm-up before the run customers buy their medical policies (some are
declined, some accepted with exclusions); during the run they shop with cover and return goods, fall
ill or have accidents and claim, and a few defraud (ground truth stored in `sim_labels`, the claim id
in `payment_id`). Each claim's fraud features are computed as of its report (`ClaimBook`); with a
fitted model the score feeds adjudication, above the threshold to manual review. A reviewer works the
queue at the end of each day (investigation finds the planted frauds: declined; the rest approved).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from puhui import clock as clock_module
from puhui.db import UnitOfWork, reading, transaction
from puhui.identity import org
from puhui.insurance import models as insurance_models
from puhui.insurance import service as insurance
from puhui.insurance.claims import service as claims
from puhui.insurance.claims.models import Question, ReviewRules, Verdict
from puhui.insurance.returns import queries as return_queries
from puhui.insurance.returns import service as returns
from puhui.insurance.returns.models import ReturnShippingTerms
from puhui.ledger.audit import audit
from puhui.money import parse_minor
from puhui.payments.models import VerificationStrength
from puhui.payments.risk_hook import PaymentContext
from puhui.risk.claims_fraud.features import ClaimBook, ClaimView
from puhui.risk.claims_fraud.hook import review_rules, scorer_for
from puhui.risk.claims_fraud.model import ClaimsFraudModel
from puhui.sim.agents import OPERATOR, Agent, Kind, Merchant, Platform
from puhui.sim.insurance_people import (
    ACCIDENT_CODES,
    ACCIDENT_SHARE,
    ILLNESS_CODES,
    Fraud,
    Person,
    claim_today,
    fraud_today,
    genuine_bill,
    invoice,
    make_person,
)
from puhui.sim.tables import sim_labels, sim_runs

FUNDS = 10_000_00  # each customer's first top-up
DISCLOSURE = "模拟百万医疗 条款与健康告知 v1"
BANDS = (  # (min, max, with social insurance, without) in fen a year
    (18, 30, 180_00, 360_00),
    (31, 40, 260_00, 520_00),
    (41, 50, 420_00, 840_00),
    (51, 60, 780_00, 1_560_00),
    (61, 70, 1_400_00, 2_800_00),
)
QUESTIONS = (
    Question("hypertension", "是否患有高血压", Verdict.exclude, "I10"),
    Question("diabetes", "是否患有糖尿病", Verdict.exclude, "E11"),
    Question("cancer", "是否曾患恶性肿瘤", Verdict.decline),
)
CLAIM_FRAUDS = (Fraud.inflated_bill, Fraud.duplicate_documents, Fraud.after_waiting)
TARGET_LOSS_RATIO = Decimal("0.55")  # the return-shipping product's target (目标赔付率); the band is 60–80%
PRIOR_RETURN_RATE = Decimal("0.12")  # a new merchant's assumed return rate: the book's usual rate


@dataclass(frozen=True)
class Config:
    customers: int
    days: int
    seed: int
    fraud_share: float = 0.015  # customers who defraud the medical cover
    colluder_share: float = 0.005  # customers who stage returns with a colluding merchant
    warmup: int = 40  # days before the run in which medical policies are bought
    start: dt.date = dt.date(2026, 3, 2)


@dataclass
class ClaimRecord:
    """A medical claim of the run: its features as of the report, its score, what the rules decided."""

    claim_id: str
    customer_id: str
    features: dict[str, float]
    score: Decimal | None
    decided: str  # the status at report: approved/paid, declined or review
    fraud: str | None  # the planted typology, None for a genuine claim


@dataclass
class InsuranceResult:
    run_id: str
    config: Config
    claims: list[ClaimRecord] = field(default_factory=list)
    labels: list[tuple[str, str, str]] = field(default_factory=list)  # (customer, typology, claim/policy id)
    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    return_premiums: int = 0
    return_claims_paid: int = 0
    covers: list[insurance_models.Cover] = field(default_factory=list)
    medical_paid: int = 0
    final_status: Counter[str] = field(default_factory=Counter)
    audit_ok: bool = False

    @property
    def return_loss_ratio(self) -> Decimal | None:
        """Return-shipping claims paid ÷ premiums (赔付率)."""
        return _ratio(self.return_claims_paid, self.return_premiums)

    @property
    def medical_earned(self) -> int:
        last = self.config.start + dt.timedelta(days=self.config.days - 1)
        return sum(insurance_models.earned_through(cover, last) for cover in self.covers)

    @property
    def medical_loss_ratio(self) -> Decimal | None:
        """Medical claims paid ÷ premium earned through the last day of the run."""
        return _ratio(self.medical_paid, self.medical_earned)

    @property
    def straight_through(self) -> Decimal | None:
        """The share of claims the rules decided at once (自动核赔率), not sent to review."""
        decided = sum(1 for c in self.claims if c.decided != claims.REVIEW)
        return _ratio(decided, len(self.claims))


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / whole).quantize(Decimal("0.0001")) if whole else None


class InsuranceWorld:
    def __init__(self, engine: Engine, config: Config, model: ClaimsFraudModel | None = None) -> None:
        self.engine, self.config, self.model = engine, config, model
        with reading(engine) as connection:
            runs = connection.execute(select(func.count()).select_from(sim_runs)).scalar_one()
        self.run_id = f"ins{runs + 1}-{config.seed}"
        self.seq_base = runs * 1_000_000
        self.platform = Platform(engine, self.run_id)
        first = config.start - dt.timedelta(days=config.warmup)
        self.clock = clock_module.ManualClock(clock_module.china_midnight(first) + dt.timedelta(hours=6))
        self.rng = random.Random(f"{config.seed}:insurance-world")
        self.people: list[Person] = []
        self.merchants: list[Merchant] = []
        self.colluding: list[Merchant] = []
        self.book = ClaimBook()
        self.pending_returns: dict[int, list[tuple[str, str]]] = {}
        self.ring_invoices: list[bytes] = []
        self.fraud_claims: set[str] = set()
        self.insurer = ""
        self.medical_code, self.return_code = f"med-{self.run_id}", f"rs-{self.run_id}"
        self.result = InsuranceResult(self.run_id, config)

    # -- setting up ------------------------------------------------------------------------------

    def populate(self) -> None:
        c = self.config

        def insurer(uow: UnitOfWork) -> str:
            partner_id, _ = org.create_partner(uow, f"模拟保险{self.run_id}", OPERATOR)
            insurance.register_insurer(uow, partner_id)
            bands = tuple(insurance_models.AgeBand(*band) for band in BANDS)
            product = insurance_models.MedicalProduct(self.medical_code, 1, "模拟百万医疗", bands)
            insurance.add_medical_product(uow, partner_id, product, QUESTIONS)
            cover = insurance_models.ReturnShippingProduct(
                self.return_code, 1, claim_amount=10_00, target_loss_ratio=TARGET_LOSS_RATIO, credibility_orders=20
            )
            returns.add_product(uow, ReturnShippingTerms(cover, partner_id, PRIOR_RETURN_RATE, 5_00))
            return partner_id

        self.insurer = transaction(self.engine, insurer)
        n_merchants = max(5, c.customers // 40)
        seq = self.seq_base + 600_000
        self.merchants = [self.platform.merchant(j, seq + j, "模拟网店") for j in range(n_merchants)]
        self.colluding = self.merchants[: max(1, n_merchants // 10)]
        for i in range(c.customers):
            person = make_person(i, c.seed, c.fraud_share, c.warmup, c.start)
            if person.fraud is None and self.rng.random() < c.colluder_share:
                person.fraud = Fraud.staged_return
            agent = Agent(i, Kind.salary, person.rng)
            person.customer_id = self.platform.register(agent, self.seq_base + i, person.born)
            self.platform.top_up(person.customer_id, FUNDS)
            self.people.append(person)
        transaction(self.engine, self._record_run)

    def _record_run(self, uow: UnitOfWork) -> None:
        c = self.config
        uow.execute(
            sim_runs.insert().values(
                id=self.run_id,
                seed=c.seed,
                customers=c.customers,
                days=c.days,
                start_date=c.start.isoformat(),
                status="running",
                summary=None,
                created_at=clock_module.now_micros(),
            )
        )

    # -- the days --------------------------------------------------------------------------------

    def at(self, date: dt.date, hour: int) -> None:
        self.clock.set(clock_module.china_midnight(date) + dt.timedelta(hours=hour))

    def day(self, d: int) -> None:
        date = self.config.start + dt.timedelta(days=d)
        self.at(date, 9)
        for person in self.people:
            if person.buy_day == d and person.buys_medical:
                self.buy_medical(person)
        if d < 0:
            return
        self.at(date, 12)
        for person in self.people:
            self.shop(person, d)
        self.at(date, 15)
        for merchant_id, policy_id in self.pending_returns.pop(d, []):
            self.confirm_return(merchant_id, policy_id)
        self.at(date, 17)
        for person in self.people:
            self.claims_of(person, d, date)
        self.at(date, 20)
        self.work_reviews()

    # -- medical policies ------------------------------------------------------------------------

    def buy_medical(self, person: Person) -> None:
        """Buy as the API does: the insured's age is read from the birth date in their ID (周岁 on the cover
        start), none typed in."""

        def work(uow: UnitOfWork) -> dict[str, Any]:
            return insurance.buy_medical(
                uow,
                person.customer_id,
                self.medical_code,
                1,
                None,
                person.social_insurance,
                DISCLOSURE,
                ["terms_read", "health_declared"],
                f"{self.run_id}.med.{person.index}",
                person.answers,
                born=insurance.birth_date(uow.connection, self.platform.vault, person.customer_id),
            )

        policy = self.platform.attempt("medical_policy", work)
        if policy is None:
            return
        person.policy_id, person.policy_start = policy["id"], dt.date.fromisoformat(policy["start_date"])
        end = dt.date.fromisoformat(policy["end_date"])
        self.result.covers.append(insurance_models.Cover(person.policy_start, end, parse_minor(policy["premium"], 2)))

    # -- shopping with return-shipping cover -----------------------------------------------------

    def shop(self, person: Person, d: int) -> None:
        staged = person.fraud is Fraud.staged_return
        if person.rng.random() >= (0.08 if staged else person.orders_per_day):
            return
        shops = self.colluding if staged else self.merchants
        merchant = shops[person.rng.randrange(len(shops))]
        amount = max(10_00, int(person.rng.lognormvariate(0, 0.8) * 120_00))
        client_id = f"{self.run_id}.order.{self.platform.key()}"

        def work(uow: UnitOfWork) -> dict[str, Any]:
            context = PaymentContext(device_id=f"dev-{person.customer_id}", location="上海")
            answer, _ = returns.checkout(
                uow,
                person.customer_id,
                merchant.qr_id,
                self.return_code,
                1,
                amount,
                VerificationStrength.two_factors,
                client_id,
                60,
                context,
            )
            return answer

        answer = self.platform.attempt("return_checkout", work, amount)
        if answer is None:
            return
        policy = answer["policy"]
        self.result.return_premiums += parse_minor(policy["premium"], 2)
        goes_back = person.rng.random() < (0.9 if staged else person.return_rate)
        if goes_back:
            when = d + person.rng.randrange(2, 8)
            self.pending_returns.setdefault(when, []).append((merchant.merchant_id, policy["id"]))
            if staged:
                self.result.labels.append((person.customer_id, Fraud.staged_return.value, policy["id"]))

    def confirm_return(self, merchant_id: str, policy_id: str) -> None:
        answer = self.platform.attempt(
            "return_claim", lambda uow: returns.confirm_return(uow, merchant_id, policy_id)[0]
        )
        if answer is not None:
            self.result.return_claims_paid += parse_minor(answer["claim"]["amount"], 2)

    # -- medical claims --------------------------------------------------------------------------

    def claims_of(self, person: Person, d: int, date: dt.date) -> None:
        if person.policy_id is None or person.policy_start is None or date < person.policy_start:
            return
        if person.fraud in CLAIM_FRAUDS and fraud_today(person, d):
            self.fraudulent_claim(person, date)
        elif claim_today(person):
            accident = person.rng.random() < ACCIDENT_SHARE
            billed = genuine_bill(person, accident)
            self.report(person, date, accident, billed, None, None)

    def fraudulent_claim(self, person: Person, date: dt.date) -> None:
        rng = person.rng
        if person.fraud is Fraud.after_waiting:  # an illness hidden at purchase (带病投保)
            billed = int(rng.lognormvariate(0, 0.6) * 60_000_00)
            self.report(person, date, False, billed, person.fraud, "C50")
        elif person.fraud is Fraud.inflated_bill:  # 虚增费用: a real visit, the bill multiplied
            billed = genuine_bill(person, False) * rng.randrange(4, 11)
            self.report(person, date, False, billed, person.fraud, None)
        else:  # 重复材料: the same invoice as an earlier claim (one's own or the ring's), another date
            reused = rng.choice(self.ring_invoices) if self.ring_invoices and rng.random() < 0.8 else None
            billed = int(rng.lognormvariate(0, 0.7) * 15_000_00)
            self.report(person, date, False, billed, Fraud.duplicate_documents, None, reused)

    def report(
        self,
        person: Person,
        date: dt.date,
        accident: bool,
        billed: int,
        fraud: Fraud | None,
        condition: str | None,
        reused: bytes | None = None,
    ) -> None:
        rng = person.rng
        assert person.policy_id is not None and person.policy_start is not None
        event = max(person.policy_start, date - dt.timedelta(days=rng.randrange(0, 4)))
        social = int(billed * rng.uniform(0.3, 0.6)) if person.social_insurance else 0
        person.claims_made += 1
        paper = reused or invoice(person, person.claims_made, billed)
        if fraud is Fraud.duplicate_documents and reused is None:
            self.ring_invoices.append(paper)
        kind = insurance_models.LossKind.accident if accident else insurance_models.LossKind.illness
        codes = ACCIDENT_CODES if accident else ILLNESS_CODES
        report = claims.ClaimReport(
            person.policy_id,
            kind,
            condition or codes[rng.randrange(len(codes))],
            event,
            billed,
            social,
            (claims.Document("invoice.pdf", "application/pdf", paper),),
        )
        with reading(self.engine) as connection:
            counts = return_queries.buyer_counts(connection, person.customer_id)
        view = ClaimView(
            person.customer_id,
            person.policy_start,
            event,
            date,
            kind.value,
            billed,
            social,
            person.age,
            person.social_insurance,
            (claims.documents_hash(report.documents), *(_sha(d.content) for d in report.documents)),
            counts.orders,
            counts.returns,
        )
        self.file(person, report, view, fraud)

    def file(self, person: Person, report: claims.ClaimReport, view: ClaimView, fraud: Fraud | None) -> None:
        row = self.book.features(view)
        seen: list[Decimal] = []
        rules = ReviewRules() if self.model is None else review_rules(self.model)
        scorer = None if self.model is None else scorer_for(self.model, row, seen)
        client_id = f"{self.run_id}.claim.{person.index}.{person.claims_made}"
        answer = self.platform.attempt(
            "medical_claim",
            lambda uow: claims.report_claim(uow, person.customer_id, report, client_id, rules, scorer),
        )
        if answer is None:
            return
        self.book.add(view)
        record = ClaimRecord(answer["id"], person.customer_id, row, seen[-1] if seen else None, answer["status"], None)
        if fraud is not None:
            record.fraud = fraud.value
            self.fraud_claims.add(answer["id"])
            self.result.labels.append((person.customer_id, fraud.value, answer["id"]))
        self.result.claims.append(record)

    def work_reviews(self) -> None:
        """The claims reviewer (核赔员) works the queue: an investigation finds a planted fraud (拒赔),
        the rest are approved and paid."""
        with reading(self.engine) as connection:
            queue = [c["id"] for c in claims.reviews(connection, 10_000)]
        for claim_id in queue:
            if claim_id in self.fraud_claims:
                reason = "the investigation found the loss was staged (调查发现事故系故意制造)"
                self.platform.attempt("review_decline", lambda uow: claims.decline(uow, OPERATOR.id, claim_id, reason))
            else:
                note = "investigated: the loss is genuine and the bills check out (经调查属实)"
                self.platform.attempt("review_approve", lambda uow: claims.approve(uow, OPERATOR.id, claim_id, note))

    # -- the end ---------------------------------------------------------------------------------

    def returns_tail(self) -> None:
        """Returns of the last days' orders, confirmed after the run ends: every order's fate is known."""
        for d in sorted(self.pending_returns):
            self.at(self.config.start + dt.timedelta(days=d), 15)
            for merchant_id, policy_id in self.pending_returns.pop(d):
                self.confirm_return(merchant_id, policy_id)

    def finish(self) -> InsuranceResult:
        self.returns_tail()
        result = self.result
        result.done, result.refused = self.platform.done, self.platform.refused
        with reading(self.engine) as connection:
            for record in result.claims:
                final = claims.claim_json(connection, record.claim_id)
                result.final_status[final["status"]] += 1
                if final["status"] == claims.PAID:
                    result.medical_paid += parse_minor(final["benefit"], 2)
            result.audit_ok = audit(connection).ok
        transaction(self.engine, lambda uow: self._store(uow, result))
        return result

    def _store(self, uow: UnitOfWork, result: InsuranceResult) -> None:
        now = clock_module.now_micros()
        index = {p.customer_id: p.index for p in self.people}
        rows = [
            {
                "id": f"{self.run_id}:{k}",
                "run_id": self.run_id,
                "agent": index[customer_id],
                "customer_id": customer_id,
                "typology": typology,
                "role": "principal",
                "payment_id": ref,
                "created_at": now,
            }
            for k, (customer_id, typology, ref) in enumerate(result.labels)
        ]
        if rows:
            uow.execute(sim_labels.insert(), rows)
        summary = {"done": dict(result.done), "refused": dict(result.refused), "labels": len(rows)}
        uow.execute(
            sim_runs.update()
            .where(sim_runs.c.id == self.run_id)
            .values(status="finished", summary=json.dumps({**summary, "audit_ok": result.audit_ok}, sort_keys=True))
        )


def _sha(content: bytes) -> str:
    import hashlib

    return hashlib.sha256(content).hexdigest()


def simulate_insurance(engine: Engine, config: Config, model: ClaimsFraudModel | None = None) -> InsuranceResult:
    """Run the insurance book for `config.days` days after its warm-up, on a ManualClock for the run only."""
    world = InsuranceWorld(engine, config, model)
    with clock_module.using(world.clock):
        world.populate()
        for d in range(-config.warmup, config.days):
            world.day(d)
        return world.finish()
