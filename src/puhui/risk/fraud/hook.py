"""The adapter the payments risk hook calls: a payment request in, a `risk_hook.Decision` out, from
the stored rules and the in-memory window state.

    hook = FraudHook.start(engine)             # seeds the default rules into an empty table, replays the outbox
    hook.catch_up()                            # take newer payment events into the state (call it often)
    assessment = hook.assess(request)          # decision, score, rule versions
    hook.use_policy(Policy.shipped())          # or decide by expected cost: allow / challenge / hold / decline,
                                               # with the takeover score switched on as its evidence
    risk_hook.RULES.append(hook)               # or as a rule: returns None when it approves
    hook.record(uow, request, assessment, payment_ref)   # the decisions log, in the payment's unit of work

Rules and block lists are cached and reloaded after any change committed in this process (see
`store.generation`) or on `reload()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine

from puhui.db import UnitOfWork, reading, transaction
from puhui.identity.service import customer_wallet_id
from puhui.ledger import queries as ledger_queries
from puhui.payments.risk_hook import Decision, Outcome, PaymentRequest
from puhui.risk.fraud import store
from puhui.risk.fraud.calibration import Calibration, calibration_from, default_calibration
from puhui.risk.fraud.consumer import FraudConsumer
from puhui.risk.fraud.decision import Action, Costs, choose, default_costs, floor_of, risk_index
from puhui.risk.fraud.engine import RuleSet, decide
from puhui.risk.fraud.models import FEATURES, Kind
from puhui.risk.fraud.state import WindowState

OUTCOMES = {
    Action.allow: Outcome.approve,
    Action.challenge: Outcome.challenge,
    Action.hold: Outcome.review,
    Action.decline: Outcome.decline,
}


@dataclass(frozen=True)
class Policy:
    """Decide by cost (按损失定处置): the engine's evidence calibrated to a probability, then the
    cheapest action of `costs` for the amount (`decision.choose`)."""

    calibration: Calibration
    costs: Costs

    @classmethod
    def shipped(cls) -> Policy:
        """The shipped calibration and costs (`risk/data/fraud_calibration.json`, `fraud_costs.json`)."""
        return cls(default_calibration(), default_costs())

    @classmethod
    def configured(cls, setting: str) -> Policy:
        """PUHUI_FRAUD_POLICY: "shipped", or the path of a calibration JSON (with the shipped costs)."""
        if setting == "shipped":
            return cls.shipped()
        text = Path(setting).read_text(encoding="utf-8")
        return cls(calibration_from(json.loads(text)), default_costs())

    def apply(self, request: PaymentRequest, decision: Decision, score: int | None) -> Decision:
        probability = self.calibration.probability(risk_index(score, decision.reasons))
        choice = choose(probability, request.amount, self.costs, floor_of(decision.reasons))
        return Decision(OUTCOMES[choice.action], decision.reasons + choice.reasons)


BALANCE = tuple(FEATURES).index("balance_share")


def _weighs_balance(rules: RuleSet) -> bool:
    """Whether an enabled score weighs the balance share (then the balance is read: one query)."""
    return any(r.kind is Kind.model_score and r.limits[0][BALANCE] for r in rules.rules)


@dataclass(frozen=True)
class Assessment:
    decision: Decision
    score: int | None
    rule_versions: dict[str, int]


class FraudHook:
    def __init__(self, engine: Engine, state: WindowState, policy: Policy | None = None) -> None:
        self.engine = engine
        self.state = state
        self.policy = policy  # None: the rules' own actions (review / decline)
        self.consumer = FraudConsumer(engine, state)
        self._rules: RuleSet | None = None
        self._generation = -1
        self._fingerprint: tuple | None = None

    @classmethod
    def start(cls, engine: Engine, seed: bool = True) -> FraudHook:
        """At process start: store the default rules if there are none (`seed`), and rebuild the
        window state by replaying the payment events."""
        if seed:
            transaction(engine, store.seed_defaults)
        hook = cls(engine, WindowState())
        hook.consumer.rebuild()
        hook.reload()
        return hook

    def catch_up(self) -> int:
        """Apply payment events committed since the last call; returns how many. Also notices rule
        and block-list changes made by other processes, so the next assessment reloads them."""
        with reading(self.engine) as connection:
            seen = store.fingerprint(connection)
        if seen != self._fingerprint:
            self._fingerprint = seen
            self._generation = -1
        return self.consumer.catch_up()

    def reload(self, connection: Connection | None = None) -> RuleSet:
        """Read the rules and block lists again, on `connection` when given (a payment's own: never
        a second pooled connection while a transaction holds one) or a fresh read-only one."""
        generation = store.generation()
        if connection is not None:
            self._rules = store.load_ruleset(connection)
        else:
            with reading(self.engine) as fresh:
                self._rules = store.load_ruleset(fresh)
        self._generation = generation
        return self._rules

    def rules(self, connection: Connection | None = None) -> RuleSet:
        if self._rules is None or self._generation != store.generation():
            return self.reload(connection)
        return self._rules

    def assess(self, request: PaymentRequest, connection: Connection | None = None) -> Assessment:
        rules = self.rules(connection)
        balance = self._balance(request.payer_id, connection) if _weighs_balance(rules) else None
        with self.state.lock:
            decision, score = decide(request, rules, self.state, balance)
        if self.policy is not None:
            decision = self.policy.apply(request, decision, score)
        return Assessment(decision, score, rules.versions)

    def use_policy(self, policy: Policy, by: str = "system") -> None:
        """Decide by cost from now on, with the takeover score switched on as its evidence."""
        transaction(self.engine, lambda uow: store.enable_takeover(uow, by))
        self.policy = policy
        self.reload()

    def _balance(self, payer_id: str, connection: Connection | None) -> int | None:
        """The payer's available balance before the payment, on the payment's own connection."""
        if connection is not None:
            return ledger_queries.available(connection, customer_wallet_id(payer_id))
        with reading(self.engine) as fresh:
            return ledger_queries.available(fresh, customer_wallet_id(payer_id))

    def __call__(self, request: PaymentRequest) -> Decision | None:
        """As a `risk_hook.Rule`: the fraud decision, or None when it approves."""
        decision = self.assess(request).decision
        return None if decision.outcome == Outcome.approve else decision

    def record(
        self, uow: UnitOfWork, request: PaymentRequest, assessment: Assessment, payment_ref: str | None = None
    ) -> None:
        store.record_decision(
            uow, request, assessment.decision, assessment.score, assessment.rule_versions, payment_ref
        )
