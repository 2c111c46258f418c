"""The gradient-boosting challenger (挑战者模型): LightGBM on the raw features, on the scorecard's scale.

Its PD is mapped through the same points-to-odds scaling as the scorecard. Reason codes come from
LightGBM's per-feature contributions to the log-odds of bad (SHAP values, `pred_contrib=True`):
a contribution c costs FACTOR * c points, and the features that lowered the score most come first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from puhui.risk.scoring.data import Schema
from puhui.risk.scoring.scorecard import FACTOR, REASONS, Reason, score_of_log_odds_bad

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Fixed in advance for a small tabular data set: shallow trees, a slow learning rate, row and
# column subsampling and L2 on leaves; single-threaded so training is reproducible.
PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.02,
    "num_leaves": 8,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.7,
    "reg_lambda": 1.0,
    "cat_smooth": 10,
    "min_data_per_group": 20,
    "random_state": 0,
    "n_jobs": 1,
    "verbose": -1,
}


@dataclass
class ChallengerModel:
    """A fitted LightGBM challenger. Pickled into the registry like the scorecard."""

    schema: Schema
    booster: Any  # lightgbm.LGBMClassifier
    features: list[str]
    kind: str = "lightgbm"

    def frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """X with categorical columns typed with the training categories (unseen ones become missing)."""
        import pandas as pd

        out = X[self.features].copy()
        for feature in self.schema.features:
            if feature.kind == "categorical":
                out[feature.name] = pd.Categorical(out[feature.name].astype(str), categories=list(feature.categories))
        return out

    def log_odds_bad(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(self.frame(X), raw_score=True)

    def pd(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster.predict_proba(self.frame(X))[:, 1]

    def score(self, X: pd.DataFrame) -> np.ndarray:
        return score_of_log_odds_bad(self.log_odds_bad(X))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to the log-odds of bad (the last column, the base value, dropped)."""
        import pandas as pd

        raw = self.booster.predict(self.frame(X), pred_contrib=True)
        return pd.DataFrame(raw[:, :-1], columns=self.features, index=X.index)

    def reasons(self, row: pd.DataFrame, top: int = REASONS) -> list[Reason]:
        contribution = self.contributions(row).iloc[0]
        found = []
        for name in self.features:
            lost = FACTOR * float(contribution[name])
            if lost > 1e-9:
                value = row[name].iloc[0]
                text = f"{name} = {value} lowered the score by {lost:.1f} points"
                found.append(Reason(name, value, -lost, lost, text))
        return sorted(found, key=lambda r: -r.points_lost)[:top]


def fit_challenger(X: pd.DataFrame, y: np.ndarray, schema: Schema) -> ChallengerModel:
    from lightgbm import LGBMClassifier

    model = ChallengerModel(schema=schema, booster=LGBMClassifier(**PARAMS), features=schema.names)
    model.booster.fit(model.frame(X), y)
    return model
