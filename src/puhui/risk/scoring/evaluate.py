"""Honest stratified k-fold cross-validation (交叉验证) of credit models, and their metrics.

Each fold fits everything — binning, regression, boosting — on its training rows only and is judged
on rows it never saw. Metrics per fold: AUC, KS, Gini, Brier and the PSI (群体稳定性指数) between the
train-fold and test-fold score distributions; over the pooled out-of-fold predictions a calibration
table (predicted vs observed bad rate by decile).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from puhui.risk.errors import MalformedData
from puhui.risk.scoring.challenger import fit_challenger
from puhui.risk.scoring.data import Dataset, Schema
from puhui.risk.scoring.scorecard import fit_scorecard

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Fitter = Callable[["pd.DataFrame", "np.ndarray", Schema], Any]
FITTERS: dict[str, Fitter] = {"scorecard": fit_scorecard, "lightgbm": fit_challenger}
KINDS = tuple(FITTERS)
METRICS = ("auc", "ks", "gini", "brier", "psi")


def ks_statistic(y: np.ndarray, pd_bad: np.ndarray) -> float:
    """Kolmogorov–Smirnov: the largest gap between the cumulative shares of bads and goods."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, pd_bad)
    return float((tpr - fpr).max())


def psi(expected: np.ndarray, actual: np.ndarray, buckets: int = 10) -> float:
    """Population stability index of `actual` against `expected`, on deciles of `expected`."""
    import numpy as np

    edges = np.unique(np.quantile(expected, np.linspace(0, 1, buckets + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1) / len(expected)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1) / len(actual)
    e, a = np.clip(e, 1e-4, None), np.clip(a, 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))


def calibration_table(y: np.ndarray, pd_bad: np.ndarray, buckets: int = 10) -> list[dict[str, float]]:
    import numpy as np
    import pandas as pd

    decile = pd.qcut(pd.Series(pd_bad).rank(method="first"), buckets, labels=False)
    rows = []
    for d in range(buckets):
        mask = (decile == d).to_numpy()
        rows.append(
            {
                "decile": d + 1,
                "rows": int(mask.sum()),
                "predicted_bad_rate": round(float(pd_bad[mask].mean()), 4),
                "observed_bad_rate": round(float(np.asarray(y)[mask].mean()), 4),
            }
        )
    return rows


def fold_metrics(model: Any, X_train: pd.DataFrame, X_test: pd.DataFrame, y_test: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    pd_bad = model.pd(X_test)
    auc = float(roc_auc_score(y_test, pd_bad))
    return {
        "auc": auc,
        "ks": ks_statistic(y_test, pd_bad),
        "gini": 2 * auc - 1,
        "brier": float(brier_score_loss(y_test, pd_bad)),
        "psi": psi(model.score(X_train), model.score(X_test)),
    }


@dataclass
class Evaluation:
    """The cross-validation of one model kind."""

    kind: str
    folds: list[dict[str, float]]
    y: np.ndarray
    oof_pd: np.ndarray
    oof_score: np.ndarray
    models: list[Any] = field(default_factory=list)
    splits: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def mean(self, metric: str) -> float:
        import numpy as np

        return float(np.mean([f[metric] for f in self.folds]))

    def std(self, metric: str) -> float:
        import numpy as np

        return float(np.std([f[metric] for f in self.folds], ddof=1)) if len(self.folds) > 1 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "folds": len(self.folds),
            **{m: {"mean": round(self.mean(m), 4), "std": round(self.std(m), 4)} for m in METRICS},
            "per_fold": [{k: round(v, 4) for k, v in f.items()} for f in self.folds],
            "calibration": calibration_table(self.y, self.oof_pd),
        }


def cross_validate(
    data: Dataset,
    kinds: tuple[str, ...] = KINDS,
    folds: int = 5,
    seed: int = 42,
    fitters: dict[str, Fitter] | None = None,
    on_fold: Callable[[str, int], None] | None = None,
    keep_models: bool = False,
) -> dict[str, Evaluation]:
    """Stratified k-fold CV of each model kind on the same splits; fitting sees training rows only."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    if folds < 2 or folds > min(np.bincount(data.y)):
        raise MalformedData(f"folds must be between 2 and the size of the smaller class, not {folds}")
    fitters = fitters or FITTERS
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(data.X, data.y))
    results = {}
    for kind in kinds:
        fit = fitters[kind]
        oof_pd, oof_score, per_fold, models = np.zeros(data.rows), np.zeros(data.rows), [], []
        for number, (train, test) in enumerate(splits):
            X_train, X_test = data.X.iloc[train], data.X.iloc[test]
            model = fit(X_train, data.y[train], data.schema)
            per_fold.append(fold_metrics(model, X_train, X_test, data.y[test]))
            oof_pd[test], oof_score[test] = model.pd(X_test), model.score(X_test)
            if keep_models:
                models.append(model)
            if on_fold:
                on_fold(kind, number)
        results[kind] = Evaluation(kind, per_fold, data.y, oof_pd, oof_score, models, splits if keep_models else [])
    return results
