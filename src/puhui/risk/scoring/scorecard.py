"""The WOE scorecard (评分卡): optimal binning (optbinning) + logistic regression, scaled to points.

Points follow one fixed points-to-odds scaling shared with the challenger: 600 points at even odds
(good:bad = 1:1) and 50 more points each time the odds of good double; a score is clipped to 350–950
and higher means lower risk. A scorecard's points are additive: each feature earns the points of
its bin, and the score is the sum. A reason code (拒绝理由) is a feature that cost the most points:
the best points that feature could earn minus the points it earned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from puhui.risk.scoring.data import Schema

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SCORE_MIN, SCORE_MAX = 350, 950
BASE_SCORE, BASE_ODDS, PDO = 600.0, 1.0, 50.0  # 600 at even odds, 50 points to double the odds of good
FACTOR = PDO / math.log(2)
OFFSET = BASE_SCORE - FACTOR * math.log(BASE_ODDS)
REASONS = 4

# Chosen in advance (not tuned on test folds): bins of at least 5% of rows, at most 6 bins,
# monotonic event rate for numeric features (ascending or descending, as the data says), and
# L2 regularisation C=0.1 to keep coefficients of correlated WOE features stable.
BINNING_PARAMS = {"monotonic_trend": "auto_asc_desc", "max_n_bins": 6, "min_bin_size": 0.05}
CATEGORICAL_PARAMS = {"max_n_bins": 6, "min_bin_size": 0.05}
L2_C = 0.1


def score_of_log_odds_bad(log_odds_bad: np.ndarray | float) -> np.ndarray:
    """The 350–950 score of a log-odds of bad (the same scaling for every model)."""
    import numpy as np

    return np.clip(OFFSET - FACTOR * np.asarray(log_odds_bad, dtype=float), SCORE_MIN, SCORE_MAX)


def score_of_pd(pd_bad: np.ndarray | float) -> np.ndarray:
    import numpy as np

    p = np.clip(np.asarray(pd_bad, dtype=float), 1e-9, 1 - 1e-9)
    return score_of_log_odds_bad(np.log(p / (1 - p)))


@dataclass(frozen=True)
class Reason:
    """One reason code: a feature, the applicant's value, the points it earned and the points it lost."""

    feature: str
    value: Any
    points: float
    points_lost: float
    text: str

    def as_json(self) -> dict[str, Any]:
        value = self.value.item() if hasattr(self.value, "item") else self.value
        return {
            "feature": self.feature,
            "value": value,
            "points": round(self.points, 2),
            "points_lost": round(self.points_lost, 2),
            "text": self.text,
        }


@dataclass
class Bin:
    label: str
    example: Any  # a value from training that falls in this bin
    points: float


@dataclass
class ScorecardModel:
    """A fitted scorecard. Pickled into the registry; see `registry` for where it may be loaded from."""

    schema: Schema
    binning: Any  # optbinning.BinningProcess
    regression: Any  # sklearn LogisticRegression on WOE
    features: list[str]
    bins: dict[str, list[Bin]] = field(default_factory=dict)
    kind: str = "scorecard"

    def pd(self, X: pd.DataFrame) -> np.ndarray:
        return self.regression.predict_proba(self._woe(X))[:, 1]

    def points(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points per feature per row; the score (before clipping) is their sum."""
        import pandas as pd

        woe = self._woe(X)
        coefs = self.regression.coef_[0]
        share = (OFFSET - FACTOR * self.regression.intercept_[0]) / len(self.features)
        return pd.DataFrame(share - FACTOR * woe.to_numpy() * coefs, columns=self.features, index=X.index)

    def score(self, X: pd.DataFrame) -> np.ndarray:
        import numpy as np

        return np.clip(self.points(X).sum(axis=1).to_numpy(), SCORE_MIN, SCORE_MAX)

    def reasons(self, row: pd.DataFrame, top: int = REASONS) -> list[Reason]:
        earned = self.points(row).iloc[0]
        found = []
        for name in self.features:
            best = max(b.points for b in self.bins[name])
            lost = max(0.0, best - float(earned[name]))
            if lost > 1e-9:
                value = row[name].iloc[0]
                text = (
                    f"{name} = {value} earned {earned[name]:.1f} points, "
                    f"{lost:.1f} fewer than the best possible for this feature"
                )
                found.append(Reason(name, value, float(earned[name]), lost, text))
        return sorted(found, key=lambda r: -r.points_lost)[:top]

    def best_value(self, name: str) -> Any:
        """A value of `name` that falls in its best-scoring bin."""
        return max(self.bins[name], key=lambda b: b.points).example

    def table(self) -> list[dict[str, Any]]:
        """The scorecard as a person reads it: feature, bin, points."""
        return [
            {"feature": name, "bin": b.label, "points": round(b.points, 2)}
            for name in self.features
            for b in self.bins[name]
        ]

    def _woe(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.binning.transform(X[self.schema.names], metric="woe")[self.features]


def fit_scorecard(X: pd.DataFrame, y: np.ndarray, schema: Schema) -> ScorecardModel:
    """Bin every feature optimally on (X, y), fit the logistic regression on WOE, tabulate the points."""
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression

    names = schema.names
    params = {n: (CATEGORICAL_PARAMS if n in schema.categorical else BINNING_PARAMS) for n in names}
    binning = BinningProcess(names, categorical_variables=schema.categorical, binning_fit_params=params)
    binning.fit(X[names], y)
    features = [n for n in names if n in binning.get_support(names=True)]
    woe = binning.transform(X[names], metric="woe")[features]
    regression = LogisticRegression(C=L2_C, max_iter=2000).fit(woe, y)
    model = ScorecardModel(schema=schema, binning=binning, regression=regression, features=features)
    model.bins = {name: _bins(model, X, name) for name in features}
    return model


def _bins(model: ScorecardModel, X: pd.DataFrame, name: str) -> list[Bin]:
    """The bins of one feature with a training value in each and that value's points (so they agree exactly)."""
    import pandas as pd

    variable = model.binning.get_binned_variable(name)
    values = X[name].reset_index(drop=True)
    numeric = pd.api.types.is_numeric_dtype(values)
    chosen: list[tuple[str, Any]] = []
    indices = variable.transform(values, metric="indices")
    for _, members in pd.Series(range(len(values))).groupby(indices, sort=True):
        in_bin = values.iloc[members.to_numpy()]
        if numeric:
            example = in_bin.sort_values().iloc[len(in_bin) // 2].item()
            label = str(variable.transform(in_bin.iloc[:1], metric="bins")[0])
        else:
            example = str(in_bin.mode().iloc[0])
            label = "; ".join(sorted(map(str, in_bin.unique())))
        chosen.append((label, example))
    probe = X.iloc[[0] * len(chosen)].reset_index(drop=True)
    probe[name] = pd.Series([example for _, example in chosen], dtype=X[name].dtype)
    points = model.points(probe)[name].to_numpy()
    return [Bin(label, example, float(p)) for (label, example), p in zip(chosen, points)]
