"""Credit scoring on the platform's own data: customer profiles as of an observation time, labelled
with what happened to each customer afterwards (from lending once it exists, or a file of labels).

Profiles are numeric for the models: a feature that is empty for every customer (e.g. repayment
history before lending) is left out; an empty value of a kept feature (no payments, so no mean
amount) counts as 0, the same at training and at scoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine

from puhui import clock
from puhui.risk import features as F
from puhui.risk.profiles import profile_as_of, training_frame
from puhui.risk.scoring import registry, service
from puhui.risk.scoring.data import Dataset, from_frame

PLATFORM_MODEL = "platform_credit"
LABEL = "bad"


def platform_dataset(engine: Engine, at: int, labels: Mapping[str, Any]) -> Dataset:
    """The labelled customers' profiles as of `at` (UTC micros), ready to train on."""
    frame = training_frame(engine, at, labels, label=LABEL)
    features = [c for c in frame.columns if c != LABEL and frame[c].notna().any()]
    frame = frame[[*features, LABEL]].fillna({c: 0.0 for c in features})
    return from_frame(
        frame.reset_index(drop=True), LABEL, source=f"platform profiles as of {clock.from_micros(at).isoformat()}"
    )


def numeric_profile(profile: Mapping[str, Any]) -> dict[str, float]:
    """A profile as the platform models see it (numbers; empty values as 0)."""
    out = {}
    for name, value in profile.items():
        if name in F.FEATURES:
            out[name] = 0.0 if value is None else float(value)
    return out


def score_customer(
    connection: Connection,
    customer_id: str,
    at: int | None = None,
    model_id: int | None = None,
    name: str = PLATFORM_MODEL,
) -> dict[str, Any]:
    """Score a customer from their profile now (or as of `at`) with a platform-trained model."""
    when = clock.now_micros() if at is None else at
    profile = numeric_profile(profile_as_of(connection, customer_id, when))
    record, model = registry.load(connection, model_id, name)
    result = service.score(connection, {k: profile.get(k, 0.0) for k in model.schema.names}, record.id, name)
    return {"customer_id": customer_id, "as_of": clock.from_micros(when).isoformat(), **result}
