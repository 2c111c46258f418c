"""Credit scoring as services: train and register a model, score an applicant with reasons.

The CLI and the HTTP API call these; they hold no I/O of their own beyond the unit of work and the
output directory they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from puhui.db import UnitOfWork, transaction
from puhui.errors import InvalidInput
from puhui.risk.scoring import registry
from puhui.risk.scoring.card import build_card, metrics_of, write_card
from puhui.risk.scoring.data import Dataset
from puhui.risk.scoring.evaluate import FITTERS, cross_validate
from puhui.risk.scoring.limits import grade_of

PD_PLACES = 4


@dataclass(frozen=True)
class Trained:
    record: registry.ModelRecord
    files: list[Path]


def train(
    engine: Engine,
    data: Dataset,
    kind: str,
    name: str = "credit",
    out: Path | None = None,
    folds: int = 5,
    seed: int = 42,
    on_step: Callable[[str], None] | None = None,
) -> Trained:
    """Cross-validate `kind` for its card, fit it on all rows, write card and plots, register it (challenger)."""
    if kind not in FITTERS:
        raise InvalidInput(f"kind must be one of {', '.join(FITTERS)}, not {kind!r}")
    step = on_step or (lambda _: None)
    evaluation = cross_validate(data, (kind,), folds, seed, on_fold=lambda _k, n: step(f"fold {n + 1}/{folds}"))[kind]
    model = FITTERS[kind](data.X, data.y, data.schema)
    step("final fit")
    card = build_card(data, kind, evaluation, model, seed)
    metrics = metrics_of(evaluation)

    def work(uow: UnitOfWork) -> Trained:  # the files are written inside: if they cannot be, nothing is registered
        record = registry.register(uow, name, model, metrics, card)
        return Trained(record, write_card(record.card, evaluation, out) if out is not None else [])

    trained = transaction(engine, work)
    step("card written")
    return trained


def score(
    connection: Connection, features: Mapping[str, Any], model_id: int | None = None, name: str = "credit"
) -> dict[str, Any]:
    """Score one applicant with the champion of `name` (or model `model_id`): score, PD, grade, reasons."""
    record, model = registry.load(connection, model_id, name)
    row = model.schema.frame(features)
    value = float(model.score(row)[0])
    pd_bad = float(model.pd(row)[0])
    return {
        "model": {
            "id": record.id,
            "name": record.name,
            "version": record.version,
            "kind": record.kind,
            "status": record.status,
        },
        "score": round(value),
        "pd": f"{pd_bad:.{PD_PLACES}f}",
        "grade": grade_of(value),
        "reasons": [r.as_json() for r in model.reasons(row)],
    }
