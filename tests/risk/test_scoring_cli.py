"""`puhui risk evaluate|train|promote|models|score` through the real command (Typer's CliRunner)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from puhui.cli import app
from puhui.risk.cli import GERMAN_CREDIT

GERMAN = GERMAN_CREDIT  # shipped in the package (CC BY 4.0)
FEW = [
    "status_of_existing_checking_account",
    "duration_in_month",
    "credit_history",
    "savings_account_and_bonds",
    "age_in_years",
    "creditability",
]
runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype")


def test_evaluate_prints_auc_and_ks_for_both_models() -> None:
    """With no --data: the German Credit data set shipped in the package, so it runs on a fresh install."""
    result = runner.invoke(app, ["risk", "evaluate", "--folds", "3"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "AUC" in result.output and "KS" in result.output and "Gini" in result.output
    for kind in ("scorecard", "lightgbm"):
        line = next(line for line in result.output.splitlines() if kind in line)
        auc, ks = (float(v) for v in re.findall(r"(\d\.\d{4}) ?±", line)[:2])
        assert 0.70 < auc < 0.90 and 0.30 < ks < 0.70


def test_evaluate_names_a_missing_label() -> None:
    result = runner.invoke(app, ["risk", "evaluate", "--data", str(GERMAN), "--label", "is_bad"])
    assert result.exit_code == 2 and "missing_label" in result.output and "is_bad" in result.output


def test_train_promote_models_score(tmp_path) -> None:
    db_url = f"sqlite:///{tmp_path / 'puhui.db'}"  # the registry itself is tested on both backends
    assert runner.invoke(app, ["db", "upgrade", "--db", db_url]).exit_code == 0
    few = tmp_path / "few.csv"
    pd.read_csv(GERMAN)[FEW].to_csv(few, index=False)
    out = tmp_path / "card"

    refused = runner.invoke(app, ["risk", "train", "--data", str(few), "--label", "bad", "--db", db_url])
    assert refused.exit_code == 2 and "missing_label" in refused.output
    listed = runner.invoke(app, ["risk", "models", "--json", "--db", db_url])
    assert json.loads(listed.stdout) == []  # nothing registered

    trained = runner.invoke(
        app,
        ["risk", "train", "--data", str(few), "--kind", "scorecard", "--folds", "3", "--out", str(out), "--db", db_url],
    )
    assert trained.exit_code == 0, trained.output
    model_id = int(trained.stdout.strip().splitlines()[-1])
    for name in ("card.json", "card.md", "roc.png", "ks.png", "score_distribution.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = json.loads((out / "card.json").read_text())
    assert card["data"]["rows"] == 1000 and card["validation"]["folds"] == 3
    assert 0.6 < card["validation"]["auc"]["mean"] < 0.95 and len(card["validation"]["calibration"]) == 10

    applicant = tmp_path / "applicant.json"
    row = pd.read_csv(few).drop(columns=["creditability"]).iloc[1].to_dict()
    applicant.write_text(json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}))
    by_name = ["risk", "score", "--applicant", str(applicant), "--name", "credit", "--db", db_url]
    no_champion = runner.invoke(app, by_name)
    assert no_champion.exit_code == 2 and "unknown_model" in no_champion.output

    assert runner.invoke(app, ["risk", "promote", "999", "--db", db_url]).exit_code == 2
    promoted = runner.invoke(app, ["risk", "promote", str(model_id), "--db", db_url])
    assert promoted.exit_code == 0 and "champion" in promoted.output
    models = json.loads(runner.invoke(app, ["risk", "models", "--json", "--db", db_url]).stdout)
    assert [(m["id"], m["status"], m["version"]) for m in models] == [(model_id, "champion", 1)]

    credit = ["--name", "credit", "--db", db_url]  # trained with --data: scored by its name
    scored = runner.invoke(app, ["risk", "score", "--applicant", str(applicant), "--json", *credit])
    assert scored.exit_code == 0, scored.output
    body = json.loads(scored.stdout)
    assert 350 <= body["score"] <= 950 and body["grade"] in "ABCDE" and body["reasons"]
    text = runner.invoke(app, ["risk", "score", "--applicant", str(applicant), *credit], env={"COLUMNS": "200"})
    assert "PD" in text.output and "1. " in text.output

    applicant.write_text(json.dumps({**row, "age_in_years": "young"}, default=str))
    bad = runner.invoke(app, ["risk", "score", "--applicant", str(applicant), *credit])
    assert bad.exit_code == 2 and "malformed_applicant" in bad.output


def test_the_demos_model_is_listed_without_cv_metrics_and_scored_by_default(db_url, tmp_path) -> None:
    """Regression: `risk models` failed with `KeyError: 'auc'` on the demo's model (registered with no
    cross-validation), and `risk score` looked for a champion named `credit`, not the platform's."""
    from puhui import demo_risk
    from puhui.db import create_engine_from_url, transaction

    engine = create_engine_from_url(db_url)
    try:
        model_id = transaction(engine, demo_risk.register_model)
    finally:
        engine.dispose()
    listed = runner.invoke(app, ["risk", "models", "--db", db_url], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    [row] = [line for line in listed.output.splitlines() if "platform_credit" in line]
    assert "champion" in row and row.count("—") == 2, row  # no CV AUC, no CV KS
    as_json = json.loads(runner.invoke(app, ["risk", "models", "--json", "--db", db_url]).stdout)
    assert [(m["id"], m["metrics"]) for m in as_json] == [(model_id, {})]

    data, _ = demo_risk.fitted()
    applicant = tmp_path / "applicant.json"
    applicant.write_text(json.dumps({k: float(v) for k, v in data.X.iloc[0].items()}))
    scored = runner.invoke(app, ["risk", "score", "--applicant", str(applicant), "--json", "--db", db_url])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["model"] == {
        "id": model_id,
        "name": "platform_credit",
        "version": 1,
        "kind": "scorecard",
        "status": "champion",
    }


def test_help_names_every_option_of_train_and_score() -> None:
    from typer.main import get_command

    risk = get_command(app).commands["risk"]  # type: ignore[attr-defined]
    for command, names in (("train", {"folds", "seed"}), ("score", {"name"})):
        helps = {p.name: p.help for p in risk.commands[command].params}
        assert all(helps[name] for name in names), helps
    score_help = {p.name: p for p in risk.commands["score"].params}["name"]
    assert score_help.default == "platform_credit"


def test_train_refuses_a_date_not_on_the_calendar_as_every_command_does(tmp_path) -> None:
    db_url = f"sqlite:///{tmp_path / 'puhui.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--db", db_url]).exit_code == 0
    labels = tmp_path / "outcomes.csv"
    labels.write_text("customer_id,bad\n")
    argv = ["risk", "train", "--platform", "--as-of", "2026-13-01", "--labels", str(labels), "--db", db_url]
    refused = runner.invoke(app, argv)
    assert refused.exit_code == 2 and refused.output.startswith("date_invalid: --as-of "), refused.output


def test_commands_ask_for_a_migrated_database(tmp_path) -> None:
    result = runner.invoke(app, ["risk", "models", "--db", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 2 and "puhui db upgrade" in result.output
