"""The model registry (模型库): versions per name, champion / challenger / retired, model cards.

A newly registered model is a challenger. `promote` makes a model the champion of its name and
retires the previous champion, in the caller's one unit of work. Scoring uses the champion unless
a model id is given.

Artifacts are pickles (joblib) of fitted models. Unpickling runs code, so an artifact is only ever
loaded from the platform's own database, written there by `register` — never from a file or a
request someone sends.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.risk.errors import UnknownModel
from puhui.risk.scoring.tables import risk_models

CHAMPION, CHALLENGER, RETIRED = "champion", "challenger", "retired"
KINDS = ("scorecard", "lightgbm")
_CACHE: OrderedDict[str, Any] = OrderedDict()  # artifact digest -> unpickled model (artifacts never change)
_CACHE_SIZE = 8


@dataclass(frozen=True)
class ModelRecord:
    id: int
    name: str
    kind: str
    version: int
    status: str
    trained_at: int
    features: list[dict[str, Any]]
    metrics: dict[str, Any]
    card: dict[str, Any]

    def as_json(self, with_card: bool = False) -> dict[str, Any]:
        out = {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "status": self.status,
            "trained_at": clock.from_micros(self.trained_at).isoformat(),
            "metrics": _headline(self.metrics),
        }
        if with_card:
            out["card"] = self.card
        return out


def _card_shown(card: dict[str, Any], name: str, version: int) -> dict[str, Any]:
    """The card as stored: one `GET /v1/risk/models/{id}` can show (its `ModelCard` shape), else refused here,
    before it is stored (a card with a key the API does not know made that read a 500)."""
    from pydantic import ValidationError

    from puhui.risk.scoring.schemas import ModelCard

    stored = {**card, "name": name, "version": version}
    try:
        ModelCard.model_validate(stored)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3])
        raise InvalidInput(f"the model card does not have the model card's shape ({problems})") from None
    return stored


def register(uow: UnitOfWork, name: str, model: Any, metrics: dict[str, Any], card: dict[str, Any]) -> ModelRecord:
    """Store a fitted model as the next version of `name`, as a challenger."""
    import joblib

    if model.kind not in KINDS:
        raise InvalidInput(f"model kind must be one of {', '.join(KINDS)}")
    if not name or len(name) > 64:
        raise InvalidInput("a model name is 1-64 characters")
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    version = (uow.execute(select(func.max(risk_models.c.version)).where(risk_models.c.name == name)).scalar() or 0) + 1
    values = {
        "name": name,
        "kind": model.kind,
        "version": version,
        "status": CHALLENGER,
        "trained_at": clock.now_micros(),
        "features": json.dumps(model.schema.as_json()),
        "metrics": json.dumps(metrics),
        "card": json.dumps(_card_shown(card, name, version)),
        "artifact": buffer.getvalue(),
    }
    # Two registrations racing for one version collide on (name, version); `transaction` retries the loser.
    new_id = uow.execute(risk_models.insert().values(**values).returning(risk_models.c.id)).scalar_one()
    return get(uow.connection, new_id)


def promote(uow: UnitOfWork, model_id: int) -> ModelRecord:
    """Make `model_id` the champion of its name; the previous champion is retired.

    A retired model may be promoted again: that is how a bad switch is rolled back."""
    record = get(uow.connection, model_id)
    if record.status != CHAMPION:
        uow.execute(
            update(risk_models)
            .where(risk_models.c.name == record.name, risk_models.c.status == CHAMPION)
            .values(status=RETIRED)
        )
        uow.execute(update(risk_models).where(risk_models.c.id == model_id).values(status=CHAMPION))
    return get(uow.connection, model_id)


def get(connection: Connection, model_id: int) -> ModelRecord:
    row = connection.execute(select(*_COLUMNS).where(risk_models.c.id == model_id)).first()
    if row is None:
        raise UnknownModel(f"no model with id {model_id}", model_id=model_id)
    return _record(row)


def list_models(connection: Connection, name: str | None = None) -> list[ModelRecord]:
    query = select(*_COLUMNS).order_by(risk_models.c.name, risk_models.c.version)
    if name is not None:
        query = query.where(risk_models.c.name == name)
    return [_record(row) for row in connection.execute(query)]


def champion(connection: Connection, name: str) -> ModelRecord:
    row = connection.execute(
        select(*_COLUMNS).where(risk_models.c.name == name, risk_models.c.status == CHAMPION)
    ).first()
    if row is None:
        raise UnknownModel(f"no champion model named {name!r}; promote one first", name=name)
    return _record(row)


def load(connection: Connection, model_id: int | None = None, name: str = "credit") -> tuple[ModelRecord, Any]:
    """A model and its record: by id, or the champion of `name`."""
    import joblib

    record = get(connection, model_id) if model_id is not None else champion(connection, name)
    artifact = connection.execute(select(risk_models.c.artifact).where(risk_models.c.id == record.id)).scalar_one()
    digest = hashlib.sha256(artifact).hexdigest()
    if digest not in _CACHE:
        _CACHE[digest] = joblib.load(io.BytesIO(artifact))
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(digest)
    return record, _CACHE[digest]


_COLUMNS = [c for c in risk_models.c if c.name != "artifact"]


def _record(row: Any) -> ModelRecord:
    m = row._mapping
    return ModelRecord(
        id=m["id"],
        name=m["name"],
        kind=m["kind"],
        version=m["version"],
        status=m["status"],
        trained_at=m["trained_at"],
        features=json.loads(m["features"]),
        metrics=json.loads(m["metrics"]),
        card=json.loads(m["card"]),
    )


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in ("auc", "ks", "gini", "brier", "psi") if k in metrics}
