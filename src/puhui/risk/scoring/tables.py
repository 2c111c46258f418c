"""Tables of this part of risk, on the platform's one `metadata`: the model registry (模型库).

One row per trained model version. `artifact` holds the pickled fitted model; it is only ever
loaded from the platform's own database (see `registry`). Times are UTC microseconds.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from puhui.db.tables import Seq, metadata

risk_models = Table(
    "risk_models",
    metadata,
    Column("id", Seq, Identity(), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # scorecard | lightgbm
    Column("version", Integer, nullable=False),  # 1, 2, … per name
    Column("status", String(12), nullable=False),  # champion | challenger | retired
    Column("trained_at", Seq, nullable=False),
    Column("features", Text, nullable=False),  # JSON: the feature schema
    Column("metrics", Text, nullable=False),  # JSON: cross-validated metrics
    Column("card", Text, nullable=False),  # JSON: the model card
    Column("artifact", LargeBinary, nullable=False),
    UniqueConstraint("name", "version", name="uq_risk_models_name_version"),
    Index("ix_risk_models_name_status", "name", "status"),
)

SCORING_TABLES = (risk_models,)
