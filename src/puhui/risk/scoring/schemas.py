"""What the credit-model API answers with: a registered model (模型库) with its headline metrics and, read
one at a time, its model card (模型卡); a score (信用评分) with its PD, grade and reasons.

A model card is written when the model is trained (`puhui.risk.scoring.card.build_card`); its parts are
optional here because a model registered by other means carries only the parts it was given."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from puhui.api.fields import Schema, Timestamp

ModelKind = Literal["scorecard", "lightgbm"]
ModelStatus = Literal["champion", "challenger", "retired"]
Grade = Literal["A", "B", "C", "D", "E"]
Probability = Annotated[
    str,
    Field(
        pattern=r"^[01]\.[0-9]{4}$",
        examples=["0.1234"],
        description="the probability of default (违约概率) as a decimal string, four places",
    ),
]


class MetricSummary(Schema):
    """A validation metric over the cross-validation folds: mean and standard deviation."""

    mean: float
    std: float


class Metrics(Schema):
    """The model's headline metrics (AUC, KS, Gini, Brier, PSI), those it was registered with."""

    auc: MetricSummary | None = None
    ks: MetricSummary | None = None
    gini: MetricSummary | None = None
    brier: MetricSummary | None = None
    psi: MetricSummary | None = None


class CardData(Schema):
    """The data the model was trained on."""

    source: str
    rows: int
    label: str
    bad_rate: float


class CardFeature(Schema):
    """An input feature of the model; a categorical one lists its categories."""

    name: str
    kind: Literal["numeric", "categorical"]
    categories: list[str] | None = None


class Scaling(Schema):
    """How scores are scaled: their range, the score at even odds and the points that double the odds."""

    range: list[int]
    score_at_even_odds: float
    points_to_double_odds: float
    higher_is: str


class FoldMetrics(Schema):
    """One cross-validation fold's metrics."""

    auc: float
    ks: float
    gini: float
    brier: float
    psi: float


class CalibrationRow(Schema):
    """A decile of predicted bad rate: its rows, the predicted and the observed bad rate (out of fold)."""

    decile: int
    rows: int
    predicted_bad_rate: float
    observed_bad_rate: float


class Validation(Schema):
    """How the model was validated (k-fold cross-validation) and what it measured, over the folds and in each."""

    method: str
    seed: int
    folds: int
    auc: MetricSummary
    ks: MetricSummary
    gini: MetricSummary
    brier: MetricSummary
    psi: MetricSummary
    per_fold: list[FoldMetrics]
    calibration: list[CalibrationRow]


class ScorecardRow(Schema):
    """A line of the scorecard (评分卡): the points a feature's bin gives."""

    feature: str
    bin: str
    points: float


class ModelCard(Schema):
    """A model card (模型卡): what the model is, what it was trained on and how well it validated."""

    kind: ModelKind
    name: str
    version: int
    trained_at: Timestamp | None = None
    intended_use: str | None = None  # 适用范围: what the model is for, and what it is not
    data: CardData | None = None
    features: list[CardFeature] | None = None
    features_used: list[str] | None = None
    scaling: Scaling | None = None
    validation: Validation | None = None
    scorecard: list[ScorecardRow] | None = None


class Model(Schema):
    """A registered credit model (模型库): a version of a name, champion, challenger or retired."""

    id: int
    name: str
    kind: ModelKind
    version: int
    status: ModelStatus
    trained_at: Timestamp
    metrics: Metrics


class ModelWithCard(Model):
    """A registered credit model with its model card (模型卡)."""

    card: ModelCard


class Models(Schema):
    """The registered credit models, by name and version."""

    models: list[Model]


class ScoredBy(Schema):
    """The model that gave a score."""

    id: int
    name: str
    version: int
    kind: ModelKind
    status: ModelStatus


class Reason(Schema):
    """A reason code (拒绝理由): a feature, the applicant's value, the points it earned and the points it lost."""

    feature: str
    value: int | float | str
    points: float
    points_lost: float
    text: str


class Score(Schema):
    """A credit score (信用评分, 350-950, higher is lower risk) with its PD, grade and the reasons that cost most."""

    model: ScoredBy
    score: int
    pd: Probability
    grade: Grade
    reasons: list[Reason]


class CustomerScore(Schema):
    """A customer's credit score (信用评分) from their platform profile as of a time."""

    customer_id: str
    as_of: Timestamp
    model: ScoredBy
    score: int
    pd: Probability
    grade: Grade
    reasons: list[Reason]
