"""The model registry on SQLite and PostgreSQL, directly and over HTTP: versions, champion switching,
refusals that change nothing, and scores with reasons."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.errors import InvalidInput
from puhui.risk.cli import GERMAN_CREDIT
from puhui.risk.errors import MalformedApplicant, MissingLabel, UnknownModel
from puhui.risk.scoring import registry, service
from puhui.risk.scoring.challenger import fit_challenger
from puhui.risk.scoring.data import from_frame, load_csv
from puhui.risk.scoring.scorecard import fit_scorecard
from puhui.risk.scoring.tables import risk_models
from puhui.settings import Settings
from tests.identity.helpers import (
    ADMIN,
    ADMIN_TOKEN,
    INDEX_KEY,
    JWT_SECRET,
    K1,
    ZHANG,
    login,
    make_staff,
    register,
)

GERMAN = GERMAN_CREDIT  # shipped in the package (CC BY 4.0)
COLUMNS = [
    "status_of_existing_checking_account",
    "duration_in_month",
    "credit_history",
    "savings_account_and_bonds",
    "age_in_years",
    "creditability",
]
pytestmark = pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype")


@pytest.fixture(scope="module")
def small():
    """A five-feature slice of German Credit: quick to fit, enough to register and score."""
    import pandas as pd

    return from_frame(pd.read_csv(GERMAN)[COLUMNS], "creditability", source="german credit (5 features)")


@pytest.fixture(scope="module")
def fitted(small):
    return {
        "scorecard": fit_scorecard(small.X, small.y, small.schema),
        "lightgbm": fit_challenger(small.X, small.y, small.schema),
    }


def applicant(small, i: int = 1) -> dict:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in small.X.iloc[i].to_dict().items()}


def put(engine, model, name: str = "credit"):
    return transaction(
        engine,
        lambda uow: registry.register(uow, name, model, {"auc": {"mean": 0.7, "std": 0.01}}, {"kind": model.kind}),
    )


def count(engine) -> int:
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(risk_models)).scalar_one()


def test_versions_and_champion_switching(engine, clock, fitted) -> None:
    first = put(engine, fitted["scorecard"])
    second = put(engine, fitted["lightgbm"])
    other = put(engine, fitted["scorecard"], name="bnpl")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert {first.status, second.status, other.status} == {"challenger"}

    transaction(engine, lambda uow: registry.promote(uow, first.id))
    transaction(engine, lambda uow: registry.promote(uow, other.id))
    with reading(engine) as connection:
        assert registry.champion(connection, "credit").id == first.id
    transaction(engine, lambda uow: registry.promote(uow, second.id))
    with reading(engine) as connection:
        status = {r.id: r.status for r in registry.list_models(connection)}
        assert status == {first.id: "retired", second.id: "champion", other.id: "champion"}
        assert registry.champion(connection, "credit").id == second.id
        record, model = registry.load(connection)  # the champion by default
        assert record.id == second.id and model.kind == "lightgbm"


def test_promoting_an_unknown_model_changes_nothing(engine, clock, fitted) -> None:
    first = put(engine, fitted["scorecard"])
    transaction(engine, lambda uow: registry.promote(uow, first.id))
    with pytest.raises(UnknownModel):
        transaction(engine, lambda uow: registry.promote(uow, first.id + 100))
    with reading(engine) as connection:
        assert [r.status for r in registry.list_models(connection)] == ["champion"]


def test_missing_label_registers_nothing(engine, clock, small) -> None:
    with pytest.raises(MissingLabel) as raised:
        service.train(engine, load_csv(GERMAN, label="is_bad"), "scorecard")
    assert raised.value.code == "missing_label"
    with pytest.raises(MissingLabel):
        service.train(engine, from_frame(small.X, "creditability"), "scorecard")
    assert count(engine) == 0


def test_a_card_the_api_could_not_show_is_refused_and_stores_nothing(engine, clock, fitted) -> None:
    """A card key the model card does not have made `GET /v1/risk/models/{id}` a 500 (the demo's model)."""
    model = fitted["scorecard"]
    for card in ({"kind": "scorecard", "owner": "risk"}, {"kind": "scorecard", "data": {"rows": "many"}}):
        with pytest.raises(InvalidInput, match="model card"):
            transaction(engine, lambda uow, card=card: registry.register(uow, "credit", model, {}, card))
    assert count(engine) == 0


def test_the_demo_model_is_shown_with_its_card(client, engine) -> None:
    """The demo registers its platform model with an intended use (适用范围): staff read it, card and all."""
    from puhui.demo_risk import register_model

    model_id = transaction(engine, register_model)
    operator = make_staff(client, "operator", "operator.one")
    shown = client.get(f"/v1/risk/models/{model_id}", headers=operator)
    assert shown.status_code == 200, shown.text
    card = shown.json()["card"]
    assert card["kind"] == "scorecard" and card["intended_use"].startswith("the demo's starting platform credit model")
    assert card["data"]["rows"] > 0 and card["features"]


def test_training_registers_only_with_its_card_written(engine, clock, small, tmp_path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    with pytest.raises(OSError):
        service.train(engine, small, "lightgbm", out=blocked, folds=2)
    assert count(engine) == 0
    trained = service.train(engine, small, "lightgbm", out=tmp_path / "card", folds=2)
    assert count(engine) == 1 and trained.record.status == "challenger" and trained.record.version == 1
    assert trained.record.card["validation"]["folds"] == 2 and {p.name for p in trained.files} >= {"card.md", "roc.png"}
    with pytest.raises(InvalidInput):
        service.train(engine, small, "random_forest", folds=2)
    assert count(engine) == 1


def test_scoring_uses_the_champion_and_refuses_malformed_applicants(engine, clock, fitted, small) -> None:
    card = put(engine, fitted["scorecard"])
    with reading(engine) as connection, pytest.raises(UnknownModel):
        service.score(connection, applicant(small))  # no champion yet
    transaction(engine, lambda uow: registry.promote(uow, card.id))
    with reading(engine) as connection:
        result = service.score(connection, applicant(small))
        assert result["model"]["id"] == card.id and 350 <= result["score"] <= 950
        assert 0 < float(result["pd"]) < 1 and result["grade"] in "ABCDE"
        with pytest.raises(MalformedApplicant):
            service.score(connection, {**applicant(small), "age_in_years": "old"})


# -- HTTP ------------------------------------------------------------------------------------------


@pytest.fixture
def client(engine, clock):
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def test_models_over_http(client, engine, fitted, small) -> None:
    officer = make_staff(client, "risk_officer")
    operator = make_staff(client, "operator", "operator.one")
    regulator = make_staff(client, "regulator", "regulator.one")
    register(client, ZHANG)
    customer = login(client, ZHANG)
    first, second = put(engine, fitted["scorecard"]), put(engine, fitted["lightgbm"])

    listed = client.get("/v1/risk/models", headers=regulator)
    assert listed.status_code == 200 and [m["version"] for m in listed.json()["models"]] == [1, 2]
    assert client.get("/v1/risk/models", headers=customer).status_code == 403
    card = client.get(f"/v1/risk/models/{first.id}", headers=operator)
    assert card.status_code == 200 and card.json()["card"]["kind"] == "scorecard"
    missing = client.get(f"/v1/risk/models/{second.id + 50}", headers=operator)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_model"

    refused = client.post(f"/v1/risk/models/{first.id}/promote", headers={**customer, "Idempotency-Key": "c1"})
    assert refused.status_code == 403
    assert client.post(f"/v1/risk/models/{first.id}/promote", headers=operator).status_code == 403
    unknown = client.post(f"/v1/risk/models/{second.id + 50}/promote", headers={**officer, "Idempotency-Key": "u1"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_model"
    with reading(engine) as connection:
        assert {r.status for r in registry.list_models(connection)} == {"challenger"}

    promoted = client.post(f"/v1/risk/models/{first.id}/promote", headers={**officer, "Idempotency-Key": "p1"})
    assert promoted.status_code == 200 and promoted.json()["status"] == "champion"
    replayed = client.post(f"/v1/risk/models/{first.id}/promote", headers={**officer, "Idempotency-Key": "p1"})
    assert replayed.json() == promoted.json() and replayed.headers["Idempotent-Replayed"] == "true"
    again = client.post(f"/v1/risk/models/{second.id}/promote", headers={**ADMIN, "Idempotency-Key": "p2"})
    assert again.status_code == 200
    statuses = {m["id"]: m["status"] for m in client.get("/v1/risk/models", headers=officer).json()["models"]}
    assert statuses == {first.id: "retired", second.id: "champion"}

    scored = client.post("/v1/risk/scores", headers=operator, json={"features": applicant(small), "name": "credit"})
    assert scored.status_code == 200, scored.text
    body = scored.json()
    assert body["model"]["id"] == second.id and isinstance(body["pd"], str) and 0 < float(body["pd"]) < 1
    assert body["reasons"] and all(
        {"feature", "value", "points", "points_lost", "text"} <= set(r) for r in body["reasons"]
    )
    chosen = client.post("/v1/risk/scores", headers=officer, json={"features": applicant(small), "model_id": first.id})
    assert chosen.status_code == 200 and chosen.json()["model"]["kind"] == "scorecard"
    assert client.post("/v1/risk/scores", headers=customer, json={"features": applicant(small)}).status_code == 403
    assert client.post("/v1/risk/scores", headers=regulator, json={"features": applicant(small)}).status_code == 403


@pytest.mark.parametrize(
    "features, code",
    [
        ({"duration_in_month": "forty"}, "malformed_applicant"),
        ({"credit_history": 7}, "malformed_applicant"),
        ({"age_in_years": None}, "malformed_applicant"),
        ({"shoe_size": 42}, "malformed_applicant"),
    ],
)
def test_malformed_features_get_a_stable_422(client, engine, fitted, small, features, code) -> None:
    officer = make_staff(client, "risk_officer")
    model = put(engine, fitted["scorecard"])
    transaction(engine, lambda uow: registry.promote(uow, model.id))
    named = {"name": "credit"}
    answer = client.post(
        "/v1/risk/scores", headers=officer, json={"features": {**applicant(small), **features}, **named}
    )
    assert answer.status_code == 422 and answer.json()["code"] == code
    incomplete = {k: v for k, v in applicant(small).items() if k != "age_in_years"}
    answer = client.post("/v1/risk/scores", headers=officer, json={"features": incomplete, **named})
    assert answer.status_code == 422 and "age_in_years" in answer.json()["detail"]
    unknown = client.post("/v1/risk/scores", headers=officer, json={"features": applicant(small), "model_id": 999})
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_model"
    not_an_object = client.post("/v1/risk/scores", headers=officer, json={"features": [1, 2]})
    assert not_an_object.status_code == 422


def test_http_scores_by_the_same_model_name_as_the_cli_by_default(client, engine, fitted, small) -> None:
    """Regression: `puhui risk score` scored by the champion of platform_credit, `POST /v1/risk/scores`
    without a name by the champion of credit, so one applicant got two answers from two models."""
    from typer.main import get_command

    from puhui import cli
    from puhui.risk.scoring.api import ScoreIn
    from puhui.risk.scoring.platform import PLATFORM_MODEL

    score_command = get_command(cli.app).commands["risk"].commands["score"]  # type: ignore[attr-defined]
    assert {p.name: p.default for p in score_command.params}["name"] == ScoreIn.model_fields["name"].default
    assert ScoreIn.model_fields["name"].default == PLATFORM_MODEL

    officer = make_staff(client, "risk_officer")
    credit, platform = put(engine, fitted["scorecard"]), put(engine, fitted["lightgbm"], name=PLATFORM_MODEL)
    for model in (credit, platform):
        transaction(engine, lambda uow, model=model: registry.promote(uow, model.id))
    scored = client.post("/v1/risk/scores", headers=officer, json={"features": applicant(small)})
    assert scored.status_code == 200, scored.text
    assert scored.json()["model"]["id"] == platform.id and scored.json()["model"]["name"] == PLATFORM_MODEL
    named = client.post("/v1/risk/scores", headers=officer, json={"features": applicant(small), "name": "credit"})
    assert named.status_code == 200 and named.json()["model"]["id"] == credit.id
    spec = client.app.openapi()["components"]["schemas"]["ScoreIn"]["properties"]["name"]
    assert spec["default"] == PLATFORM_MODEL
