"""A platform credit model for lending tests (`lending.service.platform_score`): applications are approved only
when a model is registered, so tests of what follows an approval (offers, loans, repayments, end of day) give
every borrower a score. The ledger-level test customers have no identity rows to build a profile from, so the
score is set here (700 by default: grade B) instead of computed; `set(customer, score)` changes one borrower's,
`remove()` takes the model away. Tests of the decision itself use the demo's real scorecard
(`puhui.demo_risk`) on customers registered through the API."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from puhui.lending import service


@dataclass
class CreditModel:
    present: bool = True
    default: float = 700.0
    scores: dict[str, float] = field(default_factory=dict)
    scored: list[str] = field(default_factory=list)  # who was scored, in order
    reasons: list[dict] = field(default_factory=list)  # the model's reasons, as the risk package gives them

    def set(self, customer_id: str, score: float) -> None:
        self.scores[customer_id] = score

    def remove(self) -> None:
        self.present = False

    def score(self, connection, customer_id: str) -> dict | None:  # type: ignore[no-untyped-def]
        if not self.present:
            return None
        self.scored.append(customer_id)
        return {"score": self.scores.get(customer_id, self.default), "reasons": list(self.reasons)}


@pytest.fixture
def credit_model(monkeypatch: pytest.MonkeyPatch) -> CreditModel:
    model = CreditModel()
    monkeypatch.setattr(service, "platform_score", model.score)
    return model
