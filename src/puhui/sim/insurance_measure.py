"""What the insurance simulation measures (保险模拟指标): the claims-fraud model trained on one seed's
book and judged on another's, and the figures `puhui simulate insurance` prints."""

from __future__ import annotations

from puhui.risk.claims_fraud.model import ClaimsFraudModel, Evaluation, evaluate, fit
from puhui.sim.insurance import InsuranceResult


def truth(result: InsuranceResult) -> list[int]:
    """1 for each claim the run planted as fraud (from its ground truth), 0 for a genuine one."""
    return [int(c.fraud is not None) for c in result.claims]


def train(result: InsuranceResult, kind: str = "lightgbm") -> ClaimsFraudModel:
    """Fit the claims-fraud model on a book's claims (features as of each report) and its labels."""
    return fit([c.features for c in result.claims], truth(result), kind, seed=result.config.seed)


def held_out(result: InsuranceResult, model: ClaimsFraudModel) -> Evaluation:
    """The scores the model gave online during a run it never saw, against that run's labels."""
    scores = [float(c.score) if c.score is not None else 0.0 for c in result.claims]
    return evaluate(truth(result), scores, model.threshold)


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{float(value):.1%}"  # type: ignore[arg-type]


def summary(trained_on: InsuranceResult, result: InsuranceResult, model: ClaimsFraudModel) -> list[str]:
    """The lines of the text summary."""
    judged = held_out(result, model)
    auc = "n/a" if judged.auc is None else f"{judged.auc:.3f}"
    return [
        f"run {result.run_id}: {result.config.customers} customers × {result.config.days} days "
        f"(model trained on run {trained_on.run_id}, {model.kind}, {model.trained_on['claims']} claims, "
        f"{model.trained_on['fraudulent']} fraudulent)",
        f"return-shipping: {result.done['return_checkout']} orders with cover, {result.done['return_claim']} returns "
        f"paid; premiums {result.return_premiums / 100:.2f}, claims {result.return_claims_paid / 100:.2f}; "
        f"loss ratio {_pct(result.return_loss_ratio)} (band 60%–80%)",
        f"medical: {result.done['medical_policy']} policies ({result.refused['medical_policy:UnderwritingDeclined']} "
        f"declined at underwriting), earned {result.medical_earned / 100:.2f}, claims paid "
        f"{result.medical_paid / 100:.2f}; loss ratio {_pct(result.medical_loss_ratio)}",
        f"claims: {len(result.claims)} reported, straight through {_pct(result.straight_through)}; "
        f"final {dict(sorted(result.final_status.items()))}",
        f"claims-fraud model on the held-out book: AUC {auc}, threshold {model.threshold:.4f}, "
        f"flagged {judged.flagged}, caught {judged.caught} of {judged.fraudulent}; precision "
        f"{_pct(judged.precision)}, recall {_pct(judged.recall)}",
        f"labels: {len(result.labels)}; ledger audit: {'passed' if result.audit_ok else 'FAILED'}",
    ]
