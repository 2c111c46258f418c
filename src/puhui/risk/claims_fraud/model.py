"""The claims-fraud model (理赔反欺诈模型): LightGBM (or a logistic regression) on `features.FEATURES`,
trained on one simulated book, its review threshold chosen on that book's out-of-fold scores, and
judged on another book it never saw: AUC, and precision and recall at the threshold.

Scores above the threshold send a claim to manual review (人工审核) instead of straight through.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from puhui.risk.claims_fraud.features import FEATURES
from puhui.risk.errors import MalformedData

KINDS = ("lightgbm", "logistic")
FORMAT = "puhui.claims_fraud/1"
LGBM_PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.03,
    "num_leaves": 8,
    "min_child_samples": 10,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "random_state": 0,
    "n_jobs": 1,
    "verbose": -1,
}


def _matrix(rows: Sequence[dict[str, float]]) -> Any:
    import numpy as np

    return np.array([[row[name] for name in FEATURES] for row in rows], dtype=float)


def _estimator(kind: str) -> Any:
    if kind == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(**LGBM_PARAMS)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced"))


@dataclass
class ClaimsFraudModel:
    """A fitted claims-fraud model and its review threshold (复核阈值)."""

    kind: str
    estimator: Any
    threshold: float
    trained_on: dict[str, Any]

    def scores(self, rows: Sequence[dict[str, float]]) -> list[float]:
        """The probability that each claim is fraudulent."""
        if not rows:
            return []
        return [float(p) for p in self.estimator.predict_proba(_matrix(rows))[:, 1]]

    def score(self, row: dict[str, float]) -> Decimal:
        """One claim's score as the claims module stores it: a Decimal to four places."""
        return Decimal(str(round(self.scores([row])[0], 4)))

    @property
    def review_from(self) -> Decimal:
        return Decimal(str(round(self.threshold, 4)))

    def save(self, path: Path) -> None:
        """Write the fitted model (joblib) for a server to load (`PUHUI_CLAIMS_FRAUD_MODEL`)."""
        import joblib

        joblib.dump(
            {
                "format": FORMAT,
                "kind": self.kind,
                "estimator": self.estimator,
                "threshold": self.threshold,
                "trained_on": self.trained_on,
            },
            path,
        )

    @classmethod
    def load(cls, path: Path) -> ClaimsFraudModel:
        """A model saved by `save`. The file is trusted (joblib runs code when it loads): the operator's own."""
        import joblib

        try:
            saved = joblib.load(path)
        except (OSError, EOFError, ValueError, KeyError, IndexError, pickle.UnpicklingError) as error:
            raise MalformedData(f"{path}: not a saved claims-fraud model ({error})") from error
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise MalformedData(f"{path}: not a saved claims-fraud model")
        return cls(saved["kind"], saved["estimator"], float(saved["threshold"]), dict(saved["trained_on"]))


def best_f1_threshold(labels: Sequence[int], scores: Sequence[float]) -> float:
    """The score from which flagging gives the best F1 on these labels (ties: the higher threshold)."""
    best, chosen = -1.0, 1.0
    positives = sum(labels)
    for candidate in sorted(set(scores), reverse=True):
        flagged = [y for y, s in zip(labels, scores) if s >= candidate]
        caught = sum(flagged)
        f1 = 2 * caught / (len(flagged) + positives) if flagged else 0.0
        if f1 > best:
            best, chosen = f1, candidate
    return chosen


def fit(
    rows: Sequence[dict[str, float]], labels: Sequence[int], kind: str = "lightgbm", seed: int = 0
) -> ClaimsFraudModel:
    """Fit on a book's claims; the threshold comes from 3-fold out-of-fold scores on the same book."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if kind not in KINDS:
        raise MalformedData(f"model kind must be one of {', '.join(KINDS)}")
    y = np.array(labels, dtype=int)
    if min(int(y.sum()), int(len(y) - y.sum())) < 3:
        raise MalformedData("training needs at least three fraudulent and three clean claims")
    X = _matrix(rows)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    oof = cross_val_predict(_estimator(kind), X, y, cv=folds, method="predict_proba")[:, 1]
    threshold = best_f1_threshold(list(y), [float(s) for s in oof])
    estimator = _estimator(kind).fit(X, y)
    trained_on = {"claims": int(len(y)), "fraudulent": int(y.sum()), "features": list(FEATURES)}
    return ClaimsFraudModel(kind, estimator, threshold, trained_on)


@dataclass(frozen=True)
class Evaluation:
    """How the scores did against the planted truth (真值): AUC, and precision and recall at the threshold."""

    claims: int
    fraudulent: int
    flagged: int
    caught: int
    auc: float | None
    threshold: float

    @property
    def precision(self) -> float | None:
        return self.caught / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.fraudulent if self.fraudulent else None


def evaluate(labels: Sequence[int], scores: Sequence[float], threshold: float) -> Evaluation:
    """AUC of the scores, and what flagging from `threshold` catches."""
    from sklearn.metrics import roc_auc_score

    both = 0 < sum(labels) < len(labels)
    auc = float(roc_auc_score(list(labels), list(scores))) if both else None
    flagged = [y for y, s in zip(labels, scores) if s >= threshold]
    return Evaluation(len(labels), int(sum(labels)), len(flagged), int(sum(flagged)), auc, threshold)
